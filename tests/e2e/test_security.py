"""The security tier on the lab (Debian 13), seen from outside: sshd takes keys only, from the
control node over the lab's network; the operators' keys are a converge; a drop-in sshd rejects
leaves the running sshd and its logins as they were; the firewall lets through only the hosts
the inventory's groups name, and a ruleset that would cut the control node off is rolled back;
bad input is refused before any change."""

import json
import subprocess

import pytest

from .conftest import as_json, assert_refused_in_preflight, container, golive, podman

DROPIN = "/etc/ssh/sshd_config.d/00-golive.conf"


def ssh(host, *options: str, identity=None) -> subprocess.CompletedProcess:
    """`ssh LABUSER@HOST true` from this machine with the lab's known_hosts, BatchMode (never a
    prompt) and OPTIONS."""
    from golive import lab, paths

    address = next(h.address for h in lab.lab_hosts() if h.name == host)
    key = identity or paths.lab_ssh_dir() / "id_ed25519"
    argv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-o", f"UserKnownHostsFile={paths.lab_ssh_dir() / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-i", str(key),
            *options, f"{lab.SSH_USER}@{address}", "true"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def sshd_state(host: str) -> tuple[str, str]:
    """(sshd's MainPID, the drop-in's content) on HOST."""
    proc = podman("exec", container(host), "sh", "-c",
                  f"systemctl show -p MainPID --value ssh.service; cat {DROPIN}")
    assert proc.returncode == 0, proc.stderr
    pid, _, text = proc.stdout.partition("\n")
    return pid, text


def test_password_login_is_refused_and_key_login_works_on_every_host(lab):
    """Asked for a password, every host's sshd offers publickey only; the lab's key gets in;
    sshd's effective settings say no root login and no passwords."""
    for host in (h.name for h in lab.lab_hosts()):
        refused = ssh(host, "-o", "PubkeyAuthentication=no",
                      "-o", "PreferredAuthentications=password,keyboard-interactive")
        assert refused.returncode == 255, (host, refused.stderr)
        assert "Permission denied (publickey)" in refused.stderr, (host, refused.stderr)
        assert ssh(host).returncode == 0, host
        effective = podman("exec", container(host), "sshd", "-T").stdout.splitlines()
        assert {"permitrootlogin no", "passwordauthentication no",
                "kbdinteractiveauthentication no", "authenticationmethods publickey"} \
            <= set(effective), host


def test_operators_keys_are_a_converge_and_exclusive_removes_the_unlisted(lab, tmp_path):
    from golive import paths

    key = tmp_path / "operator"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator@test",
                    "-f", str(key)], check=True)
    operator = key.with_suffix(".pub").read_text().strip()
    lab_key = (paths.lab_ssh_dir() / "id_ed25519.pub").read_text().strip()
    assert ssh("web1", identity=key).returncode == 255  # not yet distributed

    both = tmp_path / "both.yml"
    both.write_text(json.dumps({"sshd_authorized_keys": {lab.SSH_USER: [lab_key, operator]}}))
    try:
        first = golive("converge", "--only", "security", "-l", "web1", "-e", f"@{both}", "--json")
        assert first.returncode == 0, first.stderr
        assert as_json(first)["hosts"]["web1"]["changed"] == 1
        assert ssh("web1", identity=key).returncode == 0
        again = golive("converge", "--only", "security", "-l", "web1", "-e", f"@{both}", "--json")
        assert as_json(again)["hosts"]["web1"]["changed"] == 0
    finally:
        only_lab = tmp_path / "only_lab.yml"
        only_lab.write_text(json.dumps({"sshd_authorized_keys": {lab.SSH_USER: [lab_key]},
                                        "sshd_authorized_keys_exclusive": True}))
        back = golive("converge", "--only", "security", "-l", "web1", "-e", f"@{only_lab}",
                      "--json")
        assert back.returncode == 0, back.stderr
    assert ssh("web1", identity=key).returncode == 255
    assert ssh("web1").returncode == 0


def test_a_drop_in_sshd_rejects_leaves_the_running_sshd_untouched(lab, tmp_path):
    before = sshd_state("web2")
    bad = tmp_path / "bad.yml"
    bad.write_text(json.dumps({"sshd_extra_settings": {"MaxAuthTries": "many"}}))
    proc = golive("converge", "--only", "security", "-l", "web2", "-e", f"@{bad}", "--json")
    assert proc.returncode == 1, proc.stderr
    failed = as_json(proc)["failed_tasks"]
    assert [f["task"] for f in failed] == \
        ["Configure | The drop-in (checked with sshd -t; a rejected one leaves the live one)"]
    assert "MaxAuthTries" in failed[0]["msg"] or "many" in failed[0]["msg"], failed
    assert sshd_state("web2") == before
    assert ssh("web2").returncode == 0


@pytest.mark.parametrize(("extra", "words"), [
    ({"sshd_ciphers": ["aes256-gcm@openssh.com", "blowfish-cbc"]},
     ["sshd_ciphers: blowfish-cbc unknown to the sshd of web1"]),
    ({"sshd_extra_settings": {"PasswordAuthentication": "yes"}},
     ["sshd_extra_settings", "sshd_password_authentication"]),
    ({"sshd_authorized_keys": {"nosuchuser": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA x"]}},
     ["sshd_authorized_keys names users", "nosuchuser"]),
    ({"sshd_authorized_keys": {"golive": ["not a key"]}}, ["sshd_authorized_keys must map"]),
    ({"sshd_permit_root_login": "maybe"}, ["sshd_permit_root_login must be one of"]),
    ({"firewall_extra_rules": [{"port": 9999, "from_groups": ["nosuch"]}]},
     ["firewall_extra_rules[0].from_groups: unknown group 'nosuch'"]),
    ({"firewall_extra_rules": [{"port": 70000, "from": ["10.0.0.1"]}]},
     ["firewall_extra_rules[0]: port must be 1-65535, got 70000"]),
    ({"firewall_ssh_sources": ["office-vpn"]},
     ["firewall_ssh_sources[0]: 'office-vpn' is not an IP address or network"]),
])
def test_bad_input_is_refused_before_anything_changes(lab, tmp_path, extra, words):
    before = sshd_state("web1")
    varsfile = tmp_path / "extra.yml"
    varsfile.write_text(json.dumps(extra))
    proc = golive("converge", "--only", "security", "-l", "web1", "-e", f"@{varsfile}",
                  "--json")
    assert_refused_in_preflight(proc, words)
    assert sshd_state("web1") == before


# (from, to, port, open?) seen from inside the lab: the refusals, and the flows the tiers
# need (replication, the app's pools, Sentinel, scrapes, backups, ACME's HTTP-01 validation).
PROBES = [
    ("cache1", "db1", 5432, False), ("web1", "db1", 5432, False),
    ("backup1", "cache1", 6379, False), ("web2", "web1", 8001, False),
    ("mon1", "db1", 6432, False), ("cache2", "web1", 9100, False),
    ("db2", "db1", 5432, True), ("web1", "db1", 6432, True), ("web2", "cache2", 26379, True),
    ("web1", "cache3", 6379, True), ("mon1", "web1", 9100, True), ("mon1", "db2", 9187, True),
    ("backup1", "db1", 8432, True), ("db2", "backup1", 8432, True), ("acme", "web2", 80, True),
    ("web1", "acme", 14000, True),
]


def reaches(source: str, target: str, port: int) -> bool:
    """Whether SOURCE opens a TCP connection to TARGET's lab address and PORT within 2 s."""
    from golive import lab

    address = next(h.address for h in lab.lab_hosts() if h.name == target)
    proc = podman("exec", container(source), "timeout", "2", "bash", "-c",
                  f"exec 3<>/dev/tcp/{address}/{port}", timeout=30)
    return proc.returncode == 0


def test_the_firewall_lets_through_only_the_groups_that_need_a_port(lab):
    seen = {(s, t, p): reaches(s, t, p) for s, t, p, _ in PROBES}
    assert seen == {(s, t, p): want for s, t, p, want in PROBES}
    # the refusals are the firewall's: without golive's table db1 answers cache1 on 5432
    podman("exec", container("db1"), "nft", "delete", "table", "inet", "golive")
    try:
        assert reaches("cache1", "db1", 5432)
    finally:
        restore = podman("exec", container("db1"), "nft", "-f",
                         "/etc/golive/firewall/ruleset.nft")
        assert restore.returncode == 0, restore.stderr
    assert not reaches("cache1", "db1", 5432)


def ruleset(host: str) -> str:
    proc = podman("exec", container(host), "nft", "list", "table", "inet", "golive")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_ruleset_that_cuts_the_control_node_off_is_rolled_back(lab, tmp_path):
    """A deliberate bad extra rule (drop new SSH connections from anywhere): loaded, the control
    node's new connection fails, the previous table is back and the host is still managed."""
    before = ruleset("web2")
    bad = tmp_path / "bad.yml"
    bad.write_text(json.dumps({"firewall_extra_rules": [
        {"port": 22, "from": "any", "action": "drop", "comment": "a bad rule"}]}))
    proc = golive("converge", "--only", "security", "-l", "web2", "-e", f"@{bad}", "--json")
    assert proc.returncode == 1, proc.stderr
    failed = as_json(proc)["failed_tasks"]
    assert [f["task"] for f in failed] == [
        "Apply | The control node still reaches SSH with a new connection", "Apply | Say why"]
    assert "was rolled back" in failed[1]["msg"] and "firewall_extra_rules" in failed[1]["msg"]
    assert ruleset("web2") == before
    timer = podman("exec", container("web2"), "systemctl", "is-active",
                   "golive-firewall-rollback.timer")
    assert timer.stdout.strip() != "active"
    again = golive("converge", "--only", "security", "-l", "web2", "--json")
    assert again.returncode == 0, again.stderr
    assert as_json(again)["hosts"]["web2"]["changed"] == 0


def address(host: str) -> str:
    from golive import lab

    return next(h.address for h in lab.lab_hosts() if h.name == host)


def changed_lines(before: str, after: str) -> list[str]:
    import difflib

    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:2] in ("+ ", "- ")]


def test_a_host_added_to_a_group_is_allowed_and_nothing_else_changes(lab, tmp_path):
    """mon1 added to the backup group (a copy of the lab inventory with one more file): the db
    and backup hosts let it reach pgBackRest's TLS server, mon1 opens that port to them, and no
    other host's table and no other line changes. The lab's inventory converged again on those
    four puts every table back."""
    import shutil

    from golive import paths

    hosts = sorted(h.name for h in lab.lab_hosts())
    before = {h: ruleset(h) for h in hosts}
    assert not reaches("mon1", "db1", 8432)
    grown = tmp_path / "inventory"
    shutil.copytree(paths.lab_inventory(), grown, symlinks=True)
    (grown / "zz-grown.yml").write_text(
        "all:\n  children:\n    backup:\n      hosts:\n        mon1:\n")
    try:
        proc = golive("converge", "--only", "security", "-i", str(grown), "--json")
        assert proc.returncode == 0, proc.stderr
        changed = {h for h, s in as_json(proc)["hosts"].items() if s["changed"]}
        assert changed == {"db1", "db2", "backup1", "mon1"}
        after = {h: ruleset(h) for h in hosts}
        assert {h for h in hosts if after[h] != before[h]} == changed
        for host in ("db1", "db2", "backup1"):
            lines = changed_lines(before[host], after[host])
            assert len(lines) == 2 and "tcp dport 8432 accept" in lines[1], (host, lines)
            assert address("mon1") in lines[1] and address("mon1") not in lines[0], lines
        assert [line.split(" saddr")[0] for line in
                changed_lines(before["mon1"], after["mon1"])] == ["+ \t\tip"]
        assert reaches("mon1", "db1", 8432)
        assert not reaches("mon1", "db1", 5432)
    finally:
        # only the four changed: the others' tables were compared above
        back = golive("converge", "--only", "security", "-l", "db1,db2,backup1,mon1", "--json")
        assert back.returncode == 0, back.stderr
    assert {h: ruleset(h) for h in hosts} == before
    assert not reaches("mon1", "db1", 8432)


def audit(*args: str):
    proc = golive("audit", "--json", *args, timeout=600)
    return proc, as_json(proc)["report"]


def test_golive_audit_finds_nothing_high_on_the_lab_and_a_port_opened_by_hand(lab):
    """The converged lab: every host audited, probed from another lab host, no high finding,
    the firewall's refusals seen from outside. Then on db1 a listener on a random port and an
    accept rule added by hand inside golive's table: the audit reports the port as exposed and
    the table as changed, and exits 1; a converge of the security tier undoes the rule."""
    import random

    clean, report = audit()
    high = {h: [f["what"] for f in d["findings"] if f["severity"] == "high"]
            for h, d in report.items()}
    assert clean.returncode == 0, (high, clean.stderr)
    assert set(report) == {h.name for h in lab.lab_hosts()}
    db1 = report["db1"]
    ports = {p["port"]: p for p in db1["ports"]}
    prober = db1["prober"]
    assert prober and prober != "db1"
    # what the probe from outside saw agrees with what the firewall lets the prober reach
    assert ports[5432]["exposed"] is reaches(prober, "db1", 5432) is ports[5432]["allowed"]
    assert ports[6432]["exposed"] is reaches(prober, "db1", 6432) is ports[6432]["allowed"]
    assert db1["sshd"]["permitrootlogin"] == "no" and db1["firewall"]["drift"] == []
    table = golive("audit", "-l", f"db1,{prober}").stdout  # the table, not --json
    assert f"(probed from {prober})" in next(line for line in table.splitlines()
                                              if line.startswith("db1 ") and " ports " in line)

    port = random.randint(40000, 49999)
    before = ruleset("db1")
    listener = podman("exec", container("db1"), "systemd-run", "--unit", "golive-audit-listener",
                      "python3", "-m", "http.server", str(port))
    assert listener.returncode == 0, listener.stderr
    try:
        added = podman("exec", container("db1"), "nft", "add", "rule", "inet", "golive", "input",
                       "tcp", "dport", str(port), "accept")
        assert added.returncode == 0, added.stderr
        assert reaches(prober, "db1", port)
        dirty, report = audit("-l", f"db1,{prober}")
        assert dirty.returncode == 1
        findings = {(f["severity"], f["kind"]): f["what"] for f in report["db1"]["findings"]}
        assert f"tcp/{port} (python3) answers {prober}" in findings[("high", "exposed")]
        assert f"tcp dport {port} accept" in findings[("high", "firewall")]
        assert f"tcp/{port} (python3) answers {prober}" in dirty.stderr
        fixed = golive("converge", "--only", "security", "-l", "db1", "--json")
        assert fixed.returncode == 0, fixed.stderr
        assert as_json(fixed)["hosts"]["db1"]["changed"] >= 1
        assert ruleset("db1") == before
        assert not reaches(prober, "db1", port)
    finally:
        podman("exec", container("db1"), "systemctl", "stop", "golive-audit-listener")
        podman("exec", container("db1"), "nft", "-f", "/etc/golive/firewall/ruleset.nft")


def security_pending(host: str) -> list[str]:
    """apt-get's own answer on HOST: the installed packages the security suite would upgrade."""
    proc = podman("exec", container(host), "apt-get", "-s", "-o", "Debug::NoLocking=1",
                  "dist-upgrade")
    assert proc.returncode == 0, proc.stderr
    return sorted(line.split()[1] for line in proc.stdout.splitlines()
                  if line.startswith("Inst ") and " [" in line and "-security " in line)


def test_golive_check_names_pending_security_updates_and_a_required_reboot(lab):
    """On web2, against apt-get's own simulation: the updates check counts and names the same
    security updates (the lab's images are Debian's point release, so some are nearly always
    pending, and the lab counts them without warning). A reboot asked for warns, naming the
    packages that asked; --strict then exits 1 naming host and check."""
    want = security_pending("web2")
    marker = podman("exec", container("web2"), "sh", "-c",
                    "printf 'libc6\\nlinux-image-amd64\\n' > /run/reboot-required.pkgs && "
                    "touch /run/reboot-required")
    assert marker.returncode == 0, marker.stderr
    try:
        proc = golive("check", "-l", "web2", "--json")
        strict = golive("check", "-l", "web2", "--strict")
    finally:
        podman("exec", container("web2"), "rm", "-f", "/run/reboot-required",
               "/run/reboot-required.pkgs")
    assert proc.returncode == 0, proc.stderr
    entry = next(c for c in as_json(proc)["report"]["web2"]["checks"] if c["name"] == "updates")
    assert entry["status"] == "warn", entry
    assert sorted(u["name"] for u in entry["updates"]["security"]) == want
    assert entry["value"] == len(want)
    assert all(f"{name} " in entry["message"] for name in want[:5]), entry["message"]
    assert "reboot required by libc6, linux-image-amd64" in entry["message"]
    assert strict.returncode == 1 and "web2/updates" in strict.stderr
    after = golive("check", "-l", "web2", "--json")
    entry = next(c for c in as_json(after)["report"]["web2"]["checks"] if c["name"] == "updates")
    assert entry["status"] == "ok" and "reboot" not in entry["message"], entry
