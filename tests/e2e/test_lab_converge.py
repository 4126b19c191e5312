from .conftest import as_json, golive

LAB_HOSTS = {"acme", "backup1", "cache1", "cache2", "cache3", "db1", "db2", "web1", "web2"}


def test_lab_matches_inventory(lab):
    rows = as_json(golive("lab", "status", "--json", check=True))["hosts"]
    assert {r["host"] for r in rows} == LAB_HOSTS
    assert all(r["state"] == "running" and r["systemd"] in ("running", "degraded") for r in rows)
    assert all(r["container"] == f"golive-lab-{r['host']}" for r in rows)


def test_converge_twice_second_changes_nothing(lab):
    first = golive("converge", "--json")
    assert first.returncode == 0, first.stderr
    second = golive("converge", "--json")
    assert second.returncode == 0, second.stderr
    document = as_json(second)
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
    document = as_json(proc)
    assert document["hosts"]["web2"]["unreachable"] == 1
    assert document["hosts"]["web1"]["ok"] == 1
    assert "Error: unreachable: web2" in proc.stderr
    assert "Hint: is the lab running?" in proc.stderr
