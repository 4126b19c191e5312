"""The sample backend as a plain WSGI application (served by gunicorn).

Shaped like the backends of the go-live plans: a JSON API on PostgreSQL (through PgBouncer) and
Redis (found through Sentinel), with the health endpoints the deploy gates on. Configuration is
the environment (the role renders it into shared/.env):

  DATABASE_URL             libpq URL, through PgBouncer (transaction pooling)
  REDIS_SENTINELS          host:port,host:port,...   (or REDIS_URL for a single server)
  REDIS_MASTER_NAME        Sentinel's name for the primary
  REDIS_USERNAME, REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD
  APP_BANNER               a free text GET / answers (what a per-release setting looks like)

A release built with a fault (build.py --fault) misbehaves on purpose, for the deploy drills:
"health" answers 503 on /health; "degraded" answers 200 with `"status": "degraded"` (the gate must
refuse it on the body, not the code); "api5xx" passes /health but answers 500 on /api/items.
/health answers plan 004's shape: {"status": "healthy", "services": {"database": "healthy", ...}}.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from golive_sample_app import _build
from golive_sample_app.schema import ItemsSchema

VERSION = _build.VERSION
# A fault limited to some hosts (build.py --fault-hosts) is off on every other host.
FAULT = _build.FAULT if not _build.FAULT_HOSTS or socket.gethostname() in _build.FAULT_HOSTS \
    else "none"
SCHEMA = ItemsSchema(_build.SCHEMA)
CHECK_TIMEOUT_S = float(os.environ.get("HEALTH_TIMEOUT_S", "2"))

_local = threading.local()
_redis_lock = threading.Lock()
_redis_client = []


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def database():
    """One connection per worker thread, opened lazily and reopened after an error."""
    import psycopg2

    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg2.connect(os.environ["DATABASE_URL"],
                                connect_timeout=max(1, int(CHECK_TIMEOUT_S)),
                                application_name=f"golive-sample-app {VERSION}")
        conn.autocommit = True
        _local.conn = conn
    return conn


def query(sql: str, params=()) -> list[tuple]:
    try:
        with database().cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    except Exception:
        conn = getattr(_local, "conn", None)
        if conn is not None:
            conn.close()
        raise


def redis_client():
    """A client for the current Redis primary (through Sentinel when REDIS_SENTINELS is set)."""
    with _redis_lock:
        if _redis_client:
            return _redis_client[0]
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        from redis.sentinel import Sentinel

        # redis-py 6 (Debian 13) retries a timed-out connect 3 times with backoff, so a dead
        # node would hold a health check for 11 s instead of HEALTH_TIMEOUT_S: no retries.
        no_retry = Retry(NoBackoff(), 0)
        options = {"socket_timeout": CHECK_TIMEOUT_S, "socket_connect_timeout": CHECK_TIMEOUT_S,
                   "retry": no_retry,
                   "username": os.environ.get("REDIS_USERNAME") or None,
                   "password": os.environ.get("REDIS_PASSWORD") or None}
        sentinels = os.environ.get("REDIS_SENTINELS", "")
        if sentinels:
            nodes = [(item.rsplit(":", 1)[0], int(item.rsplit(":", 1)[1]))
                     for item in sentinels.split(",") if item.strip()]
            sentinel = Sentinel(nodes, sentinel_kwargs={
                "password": os.environ.get("REDIS_SENTINEL_PASSWORD") or None,
                "socket_timeout": CHECK_TIMEOUT_S, "socket_connect_timeout": CHECK_TIMEOUT_S,
                "retry": no_retry})
            client = sentinel.master_for(os.environ.get("REDIS_MASTER_NAME", "golive"), **options)
        else:
            client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                                          **options)
        _redis_client.append(client)
        return client


def probe(check: Callable[[], object]) -> dict:
    start = time.monotonic()
    try:
        check()
    except Exception as exc:
        return {"status": "unhealthy", "error": f"{type(exc).__name__}: {str(exc).strip()[:200]}",
                "latency_ms": round((time.monotonic() - start) * 1000, 1)}
    return {"status": "healthy", "latency_ms": round((time.monotonic() - start) * 1000, 1)}


def check_database() -> dict:
    return probe(lambda: query("SELECT 1"))


def check_redis() -> dict:
    return probe(lambda: redis_client().ping())


# -- handlers: each returns (status, document) ---------------------------------------------------

def health(_request) -> tuple[int, dict]:
    services = {"database": check_database(), "redis": check_redis()}
    healthy = all(s["status"] == "healthy" for s in services.values())
    status = "healthy" if healthy else "unhealthy"
    if FAULT == "health":
        healthy, status = False, "failing"
    elif FAULT == "degraded":
        status = "degraded"
    return (200 if healthy else 503), {
        "status": status, "timestamp": now_iso(), "version": VERSION,
        "services": {name: s["status"] for name, s in services.items()},
        "details": services}


def health_database(_request) -> tuple[int, dict]:
    result = check_database()
    return (200 if result["status"] == "healthy" else 503), result


def health_redis(_request) -> tuple[int, dict]:
    result = check_redis()
    return (200 if result["status"] == "healthy" else 503), result


def index(_request) -> tuple[int, dict]:
    return 200, {"app": "golive-sample-app", "version": VERSION,
                 "banner": os.environ.get("APP_BANNER", "")}


def list_items(request) -> tuple[int, dict]:
    if FAULT == "api5xx":
        return 500, {"error": "deliberately broken release (fault api5xx)"}
    limit = min(int(request["query"].get("limit", ["20"])[0]), 100)
    rows = query(SCHEMA.select_recent(), (limit,))
    return 200, {"items": [SCHEMA.item(row) for row in rows], "version": VERSION}


def create_item(request) -> tuple[int, dict]:
    if FAULT == "api5xx":
        return 500, {"error": "deliberately broken release (fault api5xx)"}
    body = request["json"]
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        return 422, {"error": "name: a non-empty string of at most 200 characters"}
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return 422, {"error": "tags: a list of strings"}
    sql, params = SCHEMA.insert(name.strip(), tags)
    row = query(sql, params)[0]
    redis_client().incr("golive-sample-app:items-created")
    return 201, {"item": SCHEMA.item(row)}


def stats(_request) -> tuple[int, dict]:
    count = query("SELECT count(*) FROM items")[0][0]
    created = redis_client().get("golive-sample-app:items-created")
    return 200, {"items": count, "items_created": int(created or 0), "version": VERSION}


ROUTES: dict[tuple[str, str], Callable] = {
    ("GET", "/"): index,
    ("GET", "/health"): health,
    ("GET", "/api/health/database"): health_database,
    ("GET", "/api/health/redis"): health_redis,
    ("GET", "/api/items"): list_items,
    ("POST", "/api/items"): create_item,
    ("GET", "/api/stats"): stats,
}


def read_json(environ) -> object:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return None
    raw = environ["wsgi.input"].read(min(length, 65536))
    try:
        return json.loads(raw)
    except ValueError:
        return None


def application(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    handler = ROUTES.get((method, path))
    if handler is None:
        known = {p for (_m, p) in ROUTES}
        code, document = (405, {"error": "method not allowed"}) if path in known else \
            (404, {"error": "not found"})
    else:
        request = {"query": parse_qs(environ.get("QUERY_STRING", "")),
                   "json": read_json(environ) if method == "POST" else None}
        try:
            code, document = handler(request)
        except Exception as exc:
            code, document = 503, {"error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}
    body = json.dumps(document).encode()
    reason = {200: "OK", 201: "Created", 404: "Not Found", 405: "Method Not Allowed",
              422: "Unprocessable Entity", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(code, "Unknown")
    start_response(f"{code} {reason}", [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(body))),
                                        ("Cache-Control", "no-store"),
                                        ("X-App-Version", VERSION)])
    return [body]
