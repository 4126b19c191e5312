"""`golive converge` of the whole site: the tiers of playbooks/site.yml as separate ansible runs,
concurrent where they touch disjoint hosts.

Ansible starts a play only when the one before it has ended, so site.yml converges db, cache and
edge one after another although they share no host. Here each tier that site.yml imports is a
run of its own, and a tier starts once every earlier tier that shares a host with it has ended
(common, on every host, goes first; backup, on the db hosts too, waits for db; app waits for
edge). Tiers that share a host never run at the same time, so two runs never meet on a host
(apt's lock, a restart in the middle of another tier's task), and the order on any one host is
site.yml's. A tier that an earlier one it waits for failed is not run: its hosts are not in the
state it builds on.

Which hosts a tier touches comes from its plays' `hosts:` patterns and the inventory's groups;
a pattern this cannot resolve (wildcards, `&`, `!`, templating) counts as every host.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO, Any

import yaml

from golive.errors import ExitCode
from golive.events import HostStats

PLAIN_NAME = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class Tier:
    name: str
    playbook: Path
    hosts: frozenset[str] | None = None  # None: not resolved yet, or every host


@dataclass
class Outcome:
    """What happened to one tier: its run's result, or why it did not run."""

    tier: str
    result: Any = None  # runner.RunResult
    skipped_because: str = ""


def site_tiers(site: Path, names: dict[str, str]) -> list[Tier]:
    """The playbooks site.yml imports, in order; NAMES maps a playbook's stem to its tier."""
    plays = yaml.safe_load(site.read_text(encoding="utf-8")) or []
    tiers = []
    for play in plays:
        target = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if not target:
            raise ValueError(f"{site}: every entry must import a tier's playbook, got {play}")
        path = (site.parent / target).resolve()
        tiers.append(Tier(names.get(path.stem, path.stem), path))
    return tiers


def play_patterns(playbook: Path) -> list[str]:
    """The `hosts:` pattern of every play of PLAYBOOK."""
    plays = yaml.safe_load(playbook.read_text(encoding="utf-8")) or []
    return [str(p.get("hosts", "all")) for p in plays if isinstance(p, dict)]


def group_members(inventory: dict[str, Any]) -> dict[str, set[str]]:
    """Every group of `ansible-inventory --list` output with its hosts, children included."""
    def members(group: str, seen: frozenset[str] = frozenset()) -> set[str]:
        entry = inventory.get(group) or {}
        hosts = set(entry.get("hosts") or [])
        for child in entry.get("children") or []:
            if child not in seen:
                hosts |= members(child, seen | {group})
        return hosts

    groups = {g for g in inventory if g != "_meta"}
    every = set((inventory.get("_meta") or {}).get("hostvars") or {})
    for group in groups:
        every |= members(group)
    resolved = {g: members(g) for g in groups}
    resolved["all"] = every
    return resolved


def pattern_hosts(patterns: Iterable[str], groups: dict[str, set[str]]) -> frozenset[str]:
    """The hosts a union of plain patterns ("db:pgbouncer", "web,acme") names. Anything else
    (wildcards, intersections, exclusions, templates) resolves to every host."""
    every = groups.get("all", set())
    hosts: set[str] = set()
    for pattern in patterns:
        for part in (p.strip() for p in pattern.replace(",", ":").split(":")):
            if not part:
                continue
            if not set(part) <= PLAIN_NAME:
                return frozenset(every)
            hosts |= groups.get(part, {part} if part in every else set())
    return frozenset(hosts)


def waits_for(tiers: list[Tier]) -> dict[str, set[str]]:
    """For each tier, the earlier tiers that share a host with it (None hosts: every host)."""
    def overlap(a: Tier, b: Tier) -> bool:
        return a.hosts is None or b.hosts is None or bool(a.hosts & b.hosts)

    return {t.name: {u.name for u in tiers[:i] if overlap(t, u)} for i, t in enumerate(tiers)}


def merge_stats(parts: Iterable[dict[str, HostStats]]) -> dict[str, HostStats]:
    """Per-host counters summed over the tiers' runs."""
    merged: dict[str, HostStats] = {}
    for hosts in parts:
        for host, stats in hosts.items():
            base = merged.get(host, HostStats())
            merged[host] = HostStats(**{f.name: getattr(base, f.name) + getattr(stats, f.name)
                                        for f in fields(HostStats)})
    return merged


def run_tiers(tiers: list[Tier], run_one: Callable[[Tier], Any],
              resolve: Callable[[], dict[str, frozenset[str]]] | None = None,
              on_change: Callable[[str, Outcome | None], None] | None = None) -> list[Outcome]:
    """Run each tier (RUN_ONE returns a RunResult) as soon as the tiers it waits for have ended.
    RESOLVE, called once beside the first tier, gives each tier's hosts (the inventory listing
    costs a second or two, so it does not delay the first run). Returns the outcomes in TIERS'
    order. ON_CHANGE(tier, None) when a tier starts, (tier, outcome) when it ends or is
    skipped."""
    note = on_change or (lambda tier, outcome: None)
    pending = list(tiers)
    outcomes: dict[str, Outcome] = {}
    running: dict[Future, str] = {}
    deps: dict[str, set[str]] | None = None
    with ThreadPoolExecutor(max_workers=max(len(tiers), 1) + 1) as pool:
        resolving = pool.submit(resolve) if resolve else None
        while pending or running:
            if deps is None and (resolving is None or resolving.done()):
                try:
                    hosts = resolving.result() if resolving else {}
                except Exception:  # hosts unknown: each tier waits for every earlier one
                    hosts = {}
                deps = waits_for([replace(t, hosts=hosts.get(t.name)) for t in tiers])
            for tier in list(pending):
                # until the hosts are known, only the first tier may start: it waits for none
                waits = deps[tier.name] if deps is not None else (
                    set() if tier is tiers[0] and not running and not outcomes else None)
                if waits is None or not waits <= set(outcomes):
                    continue
                pending.remove(tier)
                failed = sorted(w for w in waits if not succeeded(outcomes[w]))
                if failed:
                    outcomes[tier.name] = Outcome(
                        tier.name, skipped_because=f"not run: {', '.join(failed)} did not succeed")
                    note(tier.name, outcomes[tier.name])
                    continue
                note(tier.name, None)
                running[pool.submit(run_one, tier)] = tier.name
            waitables = set(running) | ({resolving} if resolving and deps is None else set())
            if not waitables:
                continue
            done, _ = wait(waitables, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future, None)
                if name is not None:
                    outcomes[name] = Outcome(name, result=future.result())
                    note(name, outcomes[name])
    return [outcomes[t.name] for t in tiers]


def succeeded(outcome: Outcome) -> bool:
    return outcome.result is not None and outcome.result.exit_code == ExitCode.OK


def merged_result(outcomes: list[Outcome], playbook: Path, runs_dir: Path, duration: float):
    """One RunResult for the site: host counters summed, failures and warnings of every tier,
    the first tier's non-zero exit code (site order), and each tier under `parts`."""
    from golive.runner import RunResult

    ran = [o.result for o in outcomes if o.result is not None]
    bad = next((r for r in ran if r.exit_code != ExitCode.OK), None)
    skipped = [o for o in outcomes if o.result is None]
    exit_code = bad.exit_code if bad else (int(ExitCode.FAILED_HOSTS) if skipped else 0)
    return RunResult(
        status=bad.status if bad else ("failed" if skipped else "successful"),
        exit_code=exit_code,
        ansible_rc=bad.ansible_rc if bad else 0,
        hosts=merge_stats(r.hosts for r in ran),
        failed_tasks=[f for r in ran for f in r.failed_tasks],
        warnings=[w for r in ran for w in r.warnings],
        artifact_dir=runs_dir,
        duration=duration,
        playbook=str(playbook),
        error="; ".join(f"{r.playbook}: {r.error}" for r in ran if r.error),
        parts={o.tier: o.result if o.result is not None else o.skipped_because
               for o in outcomes},
    )


@dataclass
class PrefixedStream:
    """A text stream that writes whole lines, each after PREFIX, under a lock shared by the
    tiers; never a tty, so a tier's Progress prints lines, not a redrawn status line."""

    target: IO[str]
    prefix: str
    lock: threading.Lock
    _buffer: str = field(default="")

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        if lines:
            with self.lock:
                self.target.write("".join(f"{self.prefix}{line}\n" for line in lines))
                self.target.flush()
        return len(text)

    def flush(self) -> None:
        pass


def announce(stream: IO[str], lock: threading.Lock, started: float) -> Callable[[str, Any], None]:
    """ON_CHANGE for run_tiers: a line per tier start and end on STREAM."""
    def note(tier: str, outcome: Outcome | None) -> None:
        at = time.monotonic() - started
        if outcome is None:
            line = f"[{tier}] started at {at:.1f}s"
        elif outcome.result is None:
            line = f"[{tier}] {outcome.skipped_because}"
        else:
            line = (f"[{tier}] {outcome.result.status} in {outcome.result.duration:.1f}s "
                    f"(at {at:.1f}s)")
        with lock:
            stream.write(line + "\n")
            stream.flush()

    return note


def run_site(spec, names: dict[str, str], verbose: int = 0, stream: IO[str] | None = None):
    """Converge the site SPEC.playbook names, tier by tier as above; one merged RunResult.
    Progress goes to STREAM (stderr) as lines prefixed with the tier; Ctrl-C cancels every run."""
    import sys

    from golive import paths, runner
    from golive.render import Progress, TaskEstimates

    stream = stream or sys.stderr
    tiers = site_tiers(spec.playbook, names)
    lock = threading.Lock()
    cancel = threading.Event()
    started = time.monotonic()
    estimates = paths.state_dir() / "task-estimates.json"

    def run_one(tier: Tier):
        progress = Progress(stream=PrefixedStream(stream, f"[{tier.name}] ", lock),
                            verbose=verbose, playbook_key=str(tier.playbook))
        try:
            return runner.run(replace(spec, playbook=tier.playbook), on_event=progress,
                              cancel=cancel)
        finally:
            progress.close()
            with lock:  # the tiers share one estimates file: read it afresh under the lock
                TaskEstimates(estimates).save(progress.task_counts)

    def resolve() -> dict[str, frozenset[str]]:
        groups = group_members(runner.list_inventory(spec.inventory))
        return {t.name: pattern_hosts(play_patterns(t.playbook), groups) for t in tiers}

    with runner.sigint_cancels(cancel):
        outcomes = run_tiers(tiers, run_one, resolve, announce(stream, lock, started))
    return merged_result(outcomes, spec.playbook, runner.runs_dir(),
                         time.monotonic() - started)
