"""App releases end to end, against the lab, under a bounded load through both web hosts' nginx
(tests/scripts/http_load.py, 60 requests/s from the control node):

1. v1 then v2 under load: 0 failed requests, v2 served after (its /health answers plan 004's
   {"status": "healthy", "services": {...: "healthy"}}); v1 stays warm on the other color,
   only the served color starts at boot.
2. A release answering 200 with "status": "degraded" on the canary (web1, the default batches):
   exit 1, what is served untouched on both hosts (web2 never touched), 0 failed requests,
   history says failed. (A release answering 503 is refused by Molecule's app scenario.)
3. A release answering 5xx after the switch: the watch window rolls every switched host back.
   Smoke tests (app_smoke): one failing on the new color's port stops the deploy before the
   switch (nothing served differently, 0 failed requests); one failing through nginx after the
   switch puts every switched host back.
4. golive rollback v2 -> v1 under load, cold (nothing warm after the failed deploys), then warm
   (right after a deploy): 0 failed requests both times; warm starts no process, cold starts
   the target; wall times printed (tests/bench/deploy.py measures them); each release answers
   with the .env it was deployed with (APP_BANNER changed between them).
5. Two deploys at once (the first one also proves the signed webhooks); a deploy killed with
   SIGKILL after the canary switched: status shows the mixed fleet, check fails on it, and the
   next rollback, then (after another kill) the next deploy, with --force-unlock (whose webhook
   is dead: a warning only), reconcile it and say so; the history records both.
6. Migration drill: v3's breaking migration refuses a code-only rollback; --db-restore --yes
   brings schema and data back to the restore point.
7. Batches: a failing canary leaves web2 alone (point 2); a failure in batch 2 reverts the
   canary.
8. golive maintenance on: 503 with Retry-After and the message on the app's paths of both web
   hosts, nginx's /edge-health and the app's /health still answer; off: 0 failed requests.
Also: bad deploy inputs, and an artifact without wheels for the web hosts' Python, are refused
in preflight (exit 5) before any host changes.

The tests run in this order and share the lab's state (each one starts from what the previous
left: the module fixture starts from v1 on migration 0001, as the demo leaves it, and deploys it
itself from anything else). Deploys whose subject is not the batches (webhooks, locks,
migrations) pass `--serial 100%`: one batch, one watch window.
"""

import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from .app_drill import (
    ADDRESSES,
    APP,
    APP_ROOT,
    WEB,
    Load,
    banner,
    build,
    history,
    main_pids,
    served,
    sh,
)
from .conftest import ROOT, as_json, assert_refused_in_preflight, golive, leaked

SECRETS = ("lab-app-db-secret", "lab-redis-app-secret", "lab-sentinel-secret")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    return {name: build(name, out) for name in
            ("v1", "v2", "v2-degraded", "v2-api5xx", "v2-web2-health", "v3")}


def deploy(artifact, *extra, timeout=900):
    return golive("deploy", "--artifact", str(artifact), "--json", *extra, timeout=timeout)


def result_of(proc):
    return as_json(proc)["report"]["localhost"]


def all_serve(version):
    states = {h: served(h) for h in WEB}
    assert all(s["version"] == version for s in states.values()), states
    return states


def psql(sql):
    return sh("db1", f"sudo -u postgres psql -XAtq -d app -c \"{sql}\"")


def db(sql):
    out = psql(sql)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def on_fresh_v1() -> bool:
    """What `make demo` leaves: v1 served by one color on every web host, and only migration
    0001 applied (the drills below expect 0002 to be pending)."""
    applied = psql("SELECT string_agg(id, ',' ORDER BY id) FROM schema_migrations")
    if applied.returncode != 0 or applied.stdout.strip() != "0001_items":
        return False
    return all(s["version"] == "1.0.0" and len(s["active"]) == 1
               for s in (served(h) for h in WEB))


@pytest.fixture(scope="module")
def app_lab(lab, artifacts):
    """The app tier converged, v1 served on migration 0001: as the demo left it, or deployed
    afresh on an empty schema from whatever an earlier run left."""
    proc = golive("converge", "--only", "app", "--json")
    assert proc.returncode == 0, proc.stderr
    if not on_fresh_v1():
        db("DROP TABLE IF EXISTS items, schema_migrations")
        proc = deploy(artifacts["v1"])
        assert proc.returncode == 0, proc.stderr[-3000:]
    all_serve("1.0.0")
    return artifacts


def test_deploy_v2_under_load_fails_no_request(app_lab):
    with Load(rate=60) as load:
        time.sleep(3)
        proc = deploy(app_lab["v2"])
        time.sleep(2)
        report = load.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = result_of(proc)
    print(f"\ndeploy v2 under load: {report['sent']} requests at {report['rate']}/s, "
          f"{report['failed']} failed, p50 {report['latency_ms']['p50']} ms, "
          f"p99 {report['latency_ms']['p99']} ms; phases {result['hosts']['web1']['phases_s']}")
    assert report["rate"] >= 50 and report["sent"] >= 500, report
    assert report["failed"] == 0, report["failures"]
    assert set(report["versions"]) == {"1.0.0", "2.0.0"}
    assert report["versions"]["2.0.0"]["last_t"] > report["versions"]["1.0.0"]["last_t"]
    states = all_serve("2.0.0")
    # v1 stays warm on the other color for a rollback; only the served color starts at boot
    for host, state in states.items():
        assert state["active"] == ["blue", "green"], (host, state)
        assert len(state["enabled"]) == 1 and state["enabled"][0] != "" and (
            state["upstream"].endswith({"blue": ":8001", "green": ":8002"}[state["enabled"][0]])
        ), (host, state)
    health = json.loads(sh("web1", "curl -sk https://127.0.0.1/health").stdout)
    assert health["status"] == "healthy" and set(health["services"].values()) == {"healthy"}
    assert result["outcome"] == "succeeded" and result["migrations"] == [
        {"id": "0002_items_tags", "breaking": False}]
    assert result["restore_point"]["name"] == f"golive-{result['id']}"
    record = history("web1")[-1]
    assert record["id"] == result["id"] and record["sha256"] == result["sha256"]
    assert set(record["phases_s"]) >= {"lock", "checks", "prepare", "start", "switch", "watch"}
    # shared/.env: 0600, the app's user; no secret in golive's run files
    mode = sh("web1", f"stat -c '%a %U' {APP_ROOT}/shared/.env").stdout.split()
    assert mode == ["600", APP]
    assert leaked(SECRETS) == []


def what_is_served(host):
    """What a failed canary must leave alone: the version, upstream, current release and the
    colors started at boot (the warm color's slot is the one a new release starts on)."""
    state = served(host)
    return {key: state[key] for key in ("version", "upstream", "current", "enabled")}


def test_a_release_answering_degraded_on_the_canary_changes_nothing(app_lab):
    """Plan 004's health JSON with "status": "degraded" (HTTP 200) is refused at the gate. A
    release answering HTTP 503 is refused by Molecule's app scenario (the role's gate); this is
    the system's: web1 the canary, web2 untouched, no request failed."""
    release, reason = "v2-degraded", "status 'degraded', expected one of ok, healthy"
    before = {h: what_is_served(h) for h in WEB}
    with Load(rate=60) as load:
        proc = deploy(app_lab[release], "--serial", "1,100%")  # web1 is the canary
        report = load.stop()
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["outcome"] == "failed"
    assert [(f["host"], f["phase"]) for f in result["failures"]] == [("web1", "start")]
    # every host prepares before the batches; web2's batch (start, switch) never ran
    web2 = result["hosts"]["web2"]["phases_s"]
    assert not {"start", "switch", "watch"} & set(web2), web2
    assert "health gate" in result["failures"][0]["msg"]
    assert reason in result["failures"][0]["msg"], result["failures"][0]["msg"]
    assert report["failed"] == 0, report["failures"]
    assert set(report["versions"]) == {"2.0.0"}
    assert {h: what_is_served(h) for h in WEB} == before  # web2 included
    assert history("web1")[-1]["outcome"] == "failed"


def test_5xx_after_the_switch_is_rolled_back_on_every_switched_host(app_lab):
    with Load(rate=60) as load:
        time.sleep(2)
        proc = deploy(app_lab["v2-api5xx"], "--serial", "100%")
        time.sleep(2)
        report = load.stop()
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["outcome"] == "rolled_back"
    assert {f["phase"] for f in result["failures"]} == {"watch"}
    assert "answered 5xx" in result["failures"][0]["msg"]
    all_serve("2.0.0")
    bad = report["versions"].get("2.2.0", {})
    first_fail = min((f["t"] for f in report["failures"]), default=None)
    back = report["versions"]["2.0.0"]["last_t"]
    print(f"\n5xx release: {report['failed']} of {report['sent']} requests failed; 2.2.0 served "
          f"from t={bad.get('first_t')} to t={bad.get('last_t')} s; first failure t={first_fail};"
          f" v2 served again {round(bad.get('last_t', 0) - bad.get('first_t', 0), 1)} s after "
          f"the switch")
    assert report["failed"] >= 1  # the watch window saw them
    assert bad and bad["last_t"] < back


def smoke_file(tmp_path, name, tests):
    path = tmp_path / f"smoke-{name}.yml"
    path.write_text(yaml.safe_dump({"app_smoke": tests}))
    return path


def test_a_failing_smoke_test_before_the_switch_changes_nothing(app_lab, tmp_path):
    """2.2.0 passes its health gate but answers 500 on /api/items: a smoke test of that path on
    the new color's port stops the deploy on the canary before any switch."""
    items = smoke_file(tmp_path, "items", [{"name": "items", "path": "/api/items"}])
    before = {h: what_is_served(h) for h in WEB}
    with Load(rate=60) as load:
        proc = deploy(app_lab["v2-api5xx"], "--serial", "1,100%", "-e", f"@{items}")
        report = load.stop()
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["outcome"] == "failed"
    assert [(f["host"], f["phase"]) for f in result["failures"]] == [("web1", "start")]
    assert "smoke tests before the switch" in result["failures"][0]["msg"]
    assert "items: HTTP 500, expected 200" in result["failures"][0]["msg"]
    assert report["failed"] == 0, report["failures"]
    assert {h: what_is_served(h) for h in WEB} == before


def test_a_failing_smoke_test_after_the_switch_puts_every_switched_host_back(app_lab, tmp_path):
    """A smoke test run only through nginx (where: nginx) that the new release fails: both
    hosts switched (one batch), both are put back."""
    nginx_only = smoke_file(tmp_path, "nginx", [{"name": "banner", "path": "/", "where": ["nginx"],
                                                 "json": {"banner": "not-this-release"}}])
    before = {h: what_is_served(h) for h in WEB}
    with Load(rate=60) as load:
        proc = deploy(app_lab["v2"], "--serial", "100%", "-e", f"@{nginx_only}")
        report = load.stop()
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["outcome"] == "rolled_back"
    assert {(f["host"], f["phase"]) for f in result["failures"]} == {("web1", "watch"),
                                                                     ("web2", "watch")}
    assert all("smoke tests failed through nginx" in f["msg"] and
               'banner is "lab", expected "not-this-release"' in f["msg"]
               for f in result["failures"]), result["failures"]
    assert all("switch" in result["hosts"][h]["phases_s"] for h in WEB)
    assert report["failed"] == 0, report["failures"]
    all_serve("2.0.0")
    assert {h: what_is_served(h) for h in WEB} == before  # the previous release, not the new


def rollback_under_load(how):
    """golive rollback (to v1) under load: 0 failed requests, every host reached HOW (warm or
    cold) and said so, and did it that way: warm starts no process on any host (the target color
    was running already), cold starts the target color on every host. Returns the wall time."""
    pids = {h: main_pids(h) for h in WEB}
    with Load(rate=60) as load:
        time.sleep(2)
        started = time.monotonic()
        proc = golive("rollback")
        wall = time.monotonic() - started
        time.sleep(2)
        report = load.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = history("web1")[-1]
    print(f"\n{how} rollback v2 -> v1: wall {wall:.1f} s; {report['failed']} of "
          f"{report['sent']} failed, p50 {report['latency_ms']['p50']} ms, "
          f"p99 {report['latency_ms']['p99']} ms")
    assert f"{how} rollback" in proc.stdout, proc.stdout
    started_now = {h: main_pids(h) - pids[h] for h in WEB}
    assert all(bool(started_now[h]) == (how == "cold") for h in WEB), (how, pids, started_now)
    assert record["kind"] == "rollback" and record["version"] == "1.0.0"
    assert report["failed"] == 0, report["failures"]
    all_serve("1.0.0")
    return wall


def app_env_file(tmp_path, banner_text):
    """The lab's app_env with APP_BANNER changed, as an extra-vars file."""
    group_vars = yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "web.yml")
                                .read_text())
    path = tmp_path / f"app-env-{banner_text}.yml"
    path.write_text(yaml.safe_dump(
        {"app_env": {**group_vars["app_env"], "APP_BANNER": banner_text}}))
    return path


def test_rollback_to_v1_under_load_cold_then_warm_brings_v1s_configuration(app_lab, tmp_path):
    """The failed deploys above took the warm color's slot: the first rollback is cold. v2 is
    deployed again with APP_BANNER changed, and the second rollback finds v1 warm. Each release
    answers with the .env it was deployed with, whatever shared/.env says now."""
    changed = app_env_file(tmp_path, "changed")
    assert golive("converge", "--only", "app", "-e", f"@{changed}").returncode == 0
    cold = rollback_under_load("cold")
    assert {banner(h) for h in WEB} == {"lab"}  # v1's own .env, not shared/.env's "changed"
    proc = deploy(app_lab["v2"], "--serial", "100%", "-e", f"@{changed}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {banner(h) for h in WEB} == {"changed"}
    warm = rollback_under_load("warm")
    assert {banner(h) for h in WEB} == {"lab"}
    # the wall times are figures, not assertions: tests/bench/deploy.py measures them (medians)
    print(f"\nrollback wall: warm {warm:.1f} s, cold {cold:.1f} s ({warm / cold:.2f} of cold)")
    assert golive("converge", "--only", "app").returncode == 0


class Webhook:
    """A receiver on the control node's loopback (the notifier runs on the control node); the
    settings go to the deploy in a 0600 vars file, by path, as a vaulted file would."""

    def __init__(self, tmp_path, secret):
        self.secret, self.received = secret, []
        received = self.received

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["X-Golive-Event"],
                                 self.headers["X-Golive-Signature"], body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.vars = tmp_path / "webhook.yml"
        self.vars.write_text(f"app_notify_url: http://127.0.0.1:{self.server.server_address[1]}"
                             f"/hook\napp_notify_secret: {secret}\n")
        self.vars.chmod(0o600)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_second_deploy_fails_fast_naming_the_holder_and_webhooks_are_signed(app_lab, tmp_path):
    """The first deploy brings v2 back after the rollback test, with a webhook: started and
    succeeded arrive, each body signed with HMAC-SHA256. A second deploy meanwhile is refused,
    naming the first one's lock."""
    hook = Webhook(tmp_path, "e2e-webhook-secret-0123456789")
    try:
        first = subprocess.Popen([sys.executable, "-m", "golive", "deploy", "--artifact",
                                  str(app_lab["v2"]), "-m", "first", "-e", f"@{hook.vars}",
                                  "--serial", "100%"], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(120):
                if sh("web1", f"test -f {APP_ROOT}/.deploy/lock/holder.json").returncode == 0:
                    break
                assert first.poll() is None, first.communicate()[1][-3000:]  # it ended early
                time.sleep(0.5)
            holder = json.loads(sh("web1", f"cat {APP_ROOT}/.deploy/lock/holder.json").stdout)
            started = time.monotonic()
            second = deploy(app_lab["v2"])
            elapsed = time.monotonic() - started
            assert second.returncode != 0
            assert f"deploy lock held by deploy {holder['id']}" in second.stderr
            assert "message: first" in second.stderr
            print(f"\nsecond deploy refused in {elapsed:.1f} s")
        finally:
            out, err = first.communicate(timeout=900)
    finally:
        hook.close()
    assert first.returncode == 0, err[-3000:]
    assert [event for event, _, _ in hook.received] == ["started", "succeeded"]
    for event, signature, body in hook.received:
        expected = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
        assert signature == f"sha256={expected}"
        assert json.loads(body)["event"] == event
    assert hook.secret not in out + err and leaked([hook.secret]) == []
    all_serve("2.0.0")


def kill_after_the_canary_switched(artifact, version):
    """Start a deploy of ARTIFACT and SIGKILL it once web1 (the canary) serves VERSION, while
    its watch window runs and web2 is still on the old release. Returns the lock's holder."""
    killed = subprocess.Popen([sys.executable, "-m", "golive", "deploy", "--artifact",
                               str(artifact)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for _ in range(1200):
            if served("web1")["version"] == version:
                break
            assert killed.poll() is None, killed.communicate()[1][-3000:]
            time.sleep(0.25)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
    return json.loads(sh("web1", f"cat {APP_ROOT}/.deploy/lock/holder.json").stdout)


def assert_mixed_and_seen(web1, web2):
    """`golive status` shows the mixed fleet and `golive check` fails naming it."""
    assert (served("web1")["version"], served("web2")["version"]) == (web1, web2)
    mixed = f"web fleet on mixed releases: web1 {web1}, web2 {web2}"
    status = golive("status")
    assert f"MIXED {mixed}" in status.stdout, status.stdout[-3000:]
    check = golive("check")
    assert check.returncode == 1 and "fleet/releases" in check.stderr + check.stdout
    assert mixed in check.stdout


def test_a_deploy_killed_after_the_canary_switch_is_seen_and_reconciled(app_lab, tmp_path):
    """A deploy killed after the canary switched leaves web1 on v1 and web2 on v2, and its
    lock. status and check say so; the next deploy calls the lock stale and names
    --force-unlock. A rollback with --force-unlock reconciles it (every host back on v2); after a
    second kill, so does a deploy with --force-unlock. Both say what they
    reconciled and why, and the history records the aborted deploys. The recovering deploy's
    webhook refuses connections (nothing listens on port 9 of the loopback): it fails nothing,
    and its secret stays out of the output."""
    holder = kill_after_the_canary_switched(app_lab["v1"], "1.0.0")
    assert_mixed_and_seen("1.0.0", "2.0.0")
    reverted = golive("rollback", "--force-unlock", "--json")
    assert reverted.returncode == 0, reverted.stderr[-3000:]
    reconciled = result_of(reverted)["reconciled"]
    assert reconciled == {"before": {"web1": "1.0.0", "web2": "2.0.0"}, "by": "rollback",
                          "interrupted": holder["id"]}
    all_serve("2.0.0")
    assert "fleet/releases" not in golive("check").stdout

    holder = kill_after_the_canary_switched(app_lab["v1"], "1.0.0")
    refused = deploy(app_lab["v2"])
    assert refused.returncode != 0
    assert f"deploy lock held by deploy {holder['id']}" in refused.stderr
    assert "stale" in refused.stderr and "--force-unlock" in refused.stderr
    dead = tmp_path / "dead-webhook.yml"
    dead.write_text("app_notify_url: http://127.0.0.1:9/hook\n"
                    "app_notify_secret: e2e-dead-webhook-secret-0123\n")
    recovered = golive("deploy", "--artifact", str(app_lab["v2"]), "--force-unlock",
                       "--serial", "100%", "-e", f"@{dead}")
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert "e2e-dead-webhook-secret-0123" not in recovered.stdout + recovered.stderr
    said = " ".join(recovered.stdout.split())
    assert (f"the fleet was on mixed releases (web1 1.0.0, web2 2.0.0), left by the interrupted "
            f"run {holder['id']}; this deploy reconciled it: every web host is on 2.0.0 "
            f"now") in said, recovered.stdout
    record = history("web1")[-1]
    assert record["broken_lock"]["id"] == holder["id"] and record["reconciled"]["by"] == "deploy"
    states = all_serve("2.0.0")
    for state in states.values():  # nothing half-switched: nginx and boot agree
        assert state["upstream"].endswith(
            {"blue": ":8001", "green": ":8002"}[state["enabled"][0]]), states
    assert {r["outcome"] for r in history("web1") if r["id"] == holder["id"]} == {"aborted"}
    assert "fleet/releases" not in golive("check").stdout


def test_breaking_migration_rollback_needs_db_restore(app_lab):
    proc = deploy(app_lab["v3"], "--serial", "100%")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = result_of(proc)
    assert result["migrations"] == [{"id": "0003_items_title", "breaking": True}]
    rows_at_point = int(db("SELECT count(*) FROM items"))
    db("INSERT INTO items (title) VALUES ('written after v3')")
    all_serve("3.0.0")

    refused = golive("rollback", "--json")
    assert refused.returncode == 1
    assert "refused: breaking migration(s) 0003_items_title" in refused.stderr
    all_serve("3.0.0")  # nothing changed

    restored = golive("rollback", "--db-restore", "--yes", "--json")
    assert restored.returncode == 0, restored.stderr[-3000:]
    done = result_of(restored)
    print(f"\ndb restore: writes lost from {done['db_restore']['lost_from']} to "
          f"{done['db_restore']['lost_to']} ({done['db_restore']['lost_window_s']} s)")
    all_serve("2.0.0")
    columns = db("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM "
                 "information_schema.columns WHERE table_name = 'items'")
    assert columns == "created_at,id,name,tags"
    assert int(db("SELECT count(*) FROM items")) == rows_at_point
    assert "0003_items_title" not in db("SELECT string_agg(id, ',') FROM schema_migrations")
    assert sh("web1", "test -e /etc/nginx/golive/maintenance").returncode == 1


def test_a_failure_in_the_second_batch_reverts_the_canary(app_lab):
    proc = deploy(app_lab["v2-web2-health"], "--serial", "1,100%")
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["outcome"] == "rolled_back"
    assert [(f["host"], f["phase"]) for f in result["failures"]] == [("web2", "start")]
    # web1 had switched (canary) and was put back
    assert "switch" in result["hosts"]["web1"]["phases_s"]
    all_serve("2.0.0")


def test_maintenance_on_answers_503_with_retry_after_everywhere_and_off_fails_nothing(app_lab):
    on = golive("maintenance", "on", "-m", "database upgrade until 10:00 UTC")
    assert on.returncode == 0, on.stderr[-3000:]
    assert all(f"{h}: maintenance on, drained" in on.stdout for h in WEB), on.stdout
    for host in WEB:
        out = subprocess.run(
            ["curl", "-sk", "-D", "-", f"https://{ADDRESSES[host]}/api/items"],
            capture_output=True, text=True, timeout=30, check=False).stdout
        head, _, body = out.replace("\r", "").partition("\n\n")
        assert head.startswith("HTTP/") and " 503" in head.splitlines()[0], head
        assert "retry-after: 30" in head.lower(), head
        assert json.loads(body) == {**json.loads(body), "status": "maintenance",
                                    "message": "database upgrade until 10:00 UTC"}
        for path, code in (("/edge-health", "200"), ("/health", "200")):
            got = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                                  f"https://{ADDRESSES[host]}{path}"], capture_output=True,
                                 text=True, timeout=30, check=False).stdout
            assert got == code, (host, path, got)
    off = golive("maintenance", "off")
    assert off.returncode == 0 and "maintenance off, serving" in off.stdout
    with Load(rate=60) as load:
        time.sleep(8)
        report = load.stop()
    assert report["sent"] >= 400 and report["failed"] == 0, report["failures"]


def releases(host):
    """The release directories and uploaded artifacts on HOST."""
    return sh(host, f"ls {APP_ROOT}/releases {APP_ROOT}/.deploy/artifacts").stdout.split()


def refused_before_anything_changed(artifact, words, *extra):
    """Deploy ARTIFACT: refused by a preflight naming all WORDS (exit 5), and nothing changed:
    no lock taken, nothing uploaded or unpacked, nothing served differently, no history
    record. Returns the deploy's process."""
    before = {h: (served(h), releases(h)) for h in WEB}
    records = len(history("web1"))
    proc = deploy(artifact, *extra)
    assert_refused_in_preflight(proc, words)
    assert {h: (served(h), releases(h)) for h in WEB} == before
    assert len(history("web1")) == records
    assert sh("web1", f"test -e {APP_ROOT}/.deploy/lock").returncode == 1
    return proc


BAD_INPUT = {
    "ratio": ({"app_watch_max_5xx_ratio": 2}, ["app_watch_max_5xx_ratio 0-1 (got 2)"]),
    "ports": ({"app_ports": {"blue": 8001, "green": 8001}},
              ["app_ports {blue: N, green: M} with two distinct ports 1024-65535"]),
    "secret": ({"app_notify_url": "http://127.0.0.1:9/hook",
                "app_notify_secret": "too-short-e2e"},
               ["with a URL, app_notify_secret of at least 16 characters"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_deploy_input_is_refused_before_anything_changes(app_lab, case, tmp_path):
    """Exit 5, every failed task a preflight naming the variable and what is allowed, no host
    changed: no lock taken, no release, nothing served differently, no history record."""
    extra, words = BAD_INPUT[case]
    varsfile = tmp_path / "bad.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    proc = refused_before_anything_changed(app_lab["v2"], words, "-e", f"@{varsfile}")
    assert "too-short-e2e" not in proc.stdout + proc.stderr


def test_an_artifact_without_wheels_for_the_hosts_python_is_refused_before_anything_changes(
        app_lab, tmp_path):
    """The web hosts run Debian 13 (Python 3.13); an artifact built for 3.11 only is refused by
    the deploy's preflight, naming a host, its Python and the artifact's: exit 5, no lock, no
    release, nothing served differently, no history record."""
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "app" / "build.py"),
                           "--version", "2.4.0", "--python", "3.11", "--out", str(tmp_path)],
                          capture_output=True, text=True, check=True, timeout=600)
    artifact = json.loads(proc.stdout.strip().splitlines()[-1])["artifact"]
    proc = refused_before_anything_changed(
        artifact, ["runs Python 3.13", "has wheels for Python 3.11 only"])
    message = " ".join(f["msg"] for f in as_json(proc)["failed_tasks"])
    assert "web1 runs Python 3.13" in message or "web2 runs Python 3.13" in message, message
