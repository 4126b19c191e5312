#!/usr/bin/env python3
"""No-op converge: how long `golive converge` takes when nothing changes, and where the time goes.

Runs `golive converge --json` N times (default 1) against an inventory that is already
converged (default: the lab) and prints, per round: the wall time and its ratio to the goal,
changed per host (a no-op must be 0 everywhere), and from the run's job events (runner's
artifacts/run/job_events under golive's state dir) the wall and the summed task seconds per
play, and the slowest tasks summed over hosts with their per-host mean. With several rounds,
the median wall. Usage:
    .venv/bin/python tests/bench/converge_noop.py [-n N] [-i INVENTORY] [--only TIER[,TIER...]]
        [--top 15] [--goal 60]
--only runs each named tier's converge in turn (golive converge --only TIER) and reports the
round as their sum. -i is passed through to golive.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from golive import events, runner  # noqa: E402
from golive.cli import TIERS  # noqa: E402


def converge(inventory: str | None, tier: str | None) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "golive", "converge", "--json"]
    cmd += ["-i", inventory] if inventory else []
    cmd += ["--only", tier] if tier else []
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        sys.exit(f"{' '.join(cmd)} printed no JSON (rc {proc.returncode}):\n{proc.stderr[-2000:]}")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc {proc.returncode}): {result.get('error') or ''}"
                 f" {result.get('failed_tasks') or ''}")
    return wall, result


def report(round_no: int, wall: float, results: list[dict], goal: float, top: int) -> None:
    raw = [e for r in results for e in runner.job_events(Path(r["artifact_dir"]))]
    times = [t for t in map(events.task_time, raw) if t]
    changed: dict[str, int] = {}
    for r in results:
        for host, stats in r["hosts"].items():
            changed[host] = changed.get(host, 0) + stats["changed"]
    summed = sum(t.seconds for t in times)
    print(f"round {round_no}: wall {wall:.1f}s, goal {goal:.0f}s, ratio {wall / goal:.2f}; "
          f"ansible's own duration {sum(r['duration'] for r in results):.1f}s")
    print(f"  changed per host ({sum(changed.values())} in all): "
          + ", ".join(f"{h}={n}" for h, n in sorted(changed.items())))
    print(f"  task seconds summed over hosts: {summed:.1f}s "
          f"(x{summed / wall if wall else 0:.1f} the wall time: hosts in parallel)")
    walls = {}
    for r in results:
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
