"""The lab is reached as production is: over SSH as a non-root user with sudo, host keys checked.

Seen from outside: the playbook's own assertion (the connecting user is not root, `id -u` after
become is 0), sshd's journal (a public key accepted for the lab user from the control node) and
sudo's (that user ran commands as root); a container whose host key changed is refused as
unreachable until `golive lab trust` accepts the new key on purpose.
"""

from .conftest import ROOT, as_json, container, golive, podman

IDENTITY = str(ROOT / "tests" / "fixtures" / "identity.yml")


def journal(host: str, *identifiers: str) -> str:
    tags = [x for ident in identifiers for x in ("-t", ident)]
    proc = podman("exec", container(host), "journalctl", "--no-pager", "-o", "cat", *tags)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_lab_connects_over_ssh_as_a_sudo_user(lab):
    proc = golive("run", IDENTITY, "--json")
    assert proc.returncode == 0, proc.stderr
    hosts = as_json(proc)["hosts"]
    assert sorted(hosts) == sorted(h.name for h in lab.lab_hosts())
    for host in hosts:
        sshd = journal(host, "sshd", "sshd-session")  # OpenSSH 9.8+ logs as sshd-session
        assert f"Accepted publickey for {lab.SSH_USER} from" in sshd, host
        sudo = journal(host, "sudo")
        assert f"{lab.SSH_USER} : " in sudo and "USER=root" in sudo, host
    print(f"{len(hosts)} hosts: SSH as {lab.SSH_USER}, uid 0 after sudo")


def regenerate_host_key(host: str, user: str) -> None:
    """A new host key, and every open SSH session (ControlPersist's master) cut, so that the
    next run connects afresh: a session's unprivileged process runs as the SSH user (named
    sshd-session on Debian 13, sshd on 12)."""
    proc = podman("exec", container(host), "sh", "-c",
                  "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && "
                  f"systemctl restart ssh.service && (pkill -u {user} || true)")
    assert proc.returncode == 0, proc.stderr


def test_a_changed_host_key_is_refused_until_trusted(lab):
    host = "acme"
    try:
        regenerate_host_key(host, lab.SSH_USER)
        refused = golive("run", IDENTITY, "-l", host, "--json")
        assert refused.returncode == 3, refused.stderr
        assert "host key" in refused.stderr.lower(), refused.stderr
        assert "golive lab trust" in refused.stderr
        assert as_json(refused)["hosts"][host]["unreachable"], refused.stdout
        # bringing the lab up again does not trust the new key silently
        up = golive("lab", "up", check=True)
        assert "golive lab trust" in up.stderr
        assert golive("run", IDENTITY, "-l", host, "--json").returncode == 3
        trusted = golive("lab", "trust", host, check=True)
        assert f"({host})" in trusted.stderr
        assert golive("run", IDENTITY, "-l", host, "--json").returncode == 0
    finally:
        golive("lab", "trust", host)
