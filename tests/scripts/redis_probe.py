#!/usr/bin/python3
"""A Redis client for the cache-tier tests, run on a lab host (Debian's python3-redis).

It finds the primary the way an application does, by asking the sentinels, and logs in as the
application user. Credentials come from the environment, never from argv:
REDIS_USER, REDIS_PASSWORD, SENTINEL_PASSWORD. Sentinels: --sentinels host:port,...

  fill N --prefix P --replicas R    N SETs in one pipeline, then WAIT R 5000 on that connection
  digest --prefix P --host H        DBSIZE and a digest of P:1..P:100 on one node (any role)
  writer --seconds S --prefix P --acked FILE
                                    one write at a time: SET P:i i, then WAIT 1 1000; a write is
                                    acknowledged only when WAIT says >= 1 replica has it. Bounded
                                    by --seconds and --max-writes. Prints a JSON timeline summary.
  check --acked FILE                how many acknowledged keys exist on the current primary

Every command prints one JSON object on stdout.
"""

import argparse
import hashlib
import itertools
import json
import os
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# redis-py 6 (Debian 13) retries a timed-out connect 3 times with backoff: a dead host would cost
# 11 s per connect instead of the timeout given. Every attempt here is one attempt.
NO_RETRY = Retry(NoBackoff(), 0)


def sentinel_master(sentinels, name):
    """(host, port) every reachable sentinel agrees on, or None."""
    seen = set()
    for address in sentinels:
        host, port = address.rsplit(":", 1)
        try:
            s = redis.Redis(host=host, port=int(port), password=os.environ.get("SENTINEL_PASSWORD"),
                            socket_timeout=0.5, socket_connect_timeout=0.5, retry=NO_RETRY)
            answer = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
        except redis.RedisError:
            continue
        if answer:
            seen.add((answer[0].decode(), int(answer[1])))
    return seen.pop() if len(seen) == 1 else None


def client(host, port, timeout=1.0):
    return redis.Redis(host=host, port=port, username=os.environ["REDIS_USER"],
                       password=os.environ["REDIS_PASSWORD"], socket_timeout=timeout,
                       socket_connect_timeout=timeout, retry=NO_RETRY)


def master_client(args):
    found = sentinel_master(args.sentinels, args.master_name)
    if found is None:
        raise SystemExit(json.dumps({"error": "the sentinels do not name one master"}))
    return found, client(*found)


def cmd_fill(args):
    (host, port), r = master_client(args)
    pipe = r.pipeline(transaction=False)
    for i in range(1, args.n + 1):
        pipe.set(f"{args.prefix}:{i}", f"v{i}")
    replies = pipe.execute()
    acked = r.execute_command("WAIT", args.replicas, 5000)
    return {"master": f"{host}:{port}", "written": sum(1 for x in replies if x),
            "wait": int(acked)}


def cmd_digest(args):
    host, port = args.host.rsplit(":", 1)
    r = client(host, int(port))
    keys = [f"{args.prefix}:{i}" for i in range(1, 101)]
    values = r.mget(keys)
    h = hashlib.sha256()
    for v in values:
        h.update(v or b"<none>")
    return {"node": args.host, "dbsize": r.dbsize(), "sample_missing": values.count(None),
            "sample_digest": h.hexdigest()}


def cmd_writer(args):
    """Bounded writer; every attempt is timed with the host clock (shared with the test)."""
    deadline = time.time() + args.seconds
    acked, attempts, errors, events = [], 0, {}, []
    current, r = None, None
    i = 0
    with open(args.acked, "w") as out:
        while time.time() < deadline and attempts < args.max_writes:
            if r is None:
                current = sentinel_master(args.sentinels, args.master_name)
                if current is None:
                    errors["no_master"] = errors.get("no_master", 0) + 1
                    time.sleep(0.1)
                    continue
                r = client(*current, timeout=0.5)
            i += 1
            attempts += 1
            key = f"{args.prefix}:{i}"
            started = time.time()
            try:
                r.set(key, i)
                n = int(r.execute_command("WAIT", 1, 1000))
            except redis.RedisError as exc:
                kind = str(exc).split(" ")[0] if isinstance(exc, redis.ResponseError) else \
                    type(exc).__name__
                errors[kind] = errors.get(kind, 0) + 1
                events.append({"t": started, "ok": False, "master": "{}:{}".format(*current),
                               "error": kind})
                r = None  # ask the sentinels again
                time.sleep(0.1)
                continue
            ok = n >= 1
            if ok:
                acked.append(key)
                out.write(key + "\n")
                out.flush()
            events.append({"t": started, "ok": ok, "master": "{}:{}".format(*current)})
            time.sleep(args.interval)
    # Condense the timeline: the first and last success per master, and the longest gap
    # between two acknowledged writes.
    masters = {}
    for e in events:
        if e["ok"]:
            m = masters.setdefault(e["master"], {"first_ok": e["t"], "last_ok": e["t"]})
            m["last_ok"] = e["t"]
    ok_times = [e["t"] for e in events if e["ok"]]
    gap = max((b - a for a, b in itertools.pairwise(ok_times)), default=0.0)
    return {"attempts": attempts, "acked": len(acked), "errors": errors, "masters": masters,
            "longest_gap_s": round(gap, 3)}


def cmd_check(args):
    (host, port), r = master_client(args)
    with open(args.acked) as f:
        keys = [line.strip() for line in f if line.strip()]
    missing = 0
    for start in range(0, len(keys), 500):
        batch = keys[start:start + 500]
        missing += sum(1 for v in r.mget(batch) if v is None)
    return {"master": f"{host}:{port}", "acked": len(keys), "missing": missing}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--sentinels", type=lambda s: s.split(","), default=[])
    p.add_argument("--master-name", default="golive")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill")
    f.add_argument("n", type=int)
    f.add_argument("--prefix", required=True)
    f.add_argument("--replicas", type=int, required=True)
    d = sub.add_parser("digest")
    d.add_argument("--prefix", required=True)
    d.add_argument("--host", required=True)
    w = sub.add_parser("writer")
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--prefix", required=True)
    w.add_argument("--acked", required=True)
    w.add_argument("--interval", type=float, default=0.01)
    w.add_argument("--max-writes", type=int, default=20000)
    c = sub.add_parser("check")
    c.add_argument("--acked", required=True)
    args = p.parse_args(argv)
    result = {"fill": cmd_fill, "digest": cmd_digest, "writer": cmd_writer,
              "check": cmd_check}[args.cmd](args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
