"""The security tier on the lab (Debian 13), seen from outside: sshd takes keys only, from the
control node over the lab's network; the operators' keys are a converge; a drop-in sshd rejects
leaves the running sshd and its logins as they were; bad input is refused before any change."""

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
])
def test_bad_input_is_refused_before_anything_changes(lab, tmp_path, extra, words):
    before = sshd_state("web1")
    varsfile = tmp_path / "extra.yml"
    varsfile.write_text(json.dumps(extra))
    proc = golive("converge", "--only", "security", "-l", "web1", "-e", f"@{varsfile}",
                  "--json")
    assert_refused_in_preflight(proc, words)
    assert sshd_state("web1") == before
