#!/usr/bin/env python3
"""Deploy and rollback under load, against the converged lab with the sample app deployed
(`make demo`): wall time of `golive deploy` and `golive rollback`, failed requests, and p50/p99
latency through nginx during each, against the same load while idle. The load is 60 requests/s
over both web hosts from the control node (tests/scripts/http_load.py), bounded. Usage:
    .venv/bin/python tests/bench/deploy.py [ROUNDS]      (default 2; each round: deploy, rollback)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.app_drill import Load, build  # noqa: E402

RATE = 60


def timed(*args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "golive", *args], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=900)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"golive {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def under_load(*args: str) -> tuple[float, dict]:
    with Load(rate=RATE) as load:
        time.sleep(2)
        wall = timed(*args)
        time.sleep(2)
        return wall, load.stop()


def line(name: str, wall: float | None, report: dict) -> str:
    lat = report["latency_ms"]
    head = f"{name:<9}" + (f" {wall:6.1f} s" if wall is not None else "         ")
    return (f"{head}  {report['sent']:5d} requests at {report['rate']:5.1f}/s, "
            f"{report['failed']} failed, p50 {lat['p50']} ms, p99 {lat['p99']} ms")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as out:
        bench(rounds, build("v2", Path(out)))


def bench(rounds: int, artifact: Path) -> None:
    with Load(rate=RATE, seconds=20) as load:
        time.sleep(20)
        idle = load.stop()
    print(line("idle", None, idle))
    deploys, rollbacks, failed = [], [], 0
    for n in range(1, rounds + 1):
        wall, report = under_load("deploy", "--artifact", str(artifact))
        deploys.append((wall, report))
        print(line(f"deploy {n}", wall, report))
        wall, report = under_load("rollback")
        rollbacks.append((wall, report))
        print(line(f"rollback {n}", wall, report))
        failed += deploys[-1][1]["failed"] + report["failed"]
    for name, runs in (("deploy", deploys), ("rollback", rollbacks)):
        walls = [w for w, _ in runs]
        p99 = [r["latency_ms"]["p99"] for _, r in runs]
        print(f"{name}: median wall {statistics.median(walls):.1f} s (max {max(walls):.1f}); "
              f"p99 during {statistics.median(p99)} ms vs idle {idle['latency_ms']['p99']} ms")
    print(f"failed requests during all deploys and rollbacks: {failed}")


if __name__ == "__main__":
    main()
