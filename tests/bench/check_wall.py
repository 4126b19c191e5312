#!/usr/bin/env python3
"""Wall time of `golive check` over the whole lab (goal <= 10 s): the command as an operator
runs it, from start to exit, N times (default 5) after one warm-up run. Prints each run with
its number of checks and slowest check, then the median and the maximum. Needs the converged
lab (`make demo`). Usage:
    .venv/bin/python tests/bench/check_wall.py [N]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_S = 10.0


def one_run() -> tuple[float, int, int, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "golive", "check", "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=300)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"golive check failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)["report"]
    entries = [e for r in report.values() for e in (r or {}).get("checks", [])]
    slowest = max((e["duration_ms"] for e in entries), default=0.0)
    return elapsed, len(report), len(entries), slowest


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    one_run()  # warm-up, not counted
    walls = []
    for n in range(1, rounds + 1):
        wall, hosts, checks, slowest = one_run()
        walls.append(wall)
        print(f"run {n}: {wall:.2f} s wall, {checks} checks on {hosts} hosts, "
              f"slowest check {slowest:.0f} ms")
    median = statistics.median(walls)
    print(f"golive check over the lab: median {median:.2f} s, max {max(walls):.2f} s "
          f"(goal <= {GOAL_S:.0f} s: {'met' if median <= GOAL_S else 'NOT met'})")


if __name__ == "__main__":
    main()
