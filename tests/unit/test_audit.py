"""`golive audit`: the prober chosen for each host, the probes it runs, the findings weighed from
a host's facts against the inventory's rules, the secrets picked from the inventory, the
verdict's exit code; and golive.ops.host_audit's readers (sockets from /proc/net/tcp, the
firewall's drift, readable secrets)."""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import tempfile

import pytest
from ansible.errors import AnsibleFilterError

from golive.render import audit_verdict

from .conftest import collection_modules

HOSTS = ["cache1", "db1", "db2", "web1"]
HOSTVARS = {"cache1": {"ansible_host": "10.0.2.11"}, "db1": {"ansible_host": "10.0.1.11"},
            "db2": {"ansible_host": "10.0.1.12", "audit_prober": "web1"},
            "web1": {"ansible_host": "10.0.3.11"}}
# db1's rules as golive.ops.firewall_rules gives them (a drop rule first)
RULES = [
    {"comment": "old subnet", "proto": "tcp", "ports": [6432], "action": "reject", "any": False,
     "v4": ["10.0.9.0/24"], "v6": []},
    {"comment": "ssh", "proto": "tcp", "ports": [22], "action": "accept", "any": False,
     "v4": ["10.0.0.1/32"], "v6": []},
    {"comment": "postgresql from db", "proto": "tcp", "ports": [5432], "action": "accept",
     "any": False, "v4": ["10.0.1.11/32", "10.0.1.12/32"], "v6": []},
    {"comment": "pgbouncer from web", "proto": "tcp", "ports": [6432], "action": "accept",
     "any": False, "v4": ["10.0.3.0/24", "10.0.9.0/24"], "v6": []},
]
FACTS = {
    "listening": [
        {"address": "0.0.0.0", "port": 22, "process": "sshd", "family": 4},
        {"address": "::", "port": 22, "process": "sshd", "family": 6},
        {"address": "0.0.0.0", "port": 5432, "process": "postgres", "family": 4},
        {"address": "10.0.1.11", "port": 6432, "process": "pgbouncer", "family": 4},
        {"address": "127.0.0.1", "port": 9090, "process": "prometheus", "family": 4},
        {"address": "0.0.0.0", "port": 40123, "process": "nc", "family": 4},
    ],
    "firewall": {"table": True, "applied_known": True, "drift": []},
    "sshd": {"permitrootlogin": "no", "passwordauthentication": "no",
             "kbdinteractiveauthentication": "no"},
    "updates": {"security": [], "other": ["vim"], "lists_age_s": 60,
                "reboot": {"required": False, "packages": []}, "error": None},
    "secret_files": [],
}


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    with collection_modules(tmp_path_factory, audit="filter.audit",
                            host="modules.host_audit") as found:
        yield found


def probe(port, ok):
    return {"name": f"db1 tcp/{port}", "status": "ok" if ok else "fail"}


def test_each_host_is_probed_by_the_next_one_or_the_one_it_names(ns):
    a = ns.audit
    assert [a.audit_prober(HOSTS, h) for h in HOSTS] == ["db1", "db2", "web1", "cache1"]
    assert a.audit_prober(HOSTS, "db2", "web1") == "web1"
    assert a.audit_prober(["db1"], "db1") == ""
    with pytest.raises(AnsibleFilterError, match="audit_prober of db1: 'nosuch' is not a host"):
        a.audit_prober(HOSTS, "db1", "nosuch")
    with pytest.raises(AnsibleFilterError, match="cannot probe itself"):
        a.audit_prober(HOSTS, "db1", "db1")


def test_a_prober_connects_to_every_port_its_hosts_expose_beyond_loopback(ns):
    hostvars = {h: dict(v) for h, v in HOSTVARS.items()}
    hostvars["db1"]["__audit_host"] = FACTS
    checks = ns.audit.audit_probes(hostvars, HOSTS, "db2")  # db2 probes db1
    assert [(c["name"], c["host"], c["port"]) for c in checks] == [
        ("db1 tcp/22", "10.0.1.11", 22), ("db1 tcp/5432", "10.0.1.11", 5432),
        ("db1 tcp/6432", "10.0.1.11", 6432), ("db1 tcp/40123", "10.0.1.11", 40123)]
    assert {c["type"] for c in checks} == {"tcp"}
    assert ns.audit.audit_probes(hostvars, HOSTS, "web1") == []  # db2 names web1; nothing listens


def test_a_port_open_to_a_host_the_inventory_does_not_allow_is_high(ns):
    probes = [probe(22, False), probe(5432, True), probe(6432, False), probe(40123, True)]
    report = ns.audit.audit_report(FACTS, probes, RULES, "db2", "10.0.1.12")
    ports = {p["port"]: p for p in report["ports"]}
    assert ports[5432]["exposed"] and ports[5432]["allowed"]
    assert ports[5432]["rule"] == "postgresql from db"
    assert ports[22]["exposed"] is False and ports[22]["addresses"] == ["0.0.0.0", "::"]
    assert ports[9090]["loopback_only"] and ports[9090]["exposed"] is None
    assert report["findings"] == [{
        "severity": "high", "kind": "exposed",
        "what": "tcp/40123 (nc) answers db2 (10.0.1.12), which the inventory's firewall does "
                "not allow (no rule (inbound dropped))"}]


def test_the_first_matching_rule_decides_as_in_the_ruleset(ns):
    # 10.0.9.5 is in both the reject rule and the pgbouncer allow-list: the reject comes first
    report = ns.audit.audit_report(FACTS, [probe(6432, True)], RULES, "x", "10.0.9.5")
    assert report["findings"][0]["what"].endswith("does not allow (old subnet)")
    report = ns.audit.audit_report(FACTS, [probe(6432, True)], RULES, "web1", "10.0.3.11")
    assert not report["findings"]


@pytest.mark.parametrize(("change", "severity", "words"), [
    ({"firewall": {"table": True, "applied_known": True,
                   "drift": ["+ tcp dport 40123 accept"]}},
     "high", "changed by hand (the next converge undoes it): + tcp dport 40123 accept"),
    ({"firewall": {"table": False, "applied_known": True, "drift": []}}, "high", "not loaded"),
    ({"firewall": {"table": True, "applied_known": False, "drift": []}}, "medium",
     "no record of the ruleset"),
    ({"sshd": {"permitrootlogin": "prohibit-password"}}, "high",
     "PermitRootLogin is prohibit-password"),
    ({"sshd": {"passwordauthentication": "yes"}}, "high", "PasswordAuthentication is yes"),
    ({"sshd": {"kbdinteractiveauthentication": "yes"}}, "medium", "KbdInteractive"),
    ({"secret_files": [{"path": "/etc/app.env", "mode": "0644", "owner": "root",
                        "secrets": ["app_secret_env.SECRET_KEY"]}]}, "high",
     "/etc/app.env (0644, root) is readable by every local user and holds "
     "app_secret_env.SECRET_KEY"),
    ({"updates": {"security": [{"name": "openssl", "installed": "3.0.1", "candidate": "3.0.2"}],
                  "reboot": {"required": True, "packages": ["linux-image-amd64"]}}},
     "medium", "1 security update(s) pending: openssl 3.0.1 -> 3.0.2"),
])
def test_findings_and_their_severity(ns, change, severity, words):
    report = ns.audit.audit_report({**FACTS, **change}, [], RULES, "db2", "10.0.1.12")
    found = [f for f in report["findings"] if words in f["what"]]
    assert found and found[0]["severity"] == severity, report["findings"]


def test_a_reboot_required_names_its_packages_and_no_prober_is_said(ns):
    facts = {**FACTS, "updates": {"reboot": {"required": True, "packages": ["libc6"]}}}
    whats = [f["what"] for f in ns.audit.audit_report(facts, None, RULES, "", "")["findings"]]
    assert "a reboot is required (by libc6)" in whats
    assert "not probed from outside: no other host in this run" in whats
    whats = [f["what"] for f in ns.audit.audit_report(facts, None, RULES, "db2", "10.0.1.12")
             ["findings"]]
    assert "not probed from outside: db2 gave no answer" in whats


def test_many_pending_updates_are_counted_past_the_ones_named(ns):
    security = [{"name": f"pkg{i:02}", "installed": "1", "candidate": "2"} for i in range(12)]
    report = ns.audit.audit_report({**FACTS, "updates": {"security": security}}, [], RULES,
                                   "db2", "10.0.1.12")
    what = next(f["what"] for f in report["findings"] if f["kind"] == "updates")
    assert what.startswith("12 security update(s) pending: pkg00 1 -> 2, pkg01 1 -> 2")
    assert what.endswith("pkg09 1 -> 2 and 2 more")


def test_the_inventorys_secrets_are_picked_by_name_paths_and_short_strings_left_out(ns):
    names = ["redis_admin_password", "app_secret_env", "tls_private_key", "api_token"]
    values = ["s3cret-redis-pw", {"SECRET_KEY": "django-key-123", "DEBUG": "0"},
              "/etc/golive/tls/key.pem", "short"]
    assert ns.audit.secret_strings(values, names) == [
        {"name": "redis_admin_password", "value": "s3cret-redis-pw"},
        {"name": "app_secret_env.SECRET_KEY", "value": "django-key-123"}]


def test_the_verdict_exits_1_on_a_high_finding_or_a_silent_host(ns):
    clean = ns.audit.audit_report(FACTS, [probe(5432, True)], RULES, "db2", "10.0.1.12")
    out = io.StringIO()
    assert audit_verdict({"db1": clean}, False, out) == (0, "")
    assert "db1   info      ports  exposed 5432; unprobed 22,6432,40123; loopback 9090 " \
        "(probed from db2)" in out.getvalue()
    dirty = ns.audit.audit_report(FACTS, [probe(40123, True)], RULES, "db2", "10.0.1.12")
    code, message = audit_verdict({"db1": dirty, "db2": {}}, True)
    assert code == 1 and message == "no audit from db2"
    code, message = audit_verdict({"db1": dirty}, True)
    assert code == 1 and message.startswith("1 high finding(s): db1: tcp/40123 (nc) answers db2")


def test_sockets_are_read_from_proc_net_tcp(ns):
    tcp = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
           "timeout inode\n"
           "   0: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0 "
           "       0 1001 1 0000000000000000 100 0 0 10 0\n"
           "   1: 0B01000A:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0 "
           "       0 1002 1 0000000000000000 100 0 0 10 0\n"
           "   2: 0B01000A:1538 0C01000A:D431 01 00000000:00000000 00:00000000 00000000   0 "
           "       0 1003 1 0000000000000000 100 0 0 10 0\n")
    tcp6 = ("  sl  local_address remote_address st\n"
            "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 "
            "0A 00000000:00000000 00:00000000 00000000     0        0 1004 1\n")
    assert ns.host.listening({4: tcp, 6: tcp6}) == [
        {"address": "::1", "port": 22, "inode": "1004", "family": 6},
        {"address": "10.0.1.11", "port": 5432, "inode": "1002", "family": 4},
        {"address": "127.0.0.1", "port": 9090, "inode": "1001", "family": 4}]


def test_drift_names_the_lines_added_and_gone(ns):
    kept = "table inet golive {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n"
    running = kept.replace("\t\ttcp dport 22 accept\n",
                           "\t\ttcp dport 22 accept\n\t\ttcp dport 40123 accept\n")
    assert ns.host.drift(kept, kept) == []
    assert ns.host.drift(kept, running) == ["+ tcp dport 40123 accept"]
    assert ns.host.drift(running, kept) == ["- tcp dport 40123 accept"]


@pytest.fixture
def world_path():
    """A directory every user may enter (pytest's own tmp_path is 0700 from its base down)."""
    path = tempfile.mkdtemp(prefix="golive-audit-", dir="/tmp")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path)


def test_only_files_every_user_can_read_are_reported_with_the_secrets_names(ns, world_path):
    tmp_path = world_path
    pem = b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    (tmp_path / "open").mkdir(mode=0o755)
    (tmp_path / "closed").mkdir(mode=0o700)
    for where, name, data, mode in (("open", "app.env", b"KEY=s3cret-redis-pw\n", 0o644),
                                    ("open", "private.env", b"KEY=s3cret-redis-pw\n", 0o640),
                                    ("closed", "app.env", b"KEY=s3cret-redis-pw\n", 0o644),
                                    ("open", "id_ed25519", pem, 0o644),
                                    ("open", "plain.conf", b"nothing here\n", 0o644)):
        path = tmp_path / where / name
        path.write_bytes(data)
        os.chmod(path, mode)
    found = ns.host.secret_files([str(tmp_path)], [("redis_admin_password", b"s3cret-redis-pw")],
                                 1 << 20)
    assert sorted((f["path"].rsplit("/", 2)[1:], f["mode"], f["secrets"]) for f in found) == [
        (["open", "app.env"], "0644", ["redis_admin_password"]),
        (["open", "id_ed25519"], "0644", ["a private key"])]
