import json
import os
import stat
from pathlib import Path

import pytest

from golive import runner
from golive.errors import ExitCode
from golive.events import HostStats, PlaybookStats


def stats(**hosts):
    return PlaybookStats(hosts={h: HostStats(**s) for h, s in hosts.items()})


@pytest.mark.parametrize(("status", "rc", "play_stats", "interrupted", "expected"), [
    ("successful", 0, stats(a={"ok": 3}), False, ("successful", ExitCode.OK)),
    ("failed", 2, stats(a={"ok": 1, "failed": 1}), False, ("failed", ExitCode.FAILED_HOSTS)),
    ("failed", 4, stats(a={"unreachable": 1}), False, ("failed", ExitCode.UNREACHABLE)),
    # unreachable wins over failed: the fix (reach the host) comes first
    ("failed", 4, stats(a={"failed": 1}, b={"unreachable": 1}), False,
     ("failed", ExitCode.UNREACHABLE)),
    ("failed", 1, None, False, ("failed", ExitCode.INVALID_INPUT)),
    ("failed", 4, None, False, ("failed", ExitCode.INVALID_INPUT)),
    ("successful", 0, None, False, ("successful", ExitCode.OK)),  # no hosts matched
    ("timeout", None, None, False, ("timeout", ExitCode.CANCELED)),
    ("canceled", None, None, False, ("canceled", ExitCode.CANCELED)),
    ("canceled", None, None, True, ("interrupted", ExitCode.INTERRUPTED)),
    # a failure ansible rescued or ignored still leaves rc 0 and no failed count
    ("successful", 0, stats(a={"ok": 2, "rescued": 1}), False, ("successful", ExitCode.OK)),
])
def test_classify(status, rc, play_stats, interrupted, expected):
    assert runner.classify(status, rc, play_stats, interrupted) == expected


def failed(*tasks):
    return [runner.FailedTask("a", t, "msg") for t in tasks]


@pytest.mark.parametrize(("play_stats", "failures", "expected"), [
    # a role refused its inputs before touching anything: invalid input
    (stats(a={"ok": 3, "failed": 1}), failed("Preflight | Check pool settings"),
     ExitCode.INVALID_INPUT),
    # something changed first: a real failure
    (stats(a={"ok": 3, "changed": 1, "failed": 1}), failed("Preflight | Check pool settings"),
     ExitCode.FAILED_HOSTS),
    # any non-preflight failure: a real failure
    (stats(a={"ok": 3, "failed": 2}), failed("Preflight | x", "Configure | y"),
     ExitCode.FAILED_HOSTS),
])
def test_classify_preflight_rejection(play_stats, failures, expected):
    assert runner.classify("failed", 2, play_stats, False, failures) == ("failed", expected)


def test_ansible_error_block():
    out = "noise\n[ERROR]: Unable to parse /x/hosts.yml as an inventory source\nmore\n"
    assert runner.ansible_error(out).startswith("Unable to parse /x/hosts.yml")
    assert runner.ansible_error("ERROR! the playbook: x could not be found").endswith("found")
    assert runner.ansible_error("all good") == ""


def test_run_dirs_are_fresh_and_pruned(state_dir):
    made = []
    for _ in range(5):
        made.append(runner.new_run_dir(keep=3))
        runner.release_run_dir(made[-1])
    assert len(set(made)) == 5
    left = sorted(p.name for p in (state_dir / "runs").iterdir())
    assert left == sorted(p.name for p in made[-3:])
    assert stat.S_IMODE(made[-1].stat().st_mode) == 0o700


def test_a_run_in_progress_keeps_its_dir_while_later_runs_prune(state_dir):
    running = runner.new_run_dir(keep=1)  # a tier still running beside the others
    later = []
    for _ in range(3):
        later.append(runner.new_run_dir(keep=1))
        runner.release_run_dir(later[-1])
    assert running.is_dir() and later[-1].is_dir() and not later[0].exists()
    runner.release_run_dir(running)
    runner.release_run_dir(runner.new_run_dir(keep=1))
    assert not running.exists()


def test_secret_file_is_private_and_removed():
    with runner.secret_vars_file({"pw": "s3cr3t"}) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert json.loads(path.read_text()) == {"pw": "s3cr3t"}
    assert not path.exists() and not path.parent.exists()


def test_cmdline_passes_files_by_path(tmp_path):
    spec = runner.RunSpec(playbook=Path("p.yml"), inventory=Path("i"), check=True, diff=True,
                          vars_files=[tmp_path / "a b.yml"])
    cmd = runner.build_cmdline(spec, Path("/run/x/vars.json"))
    assert cmd.startswith("--check --diff ")
    assert f"'--extra-vars=@{tmp_path}/a b.yml'" in cmd
    assert "--extra-vars=@/run/x/vars.json" in cmd


def test_env_keeps_host_key_checking_on():
    env = runner.run_env()
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert Path(env["ANSIBLE_CONFIG"]).name == "ansible.cfg"
    link = Path(env["ANSIBLE_COLLECTIONS_PATH"]) / "ansible_collections" / "golive" / "ops"
    assert (link / "galaxy.yml").is_file()


def test_command_artifact_is_redacted(tmp_path):
    (tmp_path / "command").write_text(json.dumps(
        {"command": ["ansible-playbook"], "env": {"ANSIBLE_CONFIG": "/x", "DB_TOKEN": "t0k3n",
                                                  "PATH": "/bin"}}))
    runner.redact_command_artifact(tmp_path)
    data = json.loads((tmp_path / "command").read_text())
    assert data["env"] == {"ANSIBLE_CONFIG": "/x", "DB_TOKEN": runner.REDACTED, "PATH": "/bin"}
    assert stat.S_IMODE(os.stat(tmp_path / "command").st_mode) == 0o600


def test_collection_link_per_project_root(state_dir, monkeypatch, tmp_path):
    from golive import paths

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    monkeypatch.setattr(paths, "project_root", lambda: first)
    path_a = paths.collections_path()
    monkeypatch.setattr(paths, "project_root", lambda: second)
    path_b = paths.collections_path()
    assert path_a != path_b
    assert (path_a / "ansible_collections/golive/ops").resolve() == first
    assert (path_b / "ansible_collections/golive/ops").resolve() == second


def test_job_events_in_order_unreadable_skipped(tmp_path):
    events_dir = tmp_path / "job_events"
    events_dir.mkdir()
    for counter in (10, 2, 1):  # runner names files <counter>-<uuid>.json: 10 sorts before 2
        (events_dir / f"{counter}-x.json").write_text(json.dumps({"counter": counter}))
    (events_dir / "3-partial.json").write_text('{"counter": ')
    assert [e["counter"] for e in runner.job_events(tmp_path)] == [1, 2, 10]
    assert runner.job_events(tmp_path / "missing") == []
