#!/usr/bin/env python3
"""Monitoring tier: what Prometheus costs on mon1 with the lab's series, and how long each
exporter takes to scrape.

Reads Prometheus's own metrics and the targets' scrape figures through its API on mon1's
loopback (podman exec curl, nothing leaves the lab), and samples mon1's container CPU over a
window (the whole container: Prometheus, Alertmanager, the relay and mon1's own exporters).
Prints: head series and samples ingested per second; Prometheus's CPU (cores) and resident
memory, per 1000 series; per job the scrape duration (median and max over its targets, with the
slowest target) and samples per scrape, each as a share of the scrape interval. Needs the lab
with the monitoring tier (`make demo`). Usage:
    .venv/bin/python tests/bench/monitoring.py [--window 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from golive import lab  # noqa: E402

MON = "golive-lab-mon1"


def api(path: str, **params) -> dict:
    query = urllib.parse.urlencode(params)
    proc = lab.podman("exec", MON, "curl", "-sf",
                      f"http://127.0.0.1:9090{path}{'?' + query if query else ''}", check=False)
    if proc.returncode != 0:
        sys.exit(f"Prometheus on mon1 did not answer {path} (is the lab up with the monitoring "
                 f"tier? make demo): {proc.stderr.decode(errors='replace').strip()}")
    return json.loads(proc.stdout)["data"]


def scalar(expr: str) -> float:
    result = api("/api/v1/query", query=expr)["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=60, help="seconds CPU is sampled over")
    args = parser.parse_args()

    before, started = lab.cpu_seconds(MON), time.monotonic()
    time.sleep(args.window)
    mon1_cores = (lab.cpu_seconds(MON) - before) / (time.monotonic() - started)

    series = scalar("prometheus_tsdb_head_series")
    ingest = scalar("rate(prometheus_tsdb_head_samples_appended_total[1m])")
    cores = scalar('rate(process_cpu_seconds_total{job="prometheus"}[1m])')
    rss = scalar('process_resident_memory_bytes{job="prometheus"}') / 2**20
    print(f"head series {series:.0f}, samples ingested {ingest:.0f}/s")
    print(f"Prometheus: CPU {cores:.3f} cores ({cores / series * 1000:.4f} per 1000 series), "
          f"resident memory {rss:.0f} MiB ({rss / series * 1000:.2f} MiB per 1000 series)")
    print(f"mon1 container (Prometheus, Alertmanager, relay, its exporters): "
          f"{mon1_cores:.3f} cores over {args.window} s")

    targets = api("/api/v1/targets", state="active")["activeTargets"]
    jobs: dict[str, list[dict]] = {}
    for target in targets:
        jobs.setdefault(target["labels"]["job"], []).append(target)
    samples = {(r["metric"]["job"], r["metric"]["instance"]): float(r["value"][1])
               for r in api("/api/v1/query", query="scrape_samples_scraped")["result"]}
    print(f"{'job':<12} {'targets':>7} {'median ms':>10} {'max ms':>8} {'of interval':>12} "
          f"{'samples':>8}  slowest")
    for job, group in sorted(jobs.items()):
        durations = [t["lastScrapeDuration"] * 1000 for t in group]
        slowest = max(group, key=lambda t: t["lastScrapeDuration"])
        interval = float(slowest["scrapeInterval"].rstrip("s")) * 1000
        per_scrape = statistics.median(samples.get((job, t["labels"]["instance"]), 0)
                                       for t in group)
        down = [t["labels"]["instance"] for t in group if t["health"] != "up"]
        print(f"{job:<12} {len(group):>7} {statistics.median(durations):>10.1f} "
              f"{max(durations):>8.1f} {max(durations) / interval:>12.2%} {per_scrape:>8.0f}  "
              f"{slowest['labels']['instance']}" + (f"  DOWN: {', '.join(down)}" if down else ""))


if __name__ == "__main__":
    main()
