"""The deploy's modules and filters: health gate, upstream switch, watch window, lock, history
filters, webhook signature."""

import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import types
from typing import ClassVar

import pytest

from .conftest import collection_modules, run_main


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    with collection_modules(tmp_path_factory, health="module_utils.health",
                            gate="modules.app_gate", upstream="modules.nginx_upstream",
                            watch="modules.deploy_watch", lock="modules.deploy_lock",
                            lock_action="action.deploy_lock", notify="action.notify",
                            state="modules.app_state", smoke="module_utils.smoke",
                            record="modules.app_record", systemd="module_utils.systemd",
                            filters="filter.deploy") as modules:
        yield modules


def params(**over):
    base = {"url": "http://127.0.0.1:1/health", "passes": 3, "interval": 1.0, "deadline": 10.0,
            "timeout": 1.0, "expect_status": 200, "expect_json_status": ["ok", "healthy"],
            "expect_service_status": ["ok", "healthy"], "expect_version": "2.0.0",
            "version_header": "X-App-Version", "host_header": None, "validate_certs": False}
    return {**base, **over}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


# -- health judge and gate ----------------------------------------------------------------------

@pytest.mark.parametrize(("code", "headers", "body", "reason"), [
    (200, {}, b'{"status": "ok", "version": "2.0.0"}', None),
    (200, {"X-App-Version": "2.0.0"}, b'{"status": "ok"}', None),
    (503, {}, b'{"status": "failing", "version": "2.0.0"}', "HTTP 503 (failing), expected 200"),
    (200, {}, b"not json", "body is not a JSON object"),
    (200, {}, b'{"status": "degraded", "version": "2.0.0"}', "status 'degraded'"),
    (200, {}, b'{"status": "ok", "version": "1.0.0"}', "version '1.0.0', expected '2.0.0'"),
    # plan 004's contract
    (200, {}, b'{"status": "healthy", "version": "2.0.0", "services": {"database": "healthy"}}',
     None),
    (200, {}, b'{"status": "healthy", "version": "2.0.0", "services": {"db": {"status": "ok"}}}',
     None),
    (200, {}, b'{"status": "healthy", "version": "2.0.0", "services": {"redis": "down"}}',
     "services not ok/healthy: redis 'down'"),
    (200, {}, b'{"status": "healthy", "version": "2.0.0", "services": ["db"]}',
     "services is list"),
])
def test_judge(m, code, headers, body, reason):
    found, _seen = m.health.judge(params(), code, headers, body)
    if reason is None:
        assert found is None
    else:
        assert reason in found


def test_judge_takes_the_accepted_statuses_as_data(m):
    only_up = params(expect_json_status=["up"], expect_service_status=[])
    body = b'{"status": "up", "version": "2.0.0", "services": {"db": "whatever"}}'
    assert m.health.judge(only_up, 200, {}, body)[0] is None
    assert "expected one of up" in m.health.judge(only_up, 200, {}, b'{"status": "ok"}')[0]


def test_gate_needs_consecutive_passes(m):
    answers = iter([None, None, "HTTP 503", None, None, None])
    clock = Clock()
    result = m.health.run_gate(params(), probe_once=lambda p: (next(answers), {}),
                               clock=clock, sleep=clock.sleep)
    assert result["opened"] and result["probes"] == 6
    assert result["failures"] == [{"t": 2.0, "reason": "HTTP 503"}]
    assert result["elapsed_s"] == 5.0


def test_gate_fails_at_the_deadline_with_the_last_reasons(m):
    clock = Clock()
    result = m.health.run_gate(params(deadline=5.0),
                               probe_once=lambda p: ("HTTP 503 (failing), expected 200", {}),
                               clock=clock, sleep=clock.sleep)
    assert not result["opened"]
    assert result["probes"] == 6  # t = 0, 1, ... 5: the last one still within the deadline
    assert len(result["failures"]) == 5 and result["elapsed_s"] == 5.0


def test_gate_problems(m):
    assert m.gate.problems(params(passes=0))
    assert m.gate.problems(params(passes=5, interval=1.0, deadline=2.0))
    assert m.gate.problems(params()) == []


class Handler(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list] = []

    def do_GET(self):
        code, body, headers = self.answers.pop(0) if self.answers else (200, b"{}", {})
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def test_probe_against_a_real_server(m, server):
    Handler.answers = [(200, b'{"status": "ok", "version": "2.0.0"}', {"X-App-Version": "2.0.0"}),
                       (503, b'{"status": "failing"}', {})]
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    assert m.health.probe(params(url=url))[0] is None
    assert m.health.probe(params(url=url))[0].startswith("HTTP 503")


def test_probe_of_a_closed_port_names_the_url(m):
    reason, _ = m.health.probe(params(url="http://127.0.0.1:1/health"))
    assert "http://127.0.0.1:1/health" in reason


# -- nginx upstream -----------------------------------------------------------------------------

def test_upstream_render_and_parse_round_trip(m):
    text = m.upstream.render("golive_app", ["127.0.0.1:8002"], 16)
    assert "upstream golive_app {" in text and "keepalive 16;" in text
    assert m.upstream.parse_servers(text) == ["127.0.0.1:8002"]
    first_install = "upstream golive_app {\n    server 127.0.0.1:8001;\n    keepalive 16;\n}\n"
    assert m.upstream.parse_servers(first_install) == ["127.0.0.1:8001"]


def up_params(**over):
    base = {"path": "/x", "name": "golive_app", "servers": ["127.0.0.1:8002"], "keepalive": 16,
            "verify_url": None, "verify_host_header": None, "expect_version": None,
            "verify_passes": 3, "verify_deadline": 15.0}
    return {**base, **over}


@pytest.mark.parametrize(("over", "expected"), [
    ({"servers": []}, "servers: at least one host:port"),
    ({"servers": ["127.0.0.1"]}, "servers: host:port entries only (got 127.0.0.1)"),
    ({"servers": ["a b:1"]}, "host:port entries only"),
    ({"name": "golive-app"}, "name: letters, digits and _"),
    ({"expect_version": "2"}, "expect_version needs verify_url"),
])
def test_upstream_problems(m, over, expected):
    assert any(expected in p for p in m.upstream.problems(up_params(**over)))


def test_upstream_copy_is_kept_outside_nginx_and_written_only_when_it_differs(m, tmp_path):
    path = tmp_path / "state" / "upstream-active.conf"  # its directory made on the way
    m.upstream.keep_copy(str(path), "green")
    assert path.read_text() == "green"
    mtime = path.stat().st_mtime_ns
    m.upstream.keep_copy(str(path), "green")
    assert path.stat().st_mtime_ns == mtime
    m.upstream.keep_copy(str(path), "blue")
    assert path.read_text() == "blue"


def test_upstream_write_atomic_leaves_no_temp_file(m, tmp_path):
    path = tmp_path / "active.conf"
    path.write_text("old")
    m.upstream.write_atomic(str(path), "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["active.conf"]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


# -- watch window -------------------------------------------------------------------------------

def log_line(status, upstream="127.0.0.1:8002", uri="/api/items"):
    return json.dumps({"status": status, "upstream_addr": upstream, "uri": uri}) + "\n"


def test_log_tail_reads_only_complete_new_lines(m, tmp_path):
    log = tmp_path / "access.log"
    log.write_text(log_line(200))
    tail = m.watch.LogTail(str(log), None)  # from the end
    assert tail.read() == []
    with log.open("a") as handle:
        handle.write(log_line(500) + '{"status": 200, "upstr')
    assert [e["status"] for e in tail.read()] == [500]
    with log.open("a") as handle:
        handle.write('eam_addr": "127.0.0.1:8002"}\n')
    assert [e["status"] for e in tail.read()] == [200]


def test_log_tail_starts_over_after_a_rotation(m, tmp_path):
    log = tmp_path / "access.log"
    log.write_text(log_line(200) * 10)
    tail = m.watch.LogTail(str(log), 0)
    assert len(tail.read()) == 10
    log.write_text(log_line(502))
    assert [e["status"] for e in tail.read()] == [502]


def test_tally_counts_only_the_new_upstream_and_names_paths(m):
    tally = m.watch.Tally("127.0.0.1:8002")
    tally.add([{"status": 200, "upstream_addr": "127.0.0.1:8002", "uri": "/"},
               {"status": 500, "upstream_addr": "127.0.0.1:8002", "uri": "/api/items?limit=5"},
               {"status": 502, "upstream_addr": "127.0.0.1:8001", "uri": "/"},
               {"status": 429, "upstream_addr": "", "uri": "/api/items"},
               {"status": 504, "upstream_addr": "127.0.0.1:8001, 127.0.0.1:8002", "uri": "/x"}])
    assert (tally.requests, tally.errors) == (3, 2)
    assert tally.summary()["failing_paths"][0] == {"uri": "/api/items", "status": 500, "count": 1}


@pytest.mark.parametrize(("requests", "errors", "ratio", "minimum", "too_many"), [
    (0, 0, 0.01, 20, False),
    (1, 1, 0.01, 20, True),      # one 5xx among few requests fails the default window
    (100, 1, 0.01, 20, False),   # exactly 1 % is allowed
    (100, 2, 0.01, 20, True),
    (10, 1, 0.1, 20, False),     # 1 <= 0.1 * 20
])
def test_ratio_rule(m, requests, errors, ratio, minimum, too_many):
    tally = m.watch.Tally("u")
    tally.requests, tally.errors = requests, errors
    assert tally.too_many(ratio, minimum) is too_many


def watch_params(log, **over):
    base = {"seconds": 5.0, "interval": 1.0, "health_url": "https://127.0.0.1/health",
            "host_header": None, "expect_version": "2.0.0", "health_failures": 2,
            "expect_json_status": ["ok", "healthy"], "expect_service_status": ["ok", "healthy"],
            "log_path": str(log), "offset": None, "upstream": "127.0.0.1:8002",
            "max_5xx_ratio": 0.01, "min_requests": 20}
    return {**base, **over}


def test_watch_passes_a_healthy_window(m, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("")
    clock = Clock()

    def probe(p):
        with log.open("a") as handle:
            handle.write(log_line(200) * 5)
        return None, {}

    result = m.watch.watch(watch_params(log), probe_once=probe, clock=clock, sleep=clock.sleep)
    assert result["ok"] and result["requests"] == 30 and result["errors_5xx"] == 0
    assert result["elapsed_s"] == 5.0  # probes at t = 0 .. 5


def test_watch_fails_early_on_5xx(m, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("")
    clock = Clock()

    def probe(p):
        with log.open("a") as handle:
            handle.write(log_line(200) * 3 + (log_line(500) if clock.now >= 2 else ""))
        return None, {}

    result = m.watch.watch(watch_params(log, seconds=20.0), probe_once=probe, clock=clock,
                           sleep=clock.sleep)
    assert not result["ok"] and result["elapsed_s"] == 2.0
    assert "1 of 10 requests answered 5xx" in result["why"]


def test_watch_fails_on_consecutive_health_failures(m, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("")
    clock = Clock()
    answers = iter([None, "HTTP 503", None, "HTTP 503", "HTTP 503"])
    result = m.watch.watch(watch_params(log, seconds=20.0),
                           probe_once=lambda p: (next(answers), {}), clock=clock,
                           sleep=clock.sleep)
    assert not result["ok"] and "failed 2 times in a row: HTTP 503" in result["why"]
    assert result["health"] == {"probes": 5, "failed": 3, "last_failure": "HTTP 503"}


# -- lock ---------------------------------------------------------------------------------------

HOLDER = {"id": "20261122T100000Z-aaaaaa", "kind": "deploy", "actor": "alice",
          "controller": "ops1", "pid": 4242}


def test_lock_is_taken_once_and_names_its_holder(m, tmp_path):
    path = str(tmp_path / ".deploy" / "lock")
    first = m.lock.acquire(path, HOLDER, None, False)
    assert first["ours"] and first["changed"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o700"
    second = m.lock.acquire(path, {**HOLDER, "id": "20261122T100001Z-bbbbbb"}, None, False)
    assert second["held"] and not second["ours"]
    text = m.lock.describe(second["holder"], time.time())
    assert "deploy 20261122T100000Z-aaaaaa, by alice on ops1 (pid 4242)" in text


def test_lock_is_released_only_by_its_holder(m, tmp_path):
    path = str(tmp_path / "lock")
    m.lock.acquire(path, HOLDER, None, False)
    other = m.lock.release(path, "someone-else", False)
    assert other["held"] and "not released" in other["warning"]
    mine = m.lock.release(path, HOLDER["id"], False)
    assert mine["changed"] and not os.path.exists(path)


def test_a_lock_is_broken_only_for_the_named_holder(m, tmp_path):
    path = str(tmp_path / "lock")
    m.lock.acquire(path, HOLDER, None, False)
    new = {**HOLDER, "id": "20261122T110000Z-cccccc"}
    refused = m.lock.acquire(path, new, "20261122T090000Z-dddddd", False)
    assert not refused["ours"]
    taken = m.lock.acquire(path, new, HOLDER["id"], False)
    assert taken["ours"] and taken["broken"]["id"] == HOLDER["id"]
    assert m.lock.read_holder(path)["id"] == new["id"]


def test_a_lock_without_holder_record_is_reported_and_breakable(m, tmp_path):
    path = tmp_path / "lock"
    path.mkdir()
    holder = m.lock.read_holder(str(path))
    assert holder["id"] is None and "without a holder record" in holder["message"]
    taken = m.lock.acquire(str(path), HOLDER, "", False)
    assert taken["ours"]


@pytest.mark.parametrize(("holder", "alive", "stale", "why"), [
    ({**HOLDER, "controller": "me", "since_epoch": 1000.0}, False, True, "no longer runs on me"),
    ({**HOLDER, "controller": "me", "since_epoch": 1000.0}, True, False, "still runs on me"),
    ({**HOLDER, "controller": "other", "since_epoch": 1000.0}, True, False, "taken from other"),
    ({**HOLDER, "controller": "other", "since_epoch": 0.0}, True, True, "more than the 600 s"),
    ({"id": None, "since_epoch": 1000.0}, True, True, "no holder record"),
])
def test_staleness(m, holder, alive, stale, why):
    found, text = m.lock_action.staleness(holder, "me", 600, 1100.0, alive=lambda pid: alive)
    assert found is stale and why in text


def test_process_alive_ignores_a_pid_that_is_not_golive(m, tmp_path):
    import subprocess

    other = subprocess.Popen(["sleep", "30"])
    try:
        assert m.lock_action.process_alive(other.pid) is False  # runs, but is not golive
    finally:
        other.kill()
        other.wait()
    assert m.lock_action.process_alive(2**22 + 12345) is False


# -- history filters ----------------------------------------------------------------------------

def rec(id_, outcome="succeeded", kind="deploy", release=None, **extra):
    return {"id": id_, "kind": kind, "release": release or id_, "outcome": outcome,
            "version": id_, **extra}


def test_rollback_target_is_the_last_good_release_before_current(m):
    history = [rec("v1"), rec("v2"), rec("v3", "failed"), rec("v4")]
    assert m.filters.rollback_target(history)["release"] == "v2"  # v3 failed, current v4
    assert m.filters.rollback_target(history, "v2")["release"] == "v1"


def test_rollback_target_skips_releases_rolled_back_from(m):
    history = [rec("v1"), rec("v2"), rec("v3"),
               rec("r1", kind="rollback", release="v2", from_release="v3")]
    # current is v2 (the rollback made it live); v3 is bad; before v2 comes v1
    assert m.filters.current_release(history) == "v2"
    assert m.filters.rollback_target(history)["release"] == "v1"


def test_no_rollback_target_after_the_first_release(m):
    assert m.filters.rollback_target([rec("v1")]) is None
    assert m.filters.rollback_target([]) is None


def test_breaking_since_and_restore_point_after(m):
    point = {"name": "golive-v3", "dump": "/d/v3.dump"}
    history = [rec("v1"), rec("v2", migrations=[{"id": "0002", "breaking": False}]),
               rec("v3", migrations=[{"id": "0003", "breaking": True}], restore_point=point)]
    assert [x["id"] for x in m.filters.breaking_since(history, "v2")] == ["0003"]
    assert m.filters.breaking_since(history, "v3") == []
    assert m.filters.restore_point_after(history, "v2") == point
    assert m.filters.restore_point_after(history, "v3") is None


def test_a_db_restore_undoes_the_breaking_migrations_from_its_restore_point_on(m):
    """v2 -> v3 (breaking 0003) -> rollback --db-restore to v2 -> v2 again as a new release:
    rolling back to the first v2 is code-only (the benchmark after the e2e run met this)."""
    point = {"name": "golive-v3", "dump": "/d/v3.dump"}
    history = [rec("v1"), rec("v2"),
               rec("v3", migrations=[{"id": "0003", "breaking": True}], restore_point=point),
               rec("r1", kind="rollback", release="v2", from_release="v3",
                   db_restore={"restore_point": "golive-v3"}),
               rec("v2b")]
    assert m.filters.rollback_target(history)["release"] == "v2"
    assert m.filters.breaking_since(history, "v2") == []
    # a failed db restore undid nothing; one to another point leaves earlier migrations
    failed = [*history[:3], rec("r1", "failed", kind="rollback", release="v2",
                                db_restore={"restore_point": "golive-v3"}), rec("v2b")]
    assert [x["id"] for x in m.filters.breaking_since(failed, "v2")] == ["0003"]
    later = [*history[:3], rec("v4", migrations=[{"id": "0004", "breaking": True}],
                               restore_point={"name": "golive-v4"}),
             rec("r1", kind="rollback", release="v3", db_restore={"restore_point": "golive-v4"})]
    assert [x["id"] for x in m.filters.breaking_since(later, "v2")] == ["0003"]


def test_rollback_plan_goes_to_the_last_good_release_installed_here(m):
    history = [rec("v1"), rec("v2"), rec("v3", migrations=[{"id": "0003", "breaking": False}])]
    plan = m.filters.rollback_plan(history, "v3", "web1", ["v1", "v2", "v3"], "web1")
    assert plan["refusal"] is None and plan["target"]["release"] == "v2"
    assert plan["breaking"] == [] and plan["restore_from"] is None


@pytest.mark.parametrize(("history", "current", "installed", "requested", "db_restore", "said"), [
    ([rec("v1")], "v1", ["v1"], None, False,
     "no good release before the current one (v1) in web1's history; nothing changed"),
    ([rec("v1"), rec("v2")], "v2", ["v1", "v2"], "v9", False,
     "--to v9 is not a successful deploy in web1's history; nothing changed"),
    ([rec("v1"), rec("v2")], "v2", ["v1", "v2"], "v2", False,
     "--to v2 is not a successful deploy in web1's history, or it is the current release"),
    ([rec("v1"), rec("v2")], "v2", ["v2"], None, False,
     "release v1 (version v1) is not installed on web2 (pruned"),
    ([rec("v1"), rec("v2", migrations=[{"id": "0002", "breaking": True}],
                     restore_point={"name": "golive-v2", "taken_at": "T"})],
     "v2", ["v1", "v2"], None, False,
     "refused: breaking migration(s) 0002 ran since v1 (v1), whose code does not know that "
     "schema. Nothing changed. Either roll back with --db-restore --yes (the database goes back "
     "to restore point golive-v2, taken T"),
    ([rec("v1"), rec("v2")], "v2", ["v1", "v2"], None, True,
     "--db-restore: no pre-deploy restore point recorded after v1 in web1's history"),
])
def test_rollback_plan_refusals_name_why_and_what_to_do(m, history, current, installed,
                                                        requested, db_restore, said):
    plan = m.filters.rollback_plan(history, current, "web2", installed, "web1", requested,
                                   db_restore)
    assert plan["refusal"].startswith(said), plan["refusal"]


def test_rollback_plan_with_db_restore_takes_the_restore_point(m):
    point = {"name": "golive-v2", "taken_at": "T"}
    history = [rec("v1"), rec("v2", migrations=[{"id": "0002", "breaking": True}],
                              restore_point=point)]
    plan = m.filters.rollback_plan(history, "v2", "web1", ["v1", "v2"], "web1", None, True)
    assert plan["refusal"] is None and plan["restore_from"] == point
    assert [x["id"] for x in plan["breaking"]] == ["0002"]


def test_prune_keeps_current_previous_good_and_protected(m):
    history = [rec(f"v{i}") for i in range(1, 8)] + [rec("v8", "failed")]
    dirs = [f"v{i}" for i in range(1, 9)] + ["v9"]
    pruned = m.filters.releases_to_prune(dirs, history, 3, ["v9"])
    assert pruned == ["v1", "v2", "v3", "v4", "v8"]


def test_history_parse_skips_torn_lines(m):
    text = json.dumps(rec("v1")) + "\n{\"id\": \"v2\", \"kin\n" + json.dumps(rec("v3")) + "\n"
    assert [r["id"] for r in m.state.parse_history(text)] == ["v1", "v3"]


@pytest.mark.parametrize(("upstream", "links", "active", "expected"), [
    # first deploy: nothing runs; nginx points at blue (the nginx role's initial upstream)
    (["127.0.0.1:8001"], {"blue": "", "green": ""}, {"blue": "inactive", "green": "inactive"},
     {"live": "", "pointed": "blue", "new": "blue"}),
    (["127.0.0.1:8001"], {"blue": "r1", "green": ""}, {"blue": "active", "green": "inactive"},
     {"live": "blue", "pointed": "blue", "new": "green"}),
    (["127.0.0.1:8002"], {"blue": "r1", "green": "r2"}, {"blue": "active", "green": "active"},
     {"live": "green", "pointed": "green", "new": "blue"}),
    # nginx points at a color whose unit died: nothing is live, start there
    (["127.0.0.1:8002"], {"blue": "r1", "green": "r2"}, {"blue": "active", "green": "failed"},
     {"live": "", "pointed": "green", "new": "green"}),
    ([], {"blue": "", "green": ""}, {"blue": "inactive", "green": "inactive"},
     {"live": "", "pointed": "", "new": "blue"}),
])
def test_state_decides_live_and_new_color(m, upstream, links, active, expected):
    assert m.state.decide(upstream, {"blue": 8001, "green": 8002}, links, active) == expected


def test_state_asks_each_running_color_for_its_health(m, server):
    Handler.answers = [(200, b'{"status": "healthy", "version": "1.0.0"}', {}),
                       (200, b'{"status": "degraded", "version": "2.0.0"}', {})]
    port = server.server_address[1]
    found = m.state.color_health(
        {"ports": {"blue": port, "green": port}, "health_path": "/health", "health_timeout": 1.0,
         "health_statuses": ["ok", "healthy"], "health_service_statuses": ["ok", "healthy"]},
        {"blue": "active", "green": "active"})
    assert found["blue"] == {"reason": None, "version": "1.0.0", "status": "healthy"}
    assert found["green"]["reason"].startswith("status 'degraded'")
    # a color whose unit does not run is not asked
    assert m.state.color_health({"ports": {"blue": port, "green": port}, "health_path": "/h",
                                 "health_timeout": 1.0, "health_statuses": [],
                                 "health_service_statuses": []},
                                {"blue": "inactive", "green": "failed"}) == {}


# -- the record on the host ---------------------------------------------------------------------

RECORD_ARGS = {"current": None, "current_target": None, "records": [], "status_file": None,
               "status": None, "boot_enable": None, "boot_disable": None, "stop": None}


@pytest.mark.parametrize(("now", "steps"), [
    ({"a@blue": {"UnitFileState": "disabled"},
      "a@green": {"UnitFileState": "enabled", "ActiveState": "active"}},
     [("enable", ["a@blue"]), ("disable", ["a@green"]), ("stop", ["a@green"])]),
    # already so: nothing (a second record of the same state changes no unit)
    ({"a@blue": {"UnitFileState": "enabled"},
      "a@green": {"UnitFileState": "disabled", "ActiveState": "inactive"}}, []),
    # a unit systemd does not know is enabled, never disabled
    ({"a@blue": {"UnitFileState": ""}, "a@green": {"UnitFileState": "",
                                                   "ActiveState": "inactive"}},
     [("enable", ["a@blue"])]),
])
def test_record_unit_steps(m, now, steps):
    wanted = {**RECORD_ARGS, "boot_enable": "a@blue", "boot_disable": "a@green", "stop": "a@green"}
    assert m.record.unit_steps(wanted, now) == steps


def test_systemd_show_in_one_call(m, monkeypatch):
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        return types.SimpleNamespace(stdout="Id=a\nActiveState=active\n\nId=b\n"
                                            "ActiveState=inactive\n", returncode=0, stderr="")

    monkeypatch.setattr(m.systemd.subprocess, "run", run)
    assert m.systemd.show(["a", "b", "c"]) == {
        "a": {"Id": "a", "ActiveState": "active"}, "b": {"Id": "b", "ActiveState": "inactive"},
        "c": {}}
    assert calls == [["systemctl", "show", f"--property={m.systemd.PROPS}", "a", "b", "c"]]
    assert m.systemd.show([]) == {}
    assert len(calls) == 1


def test_record_history_lines_are_json_objects_the_readers_parse(m):
    records = [{"id": "x", "outcome": "aborted"}, {"id": "y", "outcome": "succeeded"}]
    text = m.record.history_lines(records)
    assert text.endswith("\n") and text.count("\n") == 2
    assert m.state.parse_history(text) == records


def test_record_appends_to_the_history_0640(m, tmp_path, monkeypatch):
    monkeypatch.setattr(m.record.os, "fchown", lambda fd, uid, gid: None)
    path = tmp_path / "deploy" / "history.jsonl"
    m.record.append(str(path), m.record.history_lines([{"id": "a"}]))
    m.record.append(str(path), m.record.history_lines([{"id": "b"}]))
    assert [r["id"] for r in m.state.parse_history(path.read_text())] == ["a", "b"]
    assert path.stat().st_mode & 0o777 == 0o640


def test_record_points_current_atomically(m, tmp_path):
    link, old, new = tmp_path / "current", tmp_path / "r1", tmp_path / "r2"
    old.mkdir()
    new.mkdir()
    link.symlink_to(old)
    assert m.record.points_at(str(link), str(old))
    m.record.point_link(str(link), str(new))
    assert m.record.points_at(str(link), str(new))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "r1", "r2"]


def test_record_in_check_mode_reports_and_writes_nothing(m, tmp_path, ansible_module):
    link = tmp_path / "current"
    link.symlink_to(tmp_path)
    failed, result = run_main(m.record, {
        "_ansible_check_mode": True, "current": str(link), "current_target": "/srv/r2",
        "history": str(tmp_path / "history.jsonl"), "records": [{"id": "a"}],
        "status_file": str(tmp_path / "app.json"), "status": {"version": "1.0.0"}})
    assert not failed and result["changed"]
    assert result["done"] == ["current -> r2", "history +1", "status"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current"]
    assert os.readlink(link) == str(tmp_path)


def test_phase_durations(m):
    assert m.filters.phase_durations({"lock": 10.0, "prepare": 11.5, "switch": 20.0}, 21.25) == \
        {"lock": 1.5, "prepare": 8.5, "switch": 1.25}


# -- webhook ------------------------------------------------------------------------------------

def test_notify_signs_the_exact_body(m):
    body = m.notify.body_of("succeeded", {"id": "x"})
    expected = hmac.new(b"s3cret-key-0123456", body, hashlib.sha256).hexdigest()
    assert m.notify.signature("s3cret-key-0123456", body) == f"sha256={expected}"


def test_notify_post_to_a_refusing_endpoint_is_not_an_exception(m):
    delivered, detail = m.notify.post("http://127.0.0.1:1/hook", "k", "failed", b"{}", 1.0)
    assert not delivered and "refused" in detail.lower(), detail


def test_notify_post_delivers_with_headers(m, server):
    seen = {}

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            seen["body"] = self.rfile.read(length)
            seen["signature"] = self.headers["X-Golive-Signature"]
            seen["event"] = self.headers["X-Golive-Event"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=httpd.handle_request, daemon=True)
    thread.start()
    body = m.notify.body_of("rolled_back", {"id": "d1"})
    ok, detail = m.notify.post(f"http://127.0.0.1:{httpd.server_address[1]}/", "key", "rolled_back",
                               body, 5.0)
    thread.join(5)
    httpd.server_close()
    assert ok and detail == "HTTP 204"
    assert seen["event"] == "rolled_back" and seen["body"] == body
    assert seen["signature"] == m.notify.signature("key", body)


# -- smoke tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("tests", "said"), [
    ([{"path": "/"}], "app_smoke[0]: name is required"),
    ([{"name": "a", "path": "api"}], "app_smoke[0] 'a': path must start with / (got 'api')"),
    ([{"name": "a", "path": "/", "method": "FETCH"}], "method must be one of GET, HEAD"),
    ([{"name": "a", "path": "/", "status": 700}], "status must be an HTTP status code 100-599"),
    ([{"name": "a", "path": "/", "where": ["edge"]}], "where must be a non-empty list of color"),
    ([{"name": "a", "path": "/", "expect": 200}], "unknown field(s) expect"),
    ([{"name": "a", "path": "/"}, {"name": "a", "path": "/x"}], "app_smoke[1] 'a': duplicate"),
    ("nope", "app_smoke must be a list of tests, not str"),
    ([{"name": ["a"], "path": "/"}], "app_smoke[0] ['a']: name is required (a string)"),
    ([{"name": "a", "path": "/", "where": [{"color": 1}]}], "where must be a non-empty list"),
])
def test_smoke_definitions_are_refused_naming_the_test_and_field(m, tests, said):
    found = m.filters.smoke_problems(tests)
    assert any(said in problem for problem in found), found


def test_smoke_definitions_that_are_fine_have_no_problem(m):
    assert m.filters.smoke_problems([
        {"name": "index", "path": "/", "json": {"app": "x"}},
        {"name": "create", "path": "/api/items", "method": "post", "body": {"name": "n"},
         "status": "201", "where": ["nginx"]}]) == []


def test_smoke_run_judges_status_and_json_fields(m, server):
    Handler.answers = [(201, b'{"id": 7, "tags": ["a"]}', {})] * 2
    base = f"http://127.0.0.1:{server.server_address[1]}"
    good = m.smoke.run_test(base, {"name": "create", "path": "/api/items", "method": "POST",
                                   "body": {"name": "n"}, "status": 201,
                                   "json": {"tags.0": "a"}}, 5, False)
    assert good["ok"] and good["status"] == 201, good
    bad = m.smoke.run_test(base, {"name": "list", "path": "/api/items", "json": {"id": 8}}, 5,
                           False)
    assert not bad["ok"]
    assert bad["problems"] == ["HTTP 201, expected 200", "id is 7, expected 8"]
    gone = m.smoke.run_test("http://127.0.0.1:1", {"name": "x", "path": "/", "method": "DELETE"},
                            1, False)
    assert not gone["ok"] and gone["problems"][0].startswith("DELETE http://127.0.0.1:")
