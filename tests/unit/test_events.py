import json
from pathlib import Path

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


# -- timings, against a recorded no-op converge of the app tier (2 web hosts, 2 plays) ---------
@pytest.fixture
def app_noop_events():
    return json.loads((Path(__file__).parent / "fixtures" / "app_noop_events.json").read_text())


def test_task_times_one_per_host_result_not_per_loop_item(app_noop_events):
    times = [t for t in map(events.task_time, app_noop_events) if t]
    results = [e for e in app_noop_events if e["event"] == "runner_on_ok"]
    assert len(times) == len(results) == 26
    assert {t.host for t in times} == {"web1", "web2"}
    # a loop (runner_item_on_ok) is counted once, by its task's final result
    assert not any(events.task_time(e) for e in app_noop_events
                   if e["event"] == "runner_item_on_ok")


def test_time_by_play_sums_hosts_in_play_order(app_noop_events):
    times = [t for t in map(events.task_time, app_noop_events) if t]
    by_play = events.time_by_play(times)
    assert list(by_play) == ["App tier | Check inputs", "App tier | Layout, environment and units"]
    assert by_play["App tier | Layout, environment and units"] == pytest.approx(17.2488, abs=1e-3)
    assert sum(by_play.values()) == pytest.approx(sum(t.seconds for t in times))


def test_slowest_tasks_summed_over_hosts(app_noop_events):
    times = [t for t in map(events.task_time, app_noop_events) if t]
    top = events.slowest_tasks(times, 3)
    assert [t.task for t in top] == ["Configure | Per-color port files", "Install | Directories",
                                     "Configure | The template unit, one instance per color"]
    assert (top[0].role, top[0].hosts) == ("app", 2)
    assert top[0].seconds == pytest.approx(4.7906, abs=1e-3)
    assert top[0].mean == pytest.approx(top[0].seconds / 2)
    assert len(events.slowest_tasks(times, 100)) == 13  # every task, once


def test_play_walls_from_play_starts_to_stats(app_noop_events):
    walls = events.play_walls(list(reversed(app_noop_events)))  # any order
    assert walls == {"App tier | Check inputs": pytest.approx(0.2434, abs=1e-3),
                     "App tier | Layout, environment and units": pytest.approx(9.0867, abs=1e-3)}


def test_timings_of_events_without_durations():
    assert events.task_time({"event": "runner_on_ok", "event_data": {"host": "h"}}) is None
    assert events.task_time({"event": "playbook_on_task_start", "event_data": {}}) is None
    assert events.play_walls([]) == {} and events.slowest_tasks([]) == []
