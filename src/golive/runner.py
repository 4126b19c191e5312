"""The one place that calls ansible-runner.

Every run gets a fresh private data dir under the state dir (the last GOLIVE_KEEP_RUNS kept),
env files are never written (suppress_env_files), secrets travel in a 0600 vars file that lives
outside the run's directory and is removed when the run ends, events are handed to the caller as
runner receives them, and SIGINT cancels the run (runner kills the whole ansible process group).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from golive import paths
from golive.errors import ExitCode
from golive.events import Event, HostResult, HostStats, PlaybookStats, map_event

DEFAULT_KEEP_RUNS = 20
# Environment keys whose values may stay in runner's artifacts/<id>/command file. Everything
# else the control node's environment holds (tokens, passwords) is redacted after the run.
ENV_KEPT = re.compile(
    r"^(ANSIBLE_|RUNNER_|AWX_|CONTAINERS_CONF$|PATH$|HOME$|LANG$|LC_|PYTHON|TERM$)")
REDACTED = "<redacted>"


@dataclass
class RunSpec:
    playbook: Path
    inventory: Path
    limit: str | None = None
    check: bool = False
    diff: bool = False
    verbosity: int = 0
    extravars: dict[str, Any] = field(default_factory=dict)
    secret_vars: dict[str, Any] = field(default_factory=dict)
    vars_files: list[Path] = field(default_factory=list)
    vault_password_file: Path | None = None
    tags: str | None = None
    timeout: int | None = None  # seconds for the whole run


@dataclass
class FailedTask:
    host: str
    task: str
    msg: str
    status: str = "failed"  # or unreachable


@dataclass(frozen=True)
class RunWarning:
    host: str
    task: str
    msg: str


@dataclass
class RunResult:
    status: str  # successful, failed, canceled, timeout, interrupted
    exit_code: int
    ansible_rc: int | None
    hosts: dict[str, HostStats]
    failed_tasks: list[FailedTask]
    artifact_dir: Path
    duration: float
    playbook: str
    error: str = ""
    warnings: list[RunWarning] = field(default_factory=list)
    # a run made of several (golive converge of the site: one per tier): each part's result, or
    # why it did not run
    parts: dict[str, RunResult | str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        parts = {"tiers": {name: part if isinstance(part, str) else part.as_dict()
                           for name, part in self.parts.items()}} if self.parts else {}
        return {**parts,
            "status": self.status,
            "rc": self.exit_code,
            "ansible_rc": self.ansible_rc,
            "playbook": self.playbook,
            "hosts": {h: s.as_dict() for h, s in self.hosts.items()},
            "failed_tasks": [{"host": f.host, "task": f.task, "msg": f.msg, "status": f.status}
                             for f in self.failed_tasks],
            "warnings": [{"host": w.host, "task": w.task, "msg": w.msg} for w in self.warnings],
            "error": self.error,
            "artifact_dir": str(self.artifact_dir),
            "duration": round(self.duration, 3),
        }


class EventCollector:
    """Keeps what the result needs while forwarding every mapped event to the caller."""

    def __init__(self, forward: Callable[[Event], None] | None):
        self.forward = forward
        self.failed: list[FailedTask] = []
        self.warnings: list[RunWarning] = []
        self.stats: PlaybookStats | None = None

    def __call__(self, raw: dict[str, Any]) -> bool:
        event = map_event(raw)
        if isinstance(event, HostResult) and event.status in ("failed", "unreachable") \
                and not event.ignored:
            self.failed.append(FailedTask(event.host, event.task, event.msg, event.status))
        if isinstance(event, HostResult):
            self.warnings.extend(w for msg in event.warnings
                                 if (w := RunWarning(event.host, event.task, msg))
                                 not in self.warnings)
        if isinstance(event, PlaybookStats):
            self.stats = event
        if event is not None and self.forward is not None:
            self.forward(event)
        return True  # keep runner's job_events artifacts


PREFLIGHT = "Preflight |"  # roles name their input checks so (tasks/preflight.yml)


def is_input_rejection(stats: PlaybookStats, failed: list[FailedTask]) -> bool:
    """Every failure is a role's preflight check and no host changed: the inputs were refused
    before anything happened, which is exit 5, not a failed host."""
    return bool(failed) and all(f.status == "failed" and f.task.startswith(PREFLIGHT)
                                for f in failed) \
        and not any(s.changed for s in stats.hosts.values())


def classify(runner_status: str, ansible_rc: int | None, stats: PlaybookStats | None,
             interrupted: bool, failed: list[FailedTask] | None = None) -> tuple[str, int]:
    """(status, golive exit code) from how the run ended. Pure; see ExitCode."""
    if interrupted:
        return "interrupted", int(ExitCode.INTERRUPTED)
    if runner_status in ("canceled", "timeout"):
        return runner_status, int(ExitCode.CANCELED)
    if stats is None:
        # ansible stopped before playing anything: a bad inventory, variable file or playbook
        if ansible_rc == 0:
            return "successful", int(ExitCode.OK)
        return "failed", int(ExitCode.INVALID_INPUT)
    if any(s.unreachable for s in stats.hosts.values()):
        return "failed", int(ExitCode.UNREACHABLE)
    if is_input_rejection(stats, failed or []):
        return "failed", int(ExitCode.INVALID_INPUT)
    if any(s.failed for s in stats.hosts.values()) or ansible_rc not in (0, None):
        return "failed", int(ExitCode.FAILED_HOSTS)
    return "successful", int(ExitCode.OK)


ERROR_LINE = re.compile(r"^(?:\[ERROR\]|ERROR!)\s*:?\s*(.*)")


def ansible_error(stdout: str) -> str:
    """The error block ansible printed when it refused to start (e.g. a bad inventory)."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        match = ERROR_LINE.match(line.strip())
        if match:
            block = [match.group(1)] + [x for x in lines[i + 1:i + 6] if x.strip()]
            return "\n".join(block).strip()
    return ""


def runs_dir() -> Path:
    """Where every run's private data dir lives."""
    return paths.state_dir() / "runs"


# run dirs of this process's runs in progress (golive converge runs tiers concurrently): never
# pruned by a run that starts beside them
_ACTIVE_RUN_DIRS: set[Path] = set()
_RUN_DIRS_LOCK = threading.Lock()


def new_run_dir(keep: int | None = None) -> Path:
    """A fresh private data dir under <state>/runs; older ones beyond `keep` are removed,
    except those of runs still in progress in this process."""
    if keep is None:
        keep = int(os.environ.get("GOLIVE_KEEP_RUNS", DEFAULT_KEEP_RUNS))
    runs = runs_dir()
    runs.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    run_dir = runs / f"{stamp}-{uuid.uuid4().hex[:8]}"
    with _RUN_DIRS_LOCK:
        run_dir.mkdir(mode=0o700)
        _ACTIVE_RUN_DIRS.add(run_dir)
        previous = sorted((p for p in runs.iterdir() if p.is_dir() and p != run_dir),
                          reverse=True)
        for old in previous[max(keep - 1, 0):]:
            if old not in _ACTIVE_RUN_DIRS:
                shutil.rmtree(old, ignore_errors=True)
    return run_dir


def release_run_dir(run_dir: Path) -> None:
    """The run of RUN_DIR has ended: a later run may prune it."""
    with _RUN_DIRS_LOCK:
        _ACTIVE_RUN_DIRS.discard(run_dir)


@contextmanager
def secret_vars_file(secret_vars: dict[str, Any]) -> Iterator[Path | None]:
    """Secrets as a 0600 vars file in a private temp dir, outside the run dir, removed after."""
    if not secret_vars:
        yield None
        return
    base = os.environ.get("XDG_RUNTIME_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    tmp = Path(tempfile.mkdtemp(prefix="golive-secrets-", dir=base))
    try:
        path = tmp / "vars.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(secret_vars, handle)
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc (ansible's workers call setsid, so killing
    ansible-playbook's process group, as runner does, would leave them running)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat_line = handle.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat_line.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(root: int) -> None:
    """SIGKILL everything below `root` (bounded passes: new children may appear meanwhile)."""
    for _ in range(5):
        pids = descendants(root)
        if not pids:
            return
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def cancel_check(flag: threading.Event) -> Callable[[], bool]:
    """runner's cancel_callback: once the flag is set, take the whole ansible tree down
    while it is still linked to us, then let runner finish its own bookkeeping."""

    def check() -> bool:
        if flag.is_set():
            kill_tree(os.getpid())
            return True
        return False

    return check


@contextmanager
def sigint_cancels(flag: threading.Event) -> Iterator[None]:
    """While running, Ctrl-C (and SIGTERM) set `flag` instead of raising in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        flag.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_env() -> dict[str, str]:
    """Settings for ansible-playbook. No secret ever goes here: runner dumps env to artifacts."""
    root = paths.project_root()
    env = {
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(paths.collections_path()),
        # ansible-runner would otherwise switch host key checking off for us
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        # where the lab inventory finds its SSH key and known_hosts (a path, not a secret)
        "GOLIVE_LAB_SSH_DIR": str(paths.lab_ssh_dir()),
        # ansible-playbook from the interpreter's venv, even when that venv is not activated
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    env.update(paths.podman_env())
    return env


def redact_command_artifact(artifact_dir: Path) -> None:
    """runner writes the whole process environment to artifacts/<id>/command: keep only keys."""
    command_file = artifact_dir / "command"
    if not command_file.is_file():
        return
    data = json.loads(command_file.read_text(encoding="utf-8"))
    data["env"] = {k: (v if ENV_KEPT.match(k) else REDACTED)
                   for k, v in (data.get("env") or {}).items()}
    tmp = command_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, command_file)


@contextmanager
def run_tmpdir(private_dir: Path) -> Iterator[Path]:
    """TMPDIR for the run's processes on the control node, removed after it: a module killed
    mid-way (Ctrl-C, a deploy's SIGKILL, a timeout) cannot run its own cleanup, and would leave
    its AnsiballZ payload directory in /tmp."""
    tmpdir = private_dir / "tmp"
    tmpdir.mkdir(mode=0o700)
    try:
        yield tmpdir
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def build_cmdline(spec: RunSpec, secrets_file: Path | None) -> str:
    args = []
    if spec.check:
        args.append("--check")
    if spec.diff:
        args.append("--diff")
    for path in [*spec.vars_files, *([secrets_file] if secrets_file else [])]:
        args.append(shlex.quote(f"--extra-vars=@{path}"))
    if spec.vault_password_file:
        args.append(shlex.quote(f"--vault-password-file={spec.vault_password_file}"))
    return " ".join(args)


def run(spec: RunSpec, on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None) -> RunResult:
    """Run one playbook and return its result; never raises for a failed play."""
    import ansible_runner  # deferred: keeps `golive --help` fast

    private_dir = new_run_dir()
    ident = "run"
    collector = EventCollector(on_event)
    cancel = cancel or threading.Event()
    started = time.monotonic()
    with secret_vars_file(spec.secret_vars) as secrets_file, sigint_cancels(cancel), \
            run_tmpdir(private_dir) as tmpdir:
        runner = ansible_runner.run(
            private_data_dir=str(private_dir),
            ident=ident,
            playbook=str(spec.playbook),
            inventory=str(spec.inventory),
            limit=spec.limit,
            verbosity=spec.verbosity or None,
            extravars=dict(spec.extravars) or None,
            cmdline=build_cmdline(spec, secrets_file) or None,
            tags=spec.tags,
            envvars={**run_env(), "TMPDIR": str(tmpdir)},
            suppress_env_files=True,
            quiet=True,
            event_handler=collector,
            cancel_callback=cancel_check(cancel),
            timeout=spec.timeout,
            # how often runner looks at the cancel flag; events arrive independently of it
            settings={"pexpect_timeout": 0.2},
        )
    duration = time.monotonic() - started
    release_run_dir(private_dir)
    artifact_dir = private_dir / "artifacts" / ident
    redact_command_artifact(artifact_dir)
    interrupted = cancel.is_set() and runner.status == "canceled"
    ansible_rc = None if runner.status in ("canceled", "timeout") else runner.rc
    status, exit_code = classify(runner.status, ansible_rc, collector.stats, interrupted,
                                 collector.failed)
    error = ""
    if collector.stats is None and exit_code != ExitCode.OK:
        stdout = artifact_dir / "stdout"
        error = ansible_error(stdout.read_text(errors="replace")) if stdout.is_file() else ""
    return RunResult(
        status=status,
        exit_code=exit_code,
        ansible_rc=ansible_rc,
        hosts=collector.stats.hosts if collector.stats else {},
        failed_tasks=collector.failed,
        warnings=collector.warnings,
        artifact_dir=artifact_dir,
        duration=duration,
        playbook=str(spec.playbook),
        error=error,
    )


def job_events(artifact_dir: Path) -> list[dict[str, Any]]:
    """A finished run's job events as runner stored them (artifacts/<id>/job_events/*.json),
    in the order they happened; unreadable files are skipped."""
    events = []
    for path in (artifact_dir / "job_events").glob("*.json"):
        try:
            events.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(events, key=lambda e: e.get("counter", 0))


def list_inventory(inventory: Path) -> dict[str, Any]:
    """`ansible-inventory --list` for an inventory (hostvars included, nothing templated)."""
    import subprocess

    env = {**os.environ, **run_env()}
    proc = subprocess.run(["ansible-inventory", "-i", str(inventory), "--list"], env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise ValueError(ansible_error(proc.stderr) or proc.stderr.strip() or "no output")
    return json.loads(proc.stdout)
