"""Database tier end to end: bad input is refused before any host changes, and a PgBouncer
setting re-converged during a pgbench run fails no transaction and drops no client."""

import json
import os
import subprocess
import time
from datetime import UTC, datetime

import pytest
import yaml

from golive import lab as lab_mod
from golive import paths

from .conftest import (
    GOLIVE,
    ROOT,
    as_json,
    assert_refused_in_preflight,
    changed_by_host,
    converge_settled,
    golive,
    leaked,
    pg_cluster,
    podman,
)

DB_HOSTS = {"db1", "db2"}
PRIMARY = "golive-lab-db1"
PROBE = "/usr/local/bin/golive-pgbench-run"


def lab_var(group, name):
    return yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / f"{group}.yml")
                          .read_text())[name]


def app_password():
    return next(u["password"] for u in lab_var("db", "postgresql_users") if u["name"] == "app")


def in_primary(lab, *argv, env=None, timeout=120):
    """Run a command in the lab primary; secrets travel in podman's environment, not argv."""
    return podman("exec", PRIMARY, *argv, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def db_converged(lab):
    return converge_settled("--only", "db")


@pytest.fixture(scope="module")
def db(lab, db_converged):
    copied = podman("cp", str(ROOT / "tests" / "scripts" / "pgbench-run.sh"), f"{PRIMARY}:{PROBE}")
    assert copied.returncode == 0, copied.stderr
    init = in_primary(lab, "pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-U", "app", "app",
                      env={"PGPASSWORD": app_password()})
    assert init.returncode == 0, init.stderr
    return lab


def test_second_db_converge_changes_nothing(db_converged):
    document = db_converged
    assert document["rc"] == 0
    assert set(document["hosts"]) == DB_HOSTS
    assert changed_by_host(document) == {"db1": 0, "db2": 0}


BAD_INPUT = {
    "pool_mode": ({"pgbouncer_pool_mode": "bogus"},
                  ["pgbouncer_pool_mode", "session, transaction, statement", "bogus"]),
    "hba_trust": ({"postgresql_hba_extra_entries": [
        {"type": "host", "database": "all", "user": "all", "address": "10.0.0.0/8",
         "method": "trust"}]},
                  ["postgresql_hba_extra_entries", "scram-sha-256, reject", "trust"]),
    "negative_pool": ({"pgbouncer_default_pool_size": -5},
                      ["pgbouncer_default_pool_size", "integer >= 1", "-5"]),
    # a major the host's release does not ship (and not the cluster that runs there)
    "pg_major": ({"postgresql_version": "13"},
                 ["postgresql_version is 13", "runs PostgreSQL",
                  f"Debian {lab_mod.PLATFORMS[lab_mod.default_platform()]} ships PostgreSQL"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_in_preflight_before_any_change(db, case, tmp_path):
    extra, words = BAD_INPUT[case]
    varsfile = tmp_path / "bad.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    assert_refused_in_preflight(
        golive("converge", "--only", "db", "-e", f"@{varsfile}", "--json"), words)


def show_config(lab, key):
    out = in_primary(lab, "psql", "-XAt", "-h", "/var/run/postgresql", "-p", "6432", "-U",
                     "pgbouncer_admin", "pgbouncer", "-c", "SHOW CONFIG",
                     env={"PGPASSWORD": lab_var("pgbouncer", "pgbouncer_admin_password")})
    assert out.returncode == 0, out.stderr
    return next(line.split("|")[1] for line in out.stdout.splitlines()
                if line.split("|")[0] == key)


def wait_for_play(name, since, timeout=300):
    """Block until a golive run started after `since` has begun the play `name` (read from the
    run's job_events, which ansible-runner writes as they happen)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in (paths.state_dir() / "runs").iterdir():
            if run.stat().st_mtime < since:
                continue
            for event in run.glob("artifacts/*/job_events/*.json"):
                try:  # runner writes *-partial.json, then renames it: files come and go
                    data = json.loads(event.read_text())
                except (OSError, ValueError):
                    continue
                if data.get("event") == "playbook_on_play_start" and \
                        data.get("event_data", {}).get("name") == name:
                    return
        time.sleep(0.5)
    raise AssertionError(f"no run reached the play {name!r} within {timeout} s")


def sighup_times(lab):
    """When PgBouncer re-read its config, from its log (UTC, epoch seconds)."""
    log = in_primary(lab, "grep", "got SIGHUP", "/var/log/postgresql/pgbouncer.log").stdout
    return [datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
            for line in log.splitlines()]


def test_pgbouncer_change_during_pgbench_drops_nothing(db):
    """A 30 s pgbench through PgBouncer is started once the re-converge reaches the PgBouncer
    play, so the changed setting is applied (RELOAD) while the clients are busy."""
    assert show_config(db, "server_idle_timeout") == "600"
    env = {**os.environ, **paths.podman_env(), "PGUSER": "app", "PGDATABASE": "app",
           "PGPASSWORD": app_password()}
    since = time.time()
    converge = subprocess.Popen([*GOLIVE, "converge", "--only", "db", "-e",
                                 "pgbouncer_server_idle_timeout=300", "--json"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    bench = None
    try:
        wait_for_play("Database tier | PgBouncer", since)
        bench_started = time.time()
        bench = subprocess.Popen(["podman", "exec", "-e", "PGUSER", "-e", "PGDATABASE", "-e",
                                  "PGPASSWORD", PRIMARY, PROBE, "6432", "20", "30"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env)
        out, err = converge.communicate(timeout=600)
        assert converge.returncode == 0, err
        assert json.loads(out)["hosts"]["db1"]["changed"] >= 1
        assert show_config(db, "server_idle_timeout") == "300"
        bench_out, bench_err = bench.communicate(timeout=120)
        bench_ended = time.time()
    finally:
        for proc in (converge, bench):
            if proc is not None and proc.poll() is None:
                proc.kill()
        golive("converge", "--only", "db", "--json")  # back to the inventory's settings
    reloads = [t for t in sighup_times(db) if bench_started <= t <= bench_ended]
    assert reloads, "the RELOAD must happen while pgbench runs"
    result = json.loads(bench_out.splitlines()[-1])
    assert result["rc"] == 0, bench_err
    assert result["failed_transactions"] == 0, bench_err
    assert result["aborted_clients"] == 0, bench_err
    assert result["tps"] and result["tps"] > 0
    assert show_config(db, "server_idle_timeout") == "600"


def assert_pgbouncer_serves(lab):
    served = in_primary(lab, "psql", "-XAtq", "-h", "127.0.0.1", "-p", "6432", "-U", "app", "app",
                        "-c", "SELECT 42", env={"PGPASSWORD": app_password()})
    assert served.stdout.strip() == "42", served.stderr


def psql_primary(lab, sql):
    out = in_primary(lab, "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-c", sql)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def converge_db_with(tmp_path, extra):
    varsfile = tmp_path / "extra.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    return golive("converge", "--only", "db", "-e", f"@{varsfile}", "--json")


def test_bad_pgbouncer_config_never_goes_live(db, tmp_path):
    """A value PgBouncer rejects (not knowable in preflight) fails the run at validation; the
    live file and the running PgBouncer keep the old config and keep serving."""
    before = in_primary(db, "md5sum", "/etc/pgbouncer/pgbouncer.ini").stdout
    proc = converge_db_with(tmp_path, {"pgbouncer_settings": {"server_lifetime": "forever"}})
    assert proc.returncode == 1, proc.stderr
    message = " ".join(f["msg"] for f in as_json(proc)["failed_tasks"])
    assert "server_lifetime" in message and "invalid value" in message, message
    assert in_primary(db, "md5sum", "/etc/pgbouncer/pgbouncer.ini").stdout == before
    assert show_config(db, "server_lifetime") == "3600"
    assert_pgbouncer_serves(db)


def test_reloadable_setting_is_applied_without_restart(db, tmp_path):
    started = psql_primary(db, "SELECT pg_postmaster_start_time()")
    try:
        proc = converge_db_with(tmp_path,
                                {"postgresql_settings": {"log_min_duration_statement": 750}})
        assert proc.returncode == 0, proc.stderr
        assert psql_primary(db, "SHOW log_min_duration_statement") == "750ms"
        assert psql_primary(db, "SELECT pg_postmaster_start_time()") == started
    finally:
        golive("converge", "--only", "db", "--json")
    assert psql_primary(db, "SHOW log_min_duration_statement") == "1s"


def test_restart_only_for_pending_restart_and_the_run_says_so(db, tmp_path):
    started = psql_primary(db, "SELECT pg_postmaster_start_time()")
    try:
        proc = converge_db_with(tmp_path, {"postgresql_shared_buffers_mb": 96})
        assert proc.returncode == 0, proc.stderr
        assert psql_primary(db, "SHOW shared_buffers") == "96MB"
        assert psql_primary(db, "SELECT pg_postmaster_start_time()") != started
        output = (ROOT / as_json(proc)["artifact_dir"] / "stdout").read_text()
        assert "pending_restart is set for shared_buffers" in output
    finally:
        golive("converge", "--only", "db", "--json")
    assert psql_primary(db, "SHOW shared_buffers") == "128MB"


def test_check_mode_on_converged_db_changes_nothing(db):
    proc = golive("converge", "--only", "db", "--check", "--json")
    assert proc.returncode == 0, proc.stderr
    assert changed_by_host(as_json(proc)) == {"db1": 0, "db2": 0}


def test_no_db_secret_in_run_artifacts(db):
    """Every db converge above ran through golive; none of the lab's db secrets may appear in
    any kept run directory (stdout, job events, command)."""
    secrets = [app_password(), lab_var("db", "postgresql_replication_password")] + [
        lab_var("pgbouncer", f"pgbouncer_{u}_password") for u in ("auth", "admin", "stats")]
    assert leaked(secrets) == []


def test_pg_hba_rejected_by_postgresql_is_put_back(db, tmp_path):
    """A line preflight cannot judge (a bad netmask) is caught by pg_hba_file_rules before any
    reload; the previous file is restored and logins keep working."""
    hba = f"{pg_cluster()['conf_dir']}/pg_hba.conf"
    before = in_primary(db, "md5sum", hba).stdout
    proc = converge_db_with(tmp_path, {"postgresql_hba_extra_entries": [
        {"type": "host", "database": "all", "user": "all", "address": "10.0.0.0/99",
         "method": "scram-sha-256"}]})
    assert proc.returncode == 1, proc.stderr
    message = " ".join(f["msg"] for f in as_json(proc)["failed_tasks"])
    assert "pg_hba.conf was rejected" in message and "previous file was restored" in message
    assert in_primary(db, "md5sum", hba).stdout == before
    assert psql_primary(db, "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL") == "0"
    assert_pgbouncer_serves(db)
