import pytest

from golive import events
from golive.events import HostResult, HostStats, PlaybookStats, PlayStarted, TaskStarted, map_event


def mapped(recorded_events):
    return [e for e in (map_event(raw) for raw in recorded_events) if e is not None]


def test_results_by_class(recorded_events):
    results = {(e.host, e.task): e.status for e in mapped(recorded_events)
               if isinstance(e, HostResult)}
    assert results == {
        ("ghost", "Ok"): "unreachable",
        ("local", "Ok"): "ok",
        ("local", "Changed"): "changed",
        ("local", "Skipped"): "skipped",
        ("local", "Failed"): "failed",
    }


def test_failure_messages(recorded_events):
    by_status = {e.status: e for e in mapped(recorded_events) if isinstance(e, HostResult)}
    assert by_status["failed"].msg == "this task fails on purpose"
    assert "Failed to create temporary directory" in by_status["unreachable"].msg
    assert by_status["ok"].msg == ""


def test_play_and_tasks(recorded_events):
    events = mapped(recorded_events)
    assert events[0] == PlayStarted(name="Outcomes", pattern="all")
    tasks = [e.name for e in events if isinstance(e, TaskStarted)]
    assert tasks == ["Ok", "Changed", "Skipped", "Failed"]


def test_stats(recorded_events):
    stats = [e for e in mapped(recorded_events) if isinstance(e, PlaybookStats)]
    assert len(stats) == 1
    assert stats[0].hosts == {
        "ghost": HostStats(unreachable=1),
        "local": HostStats(ok=2, changed=1, failed=1, skipped=1),
    }


@pytest.mark.parametrize("raw", [
    {"event": "verbose", "event_data": {}},
    {"event": "runner_on_start", "event_data": {"host": "x"}},
    {},
])
def test_ignored_events(raw):
    assert map_event(raw) is None


def test_ignored_failure_and_loop_message():
    raw = {"event": "runner_on_failed", "event_data": {
        "host": "h", "task": "t", "ignore_errors": True,
        "res": {"results": [{"failed": False}, {"failed": True, "msg": "item two broke"}]}}}
    event = map_event(raw)
    assert event == HostResult("h", "t", "failed", "item two broke", ignored=True)


@pytest.mark.parametrize(("res", "expected"), [
    ({"msg": "One or more items failed", "results": [
        {"item": 1, "failed": False, "msg": "fine"},
        {"item": 2, "failed": True, "msg": "postgresql_hba_extra_entries: trust is not allowed"},
        {"item": 3, "failed": True, "msg": "pool_size must be >= 1"}]},
     "postgresql_hba_extra_entries: trust is not allowed; pool_size must be >= 1"),
    ({"msg": "failed to validate", "stderr": "ERROR invalid value \"x\" for server_lifetime\n"},
     'failed to validate: ERROR invalid value "x" for server_lifetime'),
    ({"msg": "non-zero return code", "stderr": "non-zero return code"}, "non-zero return code"),
    ({"stderr": "only stderr"}, "only stderr"),
])
def test_result_message(res, expected):
    assert events.result_message(res) == expected
