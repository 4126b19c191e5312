"""Real ansible-playbook runs against the control node itself (no containers, seconds)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from golive import cli, runner
from golive.errors import ExitCode
from golive.render import emit_json

from .conftest import FIXTURES

SECRET = "golive-unit-secret-7f3a9c"  # fixed, distinctive, searched for verbatim
LOCAL = FIXTURES / "local-inventory.yml"


def files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle.encode() in path.read_bytes():
            hits.append(path)
    return hits


def test_secret_never_reaches_artifacts_or_json(tmp_path, state_dir, capsys):
    dest = tmp_path / "secret.out"
    spec = runner.RunSpec(playbook=FIXTURES / "secret.yml", inventory=LOCAL, limit="local",
                          extravars={"secret_dest": str(dest)},
                          secret_vars={"golive_test_secret": SECRET})
    result = runner.run(spec)
    assert result.exit_code == ExitCode.OK, result
    assert dest.read_text() == SECRET + "\n"  # the run really had the secret
    run_dir = result.artifact_dir.parent.parent
    assert (result.artifact_dir / "job_events").is_dir()
    assert files_containing(run_dir, SECRET) == []
    assert not (run_dir / "env").exists()  # suppress_env_files: no extravars/passwords files
    emit_json(result.as_dict())
    assert SECRET not in capsys.readouterr().out


def test_secret_vars_file_from_the_cli(tmp_path, state_dir):
    vars_file = tmp_path / "vault-ish.yml"
    vars_file.write_text(f"golive_test_secret: {SECRET}\nsecret_dest: {tmp_path / 'out'}\n")
    result = CliRunner().invoke(cli.cli, ["run", str(FIXTURES / "secret.yml"), "-i", str(LOCAL),
                                          "-l", "local", "-e", f"@{vars_file}", "--json"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.stdout and SECRET not in result.stderr
    document = json.loads(result.stdout)
    assert document["hosts"]["local"]["changed"] == 1
    assert files_containing(state_dir / "runs", SECRET) == []


def test_failures_and_unreachable_from_a_real_run(state_dir):
    result = CliRunner().invoke(cli.cli, ["run", str(FIXTURES / "outcomes.yml"), "-i", str(LOCAL),
                                          "--json"])
    assert result.exit_code == ExitCode.UNREACHABLE
    document = json.loads(result.stdout)
    assert document["hosts"]["local"] == {"ok": 2, "changed": 1, "failed": 1, "skipped": 1,
                                          "unreachable": 0, "rescued": 0, "ignored": 0}
    assert document["hosts"]["ghost"]["unreachable"] == 1
    failed = {(f["host"], f["status"]) for f in document["failed_tasks"]}
    assert failed == {("local", "failed"), ("ghost", "unreachable")}
    assert "Error: unreachable: ghost" in result.stderr


def test_bad_inventory_is_invalid_input(tmp_path, state_dir):
    broken = tmp_path / "hosts.yml"
    broken.write_text("all:\n  hosts: [this, is: not, valid\n")
    result = CliRunner().invoke(cli.cli, ["run", str(FIXTURES / "noop.yml"), "-i", str(broken)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "Error: ansible refused to start" in result.stderr


def ansible_processes(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(proc.name))
    return found


def test_sigint_cancels_and_leaves_no_ansible_process(state_dir, tmp_path):
    """Ctrl-C leaves no ansible process and no temporary file: the killed module's AnsiballZ
    payload directory went to the run's own TMPDIR, removed after the run (golive's own TMPDIR
    is watched here)."""
    outer_tmp = tmp_path / "tmp"
    outer_tmp.mkdir()
    env = {**os.environ, "GOLIVE_STATE_DIR": str(state_dir), "TMPDIR": str(outer_tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "golive", "run", str(FIXTURES / "sleep.yml"), "-i", str(LOCAL),
         "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ansible_processes("sleep 3171") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ansible_processes("sleep 3171"), "the playbook never started its task"
        assert ansible_processes("fixtures/sleep.yml")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert json.loads(out)["status"] == "interrupted"
    assert "Error: run interrupted" in err
    deadline = time.monotonic() + 10
    while (ansible_processes("sleep 3171") or ansible_processes("fixtures/sleep.yml")) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ansible_processes("fixtures/sleep.yml") == []
    assert ansible_processes("sleep 3171") == []
    assert list(outer_tmp.iterdir()) == []
    assert list((state_dir / "runs").glob("*/tmp")) == []


def test_events_arrive_while_the_run_is_going(state_dir):
    """The run is canceled from inside the event callback when the sleeping task starts: that
    only works if events reach golive while ansible is still running (sleep 3171 otherwise,
    bounded here by a 60 s runner timeout)."""
    from golive.events import TaskStarted

    cancel = threading.Event()
    seen = []

    def on_event(event):
        if isinstance(event, TaskStarted) and event.name == "Sleep for a long time":
            seen.append(time.monotonic())
            cancel.set()

    started = time.monotonic()
    spec = runner.RunSpec(playbook=FIXTURES / "sleep.yml", inventory=LOCAL, limit="local",
                          timeout=60)
    result = runner.run(spec, on_event=on_event, cancel=cancel)
    assert seen, "the task-start event never arrived"
    assert result.status == "interrupted"  # the cancel event is how Ctrl-C stops a run
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(("status", "exit_code"), [("ok", 0), ("fail", 1)])
def test_report_reaches_the_cli_and_decides_the_exit_code(state_dir, capsys, status, exit_code):
    """playbooks/report.yml writes the hosts' report facts to the file golive names; the
    command's verdict on that data is the exit code; --json carries the data; no file is left."""
    import click

    @click.command()
    @cli.run_options
    def reporting(**opts):
        from golive.render import tls_status_verdict

        cli.run_playbook(FIXTURES / "report.yml", report=tls_status_verdict,
                         extravars={"fixture_status": status}, **opts)

    result = CliRunner().invoke(reporting, ["-i", str(LOCAL), "-l", "local", "--json"])
    assert result.exit_code == exit_code, result.output
    document = json.loads(result.stdout)
    assert document["report"]["local"]["tls"]["status"] == status
    assert list(state_dir.glob("report-*.json")) == []
