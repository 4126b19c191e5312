"""roles/tls/files/golive-certbot-renew: why a renewal failed, which failures make a new ACME
registration (account-level only), and that a run retries at most once. certbot is replaced by
a recorded fake; the letsencrypt tree and golive's state live in tmp_path."""

import json
import os
from pathlib import Path

import pytest

from .conftest import ROOT, load_script

SCRIPT = ROOT / "roles" / "tls" / "files" / "golive-certbot-renew"
SERVER = "https://acme:14000/dir"
GONE = ("An unexpected error occurred:\n"
        "urn:ietf:params:acme:error:accountDoesNotExist :: The request specified an account "
        "that does not exist :: Account https://acme:14000/my-account/1f2e not found.\n")
UNAUTHORIZED = ("Certbot failed to authenticate some domains (authenticator: webroot). The "
                "Certificate Authority reported these problems:\n  Domain: web1\n"
                "  Type:   unauthorized\n  Detail: Non-200 status code from HTTP: "
                "http://web1:80/.well-known/acme-challenge/x returned 403\n\nHint: ...\n"
                "Failed to renew certificate web1 with error: Some challenges have failed.\n")
RATE = ("urn:ietf:params:acme:error:rateLimited :: There were too many requests of a given type"
        " :: too many certificates (5) already issued for this exact set of domains\n")
DOWN = ("Failed to renew certificate web1 with error: HTTPSConnectionPool(host='acme', "
        "port=14000): Max retries exceeded (Caused by NewConnectionError: Connection refused)\n"
        "All renewals failed. The following certificates could not be renewed:\n"
        "  /etc/letsencrypt/live/web1/fullchain.pem (failure)\n"
        "1 renew failure(s), 0 parse failure(s)\n")


@pytest.fixture
def w(tmp_path, monkeypatch):
    module = load_script(SCRIPT, "golive_certbot_renew")
    le, state = tmp_path / "letsencrypt", tmp_path / "state"
    monkeypatch.setattr(module, "LETSENCRYPT", str(le))
    monkeypatch.setattr(module, "STATE_DIR", str(state))
    monkeypatch.setattr(module, "MARKER", str(state / "renewal-failed"))
    monkeypatch.setattr(module, "REREGISTERED", str(state / "account-reregistered.json"))
    monkeypatch.setattr(module, "STALE_ACCOUNTS", str(state / "stale-accounts"))
    monkeypatch.setattr(module, "log", lambda message, priority=0: module.LOGGED.append(message))
    module.LOGGED = []
    (le / "renewal").mkdir(parents=True)
    (le / "renewal" / "web1.conf").write_text(
        "version = 2.1.0\narchive_dir = /x\n\n[renewalparams]\naccount = oldid\n"
        f"server = {SERVER}\nauthenticator = webroot\n")
    (le / "accounts" / "acme:14000" / "dir" / "oldid").mkdir(parents=True)
    module.SETTINGS = {"cert_name": "web1", "server": SERVER, "email": "ops@example.org",
                       "ca_file": ""}
    return module


def test_other_certificates_keep_their_accounts_and_share_the_new_one_if_they_used_the_old(
        w, monkeypatch):
    le = Path(w.LETSENCRYPT)
    (le / "accounts" / "acme:14000" / "dir" / "otherid").mkdir()
    (le / "renewal" / "api.conf").write_text("[renewalparams]\naccount = oldid\n")
    (le / "renewal" / "www.conf").write_text("[renewalparams]\naccount = otherid\n")
    created = []

    def run(argv, settings):
        if argv[0] == "register":
            created.append(sorted(w.account_ids(SERVER)))  # none while certbot registers
            os.makedirs(f"{w.accounts_dir(SERVER)}/newid")
            return 0, "Account registered.", ""
        raise AssertionError(argv)

    monkeypatch.setattr(w, "run_certbot", run)
    assert w.reregister(w.SETTINGS, "accountDoesNotExist") == "newid"
    assert created == [[]]
    assert w.account_ids(SERVER) == {"newid", "otherid"}
    assert [w.configured_account(n) for n in ("web1", "api", "www")] == [
        "newid", "newid", "otherid"]


def fake_certbot(w, monkeypatch, results):
    """certbot answers RESULTS in order ((returncode, output)); `register` creates newid."""
    calls = []

    def run(argv, settings):
        calls.append(argv)
        if argv[0] == "register":
            os.makedirs(f"{w.accounts_dir(SERVER)}/newid", exist_ok=True)
            return 0, "Account registered.", ""
        returncode, output = results.pop(0)
        return returncode, output, ""

    monkeypatch.setattr(w, "run_certbot", run)
    return calls


def test_an_acme_error_is_the_reason_with_its_type_and_detail(w):
    fail = w.failure(GONE, 1)
    assert fail["type"] == "accountDoesNotExist"
    assert "Account https://acme:14000/my-account/1f2e not found" in fail["reason"]
    assert w.account_level(fail)
    assert w.failure(UNAUTHORIZED, 1)["type"] == "unauthorized"
    assert "403" in w.failure(UNAUTHORIZED, 1)["detail"]
    assert not w.account_level(w.failure(UNAUTHORIZED, 1))
    assert not w.account_level(w.failure(RATE, 1))


def test_only_this_runs_part_of_certbots_log_is_read(w, monkeypatch, tmp_path):
    """certbot appends to letsencrypt.log: an old run's accountDoesNotExist must not make a
    refused authorization look like a lost account."""
    log = tmp_path / "letsencrypt.log"
    log.write_text('{"type": "urn:ietf:params:acme:error:accountDoesNotExist"}\n')
    monkeypatch.setattr(w, "CERTBOT_LOG", str(log))

    def certbot(argv, **kwargs):
        with log.open("a") as handle:
            handle.write('"type": "urn:ietf:params:acme:error:unauthorized",\n'
                         '   "detail": "returned 403",\n')
        return type("Done", (), {"returncode": 1, "stdout": "", "stderr": "failed"})()

    monkeypatch.setattr(w.subprocess, "run", certbot)
    returncode, output, certbot_log = w.run_certbot(["renew"], {})
    assert "accountDoesNotExist" not in certbot_log
    fail = w.failure(output, returncode, certbot_log)
    assert fail["type"] == "unauthorized" and fail["reason"] == "unauthorized: returned 403"


def test_without_an_acme_error_the_reason_is_certbots_last_error_line(w):
    fail = w.failure(DOWN, 1)
    assert fail["type"] == "" and fail["reason"].startswith("HTTPSConnectionPool(host='acme'")
    assert "Connection refused" in fail["reason"]
    assert w.failure("Something failed\n1 renew failure(s), 0 parse failure(s)\n", 1)[
        "reason"] == "Something failed"
    assert w.failure("", 3)["reason"] == "certbot exited with 3"
    missing = w.failure("Account at /etc/letsencrypt/accounts/x/y does not exist", 1)
    assert w.account_level(missing)


def test_accounts_dir_follows_certbots_layout(w):
    assert w.accounts_dir(SERVER).endswith("/accounts/acme:14000/dir")
    assert w.accounts_dir("https://acme-v02.api.letsencrypt.org/directory").endswith(
        "/accounts/acme-v02.api.letsencrypt.org/directory")


def test_a_lost_account_is_registered_again_and_the_renewal_retried_once(w, monkeypatch):
    calls = fake_certbot(w, monkeypatch, [(1, GONE), (0, "Congratulations")])
    assert w.renew(w.SETTINGS, force=True) == 0
    assert [c[0] for c in calls] == ["renew", "register", "renew"]
    assert "--force-renewal" in calls[0] and "--email" in calls[1]
    assert "account = newid" in Path(w.renewal_conf("web1")).read_text()
    record = json.loads(Path(w.REREGISTERED).read_text())
    assert record["old_account"] == "oldid" and record["new_account"] == "newid"
    assert "accountDoesNotExist" in record["reason"]
    stale = list(Path(w.STALE_ACCOUNTS).iterdir())
    assert [p.name.endswith("-oldid") for p in stale] == [True]
    assert not os.path.exists(w.MARKER)


def test_a_refused_authorization_is_reported_after_one_attempt(w, monkeypatch):
    calls = fake_certbot(w, monkeypatch, [(1, UNAUTHORIZED)])
    assert w.renew(w.SETTINGS, force=False) == 1
    assert [c[0] for c in calls] == ["renew"]
    marker = json.loads(Path(w.MARKER).read_text())
    assert marker["type"] == "unauthorized" and "403" in marker["reason"]
    assert marker["reregistered_account"] == ""
    assert not os.path.exists(w.REREGISTERED)


def test_rate_limits_are_never_retried(w, monkeypatch):
    calls = fake_certbot(w, monkeypatch, [(1, RATE)])
    assert w.renew(w.SETTINGS, force=True) == 1
    assert len(calls) == 1
    assert "rateLimited" in json.loads(Path(w.MARKER).read_text())["reason"]


def test_a_second_account_failure_after_registering_is_not_retried_again(w, monkeypatch):
    calls = fake_certbot(w, monkeypatch, [(1, GONE), (1, GONE)])
    assert w.renew(w.SETTINGS, force=True) == 1
    assert [c[0] for c in calls] == ["renew", "register", "renew"]
    assert json.loads(Path(w.MARKER).read_text())["reregistered_account"] == "newid"


def test_a_failed_registration_puts_the_old_account_back(w, monkeypatch):
    calls = []

    def run(argv, settings):
        calls.append(argv[0])
        return (1, GONE, "") if argv[0] == "renew" else (1, DOWN, "")

    monkeypatch.setattr(w, "run_certbot", run)
    assert w.renew(w.SETTINGS, force=True) == 1
    assert calls == ["renew", "register"]
    assert w.account_ids(SERVER) == {"oldid"}
    assert "account = oldid" in Path(w.renewal_conf("web1")).read_text()
    assert "registering a new ACME account" in json.loads(Path(w.MARKER).read_text())["reason"]


def test_success_clears_the_marker(w, monkeypatch):
    fake_certbot(w, monkeypatch, [(1, DOWN), (0, "")])
    assert w.renew(w.SETTINGS, force=False) == 1
    assert os.path.exists(w.MARKER)
    assert w.renew(w.SETTINGS, force=False) == 0
    assert not os.path.exists(w.MARKER)


def test_ensure_account(w, monkeypatch):
    fake_certbot(w, monkeypatch, [(0, "Account details for server")])
    assert w.ensure_account(w.SETTINGS, check=False) == {
        "changed": False, "account": "oldid", "status": "known"}
    fake_certbot(w, monkeypatch, [(1, DOWN)])
    result = w.ensure_account(w.SETTINGS, check=False)
    assert not result["changed"] and result["status"].startswith("not checked")
    fake_certbot(w, monkeypatch, [(1, GONE)])
    result = w.ensure_account(w.SETTINGS, check=True)
    assert result["changed"] and w.account_ids(SERVER) == {"oldid"}  # check mode: no change
    calls = fake_certbot(w, monkeypatch, [(1, GONE)])
    result = w.ensure_account(w.SETTINGS, check=False)
    assert result["changed"] and result["account"] == "newid"
    assert [c[0] for c in calls] == ["show_account", "register"]
    os.remove(w.renewal_conf("web1"))
    assert w.ensure_account(w.SETTINGS, check=False)["status"] == "no certificate yet"
