"""End-to-end: the real `golive` CLI against the podman lab.

The lab is brought up if needed; if this session created it, it is removed at the end, also on
failure. A lab that was already running (e.g. from `make demo`) is left as it was found.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLIVE = [sys.executable, "-m", "golive"]


def golive(*args, check=False, timeout=1800, cwd=ROOT, cmd=None):
    proc = subprocess.run([*(cmd or GOLIVE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy(), check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"golive {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


def as_json(proc):
    return json.loads(proc.stdout)


def changed_by_host(document):
    """{host: changed count} of a `--json` run document."""
    return {h: s["changed"] for h, s in document["hosts"].items()}


def converge_settled(*args):
    """`golive converge ARGS --json`, once more if the first run changed anything; the last
    run's document. On a tier already converged (by `make demo` or an earlier test) the first
    run is the second converge, and its changed counts are the idempotence proof."""
    document = None
    for _ in range(2):
        proc = golive("converge", *args, "--json")
        assert proc.returncode == 0, proc.stderr
        document = as_json(proc)
        if not any(s["changed"] for s in document["hosts"].values()):
            break
    return document


def leaked(secrets):
    """(file, secret) for every kept run file of golive that contains one of SECRETS."""
    from golive import paths

    return [(str(f), s) for f in (paths.state_dir() / "runs").rglob("*") if f.is_file()
            for s in secrets if s in f.read_text(errors="replace")]


def container(host: str) -> str:
    """The lab container of inventory host HOST."""
    return f"golive-lab-{host}"


def podman(*argv: str, env: dict[str, str] | None = None, timeout: float = 120,
           popen: bool = False):
    """podman ARGV with golive's podman settings; secrets travel in podman's environment
    (-e NAME), never in argv. popen=True returns the running Popen (stdout/stderr piped)."""
    from golive import paths

    flags = [x for name in sorted(env or {}) for x in ("-e", name)]
    cmd = ["podman", *argv[:1], *flags, *argv[1:]]
    full_env = {**os.environ, **paths.podman_env(), **(env or {})}
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_env)
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout,
                          check=False)


def pg_cluster(host: str = "db1") -> dict:
    """What golive.ops.postgresql published on a lab host (major, unit, conf_dir, data_dir):
    the tests read the host's major instead of assuming one."""
    proc = podman("exec", container(host), "cat", "/etc/ansible/facts.d/golive_postgresql.fact")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_refused_in_preflight(proc, words):
    """Exit 5, every failed task a role's `Preflight |` check naming all WORDS, and no host
    changed anything: bad input stopped the run before any host changed."""
    document = as_json(proc)
    assert proc.returncode == 5, proc.stderr
    assert document["failed_tasks"], document
    assert all(f["task"].startswith("Preflight |") for f in document["failed_tasks"]), document
    message = " ".join(f["msg"] for f in document["failed_tasks"])
    assert all(w in message for w in words), message
    assert all(s["changed"] == 0 for s in document["hosts"].values()), document["hosts"]


@pytest.fixture(scope="session")
def lab():
    from golive import lab as lab_mod

    existed = bool(lab_mod.lab_containers())
    try:
        golive("lab", "up", check=True)
        yield lab_mod
    finally:
        if not existed:
            golive("lab", "down")


_START = time.monotonic()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A line per test as it ends (minutes since the start, outcome, seconds), then what a passed
    test printed or a failure's report, at once: a run cut short by a time limit still shows
    where time went, why, and the figures measured."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and report.passed:
        return
    reporter = item.config.pluginmanager.get_plugin("terminalreporter")
    elapsed = (time.monotonic() - _START) / 60
    reporter.write_line(f"[{elapsed:5.1f} min] {report.nodeid} {report.when} {report.outcome} "
                        f"{report.duration:.1f} s")
    if report.failed:
        reporter.write_line(report.longreprtext[-6000:])
    elif report.capstdout.strip():  # the figures a test prints (failed requests, wall times)
        reporter.write_line(report.capstdout.strip()[-2000:])


_LAST = ("test_secrets.py",)  # after all others


def pytest_collection_modifyitems(items):
    """test_secrets.py searches what every other test left on the hosts: it runs last."""
    items.sort(key=lambda item: _LAST.index(item.path.name) + 1 if item.path.name in _LAST
               else 0)
