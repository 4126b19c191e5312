"""Cache tier end to end: a failover drill with a writer that counts only writes a replica
acknowledged, a converge after the failover that changes nothing and moves nothing, and bad
input refused before any host changes."""

import time

import pytest
import yaml

from . import cache_drill as drill
from .conftest import as_json, assert_refused_in_preflight, changed_by_host, golive, leaked

CACHE_HOSTS = set(drill.CACHE)


@pytest.fixture(scope="module")
def cache(lab):
    proc = golive("converge", "--only", "cache", "--json")
    assert proc.returncode == 0, proc.stderr
    drill.install_probe()
    return lab


def test_converged_cache_tier_is_healthy(cache):
    """Acceptance 1 on the lab: one master the three sentinels agree on, both replicas linked."""
    master = drill.wait_healthy(timeout=30)
    assert master in CACHE_HOSTS


def test_failover_drill_loses_no_acknowledged_write(cache):
    result = drill.drill(f"drill{int(time.time())}")
    print("failover drill:", result)
    assert result["new_master"] not in (None, result["old_master"]), result
    assert result["kill_to_first_write_s"] is not None, result
    assert result["kill_to_first_write_s"] <= 15, result
    assert (result["old_master_role"], result["old_master_link"]) == ("slave", "up"), result
    assert result["old_master_rejoined_s"] <= 30, result
    assert result["acked"] > 100, result
    assert result["acked_checked"] == result["acked"], result
    assert result["acked_missing"] == 0, result


def test_converge_after_failover_changes_nothing_and_moves_nothing(cache):
    master = drill.wait_healthy()
    pids = {h: drill.main_pids(h) for h in drill.CACHE}
    proc = golive("converge", "--only", "cache", "--json")
    assert proc.returncode == 0, proc.stderr
    assert changed_by_host(as_json(proc)) == {h: 0 for h in drill.CACHE}
    assert drill.current_master() == master
    assert {h: drill.main_pids(h) for h in drill.CACHE} == pids


def test_runtime_settings_change_without_restart(cache, tmp_path):
    """maxmemory (CONFIG SET + CONFIG REWRITE) and down-after-milliseconds (SENTINEL SET) reach
    every node, persist in the files the servers own, and restart nothing; then go back."""
    pids = {h: drill.main_pids(h) for h in drill.CACHE}
    varsfile = tmp_path / "extra.yml"
    varsfile.write_text(yaml.safe_dump({"redis_maxmemory_mb": 80,
                                         "redis_sentinel_down_after_ms": 6000}))
    try:
        proc = golive("converge", "--only", "cache", "-e", f"@{varsfile}", "--json")
        assert proc.returncode == 0, proc.stderr
        for host in drill.CACHE:
            assert drill.cli(host, "CONFIG", "GET", "maxmemory").splitlines()[1] == \
                str(80 * 1048576)
            master = drill.cli(host, "SENTINEL", "MASTER", "golive", port=26379)
            fields = master.splitlines()
            assert fields[fields.index("down-after-milliseconds") + 1] == "6000"
            files = drill.flavor(host)
            conf = drill.podman("exec", drill.container(host), "cat",
                                files["conf"], files["sentinel_conf"]).stdout
            assert "maxmemory 80mb" in conf or f"maxmemory {80 * 1048576}" in conf, conf
            assert "down-after-milliseconds golive 6000" in conf
    finally:
        back = golive("converge", "--only", "cache", "--json")
    assert back.returncode == 0, back.stderr
    assert {h: drill.main_pids(h) for h in drill.CACHE} == pids
    assert drill.cli("cache1", "CONFIG", "GET", "maxmemory").splitlines()[1] == \
        str(64 * 1048576)


def test_check_mode_on_converged_cache_changes_nothing(cache):
    proc = golive("converge", "--only", "cache", "--check", "--json")
    assert proc.returncode == 0, proc.stderr
    assert changed_by_host(as_json(proc)) == {h: 0 for h in drill.CACHE}


BAD_INPUT = {
    "quorum": ({"redis_sentinel_quorum": 4},
               ["redis_sentinel_quorum must be an integer from 1", "(3; got '4')"]),
    "policy": ({"redis_maxmemory_policy": "lru-please"},
               ["redis_maxmemory_policy must be one of noeviction, allkeys-lru", "lru-please"]),
    "user": ({"redis_users": [{"name": "app", "password": "short"}]},
             ["redis_users", "at least 12 characters", "Offending: app"]),
    "flavor": ({"redis_flavor": "keydb"},
               ["redis_flavor must be one of redis, valkey", "(got 'keydb')"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_in_preflight_before_any_change(cache, case, tmp_path):
    extra, words = BAD_INPUT[case]
    varsfile = tmp_path / "extra.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    assert_refused_in_preflight(
        golive("converge", "--only", "cache", "-e", f"@{varsfile}", "--json"), words)


def test_no_cache_secret_in_run_artifacts(cache):
    secrets = [drill.app_password()] + [drill.lab_var(f"redis_{n}_password") for n in
                                        ("admin", "replication", "sentinel_auth", "sentinel")]
    assert leaked(secrets) == []


def test_switching_flavor_is_refused_before_any_change(cache, tmp_path):
    """The other flavor than the one the lab runs is refused in preflight: on Debian 12 because
    the release ships no Valkey, on Debian 13 because the running flavor's units hold the ports
    (the role does not silently start a second server next to the first)."""
    host = drill.CACHE[0]
    current = drill.flavor(host)
    other = "redis" if current["flavor"] == "valkey" else "valkey"
    release = drill.podman("exec", drill.container(host), "sh", "-c",
                           ". /etc/os-release && echo $VERSION_CODENAME").stdout.strip()
    if other == "valkey" and release == "bookworm":
        words = ["redis_flavor is 'valkey'", "Debian 12 (bookworm)", "no valkey package"]
    else:
        words = [f"redis_flavor is '{other}'", current["server_unit"], current["sentinel_unit"],
                 "Nothing was changed", "Switching flavor"]
    pids = {h: drill.main_pids(h) for h in drill.CACHE}
    varsfile = tmp_path / "extra.yml"
    varsfile.write_text(yaml.safe_dump({"redis_flavor": other}))
    assert_refused_in_preflight(
        golive("converge", "--only", "cache", "-e", f"@{varsfile}", "--json"), words)
    drill.flavor.cache_clear()
    assert drill.flavor(host) == current
    assert {h: drill.main_pids(h) for h in drill.CACHE} == pids
