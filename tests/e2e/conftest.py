"""End-to-end: the real `golive` CLI against the podman lab.

The lab is brought up if needed; if this session created it, it is removed at the end, also on
failure. A lab that was already running (e.g. from `make demo`) is left as it was found.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLIVE = [sys.executable, "-m", "golive"]


# Every `--json` document the CLI printed in this session, and what it printed on stderr:
# tests/e2e/test_secrets.py (run last) searches them for the lab's secrets.
CLI_OUTPUTS: list[tuple[str, str]] = []


def golive(*args, check=False, timeout=1800, cwd=ROOT, cmd=None):
    proc = subprocess.run([*(cmd or GOLIVE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy(), check=False)
    if "--json" in args:
        CLI_OUTPUTS.append((" ".join(str(a) for a in args[:3]), proc.stdout + proc.stderr))
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


# What every process on the lab hosts ran with (their command lines) while a whole-lab converge
# ran, sampled by ProcessSampler; plus the control node's processes that name a lab container.
# {host: {line, ...}}, and the number of rounds per host.
PS_SAMPLES: dict[str, set[str]] = {}
PS_ROUNDS: dict[str, int] = {}
CONTROL = "control node"
_LIBPOD = re.compile(r"libpod-([0-9a-f]{64})")


def lab_container_ids() -> dict[str, str]:
    """{full container id: inventory host} of the running lab containers."""
    proc = podman("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}", timeout=60)
    ids = {}
    for line in proc.stdout.splitlines():
        cid, _, name = line.partition(" ")
        if name.startswith("golive-lab-"):
            ids[cid] = name.removeprefix("golive-lab-")
    return ids


def process_lines(ids: dict[str, str], markers: tuple[str, ...] = ("golive-lab-",),
                  proc_root: str = "/proc") -> dict[str, list[str]]:
    """One pass over this machine's /proc, which sees the containers' processes too: the
    command lines of every process in a lab container (known by the libpod-ID of its cgroup),
    per host, and of this machine's processes that name a lab container or address (MARKERS:
    podman's, ssh's), as CONTROL. Cheap where a `podman exec` per host and round cost a core
    beside the converge it sampled."""
    found: dict[str, list[str]] = {}
    for entry in os.scandir(proc_root):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "cmdline"), "rb") as f:
                raw = f.read()
            with open(os.path.join(entry.path, "cgroup")) as f:
                cgroup = f.read()
        except OSError:
            continue  # ended meanwhile
        line = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        if not line:
            continue  # a kernel thread, or a zombie
        match = _LIBPOD.search(cgroup)
        host = ids.get(match.group(1)) if match else None
        if host:
            found.setdefault(host, []).append(line)
        elif any(marker in line for marker in markers):
            found.setdefault(CONTROL, []).append(line)
    return found


class ProcessSampler:
    """Samples the process lists of HOSTS' containers (and the control node) every INTERVAL
    seconds while its `with` block runs, into PS_SAMPLES/PS_ROUNDS; bounded by MAX_SECONDS and
    MAX_ROUNDS, so that a hung converge cannot make it run or grow forever."""

    INTERVAL = 0.5
    MAX_SECONDS = 1800
    MAX_ROUNDS = 6000

    def __init__(self, hosts):
        self.hosts = set(hosts)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ps-sampler", daemon=True)

    def _run(self) -> None:
        from golive import lab

        deadline = time.monotonic() + self.MAX_SECONDS
        markers = ("golive-lab-", *(f" {h.address} " for h in lab.lab_hosts()))
        ids = lab_container_ids()
        for _ in range(self.MAX_ROUNDS):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            if not self.hosts <= set(ids.values()):  # a container (re)started: its new id
                ids = lab_container_ids()
            lines = process_lines(ids, markers)
            for host in [*(self.hosts & set(ids.values())), CONTROL]:
                PS_SAMPLES.setdefault(host, set()).update(lines.get(host, []))
                PS_ROUNDS[host] = PS_ROUNDS.get(host, 0) + 1
            self.stop.wait(self.INTERVAL)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)
        return False


# `make test` runs the whole-lab idempotence converge in a pytest session of its own, before
# Molecule starts beside the rest of the suite; GOLIVE_E2E_CARRY names a file (0600) through
# which one session hands the next its process samples and CLI outputs, for test_secrets.
CARRY = os.environ.get("GOLIVE_E2E_CARRY")


def pytest_sessionstart(session):
    if CARRY and os.path.exists(CARRY):
        with open(CARRY) as f:
            carried = json.load(f)
        for host, lines in carried["ps_samples"].items():
            PS_SAMPLES.setdefault(host, set()).update(lines)
        for host, rounds in carried["ps_rounds"].items():
            PS_ROUNDS[host] = PS_ROUNDS.get(host, 0) + rounds
        CLI_OUTPUTS.extend(tuple(item) for item in carried["cli_outputs"])


def pytest_sessionfinish(session, exitstatus):
    if CARRY:
        os.makedirs(os.path.dirname(CARRY) or ".", exist_ok=True)
        fd = os.open(CARRY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"ps_samples": {h: sorted(v) for h, v in PS_SAMPLES.items()},
                       "ps_rounds": PS_ROUNDS, "cli_outputs": CLI_OUTPUTS}, f)


FIRST = "test_lab_converge.py::test_converge_twice_second_changes_nothing"


def pytest_collection_modifyitems(session, config, items):
    """The whole-lab idempotence proof runs first, on the lab as `make demo` left it: there one
    converge is the second converge (about 3 min in CI); after the drills it had to repair their
    leftovers first and took two (10 min). tests/e2e/test_secrets.py runs after every other e2e
    test, so that it searches what all of them left behind. The others keep their order."""
    first = [item for item in items if item.nodeid.endswith(FIRST)]
    last = [item for item in items if item.nodeid.split("::")[0].endswith("test_secrets.py")]
    items[:] = first + [item for item in items if item not in first + last] + last


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

