#!/usr/bin/env python3
"""A bounded, constant-rate HTTPS load against the lab's web hosts, from the control node.

    http_load.py --targets https://10.213.7.31,https://10.213.7.32 --rate 60 --seconds 120
                 [--api-every 64] [--stop-file PATH]

Requests go round-robin over the targets, RATE per second in all, each on a new connection (as
separate clients make them), certificate not verified (Pebble's root changes at each restart).
Paths, per target: "/" and "/health" alternately, and /api/items every API_EVERY-th request
(the lab's nginx limits /api/ to 50 a minute per client address: at 60/s over two targets and
the default 64, each gets 28 a minute). It stops after SECONDS, on SIGTERM, or
when STOP_FILE appears, then prints one JSON object:

  sent, ok, failed (non-2xx or no answer), rate, by_status, latency_ms {p50, p99, max},
  failures (first 20: t, target, path, error), versions (per version: first_t, last_t, count),
  timeline (per second: {version: count}, failures).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 2)


class Load:
    def __init__(self, targets: list[str], api_every: int):
        self.targets = targets
        self.api_every = api_every
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.by_status: Counter = Counter()
        self.failures: list[dict] = []
        self.failed = self.ok = 0
        self.versions: dict[str, dict] = {}
        self.timeline: dict[int, Counter] = defaultdict(Counter)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPSHandler(context=context))

    def path(self, n: int) -> str:
        # each target's own sequence (round-robin would send every API request to one target)
        k = n // len(self.targets)
        if self.api_every and k % self.api_every == self.api_every - 1:
            return "/api/items?limit=5"
        return "/health" if k % 2 else "/"

    def one(self, n: int, start: float) -> None:
        target = self.targets[n % len(self.targets)]
        path = self.path(n)
        sent = time.monotonic()
        version = error = None
        status = 0
        try:
            request = urllib.request.Request(target + path, headers={"Connection": "close"})
            with self.opener.open(request, timeout=10) as answer:
                status = answer.status
                version = answer.headers.get("X-App-Version")
                answer.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            version = exc.headers.get("X-App-Version") if exc.headers else None
            error = f"HTTP {exc.code}"
        except (OSError, urllib.error.URLError) as exc:
            error = f"{type(exc).__name__}: {str(exc)[:120]}"
        done = time.monotonic()
        t = round(sent - start, 3)
        good = 200 <= status < 300
        with self.lock:
            self.latencies.append((done - sent) * 1000)
            self.by_status[str(status or "none")] += 1
            second = int(sent - start)
            if good:
                self.ok += 1
            else:
                self.failed += 1
                self.timeline[second]["failed"] += 1
                if len(self.failures) < 20:
                    self.failures.append({"t": t, "target": target, "path": path,
                                          "error": error or f"HTTP {status}"})
            if version:
                entry = self.versions.setdefault(version, {"first_t": t, "last_t": t, "count": 0})
                entry["first_t"] = min(entry["first_t"], t)
                entry["last_t"] = max(entry["last_t"], t)
                entry["count"] += 1
                self.timeline[second][version] += 1

    def report(self, sent: int, elapsed: float) -> dict:
        return {"sent": sent, "ok": self.ok, "failed": self.failed,
                "seconds": round(elapsed, 3), "rate": round(sent / elapsed, 1) if elapsed else 0,
                "by_status": dict(self.by_status),
                "latency_ms": {"p50": percentile(self.latencies, 0.50),
                               "p99": percentile(self.latencies, 0.99),
                               "max": percentile(self.latencies, 1.0)},
                "failures": self.failures, "versions": self.versions,
                "timeline": {str(k): dict(v) for k, v in sorted(self.timeline.items())}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", required=True)
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--api-every", type=int, default=64)
    parser.add_argument("--stop-file")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 900 or not 0 < args.rate <= 500:
        parser.error("--seconds 0-900 and --rate 0-500: the load is bounded")
    load = Load([t.rstrip("/") for t in args.targets.split(",") if t], args.api_every)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    start = time.monotonic()
    sent = 0
    with ThreadPoolExecutor(max_workers=32) as pool:
        while not stop and time.monotonic() - start < args.seconds:
            if args.stop_file and sent % 10 == 0 and os.path.exists(args.stop_file):
                break
            pool.submit(load.one, sent, start)
            sent += 1
            delay = start + sent / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        elapsed = time.monotonic() - start
    print(json.dumps(load.report(sent, elapsed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
