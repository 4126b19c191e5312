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
             "warnings",
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


def test_a_missing_playbook_is_a_setup_error(monkeypatch, tmp_path):
    monkeypatch.setattr(cli.paths, "playbook", lambda name: tmp_path / f"{name}.yml")
    result = invoke(["converge", "--only", "app", "-i", LOCAL_INV, "--json"])
    assert result.exit_code == ExitCode.SETUP
    assert "tier 'app' needs playbooks/app.yml, which is missing" in result.stderr
    assert "installation is incomplete" in result.stderr
    assert json.loads(result.stdout)["status"] == "error"


def deploy_result(outcome="succeeded", failures=()):
    return {"id": "x", "kind": "deploy", "outcome": outcome, "version": "2.0.0",
            "release": "x", "sha256": "ab" * 32, "actor": "alice", "started": "t0",
            "finished": "t1", "failures": list(failures),
            "migrations": [{"id": "0002_items_tags", "breaking": False}],
            "restore_point": {"name": "golive-x", "taken_at": "t0", "dump": "/d", "host": "db1"},
            "rollback_of": None, "db_restore": None, "broken_lock": None,
            "hosts": {"web1": {"color": "green", "from_version": "1.0.0", "version": "2.0.0",
                               "phases_s": {"lock": 0.5, "prepare": 3.0}}}}


def fake_release_run(result, exit_code, seen):
    def run(spec, on_event=None, cancel=None):
        seen.update(spec.extravars)
        Path(spec.extravars["golive_report_file"]).write_text(json.dumps({"localhost": {
            **result, "id": spec.extravars["golive_deploy_id"]}}))
        hosts = {"web1": HostStats(ok=3, failed=0 if exit_code == 0 else 1)}
        return runner.RunResult(
            status="successful" if exit_code == 0 else "failed", exit_code=exit_code,
            ansible_rc=exit_code, hosts=hosts, failed_tasks=[],
            artifact_dir=Path("/tmp/golive-x/artifacts"), duration=1.0,
            playbook=str(spec.playbook), error="")
    return run


def test_deploy_passes_one_id_and_records_the_history(monkeypatch, tmp_path):
    artifact = tmp_path / "app-2.0.0.tar.gz"
    artifact.write_bytes(b"x")
    seen = {}
    monkeypatch.setattr(runner, "run", fake_release_run(deploy_result(), 0, seen))
    result = invoke(["deploy", "--artifact", str(artifact), "--serial", "1,100%", "-i",
                     LOCAL_INV])
    assert result.exit_code == 0, result.stderr
    assert seen["app_artifact"] == str(artifact) and seen["app_serial"] == [1, "100%"]
    assert seen["golive_deploy_id"].count("-") == 1 and seen["golive_pid"] > 0
    assert f"deploy {seen['golive_deploy_id']}: succeeded, version 2.0.0" in result.stdout
    assert "migrations applied: 0002_items_tags" in result.stdout
    history = invoke(["history", "-i", LOCAL_INV, "--json"])
    records = json.loads(history.stdout)["records"]
    assert [r["id"] for r in records] == [seen["golive_deploy_id"]]
    assert records[0]["phases_s"] == {"web1": {"lock": 0.5, "prepare": 3.0}}
    assert seen["golive_deploy_id"] in invoke(["history", "-i", LOCAL_INV]).stdout


def test_a_failed_deploy_is_recorded_and_exits_1(monkeypatch, tmp_path):
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"x")
    failure = {"host": "web1", "phase": "start", "msg": "health gate: HTTP 503"}
    monkeypatch.setattr(runner, "run", fake_release_run(
        deploy_result("failed", [failure]), 1, {}))
    result = invoke(["deploy", "--artifact", str(artifact), "-i", LOCAL_INV])
    assert result.exit_code == 1
    assert "FAIL web1 in start: health gate: HTTP 503" in result.stdout
    records = json.loads(invoke(["history", "-i", LOCAL_INV, "--json"]).stdout)["records"]
    assert records[0]["outcome"] == "failed"


@pytest.mark.parametrize("serial", ["0", "1,abc", "150%", "1,,2"])
def test_bad_serial_is_a_usage_error(tmp_path, serial):
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"x")
    result = invoke(["deploy", "--artifact", str(artifact), "--serial", serial, "-i", LOCAL_INV])
    assert result.exit_code == ExitCode.USAGE and "--serial" in result.stderr


def test_db_restore_needs_yes():
    result = invoke(["rollback", "--db-restore", "-i", LOCAL_INV])
    assert result.exit_code == ExitCode.USAGE and "add --yes" in result.stderr


def test_history_without_records():
    result = invoke(["history", "-i", LOCAL_INV])
    assert result.exit_code == 0 and "no deploys recorded" in result.stdout


def test_env_exports():
    result = invoke(["env"])
    assert result.exit_code == 0
    assert "export ANSIBLE_CONFIG=" in result.stdout
    assert "export ANSIBLE_HOST_KEY_CHECKING=True" in result.stdout


def test_maintenance_passes_the_state_and_message_and_prints_each_host(monkeypatch):
    seen = {}

    def run(spec, on_event=None, cancel=None):
        seen.update(spec.extravars)
        Path(spec.extravars["golive_report_file"]).write_text(json.dumps({
            "web1": {"maintenance": True, "in_flight": 0},
            "web2": {"maintenance": True, "in_flight": 2}}))
        return runner.RunResult(
            status="successful", exit_code=0, ansible_rc=0,
            hosts={"web1": HostStats(ok=3), "web2": HostStats(ok=3)}, failed_tasks=[],
            artifact_dir=Path("/tmp/golive-x/artifacts"), duration=1.0,
            playbook=str(spec.playbook), error="")

    monkeypatch.setattr(runner, "run", run)
    result = invoke(["maintenance", "on", "-m", "db upgrade", "-i", LOCAL_INV])
    assert result.exit_code == 0, result.stderr
    assert (seen["golive_maintenance"], seen["golive_maintenance_message"]) == ("on", "db upgrade")
    assert seen["golive_maintenance_drain_s"] == 30
    assert "web1: maintenance on, drained" in result.stdout
    assert "web2: maintenance on, 2 request(s) still in flight" in result.stdout


@pytest.mark.parametrize(("args", "said"), [
    (["maintenance", "maybe"], "'maybe' is not one of 'on', 'off'"),
    (["maintenance", "on", "-m", "x" * 501], "501 characters, at most 500"),
])
def test_maintenance_refuses_bad_input_before_any_run(monkeypatch, args, said):
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("must not run"))
    result = invoke([*args, "-i", LOCAL_INV])
    assert result.exit_code == ExitCode.USAGE and said in result.stderr
