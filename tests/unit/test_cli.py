import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from golive import cli, inventory, runner
from golive.errors import ExitCode
from golive.events import HostStats, map_event

from .conftest import FIXTURES, ROOT

LOCAL_INV = str(FIXTURES / "local-inventory.yml")
JSON_KEYS = {"status", "rc", "ansible_rc", "playbook", "hosts", "failed_tasks", "error",
             "artifact_dir", "duration"}


def fake_run(result_status, exit_code, hosts, failed=(), error="", events=()):
    def run(spec, on_event=None, cancel=None):
        for raw in events:
            event = map_event(raw)
            if event is not None and on_event:
                on_event(event)
        return runner.RunResult(
            status=result_status, exit_code=exit_code, ansible_rc=0 if exit_code == 0 else 2,
            hosts=hosts, failed_tasks=list(failed), artifact_dir=Path("/tmp/golive-x/artifacts"),
            duration=1.25, playbook=str(spec.playbook), error=error)
    return run


def invoke(args):
    return CliRunner().invoke(cli.cli, args)


def test_help_lists_the_contract_and_exit_codes():
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in ("lab", "converge", "check", "deploy", "rollback", "history", "backup",
                    "restore-test", "tls", "status", "run"):
        assert f"  {command} " in result.output
    for code in ExitCode:
        assert f"{int(code):>5}  " in result.output
    lab = invoke(["lab", "--help"]).output
    assert all(f"  {c} " in lab for c in ("up", "down", "status"))
    tls = invoke(["tls", "--help"]).output
    assert all(f"  {c} " in tls for c in ("status", "renew"))


@pytest.mark.parametrize(("status", "code", "hosts"), [
    ("successful", ExitCode.OK, {"local": HostStats(ok=2)}),
    ("failed", ExitCode.FAILED_HOSTS, {"local": HostStats(ok=1, failed=1)}),
    ("failed", ExitCode.UNREACHABLE, {"ghost": HostStats(unreachable=1)}),
    ("failed", ExitCode.INVALID_INPUT, {}),
    ("timeout", ExitCode.CANCELED, {}),
    ("interrupted", ExitCode.INTERRUPTED, {}),
])
def test_exit_code_classes_and_json_document(monkeypatch, status, code, hosts):
    monkeypatch.setattr(runner, "run", fake_run(status, int(code), hosts))
    result = invoke(["run", str(FIXTURES / "noop.yml"), "-i", LOCAL_INV, "--json"])
    assert result.exit_code == code
    document = json.loads(result.stdout)  # exactly one document, nothing else on stdout
    assert set(document) == JSON_KEYS
    assert document["rc"] == code and document["status"] == status
    assert document["hosts"] == {h: s.as_dict() for h, s in hosts.items()}
    if code:
        assert "Error: " in result.stderr and "Hint: " in result.stderr
    else:
        assert "Error" not in result.stderr


def test_failed_tasks_in_json_and_recap(monkeypatch, recorded_events):
    failed = [runner.FailedTask("local", "Failed", "this task fails on purpose")]
    monkeypatch.setattr(runner, "run", fake_run(
        "failed", 1, {"local": HostStats(ok=2, changed=1, failed=1, skipped=1)}, failed,
        events=recorded_events))
    result = invoke(["run", str(FIXTURES / "outcomes.yml"), "-i", LOCAL_INV, "--json"])
    document = json.loads(result.stdout)
    assert document["failed_tasks"] == [{"host": "local", "task": "Failed", "status": "failed",
                                          "msg": "this task fails on purpose"}]
    assert "FAILED: local | Failed: this task fails on purpose" in result.stderr
    assert "Error: failed on 1 host(s): local" in result.stderr


def test_usage_error_is_2():
    assert invoke(["converge", "--only", "nosuchtier"]).exit_code == ExitCode.USAGE
    assert invoke(["--no-such-option"]).exit_code == ExitCode.USAGE


def test_missing_inventory(tmp_path):
    result = invoke(["converge", "-i", str(tmp_path / "nope"), "--json"])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"Error: inventory {tmp_path / 'nope'} does not exist" in result.stderr
    assert "Hint: " in result.stderr
    assert json.loads(result.stdout)["rc"] == ExitCode.INVALID_INPUT


def test_missing_playbook():
    result = invoke(["run", "no-such-playbook", "-i", LOCAL_INV])
    assert result.exit_code == ExitCode.INVALID_INPUT
    known = ", ".join(sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml")))
    assert f"Hint: give a path to a playbook file, or one of: {known}" in result.stderr


def test_bad_extra_vars():
    result = invoke(["run", "site", "-i", LOCAL_INV, "-e", "not a pair"])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "--extra-vars" in result.stderr


def test_missing_podman_for_the_lab(monkeypatch):
    real_which = inventory.shutil.which
    monkeypatch.setattr(inventory.shutil, "which",
                        lambda name: None if name == "podman" else real_which(name))
    result = invoke(["converge"])
    assert result.exit_code == ExitCode.SETUP
    assert "Error: podman is not installed" in result.stderr
    assert "Hint: apt-get install podman" in result.stderr


def test_lab_commands_without_podman(monkeypatch):
    from golive import lab

    monkeypatch.setattr(lab.shutil, "which", lambda name: None)
    monkeypatch.setattr(lab, "lab_hosts", lambda inventory=None: [])
    result = invoke(["lab", "down"])
    assert result.exit_code == ExitCode.SETUP
    assert "Error: podman is not installed" in result.stderr


def test_missing_collection(monkeypatch):
    monkeypatch.setattr(inventory, "REQUIRED_COLLECTIONS",
                        (*inventory.REQUIRED_COLLECTIONS, "nosuch.collection"))
    result = invoke(["run", "site", "-i", LOCAL_INV])
    assert result.exit_code == ExitCode.SETUP
    assert "Error: Ansible collection(s) not installed: nosuch.collection" in result.stderr


def test_unbuilt_command_says_so():
    result = invoke(["deploy", "-i", LOCAL_INV, "--json"])
    assert result.exit_code == ExitCode.SETUP
    assert "is not built yet" in result.stderr
    assert json.loads(result.stdout)["status"] == "error"


def test_converge_only_unbuilt_tier():
    result = invoke(["converge", "--only", "app", "-i", LOCAL_INV])
    assert result.exit_code == ExitCode.SETUP
    assert "tier 'app' is not built yet" in result.stderr


def test_env_exports():
    result = invoke(["env"])
    assert result.exit_code == 0
    assert "export ANSIBLE_CONFIG=" in result.stdout
    assert "export ANSIBLE_HOST_KEY_CHECKING=True" in result.stdout
