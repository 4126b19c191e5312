#!/usr/bin/env python3
"""Wrapper overhead: `golive run` vs plain `ansible-playbook`, same no-op playbook, same lab.

Runs both alternately N times (default 7) against the lab inventory and prints each median and
their ratio (goal <= 1.10). Needs the lab up (`golive lab up`). Usage:
    .venv/bin/python tests/bench/runner_overhead.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "tests" / "fixtures" / "noop.yml"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    from golive import paths
    from golive.runner import run_env

    env = {**os.environ, **run_env()}
    bindir = Path(sys.executable).parent
    plain = [str(bindir / "ansible-playbook"), "-i", str(paths.lab_inventory()), str(PLAYBOOK)]
    wrapped = [str(bindir / "golive"), "run", str(PLAYBOOK), "--json"]
    timed(plain, env)  # warm caches once, not counted
    timed(wrapped, env)
    golive_times, plain_times = [], []
    for _ in range(rounds):
        plain_times.append(timed(plain, env))
        golive_times.append(timed(wrapped, env))
    g, p = statistics.median(golive_times), statistics.median(plain_times)
    print(f"rounds: {rounds}, hosts: 9 (lab), playbook: {PLAYBOOK.name}")
    for label, median, times in (("ansible-playbook", p, plain_times),
                                 ("golive run", g, golive_times)):
        all_runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label + ' median:':<25}{median:.3f}s  (all: {all_runs})")
    print(f"ratio golive/ansible-playbook: {g / p:.3f}  (goal <= 1.10)")


if __name__ == "__main__":
    main()
