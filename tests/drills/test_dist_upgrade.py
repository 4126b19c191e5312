"""Drill (outside `make test`: `make drill-dist-upgrade`, about 10 minutes): a PostgreSQL host
upgraded from Debian 12 to Debian 13 the way a real one is (sources switched to trixie, `apt
full-upgrade`, reboot) keeps its PostgreSQL 15 cluster. The next converge serves it with its
data, creates no 17 cluster, says what runs and how to upgrade, and a second converge changes
nothing; `golive check` watches the 15 cluster's unit.

One throwaway container (golive-drill-pg1, removed at the end, also on failure), its own
inventory, no other lab host."""

import time

import pytest
import yaml

from tests.e2e.conftest import as_json, golive, podman

NAME = "golive-drill-pg1"
LABEL = "io.golive.drill"


def sh(command: str, timeout: float = 120):
    proc = podman("exec", NAME, "bash", "-c", command, timeout=timeout)
    assert proc.returncode == 0, f"{command}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def psql(sql: str) -> str:
    return sh(f"runuser -u postgres -- psql -X -A -t -d app -c \"{sql}\"").strip()


def booted() -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = podman("exec", NAME, "systemctl", "is-system-running").stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    raise AssertionError(f"{NAME} did not boot: {state}")


@pytest.fixture()
def host(tmp_path):
    from golive import lab as lab_mod

    podman("rm", "-f", "-t", "0", NAME)
    proc = podman("run", "-d", "--name", NAME, "--hostname", "pg1", "--label", f"{LABEL}=1",
                  "--systemd=always", "--tmpfs", "/tmp", lab_mod.image_for("debian12"),
                  "/sbin/init")
    assert proc.returncode == 0, proc.stderr
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "golive.ops.podman",
                 "ansible_python_interpreter": "/usr/bin/python3",
                 "postgresql_memory_mb": 256,
                 "postgresql_replication_password": "drill-replication-secret",
                 "postgresql_users": [{"name": "app", "password": "drill-app-db-secret"}],
                 "postgresql_databases": [{"name": "app", "owner": "app"}],
                 "checks_skip": ["clock", "load", "memory", "disk_root"]},
        "children": {"db": {"children": {"db_primary": {"hosts": {
            "pg1": {"ansible_host": NAME}}}}}}}}))
    try:
        booted()
        yield str(inventory)
    finally:
        podman("rm", "-f", "-t", "0", NAME)


def converge(inventory: str) -> dict:
    proc = golive("converge", "--only", "db", "-i", inventory, "--json", timeout=1200)
    assert proc.returncode == 0, proc.stderr
    return as_json(proc)


def test_a_dist_upgraded_host_keeps_its_postgresql_15_cluster(host):
    from golive import lab as lab_mod

    first = converge(host)
    assert sh("ls /etc/postgresql").split() == ["15"]
    psql("CREATE TABLE drill (n int); INSERT INTO drill SELECT generate_series(1, 1000)")

    path, content = lab_mod.apt_sources("trixie")
    sh(f"rm -f /etc/apt/sources.list && cat > /{path} <<'EOF'\n{content}EOF")
    started = time.monotonic()
    sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -y -qq "
       "-o Dpkg::Options::=--force-confold full-upgrade", timeout=1800)
    upgrade_s = time.monotonic() - started
    assert podman("restart", "-t", "10", NAME).returncode == 0
    booted()
    assert "13" in sh("cat /etc/debian_version").split(".")[0]

    second = converge(host)
    assert sh("ls /etc/postgresql").split() == ["15"], "a second cluster was created"
    assert psql("SELECT count(*) FROM drill") == "1000"
    assert "15 main" in sh("pg_lsclusters -h") and "online" in sh("pg_lsclusters -h")
    notes = " ".join(w["msg"] for w in second["warnings"])
    assert "PostgreSQL 15 (cluster main) keeps serving" in notes, second["warnings"]
    assert "pg_upgradecluster 15 main" in notes and "default is 17" in notes

    third = converge(host)
    assert third["hosts"]["pg1"]["changed"] == 0, third["hosts"]
    check = golive("check", "-i", host, "--json")
    assert check.returncode == 0, check.stderr
    rows = {c["name"]: c for c in as_json(check)["report"]["pg1"]["checks"]}
    assert rows["postgresql"]["status"] == "ok", rows["postgresql"]
    assert "postgresql@15-main" in str(rows["postgresql"]), rows["postgresql"]
    print(f"dist-upgrade drill: first converge {first['duration']:.0f} s, apt full-upgrade "
          f"{upgrade_s:.0f} s, converge after the upgrade {second['duration']:.0f} s "
          f"(changed {second['hosts']['pg1']['changed']}), third {third['duration']:.0f} s "
          f"changed 0; check rows {sorted(rows)}")
