#!/usr/bin/env python3
"""pgbench TPS straight to PostgreSQL vs through PgBouncer, and the standby's lag under load.

On the lab primary (db1, the db tier converged), with pgbench tables at scale S (default 10),
runs -c 50 -j 2 for T seconds (default 20) for each of: select-only (-S) and tpcb-like, direct
(127.0.0.1:5432) and through PgBouncer in transaction mode (127.0.0.1:6432). While each runs,
the primary's pg_stat_replication is sampled every 0.5 s for the standby's replay lag (bytes
behind pg_current_wal_lsn() and replay_lag seconds). Prints one table and a JSON line.
Needs the lab up and the db tier converged (`make demo`). Traffic stays inside the lab primary.
Usage:
    .venv/bin/python tests/bench/db_pooling.py [SCALE] [SECONDS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PRIMARY = "golive-lab-db1"
PROBE = "/usr/local/bin/golive-pgbench-run"
CLIENTS = 50
LAG_SQL = ("SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1)::bigint,"
           " coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication")


def podman(*argv: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    from golive import paths

    flags = [x for name in sorted(env or {}) for x in ("-e", name)]
    return subprocess.run(["podman", *argv[:1], *flags, *argv[1:]], capture_output=True,
                          text=True, env={**os.environ, **paths.podman_env(), **(env or {})},
                          check=False, **kw)


def app_password() -> str:
    users = yaml.safe_load((ROOT / "inventories/lab/group_vars/db.yml").read_text())
    return next(u["password"] for u in users["postgresql_users"] if u["name"] == "app")


def sample_lag(stop: threading.Event, out: list[tuple[int, float]]) -> None:
    while not stop.wait(0.5):
        proc = podman("exec", PRIMARY, "runuser", "-u", "postgres", "--", "psql", "-XAtq",
                      "-F", " ", "-c", LAG_SQL, timeout=10)
        if proc.returncode == 0 and proc.stdout.strip():
            lag_bytes, lag_s = proc.stdout.split()
            out.append((int(lag_bytes), float(lag_s)))


def run(port: int, seconds: int, select_only: bool, env: dict[str, str]) -> dict:
    lag: list[tuple[int, float]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_lag, args=(stop, lag), daemon=True)
    sampler.start()
    argv = ["exec", PRIMARY, PROBE, str(port), str(CLIENTS), str(seconds)]
    proc = podman(*argv, *(["-S"] if select_only else []), env=env, timeout=seconds + 120)
    stop.set()
    sampler.join()
    if proc.returncode != 0 or not proc.stdout.strip():
        sys.exit(f"pgbench on {port} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.splitlines()[-1])
    result["max_lag_bytes"] = max((b for b, _ in lag), default=None)
    result["max_lag_seconds"] = max((s for _, s in lag), default=None)
    result["lag_samples"] = len(lag)
    return result


def main() -> None:
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    env = {"PGUSER": "app", "PGDATABASE": "app", "PGPASSWORD": app_password()}
    copied = podman("cp", str(ROOT / "tests/scripts/pgbench-run.sh"), f"{PRIMARY}:{PROBE}")
    if copied.returncode != 0:
        sys.exit(f"is the lab up with the db tier converged? {copied.stderr}")
    init = podman("exec", PRIMARY, "pgbench", "-i", "-q", "-s", str(scale), "-h", "127.0.0.1",
                  env=env, timeout=600)
    if init.returncode != 0:
        sys.exit(init.stderr)
    rows = []
    for mode, select_only in (("select-only", True), ("tpcb-like", False)):
        for path, port in (("direct", 5432), ("pgbouncer", 6432)):
            result = run(port, seconds, select_only, env)
            rows.append({"mode": mode, "path": path, **result})
    print(f"pgbench scale {scale}, -c {CLIENTS} -j 2, {seconds} s each, lab primary db1")
    print(f"{'mode':<12} {'path':<10} {'tps':>9} {'failed':>6} {'aborted':>7} "
          f"{'srv conns':>9} {'max lag B':>10} {'max lag s':>9}")
    for r in rows:
        print(f"{r['mode']:<12} {r['path']:<10} {r['tps']:>9.1f} {r['failed_transactions']:>6} "
              f"{r['aborted_clients']:>7} {r['max_server_connections']:>9} "
              f"{r['max_lag_bytes'] if r['max_lag_bytes'] is not None else '-':>10} "
              f"{r['max_lag_seconds'] if r['max_lag_seconds'] is not None else '-':>9}")
    for mode in ("select-only", "tpcb-like"):
        direct, pooled = (next(r["tps"] for r in rows if r["mode"] == mode and r["path"] == p)
                          for p in ("direct", "pgbouncer"))
        print(f"{mode}: pgbouncer/direct tps ratio {pooled / direct:.3f}")
    print(json.dumps({"scale": scale, "seconds": seconds, "clients": CLIENTS, "runs": rows}))


if __name__ == "__main__":
    main()
