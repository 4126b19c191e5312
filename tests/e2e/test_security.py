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
    """sshd on 22, the ruleset allowing SSH on 2222 only: loaded, the control node's new
    connection fails, the previous table is back and the host is still managed."""
    before = ruleset("web2")
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(json.dumps({"firewall_ssh_port": 2222}))
    proc = golive("converge", "--only", "security", "-l", "web2", "-e", f"@{wrong}", "--json")
    assert proc.returncode == 1, proc.stderr
    failed = as_json(proc)["failed_tasks"]
    assert [f["task"] for f in failed] == [
        "Apply | The control node still reaches SSH with a new connection", "Apply | Say why"]
    assert "was rolled back" in failed[1]["msg"] and "firewall_ssh_port (2222)" in failed[1]["msg"]
    assert ruleset("web2") == before
    timer = podman("exec", container("web2"), "systemctl", "is-active",
                   "golive-firewall-rollback.timer")
    assert timer.stdout.strip() != "active"
    again = golive("converge", "--only", "security", "-l", "web2", "--json")
    assert again.returncode == 0, again.stderr
    assert as_json(again)["hosts"]["web2"]["changed"] == 0
