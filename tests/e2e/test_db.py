"""Database tier end to end: bad input is refused before any host changes, and a PgBouncer
setting re-converged during a pgbench run fails no transaction and drops no client."""

import json
import os
import subprocess
import time

import pytest
import yaml

from golive import paths

from .conftest import ROOT, as_json, golive

DB_HOSTS = {"db1", "db2"}
PRIMARY = "golive-lab-db1"
PROBE = "/usr/local/bin/golive-pgbench-run"


def lab_var(group, name):
    return yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / f"{group}.yml")
                          .read_text())[name]


def app_password():
    return next(u["password"] for u in lab_var("db", "postgresql_users") if u["name"] == "app")


def in_primary(lab, *argv, env=None, **kw):
    """Run a command in the lab primary; secrets travel in podman's environment, not argv."""
    names = sorted(env or {})
    flags = [x for name in names for x in ("-e", name)]
    return subprocess.run(["podman", "exec", *flags, PRIMARY, *argv], capture_output=True,
                          text=True, env={**os.environ, **paths.podman_env(), **(env or {})},
                          timeout=kw.pop("timeout", 120), **kw)


@pytest.fixture(scope="module")
def db(lab):
    proc = golive("converge", "--only", "db", "--json")
    assert proc.returncode == 0, proc.stderr
    subprocess.run(["podman", "cp", str(ROOT / "tests" / "scripts" / "pgbench-run.sh"),
                    f"{PRIMARY}:{PROBE}"], check=True, env={**os.environ, **paths.podman_env()})
    init = in_primary(lab, "pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-U", "app", "app",
                      env={"PGPASSWORD": app_password()})
    assert init.returncode == 0, init.stderr
    return lab


def test_second_db_converge_changes_nothing(db):
    document = as_json(golive("converge", "--only", "db", "--json"))
    assert document["rc"] == 0
    assert set(document["hosts"]) == DB_HOSTS
    assert {h: s["changed"] for h, s in document["hosts"].items()} == {"db1": 0, "db2": 0}


BAD_INPUT = {
    "pool_mode": ({"pgbouncer_pool_mode": "bogus"},
                  ["pgbouncer_pool_mode", "session, transaction, statement", "bogus"]),
    "hba_trust": ({"postgresql_hba_extra_entries": [
        {"type": "host", "database": "all", "user": "all", "address": "10.0.0.0/8",
         "method": "trust"}]},
                  ["postgresql_hba_extra_entries", "scram-sha-256, reject", "trust"]),
    "negative_pool": ({"pgbouncer_default_pool_size": -5},
                      ["pgbouncer_default_pool_size", "integer >= 1", "-5"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_in_preflight_before_any_change(db, case, tmp_path):
    extra, words = BAD_INPUT[case]
    varsfile = tmp_path / "bad.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    proc = golive("converge", "--only", "db", "-e", f"@{varsfile}", "--json")
    document = as_json(proc)
    assert proc.returncode == 5, proc.stderr  # invalid input, not a failed host
    assert document["failed"], document
    assert all(f["task"].startswith("Preflight |") for f in document["failed"])
    message = " ".join(f["msg"] for f in document["failed"])
    assert all(w in message for w in words), message
    # preflight ran everywhere first: no host changed anything
    assert all(s["changed"] == 0 for s in document["hosts"].values()), document["hosts"]


def show_config(lab, key):
    out = in_primary(lab, "psql", "-XAt", "-h", "/var/run/postgresql", "-p", "6432", "-U",
                     "pgbouncer_admin", "pgbouncer", "-c", "SHOW CONFIG",
                     env={"PGPASSWORD": lab_var("pgbouncer", "pgbouncer_admin_password")})
    assert out.returncode == 0, out.stderr
    return next(line.split("|")[1] for line in out.stdout.splitlines()
                if line.split("|")[0] == key)


def test_pgbouncer_change_during_pgbench_drops_nothing(db):
    assert show_config(db, "server_idle_timeout") == "600"
    env = {**os.environ, **paths.podman_env(), "PGUSER": "app", "PGDATABASE": "app",
           "PGPASSWORD": app_password()}
    bench = subprocess.Popen(["podman", "exec", "-e", "PGUSER", "-e", "PGDATABASE", "-e",
                              "PGPASSWORD", PRIMARY, PROBE, "6432", "20", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(5)
        changed = golive("converge", "--only", "db", "-e", "pgbouncer_server_idle_timeout=300",
                         "--json")
        assert changed.returncode == 0, changed.stderr
        assert as_json(changed)["hosts"]["db1"]["changed"] >= 1
        assert show_config(db, "server_idle_timeout") == "300"
        assert bench.poll() is None, "the re-converge must land inside the pgbench run"
        out, err = bench.communicate(timeout=90)
    finally:
        if bench.poll() is None:
            bench.kill()
        golive("converge", "--only", "db", "--json")  # back to the inventory's settings
    result = json.loads(out.splitlines()[-1])
    assert result["rc"] == 0, err
    assert result["failed_transactions"] == 0, err
    assert result["aborted_clients"] == 0, err
    assert result["tps"] and result["tps"] > 0
    assert show_config(db, "server_idle_timeout") == "600"
