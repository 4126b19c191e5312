"""`golive check` and `golive status` against the lab: every check of the demo passes; a stopped
Redis primary and a filled disk fail the check that measures them, naming host and check; an
invalid definition stops the run before any host is checked; the status document matches its
schema and the screen fits 120 columns."""

import json

import jsonschema
import pytest
import yaml

from . import cache_drill
from .conftest import ROOT, as_json, assert_refused_in_preflight, container, golive, podman

LAB_HOSTS = {"acme", "backup1", "cache1", "cache2", "cache3", "db1", "db2", "mon1", "web1",
             "web2"}


def results(document) -> dict[tuple[str, str], dict]:
    return {(host, entry["name"]): entry for host, report in document["report"].items()
            for entry in (report or {}).get("checks", [])}


def test_all_checks_pass_on_the_converged_lab(lab):
    proc = golive("check", "--json")
    found = results(as_json(proc))
    failed = {key: entry["message"] for key, entry in found.items() if entry["status"] == "fail"}
    assert proc.returncode == 0, (failed, proc.stderr)
    assert {host for host, _ in found} == LAB_HOSTS
    # a warning is allowed only where the value is the shared machine's, measured while the
    # other tests, Molecule and the CI machine run on its 2 CPUs: its load, its free memory, and
    # latencies (CI saw `SELECT 1` on db2 take 500.1 ms against the lab's 500 ms warning);
    # roles, replication, certificates, disk and everything else must be ok
    not_ok = {key: f'{entry["status"]}: {entry["message"]}' for key, entry in found.items()
              if entry["status"] != "ok"
              and not (entry["status"] == "warn"
                       and (key[1] in ("load", "memory") or entry.get("unit") == "ms"))}
    assert not_ok == {}
    # what each tier is checked for, measured on the host
    assert found[("db1", "db_select_pgbouncer")]["unit"] == "ms"
    assert found[("cache1", "redis_ping")]["value"] > 0
    assert found[("web1", "certificate")]["unit"] == "days"
    assert found[("db2", "disk_root")]["value"] > 0


def test_redis_stopped_on_the_primary_fails_the_check_naming_host_and_check(lab):
    primary = cache_drill.wait_healthy()
    unit = cache_drill.flavor(primary)["server_unit"]  # redis-server or valkey-server
    podman("exec", container(primary), "systemctl", "stop", unit, timeout=60)
    try:
        proc = golive("check", "-l", "cache", "--json")
        text = golive("check", "-l", primary).stdout
    finally:
        podman("exec", container(primary), "systemctl", "start", unit, timeout=60)
    assert proc.returncode == 1, proc.stderr
    found = results(as_json(proc))
    assert found[(primary, "redis_ping")]["status"] == "fail"
    assert "Connection refused" in found[(primary, "redis_ping")]["message"]
    assert found[(primary, "redis_server")]["status"] == "fail"
    assert found[(primary, "redis_server")]["value"] in ("inactive", "failed")
    assert f"{primary}/redis_ping" in proc.stderr and f"{primary}/redis_server" in proc.stderr
    # the others answer; their latency is the shared machine's (Molecule runs beside this
    # suite on 2 CPUs: a local CI run saw a replica's PING above the lab's 500 ms warning)
    others = {h: found[(h, "redis_ping")] for h in cache_drill.CACHE if h != primary}
    assert all(e["status"] == "ok" or (e["status"] == "warn" and e["unit"] == "ms"
                                       and "answered PING" in e["message"])
               for e in others.values()), others
    assert f"FAIL {primary} redis_ping:" in text
    # Sentinel may have failed over meanwhile; the old primary comes back as a replica
    cache_drill.wait_healthy()


@pytest.fixture()
def diskfill(tmp_path):
    """A throwaway container with a 64 MiB tmpfs at /srv/fill and an inventory for it."""
    from golive import lab as lab_mod

    name = "golive-e2e-diskfill"
    podman("rm", "-f", "-t", "0", name)
    proc = podman("run", "-d", "--name", name, "--label", f"{lab_mod.LABEL}=1",
                  "--tmpfs", "/srv/fill:size=64m", lab_mod.image_for(lab_mod.default_platform()),
                  "sleep", "600")
    assert proc.returncode == 0, proc.stderr
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "containers.podman.podman",
                 "ansible_python_interpreter": "/usr/bin/python3",
                 "checks_host": [{"name": "disk_fill", "type": "disk", "path": "/srv/fill",
                                  "min_free_percent": 50}]},
        "hosts": {"fill1": {"ansible_host": name}}}}))
    try:
        yield name, str(inventory)
    finally:
        podman("rm", "-f", "-t", "0", name)


def test_a_filled_disk_fails_the_disk_check_with_the_measured_value(lab, diskfill):
    name, inventory = diskfill
    before = golive("check", "-i", inventory, "--json")
    assert before.returncode == 0, before.stderr
    assert results(as_json(before))[("fill1", "disk_fill")]["value"] == 100.0

    podman("exec", name, "dd", "if=/dev/zero", "of=/srv/fill/blob", "bs=1M", "count=48")
    after = golive("check", "-i", inventory, "--json")
    assert after.returncode == 1, after.stderr
    entry = results(as_json(after))[("fill1", "disk_fill")]
    assert (entry["status"], entry["value"], entry["unit"]) == ("fail", 25.0, "%")
    assert "fill1/disk_fill" in after.stderr


def test_an_invalid_definition_is_refused_before_any_host_is_checked(lab, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"checks_extra": [
        {"name": "api", "type": "htp", "url": "https://web1/health"},
        {"name": "env_file", "type": "file"}]}))
    proc = golive("check", "--json", "-e", f"@{bad}")
    assert_refused_in_preflight(proc, [
        "checks_extra[0] 'api': unknown type 'htp'",
        "checks_extra[1] 'env_file': missing required field path"])
    assert {f["task"] for f in as_json(proc)["failed_tasks"]} == {
        "Preflight | Validate the check definitions"}
    stdout = (ROOT / as_json(proc)["artifact_dir"] / "stdout").read_text()
    assert "Run the checks" not in stdout
    assert "Error: " in proc.stderr


def test_status_json_matches_its_schema_and_the_screen_fits_120_columns(lab):
    schema = json.loads((ROOT / "docs" / "status-schema.json").read_text())
    proc = golive("status", "--json")
    assert proc.returncode == 0, proc.stderr
    document = as_json(proc)
    jsonschema.validate(document, schema)
    report = document["report"]
    assert set(report) == LAB_HOSTS
    assert report["db1"]["postgresql"]["role"] == "primary"
    assert report["db2"]["postgresql"]["role"] == "standby"
    assert report["db2"]["postgresql"]["receiver"] == "streaming"
    assert [h for h in cache_drill.CACHE if report[h]["redis"]["role"] == "master"] == [
        cache_drill.current_master()]
    assert all(report[h]["sentinel"]["quorum_ok"] for h in cache_drill.CACHE)
    assert {p["database"] for p in report["db1"]["pgbouncer"]["pools"]} >= {"app"}
    assert report["web1"]["certificate"]["serial_match"] is True

    screen = golive("status")
    assert screen.returncode == 0, screen.stderr
    lines = screen.stdout.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert lines[0].split() == ["host", "groups", "state"]
    assert any(line.startswith("db1 ") and "postgresql primary" in line for line in lines)
