"""Map ansible-runner job events to plain dataclasses (pure functions, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

STAT_KEYS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")
# ansible's names in playbook_on_stats -> ours in the recap and --json
STAT_NAMES = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
              "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}

RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_on_async_failed": "failed",
    "runner_on_async_ok": "ok",
}


@dataclass(frozen=True)
class PlayStarted:
    name: str
    pattern: str


@dataclass(frozen=True)
class TaskStarted:
    name: str
    action: str
    handler: bool = False


@dataclass(frozen=True)
class HostResult:
    host: str
    task: str
    status: str  # ok, changed, failed, unreachable, skipped
    msg: str = ""
    ignored: bool = False
    warnings: tuple[str, ...] = ()  # what a module warned (e.g. a cluster kept on an old major)


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class PlaybookStats:
    hosts: dict[str, HostStats] = field(default_factory=dict)


Event = PlayStarted | TaskStarted | HostResult | PlaybookStats


def result_message(res: dict[str, Any] | None) -> str:
    """The most useful one-line-ish explanation in a task result: for a loop, every failed
    item's message (not "One or more items failed"); a module's stderr is appended to a bare
    msg (e.g. a template's "failed to validate" and the validator's reason)."""
    if not isinstance(res, dict):
        return ""
    failed_items = [item for item in res.get("results") or []
                    if isinstance(item, dict) and (item.get("failed") or item.get("unreachable"))]
    if failed_items:
        return "; ".join(dict.fromkeys(result_message(item) for item in failed_items))
    for key in ("msg", "reason", "stderr", "module_stderr", "stdout"):
        value = res.get(key)
        if value:
            text = (value if isinstance(value, str) else str(value)).strip()
            stderr = res.get("stderr")
            if key == "msg" and isinstance(stderr, str) and stderr.strip() \
                    and stderr.strip() not in text:
                text = f"{text}: {stderr.strip()}"
            return text
    return ""


def map_event(raw: dict[str, Any]) -> Event | None:
    """One runner event (the dict handed to event_handler / stored in job_events) -> Event."""
    kind = raw.get("event", "")
    data = raw.get("event_data") or {}
    if kind == "playbook_on_play_start":
        return PlayStarted(name=data.get("name") or data.get("play") or "",
                           pattern=data.get("pattern", ""))
    if kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
        return TaskStarted(name=data.get("name") or data.get("task") or "",
                           action=data.get("task_action", ""),
                           handler=kind == "playbook_on_handler_task_start")
    if kind in RESULT_EVENTS:
        res = data.get("res") or {}
        status = RESULT_EVENTS[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        msg = result_message(res) if status in ("failed", "unreachable") else ""
        warnings = tuple(str(w) for w in res.get("warnings") or () if w)
        return HostResult(host=data.get("host", ""), task=data.get("task", ""), status=status,
                          msg=msg, ignored=bool(data.get("ignore_errors")), warnings=warnings)
    if kind == "playbook_on_stats":
        hosts: dict[str, HostStats] = {}
        for key in STAT_KEYS:
            for host, count in (data.get(key) or {}).items():
                setattr(hosts.setdefault(host, HostStats()), STAT_NAMES[key], int(count))
        for host in data.get("processed") or {}:
            hosts.setdefault(host, HostStats())
        return PlaybookStats(hosts=dict(sorted(hosts.items())))
    return None


# -- timings: where a run's time went (tests/bench/converge_noop.py) --------------------------
@dataclass(frozen=True)
class TaskTime:
    """One host's result of one task, with the seconds runner measured for it (event_data
    duration: from the task's start on that host to its result; a loop counts once)."""
    play: str
    role: str
    task: str
    host: str
    seconds: float


@dataclass(frozen=True)
class TaskTotal:
    play: str
    role: str
    task: str
    seconds: float  # summed over hosts
    hosts: int

    @property
    def mean(self) -> float:
        return self.seconds / self.hosts if self.hosts else 0.0


def task_time(raw: dict[str, Any]) -> TaskTime | None:
    """A host's final result of a task (not a loop item's) -> TaskTime; anything else None."""
    data = raw.get("event_data") or {}
    if raw.get("event") not in RESULT_EVENTS or data.get("duration") is None:
        return None
    return TaskTime(play=data.get("play", ""), role=data.get("role", ""),
                    task=data.get("task", ""), host=data.get("host", ""),
                    seconds=float(data["duration"]))


def time_by_play(times: list[TaskTime]) -> dict[str, float]:
    """Summed task seconds per play, in the order the plays ran."""
    totals: dict[str, float] = {}
    for t in times:
        totals[t.play] = totals.get(t.play, 0.0) + t.seconds
    return totals


def slowest_tasks(times: list[TaskTime], count: int = 15) -> list[TaskTotal]:
    """The COUNT tasks with the most seconds summed over hosts (a task of the same name in two
    plays counts twice), slowest first."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    for t in times:
        groups.setdefault((t.play, t.role, t.task), []).append(t.seconds)
    totals = [TaskTotal(play, role, task, sum(secs), len(secs))
              for (play, role, task), secs in groups.items()]
    return sorted(totals, key=lambda t: -t.seconds)[:count]


def play_walls(raw_events: list[dict[str, Any]]) -> dict[str, float]:
    """Wall seconds per play: from its playbook_on_play_start to the next play's start (the
    last play: to playbook_on_stats), from runner's `created` stamps. Events in any order."""
    marks = sorted((raw for raw in raw_events
                    if raw.get("event") in ("playbook_on_play_start", "playbook_on_stats")
                    and raw.get("created")), key=lambda raw: raw.get("counter", 0))
    walls: dict[str, float] = {}
    for start, end in pairwise(marks):
        if start["event"] != "playbook_on_play_start":
            continue
        name = (start.get("event_data") or {}).get("name") or ""
        seconds = (datetime.fromisoformat(end["created"])
                   - datetime.fromisoformat(start["created"])).total_seconds()
        walls[name] = walls.get(name, 0.0) + seconds
    return walls
