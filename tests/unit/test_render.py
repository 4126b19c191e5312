import io

from golive.events import HostResult, HostStats, PlayStarted, TaskStarted
from golive.render import Progress, TaskEstimates, recap_table


class Tty(io.StringIO):
    def isatty(self):
        return True


def feed(progress, tasks):
    progress(PlayStarted("Site", "all"))
    for i in range(tasks):
        progress(TaskStarted(f"task {i}", "ansible.builtin.ping"))
        progress(HostResult("db1", f"task {i}", "changed" if i == 0 else "ok"))
    progress.close()


def test_quiet_off_a_tty():
    stream = io.StringIO()
    feed(Progress(stream=stream), 3)
    assert stream.getvalue() == ""


def test_live_line_and_bar_from_the_previous_run(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    estimates = tmp_path / "estimates.json"
    first = Tty()
    feed(Progress(stream=first, estimates=TaskEstimates(estimates), playbook_key="site"), 12)
    assert "PLAY Site" in first.getvalue()
    assert "task 12 task 11 ok=11 changed=1" in first.getvalue()  # no estimate yet: a counter
    assert "/12" not in first.getvalue()
    second = Tty()
    progress = Progress(stream=second, estimates=TaskEstimates(estimates), playbook_key="site")
    progress(PlayStarted("Site", "all"))
    for i in range(6):
        progress(TaskStarted(f"task {i}", "ansible.builtin.ping"))
    assert progress.status_line().startswith("[############------------] 6/12 task 5")


def test_failures_are_printed_live_on_a_tty(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Tty()
    progress = Progress(stream=stream)
    progress(PlayStarted("Site", "all"))
    progress(TaskStarted("Install", "ansible.builtin.apt"))
    progress(HostResult("db2", "Install", "unreachable", "ssh: connect timed out"))
    assert "UNREACHABLE db2 | Install: ssh: connect timed out\n" in stream.getvalue()


def test_recap_table():
    table = recap_table({"db1": HostStats(ok=3, changed=1), "cache10": HostStats(failed=2)})
    lines = table.splitlines()
    assert lines[0].split() == ["host", "ok", "changed", "failed", "unreachable", "skipped",
                                "rescued", "ignored"]
    assert lines[2].split() == ["db1", "3", "1", "0", "0", "0", "0", "0"]
    assert lines[3].split() == ["cache10", "0", "0", "2", "0", "0", "0", "0"]
    assert recap_table({}) == "no host was played"
