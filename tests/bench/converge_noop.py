#!/usr/bin/env python3
"""No-op converge: how long `golive converge` takes when nothing changes, and where the time goes.

Runs `golive converge --json` N times (default 1) against an inventory that is already
converged (default: the lab) and prints, per round: the wall time and its ratio to the goal,
changed per host (a no-op must be 0 everywhere), and from the run's job events (runner's
artifacts/run/job_events under golive's state dir) the wall and the summed task seconds per
play, and the slowest tasks summed over hosts with their per-host mean. With several rounds,
the median wall; the CPU seconds the control node and the lab's containers used (on the lab
both share the machine's cores, so their sum over the cores bounds the wall from below). Usage:
    .venv/bin/python tests/bench/converge_noop.py [-n N] [-i INVENTORY] [--only TIER[,TIER...]]
        [--top 15] [--goal 60]
--only runs each named tier's converge in turn (golive converge --only TIER) and reports the
round as their sum. -i is passed through to golive.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from golive import events, lab, runner  # noqa: E402
from golive.cli import TIERS  # noqa: E402


def lab_cpu_seconds() -> float:
    """CPU seconds the lab's running containers have used so far."""
    return sum(lab.cpu_seconds(host.container) for host in lab.lab_hosts())


def converge(inventory: str | None, tier: str | None) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "golive", "converge", "--json"]
    cmd += ["-i", inventory] if inventory else []
    cmd += ["--only", tier] if tier else []
    started = time.perf_counter()
    hosts_cpu = lab_cpu_seconds() if inventory is None else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["control node"] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU["lab hosts"] += lab_cpu_seconds() - hosts_cpu if inventory is None else 0.0
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        sys.exit(f"{' '.join(cmd)} printed no JSON (rc {proc.returncode}):\n{proc.stderr[-2000:]}")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc {proc.returncode}): {result.get('error') or ''}"
                 f" {result.get('failed_tasks') or ''}")
    # golive converge of the site: one run per tier, each with its own artifacts
    return wall, result


CPU = {"control node": 0.0, "lab hosts": 0.0}


def tier_runs(results: list[dict]) -> list[dict]:
    """The runs behind RESULTS: a site converge's tiers, or the results themselves."""
    return [part for r in results for part in (
        [p for p in r["tiers"].values() if isinstance(p, dict)] if r.get("tiers") else [r])]


def report(round_no: int, wall: float, results: list[dict], goal: float, top: int) -> None:
    runs = tier_runs(results)
    raw = [e for r in runs for e in runner.job_events(Path(r["artifact_dir"]))]
    times = [t for t in map(events.task_time, raw) if t]
    changed: dict[str, int] = {}
    for r in results:
        for host, stats in r["hosts"].items():
            changed[host] = changed.get(host, 0) + stats["changed"]
    summed = sum(t.seconds for t in times)
    print(f"round {round_no}: wall {wall:.1f}s, goal {goal:.0f}s, ratio {wall / goal:.2f}; "
          f"ansible's own duration {sum(r['duration'] for r in results):.1f}s")
    cores = os.cpu_count() or 1
    used = sum(CPU.values())
    print(f"  CPU: control node {CPU['control node']:.1f}s, lab hosts {CPU['lab hosts']:.1f}s; "
          f"{used:.1f}s on {cores} cores = {used / cores:.1f}s of wall at the least "
          f"({used / cores / wall:.0%} of the wall busy)")
    for r in results:
        for name, part in (r.get("tiers") or {}).items():
            print(f"  tier {name:<8} " + (part if isinstance(part, str) else
                                          f"{part['status']} in {part['duration']:.1f}s"))
    CPU.update({k: 0.0 for k in CPU})
    print(f"  changed per host ({sum(changed.values())} in all): "
          + ", ".join(f"{h}={n}" for h, n in sorted(changed.items())))
    print(f"  task seconds summed over hosts: {summed:.1f}s "
          f"(x{summed / wall if wall else 0:.1f} the wall time: hosts in parallel)")
    walls = {}
    for r in runs:
        walls.update(events.play_walls(runner.job_events(Path(r["artifact_dir"]))))
    print(f"  {'play':<70} {'wall':>7} {'share':>6} {'summed':>8}")
    for play, seconds in events.time_by_play(times).items():
        play_wall = walls.get(play, 0.0)
        print(f"  {play[:70]:<70} {play_wall:6.1f}s {play_wall / wall:6.1%} {seconds:7.1f}s")
    print(f"  {top} slowest tasks, summed over hosts (mean per host, hosts):")
    for t in events.slowest_tasks(times, top):
        name = f"{t.role}: {t.task}" if t.role else t.task
        print(f"  {t.seconds:7.1f}s  {t.mean:5.2f}s x{t.hosts:<2} {name[:80]}  [{t.play[:40]}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=1)
    parser.add_argument("-i", "--inventory", help="passed to golive (default: the lab)")
    parser.add_argument("--only", help=f"comma-separated tiers ({', '.join(TIERS)})")
    parser.add_argument("--top", type=int, default=15, help="how many slowest tasks")
    parser.add_argument("--goal", type=float, default=60.0, help="seconds the ratio is taken to")
    args = parser.parse_args()
    tiers: list[str | None] = [None]
    if args.only:
        tiers = [t.strip() for t in args.only.split(",") if t.strip()]
        unknown = [t for t in tiers if t not in TIERS]
        if unknown:
            parser.error(f"--only: unknown tier(s) {', '.join(unknown)}; one of {', '.join(TIERS)}")
    walls = []
    for round_no in range(1, args.rounds + 1):
        results, wall = [], 0.0
        for tier in tiers:
            seconds, result = converge(args.inventory, tier)
            wall += seconds
            results.append(result)
        walls.append(wall)
        report(round_no, wall, results, args.goal, args.top)
    if args.rounds > 1:
        median = statistics.median(walls)
        print(f"median wall of {args.rounds}: {median:.1f}s, ratio to goal {median / args.goal:.2f}"
              f" (all: {', '.join(f'{w:.1f}' for w in walls)})")


if __name__ == "__main__":
    main()
