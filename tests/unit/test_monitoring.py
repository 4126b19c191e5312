"""The monitoring tier's code (issue 16): the scrape-config filter, the exporters' web config,
golive's textfile facts, the alerts reader behind `golive alerts`/`status`/`check`, deploy
notifications to Telegram (429 retry_after), the alert relay's signature, and Alertmanager's
routes checked with amtool. HTTP goes to throwaway servers on 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from golive import render

from .conftest import ROOT, collection_modules, load_script
from .render_role import render as render_template
from .render_role import role_vars
from .test_alert_rules import tool


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    with collection_modules(tmp_path_factory, mon="filter.monitoring",
                            web_config="modules.web_config", alerts="module_utils.alerts",
                            checks="modules.checks", notify="action.notify") as modules:
        yield modules


@pytest.fixture(scope="module")
def fake():
    """tests/scripts/fake_telegram.py on free loopback ports, throttling the first call."""
    script = load_script(ROOT / "tests" / "scripts" / "fake_telegram.py", "fake_telegram")
    state = script.State(throttle=1, retry_after=1, secret="hook-secret-0123456789", record=None)
    tg = script.serve(0, script.make_handler(state, "telegram"))
    hook = script.serve(0, script.make_handler(state, "webhook"))
    yield state, f"http://127.0.0.1:{tg.server_address[1]}", f"http://127.0.0.1:{hook.server_address[1]}"
    tg.shutdown()
    hook.shutdown()


# --- scrape configuration -----------------------------------------------------------------------

RELEASE_13 = {"node": {"tls": True, "auth": True}, "mtail": {"tls": False, "auth": False},
              "redis": {"tls": True, "auth": True}}
RELEASE_12 = {"node": {"tls": True, "auth": True}, "mtail": {"tls": False, "auth": False},
              "redis": {"tls": True, "auth": False}}
PORTS = {"node": 9100, "mtail": 3903, "redis": 9121}
AUTH = {"username": "prometheus", "password_file": "/p", "ca_file": "/ca"}


def host(m, name, address, release, jobs):
    return {"name": name, "exporters": {
        j: m.mon.exporter_endpoint(j, release, PORTS, address, True) for j in jobs}}


def test_endpoints_follow_what_the_release_supports(m):
    assert m.mon.exporter_endpoint("node", RELEASE_13, PORTS, "10.0.0.5", True) == {
        "address": "10.0.0.5", "port": 9100, "scheme": "https", "auth": True}
    assert m.mon.exporter_endpoint("redis", RELEASE_12, PORTS, "10.0.0.5", True)["auth"] is False
    assert m.mon.exporter_endpoint("node", RELEASE_13, PORTS, "10.0.0.5", False) == {
        "address": "10.0.0.5", "port": 9100, "scheme": "http", "auth": False}


def test_scrape_configs_group_targets_and_keep_the_password_on_tls(m):
    hosts = [host(m, "web1", "10.0.0.31", RELEASE_13, ["node", "mtail", "redis"]),
             host(m, "cache1", "10.0.0.21", RELEASE_12, ["node", "redis"])]
    api = {"blackbox": "127.0.0.1:9115", "module": "golive_api",
           "url": "https://{host}/health", "hosts": ["web1"]}
    configs = {c["job_name"]: c for c in m.mon.scrape_configs(hosts, AUTH, api,
                                                              {"prometheus": "127.0.0.1:9090"})}
    assert set(configs) == {"prometheus", "node", "mtail_http", "redis", "redis_https", "api"}
    node = configs["node"]
    assert node["scheme"] == "https" and node["basic_auth"]["password_file"] == "/p"
    assert [s["labels"]["instance"] for s in node["static_configs"]] == ["web1", "cache1"]
    for plain in ("mtail_http", "redis_https"):
        assert "basic_auth" not in configs[plain], "no password to an exporter that ignores it"
        assert configs[plain]["relabel_configs"] == [{"target_label": "job",
                                                     "replacement": plain.split("_")[0]}]
    assert configs["api"]["static_configs"] == [
        {"targets": ["https://web1/health"], "labels": {"instance": "web1"}}]


def test_scrape_configs_pass_promtool_check_config(m, tmp_path):
    hosts = [host(m, "web1", "10.0.0.31", RELEASE_13, ["node", "mtail"])]
    (tmp_path / "p").write_text("x")
    (tmp_path / "ca").write_text("")
    auth = {"username": "prometheus", "password_file": str(tmp_path / "p"),
            "ca_file": str(tmp_path / "ca")}
    config = {"global": {"scrape_interval": "5s", "scrape_timeout": "4s"},
              "scrape_configs": m.mon.scrape_configs(hosts, auth, None, {})}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([tool("promtool"), "check", "config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("text,seconds", [("15s", 15), ("1m30s", 90), ("500ms", 0.5),
                                          ("2h", 7200)])
def test_duration_seconds(m, text, seconds):
    assert m.mon.duration_seconds(text) == seconds


def test_duration_seconds_refuses_junk(m):
    with pytest.raises(Exception, match="not a duration"):
        m.mon.duration_seconds("5 minutes")


# --- web config ---------------------------------------------------------------------------------

def fake_hash(password):
    return "$2b$10$" + hashlib.sha256(password.encode()).hexdigest()[:53]


def fake_check(password, hashed):
    return fake_hash(password) == hashed


def test_web_config_keeps_a_hash_that_still_matches(m):
    first, kept = m.web_config.desired("", "prometheus", "pw-0123456789", "/c", "/k",
                                       fake_hash, fake_check)
    assert not kept and "tls_server_config" in first and "pw-0123456789" not in first
    again, kept = m.web_config.desired(first, "prometheus", "pw-0123456789", "/c", "/k",
                                       lambda p: "$2b$10$other", fake_check)
    assert kept and again == first, "a matching hash is kept: the converge stays idempotent"
    changed, kept = m.web_config.desired(first, "prometheus", "new-password-99", "/c", "/k",
                                         fake_hash, fake_check)
    assert not kept and changed != first


def test_web_config_without_tls_has_only_basic_auth(m):
    text, _ = m.web_config.desired("", "u", "p" * 12, "", "", fake_hash, fake_check)
    assert yaml.safe_load(text) == {"basic_auth_users": {"u": fake_hash("p" * 12)}}


# --- golive's textfile facts --------------------------------------------------------------------

@pytest.fixture(scope="module")
def facts():
    return load_script(ROOT / "roles" / "exporters" / "files" / "golive-textfile-metrics",
                       "golive_textfile_metrics")


def test_backup_facts(facts):
    status = {"stanza": "main", "backups": [
        {"stop": 100, "error": False}, {"stop": 200, "error": False}, {"stop": 300, "error": True}]}
    text = facts.exposition(facts.backup_rows(status))
    assert 'golive_backup_last_success_timestamp_seconds{stanza="main"} 200' in text
    assert 'golive_backup_last_failed{stanza="main"} 1' in text
    assert facts.backup_rows(None) == []


def test_certificate_and_renewal_facts(facts):
    failure = {"reason": 'unauthorized: "web1" answered 403'}
    text = facts.exposition(facts.tls_rows({"example.org": 86400 * 20}, failure, 86400 * 10))
    assert 'golive_tls_cert_days_left{cert="example.org"} 10.0' in text
    assert 'golive_tls_last_renewal_success{reason="unauthorized: \\"web1\\" answered 403"} 0' \
        in text
    text = facts.exposition(facts.tls_rows({"example.org": 86400 * 20}, None, 86400 * 10))
    assert "golive_tls_last_renewal_success 1" in text


def test_deploy_facts_name_the_live_release_and_the_last_outcome(facts):
    history = [
        {"kind": "deploy", "release": "r1", "version": "1.0.0", "outcome": "succeeded",
         "finished": "2026-12-01T10:00:00Z"},
        {"kind": "deploy", "release": "r2", "version": "1.1.0", "outcome": "failed",
         "finished": "2026-12-02T10:00:00Z"}]
    text = facts.exposition(facts.deploy_rows({"app": history}))
    assert 'golive_deploy_last_success{app="app",kind="deploy",release="r2"} 0' in text
    assert 'golive_release_live_info{app="app",release="r1",version="1.0.0"} 1' in text
    assert 'golive_deploy_last_timestamp_seconds{app="app"} 1796205600.0' in text


@pytest.mark.parametrize("row,failing", [
    ((10, 0, 500, 0), 0),       # archiving, never failed
    ((10, 3, 500, 400), 0),     # failed once, succeeded since
    ((10, 3, 400, 500), 1),     # the last attempt failed
])
def test_wal_archiving_failing(facts, row, failing):
    text = facts.exposition(facts.archiver_rows(row))
    assert f"golive_pg_archiver_failing {failing}" in text


def test_textfile_is_written_atomically_and_world_readable(facts, tmp_path):
    facts.write_atomic(str(tmp_path), "golive_facts.prom", "x 1\n")
    assert [p.name for p in tmp_path.iterdir()] == ["golive_facts.prom"]
    assert (tmp_path / "golive_facts.prom").stat().st_mode & 0o777 == 0o644


def test_published_into_the_exporters_directory_and_stale_ones_dropped(facts, tmp_path):
    source, target = tmp_path / "golive", tmp_path / "node-exporter"
    source.mkdir()
    target.mkdir()
    (source / "golive_facts.prom").write_text("a 1\n")
    (source / "golive_backup_verify.prom").write_text("b 1\n")
    (source / "notes.txt").write_text("not a metric")
    (target / "golive_gone.prom").write_text("old 1\n")
    (target / "other.prom").write_text("someone else's\n")
    facts.publish(str(source), str(target))
    assert sorted(p.name for p in target.iterdir()) == [
        "golive_backup_verify.prom", "golive_facts.prom", "other.prom"]
    assert (target / "golive_facts.prom").read_text() == "a 1\n"
    assert (target / "golive_facts.prom").stat().st_mode & 0o777 == 0o644


# --- alerts: reader, check, CLI rendering -------------------------------------------------------

ALERTS = {"status": "success", "data": {"alerts": [
    {"labels": {"alertname": "Watchdog", "severity": "none"}, "state": "firing",
     "activeAt": "2026-12-06T03:00:00Z", "annotations": {"summary": "always"}},
    {"labels": {"alertname": "HighMemoryUsage", "severity": "warning", "instance": "db1"},
     "state": "pending", "activeAt": "2026-12-06T03:10:00Z"},
    {"labels": {"alertname": "APIDown", "severity": "critical", "instance": "web1", "job": "api"},
     "state": "firing", "activeAt": "2026-12-06T03:05:00Z",
     "annotations": {"summary": "The API on web1 does not answer its health check."}}]}}


def test_alerts_are_read_critical_first(m):
    alerts = m.alerts.alerts_of(ALERTS)
    assert [a["alertname"] for a in alerts] == ["APIDown", "HighMemoryUsage", "Watchdog"]
    assert alerts[0]["instance"] == "web1" and alerts[0]["labels"] == {"job": "api"}
    assert [a["alertname"] for a in m.alerts.firing(alerts, "critical")] == ["APIDown"]


def test_an_unreachable_prometheus_is_data_not_an_exception(m):
    def refused(url, timeout):
        raise ConnectionRefusedError(111, "Connection refused")
    state = m.alerts.read("http://127.0.0.1:9", 1, get=refused)
    assert state == {"reachable": False, "error": "ConnectionRefusedError: [Errno 111] "
                     "Connection refused", "alerts": []}


def env_with(m, answer):
    def get(url, timeout):
        if isinstance(answer, Exception):
            raise answer
        return answer
    return m.checks.Env(run_command=None, which=lambda name: None, http_get=get)


CHECK = {"name": "alerts", "type": "alerts", "url": "http://127.0.0.1:9090", "timeout_s": 1}


def test_check_fails_on_a_firing_critical_alert(m):
    outcome = m.checks.check_alerts(CHECK, env_with(m, ALERTS))
    assert outcome.status == "fail" and outcome.value == 1
    assert "APIDown on web1 since 2026-12-06T03:05:00Z" in outcome.detail


def test_check_passes_without_critical_and_warns_when_prometheus_is_down(m):
    quiet = {"status": "success", "data": {"alerts": ALERTS["data"]["alerts"][:2]}}
    assert m.checks.check_alerts(CHECK, env_with(m, quiet)).status == "ok"
    down = m.checks.check_alerts(CHECK, env_with(m, OSError("timed out")))
    assert down.status == "warn" and down.value == "unreachable"


def test_the_alerts_check_type_validates(m):
    checks, problems = m.checks.validate([{"name": "alerts", "type": "alerts"}], {})
    assert problems == [] and checks[0]["url"] == "http://127.0.0.1:9090"


def test_golive_alerts_table(m):
    doc = {"reachable": True, "error": None, "alerts": m.alerts.alerts_of(ALERTS)}
    out = io.StringIO()
    code, _ = render.alerts_verdict({"mon1": doc}, as_json=False, stream=out)
    lines = out.getvalue().splitlines()
    assert code == 0 and lines[0].split() == ["state", "severity", "alert", "host", "since", "from"]
    assert lines[1].split()[:4] == ["firing", "critical", "APIDown", "web1"]
    assert lines[-1].split()[:3] == ["pending", "warning", "HighMemoryUsage"]


def test_golive_alerts_exits_1_when_no_prometheus_answers():
    code, msg = render.alerts_verdict({"mon1": {"reachable": False, "error": "refused",
                                                "alerts": []}}, as_json=True)
    assert code == 1 and "mon1: refused" in msg


def test_status_names_firing_alerts_but_not_the_watchdog(m):
    firing = m.alerts.firing(m.alerts.alerts_of(ALERTS))
    phrase = render._alerts_phrase({"reachable": True, "firing": firing})
    assert phrase == "alerts: 1 firing: APIDown web1 (critical)"
    assert render._alerts_phrase({"reachable": False, "error": "refused"}) == (
        "alerts: prometheus unreachable (refused)")


# --- deploy notifications to Telegram -----------------------------------------------------------

def test_telegram_waits_for_retry_after_then_delivers(m, fake):
    state, tg, _ = fake
    waits = []
    delivered, detail = m.notify.telegram(tg, "123:abc", -100, "golive deploy succeeded", 5, 2,
                                          sleep=waits.append)
    assert delivered and waits == [1.0] and "after waiting 1 s (429)" in detail
    sent = [x for x in state.messages if x["kind"] == "telegram"]
    assert [x["throttled"] for x in sent[-2:]] == [True, False]
    assert sent[-1]["chat_id"] == -100 and "abc" not in json.dumps(sent)


def test_telegram_gives_up_after_its_retries_without_raising(m, fake):
    state, tg, _ = fake
    state.throttle = 5
    delivered, detail = m.notify.telegram(tg, "123:abc", -100, "x", 5, 1, sleep=lambda s: None)
    state.throttle = 0
    assert not delivered and detail == "HTTP 429 (retries exhausted)"


def test_telegram_to_nothing_is_a_detail_without_the_token(m):
    delivered, detail = m.notify.telegram("http://127.0.0.1:9", "123:secret-token", 1, "x", 1, 0)
    assert not delivered and "secret-token" not in detail


def test_telegram_text(m):
    assert m.notify.telegram_text("rolled_back", {"version": "1.2.0", "id": "d1",
                                                  "hosts": ["web1", "web2"]}, "prod") == (
        "golive [prod] deploy rolled back: 1.2.0 (d1) on web1, web2")


def test_retry_after_of_a_429_body(m):
    assert m.notify.retry_after(b'{"parameters": {"retry_after": 3}}') == 3.0
    assert m.notify.retry_after(b"not json") is None


# --- the alert relay and Alertmanager's routes --------------------------------------------------

def test_the_relay_signs_as_golive_notify_does(m, fake):
    state, _, hook = fake
    relay = load_script(ROOT / "roles" / "alertmanager" / "files" / "golive-alert-relay",
                        "golive_alert_relay")
    body = json.dumps({"status": "firing", "alerts": []}).encode()
    delivered, _ = relay.forward(hook + "/hook", b"hook-secret-0123456789", body, 5)
    assert delivered
    got = [x for x in state.messages if x["kind"] == "webhook"][-1]
    assert got["event"] == "alert" and got["signature_ok"]
    assert relay.signature(b"k", body) == m.notify.signature("k", body)
    assert got["body"] == {"status": "firing", "alerts": []}
    assert hmac.compare_digest(relay.signature(b"k", body),
                               "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest())


def test_the_relay_passes_telegram_calls_with_the_real_token_and_waits_out_429(fake):
    state, tg, _ = fake
    relay = load_script(ROOT / "roles" / "alertmanager" / "files" / "golive-alert-relay",
                        "golive_alert_relay_tg")
    state.throttle = 1
    waits = []
    body = json.dumps({"chat_id": -5, "text": "[FIRING:1] APIDown"}).encode()
    status, answer = relay.telegram(tg, "777:real-token", "sendMessage", body,
                                    "application/json", 5, sleep=waits.append)
    assert status == 200 and json.loads(answer)["ok"] and waits == [1.0]
    assert state.messages[-1]["text"] == "[FIRING:1] APIDown"
    status, answer = relay.telegram("http://127.0.0.1:9", "777:real-token", "sendMessage", body,
                                    "application/json", 1)
    assert status == 502 and b"real-token" not in answer


def alertmanager_config(tmp_path, **overrides) -> Path:
    values = role_vars("alertmanager", alertmanager_telegram_bot_token="123:abc",
                       alertmanager_telegram_chat_id=-1001, alertmanager_webhook_url="http://x/h",
                       alertmanager_webhook_secret="s" * 16, **overrides)
    values.update({"_alertmanager_placeholder_token": "0:golive-relay-holds-the-token",
                   "_alertmanager_enabled": ["webhook", "telegram"]})
    path = tmp_path / "alertmanager.yml"
    path.write_text(render_template("alertmanager", "etc/prometheus/alertmanager.yml.j2", values))
    return path


def test_alertmanager_config_passes_amtool_and_holds_no_secret(tmp_path):
    path = alertmanager_config(tmp_path)
    proc = subprocess.run([tool("amtool"), "check-config", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = path.read_text()
    assert "123:abc" not in text and "s" * 16 not in text


@pytest.mark.parametrize("severity,receiver", [("critical", "severity-critical"),
                                               ("info", "severity-info"),
                                               ("none", "severity-none")])
def test_routes_by_severity(tmp_path, severity, receiver):
    path = alertmanager_config(tmp_path)
    proc = subprocess.run([tool("amtool"), "config", "routes", "test", f"--config.file={path}",
                           f"severity={severity}"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == receiver, proc.stdout + proc.stderr


def test_a_severity_reaches_only_its_channels(tmp_path):
    config = yaml.safe_load(alertmanager_config(tmp_path).read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers["severity-critical"]) == {"name", "webhook_configs", "telegram_configs"}
    assert set(receivers["severity-info"]) == {"name", "webhook_configs"}
    assert set(receivers["severity-none"]) == {"name"}
    assert receivers["severity-critical"]["telegram_configs"][0]["chat_id"] == -1001


def test_alert_problems_name_the_variable_and_the_allowed_values(m):
    defaults = role_vars("prometheus")["prometheus_alerts"]
    internal = yaml.safe_load((ROOT / "roles" / "prometheus" / "vars" / "main.yml").read_text())
    ranges, sev = internal["_prometheus_threshold_ranges"], internal["_prometheus_severities"]
    assert m.mon.alert_problems({}, defaults, ranges, sev) == []
    assert m.mon.alert_problems(defaults, defaults, ranges, sev, "prometheus_alerts") == []
    assert m.mon.alert_problems({"HighErrorRate": {"threshold": 5, "for": "5 min"}},
                                defaults, ranges, sev) == [
        "prometheus_alerts_overrides.HighErrorRate.for must be a duration such as 30s, 5m, 1h "
        "(got '5 min')",
        "prometheus_alerts_overrides.HighErrorRate.threshold must be a number from 0.0001 to 1 "
        "(got '5')"]
    assert m.mon.alert_problems({"APIDown": {"threshold": 1}}, defaults, ranges, sev) == [
        "prometheus_alerts_overrides.APIDown.threshold: this alert takes no threshold"]


# --- the metrics proxy (exporters without basic auth) -------------------------------------------

@pytest.fixture(scope="module")
def proxy():
    return load_script(ROOT / "roles" / "exporters" / "files" / "golive-metrics-proxy",
                       "golive_metrics_proxy")


def basic(user, password):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_proxy_refuses_without_or_with_wrong_credentials_and_remembers_a_good_one(proxy):
    calls = []

    def check(password, hashed):
        calls.append(password)
        return hashed == fake_hash(password)

    auth = proxy.Authenticator({"prometheus": fake_hash("right-password")}, check=check)
    assert not auth.allowed(None)
    assert not auth.allowed("Bearer x")
    assert not auth.allowed(basic("someone", "right-password"))
    assert not auth.allowed(basic("prometheus", "wrong"))
    assert auth.allowed(basic("prometheus", "right-password"))
    assert auth.allowed(basic("prometheus", "right-password"))
    assert calls == ["wrong", "right-password"], "a remembered password costs no bcrypt round"


def test_proxy_forwards_with_credentials_and_answers_401_without(proxy, fake):
    import urllib.error
    import urllib.request

    _, tg, _ = fake  # any local HTTP server: the fake answers GET /messages
    auth = proxy.Authenticator({"u": fake_hash("p" * 12)}, check=lambda p, h: h == fake_hash(p))
    server = proxy.http.server.ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler(tg, auth))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": basic("u", "p" * 12)})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200 and isinstance(json.loads(answer.read()), list)
    finally:
        server.shutdown()


def test_proxy_reads_the_exporters_web_config(proxy, m, tmp_path):
    text, _ = m.web_config.desired("", "prometheus", "p" * 12, "/c.pem", "/k.pem",
                                   fake_hash, fake_check)
    (tmp_path / "web.yml").write_text(text)
    users, cert, key = proxy.load_web_config(str(tmp_path / "web.yml"))
    assert users == {"prometheus": fake_hash("p" * 12)} and (cert, key) == ("/c.pem", "/k.pem")


def test_a_proxied_exporter_binds_loopback_and_is_scraped_with_tls_and_auth(m):
    assert m.mon.exporter_bind("mtail", ["mtail"], PORTS, "10.0.0.31") == "127.0.0.1:13903"
    assert m.mon.exporter_bind("node", ["mtail"], PORTS, "10.0.0.31") == "10.0.0.31:9100"
    assert m.mon.exporter_endpoint("mtail", RELEASE_13, PORTS, "10.0.0.31", True, ["mtail"]) == {
        "address": "10.0.0.31", "port": 3903, "scheme": "https", "auth": True}
