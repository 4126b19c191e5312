#!/usr/bin/env python3
"""Restore test cost: `golive restore-test` (every stage: info, verify, archive wait, restore,
recovery, data, integrity, cleanup, plus the CLI and ansible around it) against a raw
`pgbackrest restore` of the same newest backup into a scratch directory on the backup host, and
the restore throughput in MB/s. pgbench data at scale 10 is created in `app` when missing and a
full backup taken first. Needs the converged lab (`make demo`). Usage:
    .venv/bin/python tests/bench/restore_test.py [N]      (N rounds, default 3)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from golive import paths  # noqa: E402

RAW = """set -e
work=$(mktemp -d /var/lib/golive-bench-restore.XXXXXX)
mkdir "$work/none"; chown -R postgres:postgres "$work"
grep -E '^repo' /etc/pgbackrest/pgbackrest.conf > "$work/conf.tmp"
{ echo '[global]'; cat "$work/conf.tmp"; echo "log-path=$work"; echo "lock-path=$work";
  echo '[main]'; echo "pg1-path=$work/data"; } > "$work/pgbackrest.conf"
chown postgres:postgres "$work/pgbackrest.conf"; chmod 600 "$work/pgbackrest.conf"
start=$(date +%s.%N)
runuser -u postgres -- pgbackrest --config="$work/pgbackrest.conf" \
    --config-include-path="$work/none" --stanza=main --archive-mode=off restore
end=$(date +%s.%N)
bytes=$(du -sb "$work/data" | cut -f1)
rm -rf "$work"
echo "$start $end $bytes"
"""


def podman(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **paths.podman_env()}, check=False)


def sh(host: str, script: str) -> str:
    proc = podman("exec", f"golive-lab-{host}", "bash", "-c", script)
    if proc.returncode != 0:
        sys.exit(f"{host}: {script[:80]}... failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def golive(*args: str) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "golive", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=3600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"golive {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, json.loads(proc.stdout)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tables = sh("db1", "runuser -u postgres -- psql -XAtq -d app -c "
                       "\"SELECT count(*) FROM pg_tables WHERE tablename = 'pgbench_accounts'\"")
    if tables.strip() != "1":
        sh("db1", "runuser -u postgres -- pgbench -i -q -s 10 app")
    golive("backup", "--type", "full")
    totals, raws, rtos, throughputs, waits, size = [], [], [], [], [], 0
    for n in range(1, rounds + 1):
        start, end, size = sh("backup1", RAW).split()
        raw = float(end) - float(start)
        total, document = golive("restore-test")
        report = document["report"]["backup1"]
        seconds = {s["name"]: s["seconds"] for s in report["stages"]}
        restore = seconds["restore"]
        waits.append(seconds.get("archive", 0.0))
        raws.append(raw)
        totals.append(total)
        rtos.append(report["rto_seconds"])
        throughputs.append(report["restore_bytes"] / restore / 1e6)
        print(f"round {n}: raw pgbackrest restore {raw:.2f} s; golive restore-test {total:.2f} s "
              f"(RTO {report['rto_seconds']:.2f} s, RPO {report['rpo_seconds']:.1f} s, "
              f"restore stage {restore:.2f} s, {throughputs[-1]:.1f} MB/s)")
    raw, total = statistics.median(raws), statistics.median(totals)
    print(f"data restored: {int(size) / 1e6:.1f} MB (pgbench scale 10 + the rest of the cluster)")
    print(f"median raw pgbackrest restore: {raw:.2f} s ({int(size) / 1e6 / raw:.1f} MB/s)")
    print(f"median golive restore-test:    {total:.2f} s (RTO {statistics.median(rtos):.2f} s, "
          f"restore throughput {statistics.median(throughputs):.1f} MB/s)")
    wait = statistics.median(waits)
    print(f"ratio restore-test / raw restore: {total / raw:.1f}; without the wait for the "
          f"canary's WAL (median {wait:.1f} s, bounded by archive_timeout): "
          f"{(total - wait) / raw:.1f}")


if __name__ == "__main__":
    main()
