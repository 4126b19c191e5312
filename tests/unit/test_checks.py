"""golive.ops.checks without a lab: every check type against real sockets, files and fakes.

The module is imported the way Ansible ships it (ansible_collections.golive.ops...). main() runs
with a real AnsibleModule whose exit_json/fail_json raise. HTTP checks talk to a real
http.server on an ephemeral 127.0.0.1 port, TCP checks to real listeners and closed ports, file
checks to files in tmp_path. PostgreSQL and Redis go through fakes of the module_utils connect
functions, as in test_pg_modules.py and test_redis_modules.py; the host's statvfs, meminfo, load
average, commands and clocks through the module's Env, so that values land exactly on the
thresholds.
"""

import datetime
import grp
import http.server
import json
import os
import pwd
import socket
import sys
import threading
import time
import types
import typing

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import collection_modules, run_main

PASSWORD = "s3cr3t-Pa55"  # never to be seen in any result
REDIS_PASSWORD = "r3d1s-Pa55"
GB = 1024**3
NOW = 1_700_000_000.0  # the wall clock of file ages and certificate days
NOT_AFTER = datetime.datetime.fromtimestamp(NOW, datetime.UTC) + datetime.timedelta(days=90)
RESULT_KEYS = {"name", "type", "status", "value", "unit", "threshold", "message", "duration_ms"}


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    with collection_modules(
        tmp_path_factory,
        checks="modules.checks",
        pg="module_utils.pg",
        redis="module_utils.redis",
    ) as modules:
        yield modules


@pytest.fixture(scope="module")
def checks(collection):
    return collection.checks


# --- running main() ---------------------------------------------------------------------------


def run(module, *items, options=None, **deps):
    """main() with these checks; asserts the task did not fail and returns its result."""
    failed, result = run_main(module, {"checks": list(items), **(options or {})}, **deps)
    assert not failed, result
    assert result["changed"] is False
    for entry in result["checks"]:
        extra = {"app_health": {"served"}, "updates": {"updates"}}.get(entry["type"], set())
        assert set(entry) == RESULT_KEYS | extra
        assert "\n" not in entry["message"]
    return result


def one(module, item, **deps):
    """The single result of one check."""
    (entry,) = run(module, item, **deps)["checks"]
    assert entry["name"] == item["name"] and entry["type"] == item["type"]
    return entry


class FakeClock:
    """perf_counter stand-in: time moves only when a fake says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# --- validation: nothing runs -----------------------------------------------------------------


@pytest.fixture
def spies(checks, monkeypatch):
    """Every check function replaced by one recording its calls."""
    calls = []
    for name in list(checks.RUNNERS):
        monkeypatch.setitem(checks.RUNNERS, name, lambda check, env: calls.append(check["name"]))
    return calls


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            [{"name": "x", "type": "htp"}],
            "checks[0] 'x': unknown type 'htp' (types: alerts, app_health, backup_age, "
            "certificate, clock, disk, file, http, load, memory, postgres, redis, systemd, tcp, "
            "updates)",
        ),
        ([{"name": "root", "type": "disk"}], "checks[0] 'root': missing required field path"),
        ([{"type": "memory"}], "checks[0]: missing required field name"),
        ([{"name": "m"}], "checks[0] 'm': missing required field type (types: alerts, app_health"),
        (
            [{"name": "m", "type": "memory"}, {"name": "m", "type": "load"}],
            "checks[1] 'm': duplicate name, also checks[0] 'm'",
        ),
        (
            [{"name": "root", "type": "disk", "path": "/", "min_free_gb": "ten"}],
            "checks[0] 'root': min_free_gb must be a number, not 'ten'",
        ),
        (
            [{"name": "pgb", "type": "tcp", "host": "db1", "port": "6432x"}],
            "checks[0] 'pgb': port must be an integer, not '6432x'",
        ),
        (
            [{"name": "pgb", "type": "tcp", "host": "db1", "port": 70000}],
            "checks[0] 'pgb': port must be at most 65535, not 70000",
        ),
        (
            [{"name": "pgb", "type": "tcp", "host": 10, "port": 6432}],
            "checks[0] 'pgb': host must be a string, not int 10",
        ),
        (
            [{"name": "db", "type": "postgres", "user": "app", "passwd": "x"}],
            "checks[0] 'db': unknown field 'passwd' (fields of postgres: dbname, fail_ms, host, "
            "name, port, query, sslmode, timeout_s, type, user, warn_ms)",
        ),
        (
            [{"name": "db", "type": "postgres", "user": "app", "password": PASSWORD}],
            "checks[0] 'db': password is not a field: give it in the secrets option",
        ),
        (
            [{"name": "env", "type": "file", "path": "/srv/.env", "mode": 384}],
            "checks[0] 'env': mode must be a quoted octal string such as '0600', not int 384",
        ),
        (
            [{"name": "env", "type": "file", "path": "/srv/.env", "mode": "0800"}],
            "checks[0] 'env': mode must be an octal mode such as '0600', not '0800'",
        ),
        (
            [{"name": "r", "type": "redis", "expect_role": "primary"}],
            "checks[0] 'r': expect_role must be one of master, replica, not 'primary'",
        ),
        (
            [{"name": "h", "type": "http", "url": "ftp://example.org/"}],
            "checks[0] 'h': url must be an http:// or https:// URL, not 'ftp://example.org/'",
        ),
        (
            [{"name": "h", "type": "http", "url": "http://x/", "json_fields": ["status"]}],
            "checks[0] 'h': json_fields must be a dict, not list ['status']",
        ),
        (
            [{"name": "h", "type": "http", "url": "http://x/", "timeout_s": 0}],
            "checks[0] 'h': timeout_s must be more than 0, not 0",
        ),
        (
            [{"name": "c", "type": "certificate", "path": "/c.pem", "fail_days": 40}],
            "checks[0] 'c': warn_days (30) must be at least fail_days (40)",
        ),
        (
            [{"name": "h", "type": "http", "url": "http://x/", "warn_ms": 500, "fail_ms": 200}],
            "checks[0] 'h': warn_ms (500) must be at most fail_ms (200)",
        ),
        (
            [{"name": "d", "type": "disk", "path": "/", "min_free_gb": 5, "warn_free_percent": 9}],
            "checks[0] 'd': min_free_gb and warn_free_percent cannot be mixed",
        ),
        (
            [{"name": "d", "type": "disk", "path": "/", "min_free_percent": 101}],
            "checks[0] 'd': min_free_percent must be at most 100, not 101",
        ),
        (
            [{"name": "x", "type": ["disk"]}],
            "checks[0] 'x': unknown type ['disk'] (types: alerts, app_health",
        ),
        (
            [{"name": "h", "type": "http", "url": "http://x/", "json_fields": {"": "ok"}}],
            "checks[0] 'h': json_fields keys must be dotted paths (strings), not ''",
        ),
        (
            [{"name": "m", "type": "memory", "warn_available_gb": True}],
            "checks[0] 'm': warn_available_gb must be a number, not bool True",
        ),
    ],
)
def test_invalid_definitions_are_refused_before_anything_runs(
    checks, spies, ansible_module, items, expected
):
    failed, result = run_main(checks, {"checks": items})
    assert failed
    assert expected in result["msg"]
    assert "nothing was run" in result["msg"]
    assert any(expected in problem for problem in result["problems"])
    assert spies == []
    assert "checks" not in result


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"defaults": {"htp": {}}}, "defaults: unknown type 'htp' (types: alerts, app_health"),
        ({"defaults": {"disk": {"min_free": 3}}}, "defaults.disk: unknown field 'min_free'"),
        ({"defaults": {"disk": {"name": "x"}}}, "defaults.disk: name cannot have a default"),
        ({"defaults": {"disk": 10}}, "defaults.disk must be a dict of fields, not 10"),
        ({"parallel": 0}, "parallel must be at least 1, not 0"),
    ],
)
def test_invalid_options_are_refused_before_anything_runs(
    checks, spies, ansible_module, options, expected
):
    items = [{"name": "m", "type": "memory"}]
    failed, result = run_main(checks, {"checks": items, **options})
    assert failed
    assert expected in result["msg"]
    assert spies == []


def test_every_problem_is_reported_at_once(checks, spies, ansible_module):
    items = [
        {"name": "ok", "type": "memory"},
        {"name": "a", "type": "disk"},
        {"name": "b", "type": "nope"},
        {"name": "a", "type": "tcp", "host": "h", "port": 1, "timout_s": 3},
    ]
    failed, result = run_main(checks, {"checks": items})
    assert failed and spies == []
    assert result["problems"] == [
        "checks[1] 'a': missing required field path (type disk)",
        "checks[2] 'b': unknown type 'nope' (types: alerts, app_health, backup_age, certificate, "
        "clock, disk, file, http, load, memory, postgres, redis, systemd, tcp, updates)",
        "checks[3] 'a': duplicate name, also checks[1] 'a'",
        "checks[3] 'a': unknown field 'timout_s' (fields of tcp: host, name, port, timeout_s, "
        "type)",
    ]
    assert result["msg"].startswith("4 problem(s) in the check definitions, nothing was run: ")


def test_numbers_given_as_strings_are_accepted(checks, spies, ansible_module):
    """Templated values may arrive as strings; they are converted, not refused."""
    items = [
        {"name": "pgb", "type": "tcp", "host": "db1", "port": "6432", "timeout_s": "1.5"},
        {"name": "h", "type": "http", "url": "http://x/", "validate_certs": "no"},
    ]
    result = run(checks, *items)
    assert sorted(spies) == ["h", "pgb"]
    assert [entry["threshold"] for entry in result["checks"]] == [
        "reachable within 1.5 s",
        "HTTP 200, <= 100 ms (warn)",
    ]


# --- defaults and thresholds: pure functions ----------------------------------------------------


def effective(checks, item, defaults=None):
    ready, problems = checks.validate([item], defaults or {})
    assert problems == []
    return ready[0]


def test_builtin_defaults_are_the_plans(checks):
    def fields(item, *keys):
        check = effective(checks, item)
        return {key: check[key] for key in keys}

    assert fields({"name": "d", "type": "disk", "path": "/"}, "min_free_gb", "warn_free_gb") == {
        "min_free_gb": 10.0,
        "warn_free_gb": None,
    }
    assert fields({"name": "m", "type": "memory"}, "warn_available_gb", "min_available_gb") == {
        "warn_available_gb": 2.0,
        "min_available_gb": None,
    }
    assert fields({"name": "h", "type": "http", "url": "http://x/"}, "warn_ms", "fail_ms") == {
        "warn_ms": 100.0,
        "fail_ms": None,
    }
    assert fields({"name": "b", "type": "backup_age", "path": "/b"}, "max_age_hours") == {
        "max_age_hours": 26.0
    }
    assert fields({"name": "c", "type": "certificate", "path": "/c"}, "warn_days", "fail_days") == {
        "warn_days": 30.0,
        "fail_days": 14.0,
    }
    db = effective(checks, {"name": "db", "type": "postgres", "user": "app"})
    assert (db["host"], db["port"], db["query"], db["timeout_s"]) == (
        "127.0.0.1",
        6432,
        "SELECT 1",
        5.0,
    )


def test_defaults_override_builtins_and_checks_override_defaults(checks):
    defaults = {"http": {"warn_ms": 250, "timeout_s": 2}, "memory": {"warn_available_gb": None}}
    health = effective(checks, {"name": "h", "type": "http", "url": "http://x/"}, defaults)
    assert (health["warn_ms"], health["timeout_s"]) == (250.0, 2.0)
    own = {"name": "h", "type": "http", "url": "http://x/", "warn_ms": 50}
    assert effective(checks, own, defaults)["warn_ms"] == 50.0
    memory = effective(checks, {"name": "m", "type": "memory"}, defaults)
    assert memory["warn_available_gb"] is None  # null turns a threshold off
    assert checks.threshold_text(memory) == "none"


def test_a_null_non_threshold_field_takes_its_default(checks):
    db = effective(checks, {"name": "db", "type": "postgres", "user": "app", "port": None})
    assert db["port"] == 6432


@pytest.mark.parametrize(
    ("defaults", "own", "expected"),
    [
        ({}, {}, ">= 10 GB (fail)"),
        ({}, {"warn_free_gb": 20}, ">= 20 GB (warn), >= 10 GB (fail)"),
        ({}, {"min_free_percent": 10}, ">= 10 % (fail)"),
        ({"disk": {"min_free_percent": 15}}, {}, ">= 15 % (fail)"),
        ({"disk": {"min_free_percent": 15}}, {"min_free_gb": 5}, ">= 5 GB (fail)"),
        ({"disk": {"warn_free_gb": 30}}, {"min_free_gb": 20}, ">= 30 GB (warn), >= 20 GB (fail)"),
    ],
)
def test_disk_thresholds_are_gb_or_percent(checks, defaults, own, expected):
    item = {"name": "d", "type": "disk", "path": "/", **own}
    assert checks.threshold_text(effective(checks, item, defaults)) == expected


@pytest.mark.parametrize(
    ("value", "warn", "fail", "lower_is_worse", "expected"),
    [
        (10.0, None, 10.0, True, ("ok", None)),  # exactly the minimum passes
        (9.99, None, 10.0, True, ("fail", 10.0)),
        (20.0, 20.0, 10.0, True, ("ok", None)),
        (19.99, 20.0, 10.0, True, ("warn", 20.0)),
        (100.0, 100.0, None, False, ("ok", None)),  # exactly the maximum passes
        (100.1, 100.0, None, False, ("warn", 100.0)),
        (500.0, 100.0, 500.0, False, ("warn", 100.0)),
        (500.1, 100.0, 500.0, False, ("fail", 500.0)),
        (1e9, None, None, False, ("ok", None)),
    ],
)
def test_judge_passes_values_at_the_threshold(checks, value, warn, fail, lower_is_worse, expected):
    assert checks.judge(value, warn, fail, lower_is_worse) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.0, "12"), (9.5, "9.5"), (0.125, "0.12"), (1500000.0, "1500000"), (7, "7")],
)
def test_number_text(checks, value, text):
    assert checks.number_text(value) == text


# --- disk, memory, load -----------------------------------------------------------------------


def statvfs(free_bytes, size_bytes=100 * GB, reserved_bytes=0):
    """A statvfs result in 1-byte fragments: free_bytes available to users."""
    return lambda path: types.SimpleNamespace(
        f_frsize=1,
        f_blocks=size_bytes,
        f_bfree=free_bytes + reserved_bytes,
        f_bavail=free_bytes,
    )


@pytest.mark.parametrize(
    ("free_gb", "own", "status", "suffix"),
    [
        (10.0, {}, "ok", ""),  # exactly min_free_gb
        (9.99, {}, "fail", ", below 10 GB (fail)"),
        (25.0, {"warn_free_gb": 20}, "ok", ""),
        (19.99, {"warn_free_gb": 20}, "warn", ", below 20 GB (warn)"),
    ],
)
def test_disk_gb(checks, ansible_module, free_gb, own, status, suffix):
    item = {"name": "root", "type": "disk", "path": "/", **own}
    entry = one(checks, item, statvfs=statvfs(int(free_gb * GB)))
    assert (entry["status"], entry["value"], entry["unit"]) == (status, free_gb, "GB")
    percent = checks.number_text(round(free_gb, 2))
    assert entry["message"] == f"root: {percent} GB free on / ({percent}% of 100 GB){suffix}"


def test_disk_percent_counts_like_df(checks, ansible_module):
    """df's Avail/(Used+Avail): blocks reserved for root count as neither."""
    item = {"name": "data", "type": "disk", "path": "/srv", "min_free_percent": 20}
    fs = statvfs(20 * GB, size_bytes=105 * GB, reserved_bytes=5 * GB)
    entry = one(checks, item, statvfs=fs)
    assert (entry["status"], entry["value"], entry["unit"]) == ("ok", 20.0, "%")
    assert entry["threshold"] == ">= 20 % (fail)"
    fs = statvfs(int(19.99 * GB), size_bytes=105 * GB, reserved_bytes=5 * GB)
    assert one(checks, item, statvfs=fs)["status"] == "fail"


def test_disk_of_a_real_path_and_a_missing_one(checks, ansible_module, tmp_path):
    real = {"name": "tmp", "type": "disk", "path": str(tmp_path), "min_free_gb": 0}
    missing = {"name": "gone", "type": "disk", "path": str(tmp_path / "gone")}
    result = run(checks, real, missing)
    first, second = result["checks"]
    assert first["status"] == "ok" and first["value"] >= 0
    assert second["status"] == "fail" and second["value"] is None
    assert second["message"] == (
        f"gone: cannot read the filesystem of {tmp_path / 'gone'}: No such file or directory"
    )


def meminfo(tmp_path, available_kb, total_kb=8 * 1024**2):
    path = tmp_path / "meminfo"
    lines = [f"MemTotal:       {total_kb} kB", "MemFree:          123456 kB"]
    if available_kb is not None:
        lines.append(f"MemAvailable:   {available_kb} kB")
    path.write_text("\n".join([*lines, "Buffers:           2048 kB", ""]))
    return str(path)


@pytest.mark.parametrize(
    ("available_gb", "own", "status"),
    [
        (2.0, {}, "ok"),  # exactly warn_available_gb
        (1.99, {}, "warn"),
        (0.5, {}, "warn"),  # no fail threshold by default
        (0.5, {"min_available_gb": 1}, "fail"),
        (1.0, {"min_available_gb": 1}, "warn"),
    ],
)
def test_memory(checks, ansible_module, tmp_path, available_gb, own, status):
    path = meminfo(tmp_path, round(available_gb * 1024**2))
    entry = one(checks, {"name": "mem", "type": "memory", **own}, meminfo=path)
    assert (entry["status"], entry["value"], entry["unit"]) == (status, available_gb, "GB")
    assert entry["message"].startswith(
        f"mem: {checks.number_text(available_gb)} GB available of 8 GB"
    )


def test_memory_without_memavailable_fails(checks, ansible_module, tmp_path):
    entry = one(checks, {"name": "mem", "type": "memory"}, meminfo=meminfo(tmp_path, None))
    assert entry["status"] == "fail"
    assert "no MemAvailable in" in entry["message"]


@pytest.mark.parametrize(
    ("load1", "own", "status", "value"),
    [
        (4.0, {}, "ok", 1.0),  # exactly warn_load1_per_cpu
        (4.04, {}, "warn", 1.01),
        (12.0, {"warn_load1_per_cpu": 2, "max_load1_per_cpu": 3}, "warn", 3.0),  # at the max
        (12.04, {"warn_load1_per_cpu": 2, "max_load1_per_cpu": 3}, "fail", 3.01),
    ],
)
def test_load(checks, ansible_module, load1, own, status, value):
    item = {"name": "load", "type": "load", **own}
    entry = one(checks, item, loadavg=lambda: (load1, 0.5, 0.2), cpu_count=lambda: 4)
    assert (entry["status"], entry["value"], entry["unit"]) == (status, value, "per CPU")


def test_load_above_the_maximum_fails(checks, ansible_module):
    item = {"name": "load", "type": "load", "max_load1_per_cpu": 2}
    entry = one(checks, item, loadavg=lambda: (8.04, 0.5, 0.2), cpu_count=lambda: 4)
    assert (entry["status"], entry["value"]) == ("fail", 2.01)
    assert entry["threshold"] == "<= 1 per CPU (warn), <= 2 per CPU (fail)"
    assert entry["message"] == "load: load1 8.04 on 4 CPUs, 2.01 per CPU, above 2 per CPU (fail)"


# --- tcp --------------------------------------------------------------------------------------


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def test_tcp_reachable_and_closed(checks, ansible_module, closed_port):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run(
            checks,
            {"name": "open", "type": "tcp", "host": "127.0.0.1", "port": port},
            {"name": "closed", "type": "tcp", "host": "127.0.0.1", "port": closed_port},
        )
    reachable, refused = result["checks"]
    assert reachable["status"] == "ok" and reachable["unit"] == "ms"
    assert reachable["threshold"] == "reachable within 3 s"
    assert refused["status"] == "fail" and refused["value"] is None
    assert refused["message"] == (
        f"closed: cannot connect to 127.0.0.1:{closed_port}: Connection refused"
    )


# --- http -------------------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    ROUTES: typing.ClassVar[dict] = {
        "/health": (200, {"status": "healthy", "services": {"db": "healthy", "redis": "healthy"}}),
        "/degraded": (
            503,
            {"status": "degraded", "services": {"db": "healthy", "redis": "down", "s3": True}},
        ),
        "/empty": (200, {"status": "healthy", "services": {}}),
        "/nested": (200, {"checks": [{"ok": True}, {"ok": True}], "version": 3}),
        "/app": (200, {"status": "healthy", "version": "2.0.0", "services": {"db": "healthy"}}),
        "/app-ok": (200, {"status": "ok", "version": "1.0.0"}),
        "/app-degraded": (200, {"status": "degraded", "version": "2.0.0",
                                "services": {"db": "healthy"}}),
        "/app-service-down": (200, {"status": "healthy", "version": "2.0.0",
                                    "services": {"db": "healthy", "redis": "down"}}),
    }

    def do_GET(self):
        server = self.server
        if self.path == "/slow":
            time.sleep(0.3)
            return self.reply(200, b'{"status": "healthy"}')
        if self.path == "/timed":
            server.clock.now += server.advance
            return self.reply(200, b'{"status": "healthy"}')
        if self.path == "/notjson":
            return self.reply(200, b"<html>OK</html>", "text/html")
        if self.path == "/redirect":
            self.send_response(301)
            self.send_header("Location", "/health")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        code, body = self.ROUTES.get(self.path, (404, {"error": "not found"}))
        return self.reply(code, json.dumps(body).encode())

    def reply(self, code, body, content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.clock, server.advance = FakeClock(), 0.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port():
    """A listener that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop, held = threading.Event(), []

    def accept():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


HEALTHY = {"status": "healthy", "services.*": "healthy"}


def test_http_healthy(checks, ansible_module, web):
    item = {"name": "health", "type": "http", "url": f"{web.url}/health", "json_fields": HEALTHY}
    entry = one(checks, item, clock=web.clock)
    assert (entry["status"], entry["value"], entry["unit"]) == ("ok", 0.0, "ms")
    assert entry["threshold"] == (
        'HTTP 200, status == "healthy", services.* == "healthy", <= 100 ms (warn)'
    )
    assert entry["message"] == f"health: HTTP 200 from {web.url}/health in 0 ms"


@pytest.mark.parametrize(
    ("advance", "own", "status", "value"),
    [
        (0.1, {}, "ok", 100.0),  # exactly warn_ms
        (0.1001, {}, "warn", 100.1),
        (0.5, {"fail_ms": 500}, "warn", 500.0),  # exactly fail_ms
        (0.5001, {"fail_ms": 500}, "fail", 500.1),
    ],
)
def test_http_latency_budget(checks, ansible_module, web, advance, own, status, value):
    web.advance = advance
    item = {"name": "h", "type": "http", "url": f"{web.url}/timed", **own}
    entry = one(checks, item, clock=web.clock)
    assert (entry["status"], entry["value"]) == (status, value)


def test_http_unhealthy_service_and_status(checks, ansible_module, web):
    item = {"name": "h", "type": "http", "url": f"{web.url}/degraded", "json_fields": HEALTHY}
    entry = one(checks, item)
    assert entry["status"] == "fail"
    assert entry["value"] is not None  # it answered: the latency is known
    assert entry["message"].endswith(
        ': expected HTTP 200; status is "degraded", expected "healthy"; services.redis is '
        '"down", expected "healthy"; services.s3 is true, expected "healthy"'
    )
    assert entry["message"].startswith(f"h: HTTP 503 from {web.url}/degraded in ")


@pytest.mark.parametrize(("path", "own", "status", "served", "said"), [
    ("/app", {}, "ok", "2.0.0", "version 2.0.0, status healthy"),
    ("/app-ok", {}, "ok", "1.0.0", "status ok"),
    ("/app-degraded", {}, "fail", "2.0.0", "status 'degraded', expected one of ok, healthy"),
    ("/app-service-down", {}, "fail", "2.0.0", "services not ok/healthy: redis 'down'"),
    ("/app-service-down", {"service_statuses": []}, "ok", "2.0.0", "status healthy"),
    ("/app-ok", {"statuses": ["healthy"]}, "fail", "1.0.0", "expected one of healthy"),
    ("/degraded", {}, "fail", None, "HTTP 503 (degraded), expected 200"),
])
def test_app_health_judges_the_apps_contract(checks, ansible_module, web, path, own, status,
                                             served, said):
    item = {"name": "app", "type": "app_health", "url": f"{web.url}{path}", **own}
    entry = one(checks, item, clock=web.clock)
    assert (entry["status"], entry["served"]) == (status, served), entry
    assert said in entry["message"]


def test_app_health_before_a_first_deploy_probes_nothing(checks, ansible_module, tmp_path):
    item = {"name": "app", "type": "app_health", "url": "http://127.0.0.1:1/health",
            "release_link": str(tmp_path / "current")}
    entry = one(checks, item)
    assert (entry["status"], entry["served"]) == ("ok", None)
    assert "no release deployed" in entry["message"]


def test_app_health_refuses_a_status_list_that_is_not_strings(checks, ansible_module):
    failed, result = run_main(checks, {"checks": [
        {"name": "app", "type": "app_health", "url": "http://x/health", "statuses": "ok"}]})
    assert failed and "'app': statuses must be a list of strings, not str" in result["msg"]


def test_http_expected_status_other_than_200(checks, ansible_module, web):
    item = {"name": "h", "type": "http", "url": f"{web.url}/degraded", "expect_status": 503}
    assert one(checks, item)["status"] == "ok"


def test_http_wildcard_needs_an_entry(checks, ansible_module, web):
    item = {"name": "h", "type": "http", "url": f"{web.url}/empty", "json_fields": HEALTHY}
    entry = one(checks, item)
    assert entry["status"] == "fail"
    assert entry["message"].endswith(": services.* missing")


def test_http_lists_booleans_and_numbers(checks, ansible_module, web):
    fields = {"checks.*.ok": True, "checks.1.ok": True, "version": 3, "checks.5.ok": True}
    item = {"name": "h", "type": "http", "url": f"{web.url}/nested", "json_fields": fields}
    entry = one(checks, item)
    assert entry["status"] == "fail"
    assert entry["message"].endswith(": checks.5.ok missing")
    fields = {"checks.*.ok": 1}  # 1 is not true
    entry = one(checks, {**item, "json_fields": fields})
    assert entry["message"].endswith(
        ": checks.0.ok is true, expected 1; checks.1.ok is true, expected 1"
    )


def test_http_bad_json(checks, ansible_module, web):
    item = {"name": "h", "type": "http", "url": f"{web.url}/notjson", "json_fields": HEALTHY}
    entry = one(checks, item)
    assert entry["status"] == "fail"
    assert entry["message"].endswith(
        ": body is not JSON: Expecting value: line 1 column 1 (char 0)"
    )
    # Without json_fields the body does not matter.
    assert one(checks, {**item, "json_fields": None})["status"] == "ok"


def test_http_redirect_is_not_followed(checks, ansible_module, web):
    entry = one(checks, {"name": "h", "type": "http", "url": f"{web.url}/redirect"})
    assert entry["status"] == "fail"
    assert entry["message"].startswith(f"h: HTTP 301 from {web.url}/redirect in ")
    assert entry["message"].endswith(": expected HTTP 200")


def test_http_unreachable(checks, ansible_module, closed_port):
    url = f"http://127.0.0.1:{closed_port}/health"
    entry = one(checks, {"name": "h", "type": "http", "url": url})
    assert (entry["status"], entry["value"]) == ("fail", None)
    assert entry["message"] == f"h: GET {url} failed: Connection refused"


def test_http_timeout(checks, ansible_module, silent_port):
    url = f"http://127.0.0.1:{silent_port}/health"
    start = time.monotonic()
    entry = one(checks, {"name": "h", "type": "http", "url": url, "timeout_s": 0.3})
    assert time.monotonic() - start < 2.0
    assert (entry["status"], entry["value"]) == ("fail", None)
    assert entry["message"] == f"h: no answer from {url} within 0.3 s"


def test_https_with_a_missing_ca_bundle(checks, ansible_module, tmp_path, closed_port):
    missing = tmp_path / "ca.pem"
    url = f"https://127.0.0.1:{closed_port}/"
    entry = one(checks, {"name": "h", "type": "http", "url": url, "ca_path": str(missing)})
    assert entry["status"] == "fail"
    assert entry["message"].startswith(f"h: cannot load the CA bundle {missing}: ")


# --- postgres ---------------------------------------------------------------------------------


class FakeDbError(Exception):
    """What psycopg2.Error is to a real connection."""


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.conn.executed.append(sql)
        if self.conn.query_error:
            raise FakeDbError(self.conn.query_error)
        self.description = [("?column?",)]

    def fetchall(self):
        return [(1,)]


class FakeConnection:
    Error = FakeDbError

    def __init__(self, query_error=None):
        self.query_error = query_error
        self.executed = []
        self.closed = False

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def pg_connect(result, calls, clock=None, takes=0.0):
    """A pg.connect() fake returning (or raising) `result` after `takes` fake seconds."""

    def connect(**kwargs):
        calls.append(kwargs)
        if clock is not None:
            clock.now += takes
        if isinstance(result, Exception):
            raise result
        return result

    return connect


DB = {"name": "db", "type": "postgres", "user": "app"}


@pytest.mark.parametrize(
    ("takes", "own", "status"),
    [
        (0.1, {}, "ok"),
        (0.1001, {}, "warn"),
        (0.3, {"fail_ms": 300}, "warn"),
        (0.3001, {"fail_ms": 300}, "fail"),
    ],
)
def test_postgres_select_1_and_latency(checks, ansible_module, takes, own, status):
    clock, calls, conn = FakeClock(), [], FakeConnection()
    result = run(
        checks,
        {**DB, **own},
        options={"secrets": {"db": PASSWORD}},
        pg_connect=pg_connect(conn, calls, clock, takes),
        clock=clock,
    )
    (entry,) = result["checks"]
    assert (entry["status"], entry["value"], entry["unit"]) == (
        status,
        round(takes * 1000, 1),
        "ms",
    )
    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 6432,
            "user": "app",
            "password": PASSWORD,
            "dbname": "app",
            "connect_timeout": 5,
            "sslmode": None,
            "ignore_pgpass": True,
        }
    ]
    assert conn.executed == ["SELECT 1"] and conn.closed
    assert entry["message"].startswith("db: SELECT 1 as app@127.0.0.1:6432/app in ")


def test_postgres_unreachable_and_refused(checks, collection, ansible_module):
    pg = collection.pg
    refused = pg.PgError(
        'connection to server at "127.0.0.1", port 6432 failed: Connection refused\n\tIs the '
        "server running on that host and accepting TCP/IP connections?",
        "refused",
    )
    entry = one(checks, DB, pg_connect=pg_connect(refused, []))
    assert (entry["status"], entry["value"]) == ("fail", None)
    assert entry["threshold"] == "reachable, <= 100 ms (warn)"
    assert entry["message"] == (
        "db: cannot log in as app@127.0.0.1:6432/app (refused): connection to server at "
        '"127.0.0.1", port 6432 failed: Connection refused Is the server running on that host '
        "and accepting TCP/IP connections?"
    )


def test_postgres_query_failure(checks, ansible_module):
    conn = FakeConnection(query_error='ERROR:  relation "nope" does not exist')
    item = {**DB, "query": "SELECT * FROM nope"}
    entry = one(checks, item, pg_connect=pg_connect(conn, []))
    assert entry["status"] == "fail"
    assert entry["message"] == (
        'db: logged in as app@127.0.0.1:6432/app, but the query failed: ERROR: relation "nope" '
        "does not exist"
    )
    assert conn.closed


def test_postgres_password_never_in_results(checks, collection, ansible_module):
    leaky = collection.pg.PgError(
        f"FATAL: password {PASSWORD} authentication failed", "auth_failed"
    )
    failed, result = run_main(
        checks,
        {"checks": [DB], "secrets": {"db": PASSWORD}},
        pg_connect=pg_connect(leaky, []),
    )
    assert not failed
    assert PASSWORD not in json.dumps(result)
    assert "password ******** authentication failed" in result["checks"][0]["message"]


def test_postgres_without_psycopg2(checks, ansible_module, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    entry = one(checks, DB)
    assert entry["status"] == "fail"
    assert "psycopg2" in entry["message"] and "python3-psycopg2" in entry["message"]


# --- redis ------------------------------------------------------------------------------------


class LibRedisError(Exception):
    """redis.exceptions.RedisError"""


@pytest.fixture
def redis_lib(monkeypatch):
    """Just enough of redis-py for module_utils/redis.py's command()."""
    exceptions = types.ModuleType("redis.exceptions")
    exceptions.RedisError = LibRedisError
    package = types.ModuleType("redis")
    package.exceptions = exceptions
    monkeypatch.setitem(sys.modules, "redis", package)
    monkeypatch.setitem(sys.modules, "redis.exceptions", exceptions)


class FakeRedisClient:
    def __init__(self, role="master", info_error=None):
        self.role, self.info_error = role, info_error
        self.calls, self.closed = [], False

    def execute_command(self, *args):
        self.calls.append(args)
        if self.info_error:
            raise LibRedisError(self.info_error)
        return f"# Replication\r\nrole:{self.role}\r\nconnected_slaves:0\r\n"

    def close(self):
        self.closed = True


def redis_connect(result, calls, clock=None, takes=0.0):
    def connect(kwargs, timeout):
        calls.append((kwargs, timeout))
        if clock is not None:
            clock.now += takes
        if isinstance(result, Exception):
            raise result
        return result

    return connect


CACHE = {"name": "cache", "type": "redis", "user": "app"}


@pytest.mark.parametrize(
    ("takes", "role", "own", "status"),
    [
        (0.1, "master", {"expect_role": "master"}, "ok"),  # exactly warn_ms
        (0.1001, "master", {}, "warn"),
        (0.002, "slave", {"expect_role": "replica"}, "ok"),
        (0.002, "slave", {"expect_role": "master"}, "fail"),
        (0.25, "master", {"fail_ms": 200}, "fail"),
    ],
)
def test_redis_ping_role_and_latency(checks, ansible_module, redis_lib, takes, role, own, status):
    clock, calls, client = FakeClock(), [], FakeRedisClient(role)
    result = run(
        checks,
        {**CACHE, **own},
        options={"secrets": {"cache": REDIS_PASSWORD}},
        redis_connect=redis_connect(client, calls, clock, takes),
        clock=clock,
    )
    (entry,) = result["checks"]
    assert (entry["status"], entry["value"], entry["unit"]) == (
        status,
        round(takes * 1000, 1),
        "ms",
    )
    assert calls == [
        ({"host": "127.0.0.1", "port": 6379, "password": REDIS_PASSWORD, "username": "app"}, 3.0)
    ]
    assert client.calls == [("INFO", "replication")] and client.closed
    shown = "replica" if role == "slave" else "master"
    assert "127.0.0.1:6379 answered PING and INFO as app in " in entry["message"]
    assert f", role {shown}" in entry["message"]
    if own.get("expect_role") and status == "fail":
        assert entry["message"].endswith(f"role {shown}, expected {own['expect_role']}")


def test_redis_unreachable_and_wrong_password(checks, collection, ansible_module, redis_lib):
    utils = collection.redis
    refused = utils.error_from("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    wrongpass = utils.error_from(
        f"WRONGPASS invalid username-password pair or user is disabled ({REDIS_PASSWORD})"
    )
    for error, reason in ((refused, "refused"), (wrongpass, "wrongpass")):
        failed, result = run_main(
            checks,
            {"checks": [CACHE], "secrets": {"cache": REDIS_PASSWORD}},
            redis_connect=redis_connect(error, []),
        )
        assert not failed
        entry = result["checks"][0]
        assert (entry["status"], entry["value"]) == ("fail", None)
        assert entry["message"].startswith(
            f"cache: no PING answer from 127.0.0.1:6379 as app ({reason}): "
        )
        assert REDIS_PASSWORD not in json.dumps(result)


def test_redis_info_refused_by_acl(checks, ansible_module, redis_lib):
    client = FakeRedisClient(
        info_error="NOPERM this user has no permissions to run the 'info' command"
    )
    entry = one(checks, CACHE, redis_connect=redis_connect(client, []))
    assert entry["status"] == "fail"
    assert entry["message"] == (
        "cache: 127.0.0.1:6379 answered PING as app, but not INFO: NOPERM this user has no "
        "permissions to run the 'info' command"
    )


def test_redis_without_redis_py(checks, ansible_module, monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    entry = one(checks, CACHE)
    assert entry["status"] == "fail"
    assert "python3-redis" in entry["message"]


# --- systemd, clock: commands -----------------------------------------------------------------


class Commands:
    """which() and run_command() of a host with `installed` binaries and canned answers."""

    def __init__(self, installed=(), answers=None):
        self.installed = set(installed)
        self.answers = answers or {}
        self.calls = []

    def which(self, name):
        return f"/usr/bin/{name}" if name in self.installed else None

    def run_command(self, args):
        self.calls.append(tuple(args))
        return self.answers.get(tuple(args[1:]), (1, "", "not answered"))

    def deps(self):
        return {"which": self.which, "run_command": self.run_command}


@pytest.mark.parametrize(
    ("rc", "state", "status"),
    [(0, "active", "ok"), (0, "reloading", "warn"), (3, "inactive", "fail"), (3, "failed", "fail")],
)
def test_systemd(checks, ansible_module, rc, state, status):
    commands = Commands({"systemctl"}, {("is-active", "nginx.service"): (rc, f"{state}\n", "")})
    entry = one(
        checks, {"name": "nginx", "type": "systemd", "unit": "nginx.service"}, **commands.deps()
    )
    assert (entry["status"], entry["value"], entry["unit"]) == (status, state, None)
    assert commands.calls == [("/usr/bin/systemctl", "is-active", "nginx.service")]
    assert entry["message"].startswith(f"nginx: nginx.service is {state}")


def test_systemd_without_systemctl(checks, ansible_module):
    item = {"name": "nginx", "type": "systemd", "unit": "nginx"}
    entry = one(checks, item, **Commands().deps())
    assert entry["status"] == "fail"
    assert entry["message"] == "nginx: systemctl not found (is this host run by systemd?)"


def chrony(offset_s, leap="Normal"):
    return (
        f"A29FC87B,10.0.0.1,3,1715000000.123456789,{offset_s},-0.000012000,0.000050000,"
        f"-1.234,0.001,0.020,0.012345000,0.001234000,1030.2,{leap}\n"
    )


TIMESYNC = """       Server: 10.0.0.1 (ntp.golive.test)
Poll interval: 34min 8s (min: 32s; max 34min 8s)
         Leap: normal
      Version: 4
      Stratum: 2
    Reference: C0A80101
    Precision: 1us (-25)
Root distance: 25.307ms (max: 5s)
       Offset: {offset}
        Delay: 23.457ms
       Jitter: 2.059ms
 Packet count: 103
    Frequency: +2.515ppm
"""


@pytest.mark.parametrize(
    ("offset_s", "status", "value"),
    [
        ("0.000012345", "ok", 0.0),
        ("-0.100000000", "ok", 100.0),  # exactly warn_offset_ms
        ("0.100100000", "warn", 100.1),
        ("-1.000000000", "warn", 1000.0),  # exactly max_offset_ms
        ("1.000100000", "fail", 1000.1),
    ],
)
def test_clock_from_chrony(checks, ansible_module, offset_s, status, value):
    commands = Commands({"chronyc", "timedatectl"}, {("-c", "tracking"): (0, chrony(offset_s), "")})
    entry = one(checks, {"name": "clock", "type": "clock"}, **commands.deps())
    assert (entry["status"], entry["value"], entry["unit"]) == (status, value, "ms")
    assert entry["threshold"] == "<= 100 ms (warn), <= 1000 ms (fail)"
    assert commands.calls == [("/usr/bin/chronyc", "-c", "tracking")]


def test_clock_chrony_not_synchronised_warns(checks, ansible_module):
    answer = (0, chrony("0.0", "Not synchronised"), "")
    commands = Commands({"chronyc"}, {("-c", "tracking"): answer})
    entry = one(checks, {"name": "clock", "type": "clock"}, **commands.deps())
    assert entry["status"] == "warn"
    assert entry["message"] == "clock: chronyd runs but is not synchronised"


@pytest.mark.parametrize(
    ("offset", "value", "status"),
    [
        ("-1.126ms", 1.1, "ok"),
        ("+312us", 0.3, "ok"),
        ("+1.5s", 1500.0, "fail"),
        ("-150ms", 150.0, "warn"),
    ],
)
def test_clock_from_timesyncd(checks, ansible_module, offset, value, status):
    answers = {
        ("-c", "tracking"): (1, "", "506 Cannot talk to daemon"),
        ("timesync-status",): (0, TIMESYNC.format(offset=offset), ""),
    }
    commands = Commands({"chronyc", "timedatectl"}, answers)
    entry = one(checks, {"name": "clock", "type": "clock"}, **commands.deps())
    assert (entry["status"], entry["value"]) == (status, value)
    assert "per systemd-timesyncd" in entry["message"]


def test_clock_synchronized_by_another_daemon(checks, ansible_module):
    answers = {("show",): (0, "Timezone=UTC\nNTP=no\nNTPSynchronized=yes\n", "")}
    commands = Commands({"timedatectl"}, answers)
    entry = one(checks, {"name": "clock", "type": "clock"}, **commands.deps())
    assert (entry["status"], entry["value"], entry["unit"]) == ("ok", "synchronized", None)


@pytest.mark.parametrize(
    "commands",
    [
        Commands(),
        Commands({"timedatectl"}, {("show",): (0, "NTP=no\nNTPSynchronized=no\n", "")}),
        Commands({"timedatectl"}, {("show",): (1, "", "Failed to connect to bus")}),
    ],
    ids=["nothing", "unsynchronized", "no-systemd"],
)
def test_clock_without_time_daemon_warns(checks, ansible_module, commands):
    entry = one(checks, {"name": "clock", "type": "clock"}, **commands.deps())
    assert (entry["status"], entry["value"]) == ("warn", "no time daemon")
    assert entry["message"].startswith("clock: no time daemon")


def test_timespan_ms(checks):
    assert checks.timespan_ms("-1.126ms") == pytest.approx(-1.126)
    assert checks.timespan_ms("1min 2.5s") == pytest.approx(62500.0)
    assert checks.timespan_ms("n/a") is None


# --- file, backup_age, certificate ------------------------------------------------------------


def test_file_mode_owner_group(checks, ansible_module, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET=1\n")
    env_file.chmod(0o600)
    owner = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    good = {"name": "env", "type": "file", "path": str(env_file), "mode": "0600", "owner": owner}
    entry = one(checks, {**good, "group": group})
    assert (entry["status"], entry["value"]) == ("ok", f"0600 {owner}:{group}")
    assert entry["threshold"] == f"present, mode 0600, owner {owner}, group {group}"
    assert one(checks, {**good, "owner": str(os.getuid()), "mode": "600"})["status"] == "ok"

    env_file.chmod(0o644)
    entry = one(checks, {**good, "owner": "nobody-golive"})
    assert entry["status"] == "fail"
    assert entry["message"] == (
        f"env: {env_file} is 0644 {owner}:{group}, expected mode 0600, owner nobody-golive"
    )
    assert one(checks, {**good, "path": str(tmp_path / "gone")})["message"] == (
        f"env: {tmp_path / 'gone'} is missing"
    )


def backups(tmp_path, *ages_hours):
    directory = tmp_path / "backups"
    directory.mkdir()
    for n, age in enumerate(ages_hours):
        path = directory / f"golive-{n}.dump"
        path.write_text("x")
        mtime = NOW - age * 3600
        os.utime(path, (mtime, mtime))
    (directory / "subdir").mkdir()
    return directory


@pytest.mark.parametrize(
    ("ages", "own", "status", "value"),
    [
        ((48, 26), {}, "ok", 26.0),  # exactly max_age_hours
        ((48, 26.01), {}, "fail", 26.01),
        ((30, 3), {"warn_age_hours": 2}, "warn", 3.0),
        ((30, 0.5), {"warn_age_hours": 2}, "ok", 0.5),
    ],
)
def test_backup_age(checks, ansible_module, tmp_path, ages, own, status, value):
    directory = backups(tmp_path, *ages)
    item = {"name": "backup", "type": "backup_age", "path": str(directory), **own}
    entry = one(checks, item, now=lambda: NOW)
    assert (entry["status"], entry["value"], entry["unit"]) == (status, value, "h")
    assert f"newest backup {directory}/golive-1.dump is " in entry["message"]
    globbed = one(checks, {**item, "path": f"{directory}/*.dump"}, now=lambda: NOW)
    assert globbed["value"] == value


def test_backup_age_without_backups(checks, ansible_module, tmp_path):
    directory = backups(tmp_path)
    entry = one(checks, {"name": "backup", "type": "backup_age", "path": str(directory)})
    assert (entry["status"], entry["value"]) == ("fail", None)
    assert entry["message"] == f"backup: no backup file matches {directory}"


@pytest.fixture(scope="module")
def cert_file(tmp_path_factory):
    """A self-signed certificate valid until NOT_AFTER, in a PEM file with its key first."""
    key = ec.derive_private_key(303, ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web1.golive.test")])
    not_after = NOT_AFTER
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0x0C2D)
        .not_valid_before(not_after - datetime.timedelta(days=180))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("tls") / "fullchain.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path


@pytest.mark.parametrize(
    ("days_left", "status"),
    [(30.0, "ok"), (29.99, "warn"), (14.0, "warn"), (13.99, "fail"), (0.5, "fail")],
)
def test_certificate_days_left(checks, ansible_module, cert_file, days_left, status):
    now = NOW + (90 - days_left) * 86400
    entry = one(
        checks, {"name": "tls", "type": "certificate", "path": str(cert_file)}, now=lambda: now
    )
    assert (entry["status"], entry["value"], entry["unit"]) == (status, days_left, "days")
    assert entry["threshold"] == ">= 30 days (warn), >= 14 days (fail)"
    assert entry["message"].startswith(
        f"tls: certificate {cert_file} for web1.golive.test (serial 0C2D) has "
    )


def test_certificate_expired_missing_or_garbage(checks, ansible_module, cert_file, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    items = [
        {"name": "expired", "type": "certificate", "path": str(cert_file)},
        {"name": "missing", "type": "certificate", "path": str(tmp_path / "gone.pem")},
        {"name": "garbage", "type": "certificate", "path": str(garbage)},
    ]
    result = run(checks, *items, now=lambda: NOW + 93 * 86400)
    assert [entry["status"] for entry in result["checks"]] == ["fail"] * 3
    assert [entry["value"] for entry in result["checks"]] == [-3.0, None, None]
    assert [entry["message"].split(": ", 1)[1] for entry in result["checks"]] == [
        f"certificate {cert_file} for web1.golive.test (serial 0C2D) expired 3 days ago, on "
        f"{NOT_AFTER.isoformat()}",
        f"no certificate at {tmp_path / 'gone.pem'}",
        f"no PEM certificate in {garbage}",
    ]


# --- the run as a whole -----------------------------------------------------------------------


def test_checks_run_in_parallel(checks, ansible_module, web):
    items = [
        {"name": f"slow{n}", "type": "http", "url": f"{web.url}/slow", "warn_ms": 5000}
        for n in range(5)
    ]
    start = time.monotonic()
    result = run(checks, *items)
    elapsed = time.monotonic() - start
    assert [entry["status"] for entry in result["checks"]] == ["ok"] * 5
    assert all(entry["duration_ms"] >= 290 for entry in result["checks"])
    assert elapsed < 1.2, f"5 checks of 0.3 s took {elapsed:.2f} s: not run in parallel"


def test_parallel_bounds_the_checks_running_at_once(checks, ansible_module, web):
    items = [{"name": f"slow{n}", "type": "http", "url": f"{web.url}/slow"} for n in range(2)]
    start = time.monotonic()
    run(checks, *items, options={"parallel": 1})
    assert time.monotonic() - start >= 0.6


def test_a_check_that_raises_or_hangs_fails_alone(checks, ansible_module, monkeypatch):
    release = threading.Event()

    def hang(check, env):
        release.wait(10)

    def explode(check, env):
        raise KeyError("MemAvailable")

    monkeypatch.setitem(checks.RUNNERS, "load", hang)
    monkeypatch.setitem(checks.RUNNERS, "memory", explode)
    items = [
        {"name": "hung", "type": "load", "timeout_s": 0.2},
        {"name": "boom", "type": "memory"},
        {"name": "clock", "type": "clock"},
    ]
    start = time.monotonic()
    try:
        result = run(checks, *items, grace_s=0.1, **Commands().deps())
    finally:
        release.set()
    assert time.monotonic() - start < 2.0
    hung, boom, clock = result["checks"]
    assert (hung["status"], hung["value"]) == ("fail", None)
    assert hung["message"] == "hung: did not finish within 0.3 s"
    assert boom["message"] == "boom: KeyError: 'MemAvailable'"
    assert "Traceback" not in json.dumps(result)
    assert clock["status"] == "warn"
    assert result["status"] == "fail"
    assert result["summary"] == {"ok": 0, "warn": 1, "fail": 2}
    assert result["msg"] == (
        "3 checks: 0 ok, 1 warn, 2 fail; hung: did not finish within 0.3 s; boom: KeyError: "
        "'MemAvailable'"
    )


def test_results_keep_the_order_given(checks, ansible_module, tmp_path):
    path = meminfo(tmp_path, 4 * 1024**2)
    items = [{"name": f"m{n}", "type": "memory"} for n in range(12)]
    result = run(checks, *items, options={"parallel": 3}, meminfo=path)
    assert [entry["name"] for entry in result["checks"]] == [f"m{n}" for n in range(12)]
    assert result["status"] == "ok"
    assert result["msg"] == "12 checks: 12 ok, 0 warn, 0 fail"


def test_no_checks_is_ok(checks, ansible_module):
    result = run(checks)
    assert (result["checks"], result["status"]) == ([], "ok")


@pytest.mark.parametrize(("fail_on", "failed"), [("fail", True), ("never", False)])
def test_fail_on(checks, ansible_module, tmp_path, fail_on, failed):
    item = {"name": "backup", "type": "backup_age", "path": str(tmp_path / "*.dump")}
    is_failed, result = run_main(checks, {"checks": [item], "fail_on": fail_on})
    assert is_failed is failed
    assert result["status"] == "fail" and result["changed"] is False
    assert result["checks"][0]["status"] == "fail"
    assert result["msg"] == (
        f"1 check: 0 ok, 0 warn, 1 fail; backup: no backup file matches {tmp_path}/*.dump"
    )


def test_fail_on_does_not_fail_a_warning(checks, ansible_module, tmp_path):
    path = meminfo(tmp_path, 1024**2)
    failed, result = run_main(
        checks, {"checks": [{"name": "mem", "type": "memory"}], "fail_on": "fail"}, meminfo=path
    )
    assert not failed and result["status"] == "warn"


def test_unused_secrets_warn_without_their_value(checks, ansible_module, tmp_path):
    path = meminfo(tmp_path, 4 * 1024**2)
    secrets = {"mem": PASSWORD, "typo": PASSWORD}
    result = run(
        checks, {"name": "mem", "type": "memory"}, options={"secrets": secrets}, meminfo=path
    )
    assert ansible_module == [
        "secrets: check 'mem' is a memory check, which takes no password; its entry is not used",
        "secrets: no check is named 'typo'; its entry is not used",
    ]
    assert PASSWORD not in json.dumps(result)


def test_check_mode_runs_the_checks(checks, ansible_module, tmp_path):
    path = meminfo(tmp_path, 4 * 1024**2)
    result = run(
        checks,
        {"name": "mem", "type": "memory"},
        options={"_ansible_check_mode": True},
        meminfo=path,
    )
    assert result["checks"][0]["status"] == "ok"


def test_validate_only_runs_nothing(checks, spies, ansible_module):
    items = [{"name": "m", "type": "memory"}, {"name": "t", "type": "tcp", "host": "h", "port": 1}]
    failed, result = run_main(checks, {"checks": items, "validate_only": True})
    assert not failed and spies == []
    assert (result["checks"], result["valid"], result["status"]) == ([], 2, "ok")


def test_validate_only_still_refuses_bad_definitions(checks, spies, ansible_module):
    failed, result = run_main(
        checks, {"checks": [{"name": "x", "type": "htp"}], "validate_only": True})
    assert failed and "checks[0] 'x': unknown type 'htp'" in result["msg"]
    assert spies == []


def test_problems_name_where_a_check_was_defined(checks, spies, ansible_module):
    items = [{"name": "m", "type": "memory"}, {"name": "x", "type": "htp"},
             {"name": "m", "type": "load"}]
    failed, result = run_main(checks, {
        "checks": items, "validate_only": True,
        "sources": ["checks_host[0]", "checks_extra[0]", "checks_extra[1]"],
        "defaults": {"disk": {"min_free": 1}}, "defaults_source": "checks_thresholds"})
    assert failed and spies == []
    assert result["problems"] == [
        "checks_thresholds.disk: unknown field 'min_free' (fields of disk: min_free_gb, "
        "min_free_percent, name, path, timeout_s, type, warn_free_gb, warn_free_percent)",
        "checks_extra[0] 'x': unknown type 'htp' (types: alerts, app_health, backup_age, "
        "certificate, clock, disk, file, http, load, memory, postgres, redis, systemd, tcp, "
        "updates)",
        "checks_extra[1] 'm': duplicate name, also checks_host[0] 'm'",
    ]


def test_sources_must_match_the_checks(checks, spies, ansible_module):
    failed, result = run_main(checks, {"checks": [{"name": "m", "type": "memory"}],
                                       "sources": ["a", "b"]})
    assert failed and result["problems"] == [
        "sources has 2 entries for 1 checks; give one per check or none"]
