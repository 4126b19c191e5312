import os
import re
import signal

from .conftest import ProcessSampler, as_json, converge_settled, golive

LAB_HOSTS = {"acme", "backup1", "cache1", "cache2", "cache3", "db1", "db2", "mon1", "web1",
             "web2"}


def test_lab_matches_inventory(lab):
    rows = as_json(golive("lab", "status", "--json", check=True))["hosts"]
    assert {r["host"] for r in rows} == LAB_HOSTS
    assert all(r["state"] == "running" and r["systemd"] in ("running", "degraded") for r in rows)
    assert all(r["container"] == f"golive-lab-{r['host']}" for r in rows)


def test_converge_twice_second_changes_nothing(lab):
    """On a converged lab (`make demo` ran) one converge must change nothing; on a fresh one,
    or after tests that left a change, the second must. Meanwhile every host's process list is
    sampled for tests/e2e/test_secrets.py (no secret on any command line)."""
    with ProcessSampler(LAB_HOSTS):
        document = converge_settled()
    assert set(document["hosts"]) == LAB_HOSTS
    changed = {h: s["changed"] for h, s in document["hosts"].items() if s["changed"]}
    assert changed == {}
    assert all(s["failed"] == 0 and s["ok"] > 0 for s in document["hosts"].values())


def test_converge_check_mode_on_converged_lab(lab):
    proc = golive("converge", "--only", "common", "--check", "--json", "-l", "db1")
    assert proc.returncode == 0, proc.stderr
    assert as_json(proc)["hosts"]["db1"]["changed"] == 0


def test_unreachable_host_exit_code(lab):
    lab.podman("stop", "-t", "2", "golive-lab-web2")
    try:
        proc = golive("run", "tests/fixtures/noop.yml", "-l", "web1,web2", "--json")
    finally:
        lab.podman("start", "golive-lab-web2")
        lab.wait_booted([h for h in lab.lab_hosts() if h.name == "web2"])
    assert proc.returncode == 3
    # The restart is a reboot: Debian 13's systemd-tmpfiles relinks /etc/default/locale at boot,
    # and the locale the common role set must still be there.
    lang = lab.podman("exec", "golive-lab-web2", "sh", "-c", ". /etc/default/locale; echo $LANG")
    assert lab._out(lang) == "en_US.UTF-8"
    document = as_json(proc)
    assert document["hosts"]["web2"]["unreachable"] == 1
    assert document["hosts"]["web1"]["ok"] == 1
    assert "Error: unreachable: web2" in proc.stderr
    assert "Hint: is the lab running?" in proc.stderr


def test_lab_up_recreates_a_container_running_in_name_only(lab):
    """A machine restored from a snapshot keeps podman's record 'running' with no process
    behind it: podman start is then a no-op and exec fails. Killing conmon and the container's
    init reproduces that state; lab up must recreate the host and a converge restores it."""
    container = "golive-lab-backup1"
    pids = lab._out(lab.podman("container", "inspect", "--format",
                               "{{.State.ConmonPid}} {{.State.Pid}}", container)).split()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    assert lab.container_state(container) == "running"
    assert lab.podman("exec", container, "true", check=False).returncode != 0

    up = golive("lab", "up", "--json")
    assert up.returncode == 0, up.stderr
    assert re.search(rf"^{container}\s+recreated \(.*\)$", up.stderr, re.M), up.stderr
    assert re.search(r"^golive-lab-db1\s+running$", up.stderr, re.M)
    row = next(r for r in as_json(up)["hosts"] if r["host"] == "backup1")
    assert row["systemd"] in ("running", "degraded")

    # a rebuilt backup host has a new pgBackRest CA: a converge of it alone says so...
    alone = golive("converge", "-l", "backup1", "--json")
    assert alone.returncode == 1
    assert "was the repo host rebuilt?" in alone.stderr, alone.stderr
    # ...and one with its peers restores the backup tier (new certificates, new stanza)
    converge = golive("converge", "-l", "backup1,db1,db2", "--json")
    assert converge.returncode == 0, converge.stderr
    assert all(s["failed"] == 0 for s in as_json(converge)["hosts"].values())
    assert golive("backup", "--type", "full").returncode == 0
