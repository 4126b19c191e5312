#!/usr/bin/env python3
"""Deploy and rollback under load, against the converged lab with the sample app deployed
(`make demo`): wall time of `golive deploy` and `golive rollback`, failed requests, and p50/p99
latency through nginx during each, against the same load while idle. The load is 60 requests/s
over both web hosts from the control node (tests/scripts/http_load.py), bounded. Usage:
    .venv/bin/python tests/bench/deploy.py [WARM] [COLD]     (default 5 and 2 rounds)
After each rollback it prints web1's phases from the host's history (where the wall time goes).
A warm round is a deploy (the previous color stays warm, the default) then a rollback, which is
one switch; a cold round deploys with app_previous_warm=false (the old color stops), so its
rollback starts the previous release and gates it. It prints the median walls and the ratio of
the warm rollback to the cold one.
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

from tests.e2e.app_drill import Load, build, history  # noqa: E402

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
    warm = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cold = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as out:
        bench(warm, cold, build("v2", Path(out)))


def bench(warm: int, cold: int, artifact: Path) -> None:
    with Load(rate=RATE, seconds=20) as load:
        time.sleep(20)
        idle = load.stop()
    print(line("idle", None, idle))
    runs: dict[str, list[tuple[float, dict]]] = {"deploy": [], "rollback warm": [],
                                                 "rollback cold": []}
    plan = [("warm", [])] * warm + [("cold", ["-e", "app_previous_warm=false"])] * cold
    for n, (kind, extra) in enumerate(plan, 1):
        wall, report = under_load("deploy", "--artifact", str(artifact), *extra)
        runs["deploy"].append((wall, report))
        print(line(f"deploy {n}", wall, report))
        wall, report = under_load("rollback")
        runs[f"rollback {kind}"].append((wall, report))
        print(line(f"rollback {n} ({kind})", wall, report))
        print(f"  phases on web1 (s): {history('web1')[-1].get('phases_s')}")
    medians = {}
    for name, done in runs.items():
        if not done:
            continue
        walls = [w for w, _ in done]
        p50 = [r["latency_ms"]["p50"] for _, r in done]
        p99 = [r["latency_ms"]["p99"] for _, r in done]
        medians[name] = statistics.median(walls)
        print(f"{name}: median wall {medians[name]:.1f} s (min {min(walls):.1f}, max "
              f"{max(walls):.1f}, n={len(walls)}); p50 {statistics.median(p50)} ms, p99 "
              f"{statistics.median(p99)} ms during, vs idle p50 {idle['latency_ms']['p50']} "
              f"ms, p99 {idle['latency_ms']['p99']} ms")
    if "rollback warm" in medians and "rollback cold" in medians:
        print(f"warm rollback / cold rollback: "
              f"{medians['rollback warm'] / medians['rollback cold']:.2f}")
    failed = sum(r["failed"] for done in runs.values() for _, r in done)
    print(f"failed requests during all deploys and rollbacks: {failed}")


if __name__ == "__main__":
    main()
