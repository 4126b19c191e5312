"""Edge tier end to end: first issuance under a request loop, a plain renewal swapped in without
a failed request, a failed renewal made visible, a renewed-but-not-loaded certificate reported,
a broken nginx config that never goes live, and the TLS profile seen by sslyze."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import (
    ROOT,
    as_json,
    assert_refused_in_preflight,
    changed_by_host,
    container,
    converge_settled,
    golive,
    podman,
)

WEB = ("web1", "web2")
STUB = ROOT / "tests" / "fixtures" / "stub-upstream"
LOOP = "/usr/local/bin/golive-request-loop"
MARKER = "/var/lib/golive/tls/renewal-failed"
FAILURE_COMMAND_RAN = "/var/lib/golive/tls/lab-failure-command-ran"


def sh(host, script, timeout=120):
    proc = podman("exec", container(host), "bash", "-c", script, timeout=timeout)
    return proc


def start_stub(host):
    """A stand-in app on 8001 (nginx's first upstream), unless something answers there already
    (the sample app, deployed by the demo, runs on its blue or green port)."""
    podman("exec", container(host), "mkdir", "-p", "/srv/golive-stub")
    assert podman("cp", f"{STUB}/.", f"{container(host)}:/srv/golive-stub/").returncode == 0
    sh(host, "ss -Hltn 'sport = :8001' | grep -q . || systemctl is-active -q golive-stub-upstream"
             " || systemd-run --unit golive-stub-upstream python3 -m http.server 8001 "
             "--bind 127.0.0.1 --directory /srv/golive-stub")


def pebble_root(tmp_path) -> Path:
    """Pebble's current root (it makes a new one at every start), fetched through web1."""
    out = sh("web1", "curl -fsS --cacert /etc/golive/tls/acme-ca.pem https://acme:15000/roots/0")
    assert out.returncode == 0, out.stderr
    path = tmp_path / f"pebble-root-{time.monotonic_ns()}.pem"
    path.write_text(out.stdout)
    return path


def serials(host):
    """(serial on disk, serial served on :443) as openssl prints them."""
    out = sh(host, f"openssl x509 -noout -serial -in /etc/golive/tls/{host}/fullchain.pem; "
                   f"echo | openssl s_client -connect 127.0.0.1:443 -servername {host} "
                   f"2>/dev/null | openssl x509 -noout -serial")
    lines = [x.split("=", 1)[1] for x in out.stdout.split() if x.startswith("serial=")]
    return tuple(lines) if len(lines) == 2 else (None, None)


def start_loop(host, seconds, url="https://127.0.0.1/edge-health", rate=25):
    """A bounded request loop inside HOST (RATE requests/s for SECONDS); returns the Popen."""
    script = (ROOT / "tests" / "scripts" / "request_loop.py")
    assert podman("cp", str(script), f"{container(host)}:{LOOP}").returncode == 0
    return podman("exec", container(host), "python3", LOOP, url, str(seconds), str(rate),
                  popen=True)


def loop_result(proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def edge_converged(lab):
    return converge_settled("--only", "edge")


@pytest.fixture(scope="module")
def edge(lab, edge_converged):
    """The stand-in upstream where no app runs, for this module only; the stand-ins stop on the
    way out (the monitoring drills after this module stop the app and expect 502s)."""
    for host in WEB:
        start_stub(host)
    yield lab
    for host in WEB:
        sh(host, "systemctl stop golive-stub-upstream 2>/dev/null; true")


def served_version(host):
    """The X-App-Version nginx serves on HOST's /health ('' without one)."""
    out = sh(host, "curl -sk -o /dev/null -D - https://127.0.0.1/health").stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines()
                 if line.lower().startswith("x-app-version:")), "")


def test_second_edge_converge_and_check_mode_change_nothing(edge, edge_converged):
    assert set(changed_by_host(edge_converged).values()) == {0}, edge_converged["hosts"]
    proc = golive("converge", "--only", "edge", "--json", "--check")
    assert proc.returncode == 0, proc.stderr
    assert set(changed_by_host(as_json(proc)).values()) == {0}, as_json(proc)["hosts"]


def test_https_answers_with_pebbles_certificate_hsts_and_308(edge, tmp_path):
    root = pebble_root(tmp_path)
    remote = "/tmp/pebble-root.pem"
    for host in WEB:
        assert podman("cp", str(root), f"{container(host)}:{remote}").returncode == 0
        out = sh(host, f"curl -sS -o /dev/null -D - --cacert {remote} https://{host}/health; "
                       f"curl -sS -o /dev/null -D - --cacert {remote} https://{host}/nope; "
                       f"curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' "
                       f"http://{host}/api/x")
        assert out.returncode == 0, out.stderr
        text = out.stdout.lower()
        assert "http/2 200" in text and "http/2 404" in text, text
        assert text.count("strict-transport-security: max-age=63072000; includesubdomains") == 2
        assert text.rstrip().endswith(f"308 https://{host}/api/x")


def test_cors_preflights_are_answered_for_listed_origins_and_refused_for_others(edge):
    """From web2 to web1 (another host): a preflight from the lab's listed origin gets 204 with
    the allowed methods, headers and max-age and never reaches the app; one from any other
    origin gets 403 and no CORS header; a plain request from the listed origin has it echoed."""
    def ask(method, origin, extra=""):
        out = sh("web2", f"curl -sk -o /dev/null -D - -X {method} -H 'Origin: {origin}' "
                         f"{extra} https://web1/api/items")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.lower().splitlines()
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return status, headers

    preflight = ("-H 'Access-Control-Request-Method: PUT' "
                 "-H 'Access-Control-Request-Headers: content-type'")
    status, headers = ask("OPTIONS", "https://app.golive.test", preflight)
    assert status == 204, headers
    assert headers["access-control-allow-origin"] == "https://app.golive.test"
    assert "put" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"]
    assert int(headers["access-control-max-age"]) > 0
    assert "x-app-version" not in headers  # nginx answered, not the app
    status, headers = ask("OPTIONS", "https://evil.example", preflight)
    assert status == 403, headers
    assert not any(h.startswith("access-control-") for h in headers), headers
    status, headers = ask("GET", "https://app.golive.test")
    assert headers.get("access-control-allow-origin") == "https://app.golive.test", headers
    assert "access-control-allow-methods" not in headers  # only on a preflight's answer
    status, headers = ask("GET", "https://evil.example")
    assert "access-control-allow-origin" not in headers, headers


def test_nginx_t_is_warning_free_on_the_hosts_nginx(edge):
    """nginx >= 1.25.1 (Debian 13) warns about `listen ... http2`; golive writes `http2 on;`
    there and the listen flag on 1.22 (Debian 12): `nginx -t` says only that all is well."""
    for host in WEB:
        out = sh(host, "nginx -v 2>&1; nginx -t 2>&1")
        assert out.returncode == 0, out.stdout
        version, *test = out.stdout.splitlines()
        noise = [x for x in test if not x.endswith(("syntax is ok", "test is successful"))]
        assert noise == [], (host, version, out.stdout)


def test_first_issuance_on_a_fresh_host_with_a_request_loop(edge, tmp_path):
    """web2 loses nginx, certbot and every certificate; a converge brings them back. A loop
    inside web2 (25 req/s) runs through the converge: once nginx first answers, nothing fails.
    The rebuilt nginx serves the release the app runs (its upstream seeded from the deploys'
    copy), not the first install's upstream."""
    version = served_version("web2")
    assert version, "web2 serves no app release: the e2e suite runs after a deploy (make demo)"
    wipe = sh("web2", "systemctl stop nginx; apt-get purge -y -qq nginx nginx-common certbot "
                      ">/dev/null; rm -rf /etc/nginx /etc/letsencrypt /etc/golive/tls/web2 "
                      "/run/golive-nginx-candidate", timeout=300)
    assert wipe.returncode == 0, wipe.stderr
    loop = start_loop("web2", 240)
    try:
        proc = golive("converge", "--only", "edge", "-l", "web2,acme", "--json")
        assert proc.returncode == 0, proc.stderr
        time.sleep(3)
    finally:
        sh("web2", f"pkill -f {LOOP}")
    result = loop_result(loop, 60)
    print("request loop through the first converge:", result)
    assert result["ok"] > 0, result
    assert result["failed_after_first_ok"] == 0, result
    root = pebble_root(tmp_path)
    assert podman("cp", str(root), f"{container('web2')}:/tmp/pebble-root.pem").returncode == 0
    out = sh("web2", "curl -sS -o /dev/null -w '%{http_code}' --cacert /tmp/pebble-root.pem "
                     "https://web2/edge-health")
    assert out.stdout == "200", out.stderr
    assert served_version("web2") == version
    start_stub("web2")


def start_pebble():
    """Start Pebble and wait (bounded) until it listens: `systemctl start` returns before."""
    out = sh("acme", "systemctl start pebble; for i in $(seq 1 60); do "
                     "timeout 1 bash -c '</dev/tcp/127.0.0.1/14000' 2>/dev/null && exit 0; "
                     "sleep 0.5; done; exit 1")
    assert out.returncode == 0, "pebble does not listen on 14000 30 s after its start"


def restart_pebble():
    """Pebble forgets every ACME account (and makes new roots) when it restarts: certbot's next
    request gets accountDoesNotExist, which golive-certbot-renew repairs."""
    sh("acme", "systemctl stop pebble")
    start_pebble()


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))


def journal_since(host, since_epoch, args):
    """HOST's journal lines since SINCE_EPOCH (journalctl ARGS, e.g. -t golive-tls)."""
    return sh(host, f"journalctl --no-pager -o cat --since @{int(since_epoch)} {args}").stdout


def wait_served(host, old_serial, seconds=5):
    """(disk, served) once nginx serves a serial other than OLD_SERIAL (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        disk, served = serials(host)
        if disk == served != old_serial or time.monotonic() > deadline:
            return disk, served
        time.sleep(0.2)


def restart_pebble_with(tmp_path, extra):
    varsfile = tmp_path / f"pebble-{time.monotonic_ns()}.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    proc = golive("converge", "--only", "edge", "-l", "acme", "-e", f"@{varsfile}")
    assert proc.returncode == 0, proc.stderr


def tls_status(host):
    proc = golive("tls", "status", "-l", host, "--json")
    return proc, as_json(proc)


def test_failed_renewal_is_surfaced_with_its_reason_and_the_old_certificate_served(edge):
    before = serials("web1")
    sh("web1", f"rm -f {MARKER} {FAILURE_COMMAND_RAN}")
    sh("acme", "systemctl stop pebble")
    try:
        proc = golive("tls", "renew", "-l", "web1", "--json")
        assert proc.returncode == 1, proc.stderr
        status, document = tls_status("web1")
        assert status.returncode == 1, status.stderr
        tls = document["report"]["web1"]["tls"]
        assert tls["renewal_failed"] and tls["status"] == "fail", tls
        reason = tls["renewal_failure"]["reason"]
        assert "Connection refused" in reason, tls  # certbot's error: "Requesting acme/dir: ..."
        assert f"last renewal failed at {tls['renewal_failure']['time']}: {reason}" \
            in tls["problems"], tls
        table = golive("tls", "status", "-l", "web1")
        assert table.returncode == 1 and reason in table.stdout, table.stdout
        # the failure command got the reason (the lab's command writes it down)
        assert sh("web1", f"cat {FAILURE_COMMAND_RAN}").stdout.strip() == reason
        assert serials("web1") == before
    finally:
        start_pebble()
    # Pebble restarted and forgot the account: the timer's unit recovers by itself
    again = golive("tls", "renew", "-l", "web1", "--json")
    assert again.returncode == 0, again.stderr
    assert sh("web1", f"test -e {MARKER}").returncode == 1  # a good run clears it
    assert golive("tls", "status", "-l", "web1").returncode == 0
    # the timer's next run and certbot.service's last result, each its own field (systemctl
    # show's output was once read as one block: the date carried every other line)
    tls = tls_status("web1")[1]["report"]["web1"]["tls"]
    assert re.fullmatch(r"\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+",
                        tls["next_renewal_attempt"]), tls
    assert tls["last_renewal_result"] == "success", tls


def test_a_forgotten_acme_account_is_registered_again_by_golive_tls_renew(edge):
    """Issue 20, 1: Pebble restarted (its accounts gone); `golive tls renew --force` alone
    registers a new account, renews, and nginx serves the new serial."""
    old = serials("web1")[1]
    restart_pebble()
    started, since = utc_now(), time.time() - 1
    proc = golive("tls", "renew", "--force", "-l", "web1", "--json")
    assert proc.returncode == 0, proc.stderr
    renew = as_json(proc)["report"]["web1"]["tls_renew"]
    assert renew["renewed"], renew
    event = renew["account_reregistered"]
    assert event["time"] >= started and "accountDoesNotExist" in event["reason"], event
    disk, served = wait_served("web1", old)
    assert disk == served != old, (disk, served, old)
    logged = journal_since("web1", since, "-t golive-tls")
    assert logged.count("registered account") == 1, logged
    status, document = tls_status("web1")
    assert status.returncode == 0, status.stderr
    assert document["report"]["web1"]["tls"]["account_reregistered"] == event
    table = golive("tls", "status", "-l", "web1").stdout
    assert f"ACME account registered again at {event['time']}" in table, table


def test_a_converge_registers_a_forgotten_account_before_a_renewal_needs_it(edge):
    """The same restart; an edge converge looks web2's account up, registers a new one (in
    check mode it only says so), and the renewal after it needs no second attempt."""
    listing = "ls -R /etc/letsencrypt/accounts"
    restart_pebble()
    started, since = utc_now(), time.time() - 1
    accounts = sh("web2", listing).stdout
    check = golive("converge", "--only", "edge", "-l", "web2", "--check", "--json")
    assert check.returncode == 0 and changed_by_host(as_json(check))["web2"] >= 1, check.stdout
    assert sh("web2", listing).stdout == accounts  # check mode changed nothing
    proc = golive("converge", "--only", "edge", "-l", "web2", "--json")
    assert proc.returncode == 0 and changed_by_host(as_json(proc))["web2"] == 1, proc.stdout
    event = tls_status("web2")[1]["report"]["web2"]["tls"]["account_reregistered"]
    assert event["time"] >= started and "accountDoesNotExist" in event["reason"], event
    renew = golive("tls", "renew", "--force", "-l", "web2", "--json")
    assert renew.returncode == 0, renew.stderr
    logged = journal_since("web2", since, "-t golive-tls")
    assert logged.count("registered account") == 1 and ": attempt 2" not in logged, logged


def test_the_timers_renewal_recovers_a_forgotten_account_by_itself(edge):
    """Issue 20, 2: the same restart, then only what certbot.timer triggers (certbot.service)."""
    old = serials("web1")[1]
    restart_pebble()
    started = utc_now()
    assert sh("web1", "systemctl start certbot.service", timeout=180).returncode == 0
    disk, served = wait_served("web1", old)
    assert disk == served != old, (disk, served, old)
    tls = tls_status("web1")[1]["report"]["web1"]["tls"]
    assert tls["account_reregistered"]["time"] >= started, tls
    assert tls["last_renewal_result"] == "success" and not tls["renewal_failed"], tls


def test_a_refused_authorization_is_reported_once_and_registers_nothing(edge):
    """Issue 20, 4: HTTP-01 blocked on web1 (nginx may not read the ACME webroot, so Pebble's
    validation gets 403): the failure names the refusal, certbot ran once, Pebble saw one
    order, and no account was registered. (web1's account is known: the test before renewed
    with it after Pebble's last restart.)"""
    before = serials("web1")
    accounts = sh("web1", "ls -R /etc/letsencrypt/accounts; "
                          "cat /var/lib/golive/tls/account-reregistered.json").stdout
    since = time.time() - 1
    sh("web1", "chmod 000 /var/www/golive-acme")
    try:
        proc = golive("tls", "renew", "--force", "-l", "web1", "--json")
    finally:
        sh("web1", "chmod 755 /var/www/golive-acme")
    assert proc.returncode == 1, proc.stderr
    failure = tls_status("web1")[1]["report"]["web1"]["tls"]["renewal_failure"]
    assert failure["type"] == "unauthorized" and "403" in failure["reason"], failure
    assert journal_since("web1", since, "-t golive-tls").count(": attempt") == 1
    assert journal_since("acme", since, "-u pebble").count("POST /order-plz") == 1
    assert sh("web1", "ls -R /etc/letsencrypt/accounts; "
                      "cat /var/lib/golive/tls/account-reregistered.json").stdout == accounts
    assert serials("web1") == before
    assert golive("tls", "renew", "-l", "web1").returncode == 0  # unblocked: renews, clears


def test_plain_renew_swaps_the_served_certificate_and_a_second_renew_changes_nothing(
        edge, tmp_path):
    """A 20-day certificate is inside certbot's 30-day window, so a plain renew renews it. To
    show that a second renew then changes nothing, Pebble issues 60-day certificates for this
    test (a restart, hence a new root); the default comes back at the end."""
    try:
        restart_pebble_with(tmp_path, {"pebble_certificate_validity_seconds": 5184000})
        old_disk, old_served = serials("web1")
        assert old_disk == old_served
        loop = start_loop("web1", 60, url="https://127.0.0.1/health")
        time.sleep(2)
        renew = golive("tls", "renew", "-l", "web1", "--json")
        done = time.monotonic()
        assert renew.returncode == 0, renew.stderr
        assert as_json(renew)["report"]["web1"]["tls_renew"]["renewed"], renew.stdout
        while time.monotonic() - done < 5:
            disk, served = serials("web1")
            if disk == served != old_served:
                break
            time.sleep(0.2)
        swapped_after = time.monotonic() - done
        assert disk == served and disk != old_disk, (disk, served, old_disk)
        assert swapped_after <= 5
        time.sleep(3)
        sh("web1", f"pkill -f {LOOP}")
        result = loop_result(loop, 30)
        print("request loop across the renewal:", result, f"served swap {swapped_after:.2f}s")
        assert result["failed"] == 0 and result["rate"] >= 20, result
        second = golive("tls", "renew", "-l", "web1", "--json")
        assert second.returncode == 0
        assert not as_json(second)["report"]["web1"]["tls_renew"]["renewed"]
        assert serials("web1") == (disk, disk)
        # web1 only: web2's account is still the one the restarted Pebble forgot, and a
        # converge registers it again (changed), as test_a_converge_registers_... shows
        again = golive("converge", "--only", "edge", "-l", "web1", "--json")
        assert again.returncode == 0 and set(changed_by_host(as_json(again)).values()) == {0}
    finally:
        # Pebble back to 20-day certificates; its restart made a new root, so every web host
        # renews (--force) to serve a chain the current root verifies, as later tests expect.
        restart_pebble_with(tmp_path, {})
        forced = golive("tls", "renew", "--force", "--json")
        assert forced.returncode == 0, forced.stderr
        assert all(r["tls_renew"]["renewed"] for r in as_json(forced)["report"].values())


def test_renewed_but_not_loaded_certificate_is_reported(edge):
    """certbot renews on disk but no hook reloads nginx (the commcare PR #2690 failure): the
    status command sees the served serial differ from the one on disk."""
    out = sh("web1", "REQUESTS_CA_BUNDLE=/etc/golive/tls/acme-ca.pem certbot renew -q "
                     "--force-renewal --no-directory-hooks --cert-name web1 "
                     "--no-random-sleep-on-renew", timeout=180)
    assert out.returncode == 0, out.stderr
    try:
        proc, document = tls_status("web1")
        assert proc.returncode == 1
        tls = document["report"]["web1"]["tls"]
        assert tls["serial_match"] is False, tls
        assert any("differs from the serial on disk" in p for p in tls["problems"]), tls
    finally:
        sh("web1", "nginx -t -q && systemctl reload nginx")
    time.sleep(1)
    assert tls_status("web1")[0].returncode == 0


def test_broken_nginx_config_never_goes_live(edge, tmp_path):
    before = sh("web1", "cat /etc/nginx/nginx.conf /etc/nginx/golive/*.conf | md5sum").stdout
    varsfile = tmp_path / "bad.yml"
    varsfile.write_text(yaml.safe_dump({"nginx_extra_http_config": "bogus_directive on;"}))
    proc = golive("converge", "--only", "edge", "-l", "web1", "-e", f"@{varsfile}", "--json")
    assert proc.returncode == 1, proc.stderr
    message = " ".join(f["msg"] for f in as_json(proc)["failed_tasks"])
    assert "nginx -t rejected" in message and "bogus_directive" in message, message
    assert sh("web1", "cat /etc/nginx/nginx.conf /etc/nginx/golive/*.conf | md5sum").stdout \
        == before
    assert sh("web1", "nginx -t -q").returncode == 0
    out = sh("web1", "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1/health")
    assert out.stdout == "200"


@pytest.mark.parametrize(("extra", "words"), [
    ({"nginx_rate_limits": [{"name": "api", "rate": "fast", "burst": 5}]},
     ["nginx_rate_limits", "a rate like 50r/m"]),
    ({"tls_renew_before_days": 120}, ["tls_renew_before_days 1-89", "120"]),
    ({"nginx_ssl_protocols": ["TLSv1", "TLSv1.2"]}, ["nginx_ssl_protocols may only hold"]),
])
def test_bad_input_fails_in_preflight_before_any_change(edge, extra, words, tmp_path):
    varsfile = tmp_path / "bad.yml"
    varsfile.write_text(yaml.safe_dump(extra))
    assert_refused_in_preflight(
        golive("converge", "--only", "edge", "-l", "web1,web2", "-e", f"@{varsfile}",
               "--json"), words)


def test_sslyze_mozilla_intermediate(edge, tmp_path):
    """sslyze's Mozilla intermediate check against web1's address on the lab network, the
    certificate path validated against Pebble's current root."""
    from golive import lab

    address = next(h.address for h in lab.lab_hosts() if h.name == "web1")
    proc = subprocess.run([str(Path(sys.executable).parent / "sslyze"),
                           "--mozilla_config=intermediate",
                           f"--certinfo_ca_file={pebble_root(tmp_path)}", f"web1:443{{{address}}}"],
                          capture_output=True, text=True, timeout=300, check=False)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-3000:]
