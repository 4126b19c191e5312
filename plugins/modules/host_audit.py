#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: host_audit
short_description: What a host exposes and holds, read from the host itself (for golive audit)
description:
  - Reads, without changing anything, what C(golive audit) judges on one host; the judging
    (and the probes from another host) happen elsewhere (filter C(golive.ops.audit_report)).
  - "Listening TCP sockets, from C(/proc/net/tcp) and C(/proc/net/tcp6) (no C(ss) needed), each
    with the process that holds it (from C(/proc/*/fd))."
  - "golive's firewall: whether its nftables table is loaded, and the lines by which the
    kernel's listing of it differs from the listing kept when golive applied it
    (O(firewall_applied)); a rule added or deleted by hand shows there."
  - "Pending security updates and a required reboot, from the package lists already on the
    host (nothing is downloaded): module_utils C(apt_updates)."
  - "sshd's effective settings (C(sshd -T)): the keys of O(sshd_keys)."
  - "Files readable by every local user (the file C(o+r) and every directory above it C(o+x))
    under O(scan_roots) that hold one of O(secrets), or a private key. Only the secrets' names
    are returned, never their values."
version_added: 0.5.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
options:
  secrets:
    description: The inventory's secrets, C([{name, value}]), searched for in readable files.
    type: list
    elements: dict
    default: []
  scan_roots:
    description: Directories searched for readable secrets.
    type: list
    elements: path
    default: [/etc, /var/lib/golive, /srv, /opt, /home, /root, /usr/local/etc, /usr/local/sbin]
  max_file_bytes:
    description: Larger files are not read.
    type: int
    default: 1048576
  firewall_table:
    description: golive's nftables table (family inet); empty when the host has no firewall.
    type: str
    default: golive
  firewall_applied:
    description: The kernel's listing of the table, kept when golive applied it.
    type: path
    default: /etc/golive/firewall/applied.list
  sshd_keys:
    description: The settings of C(sshd -T) returned.
    type: list
    elements: str
    default: [permitrootlogin, passwordauthentication, kbdinteractiveauthentication,
              pubkeyauthentication, authenticationmethods, port, permitemptypasswords]
"""

EXAMPLES = r"""
- name: What the host exposes and holds
  golive.ops.host_audit:
    secrets: [{name: redis_admin_password, value: "{{ redis_admin_password }}"}]
  register: audit
"""

RETURN = r"""
listening:
  description: Listening TCP sockets.
  returned: always
  type: list
  elements: dict
  sample: [{"address": "0.0.0.0", "port": 5432, "process": "postgres", "family": 4}]
firewall:
  description: "C({table, applied_known, drift}): drift holds the listing's lines added (+) or
    gone (-) since golive applied it."
  returned: always
  type: dict
updates:
  description: "C({security: [{name, installed, candidate, suite}], other: [names],
    lists_age_s, reboot: {required, packages}, error})."
  returned: always
  type: dict
sshd:
  description: sshd's effective settings of O(sshd_keys); C({}) when sshd is not installed.
  returned: always
  type: dict
secret_files:
  description: "Files readable by every local user that hold a secret: C([{path, mode, owner,
    secrets}]), secrets being names (the variable's, or C(a private key))."
  returned: always
  type: list
  elements: dict
"""

import difflib
import ipaddress
import os
import pwd
import stat
import struct

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils import apt_updates

LISTEN = "0A"
PRIVATE_KEY = b"PRIVATE KEY-----"
SKIP_DIRS = ("/proc", "/sys", "/dev", "/run")


def hex_address(text: str, family: int) -> str:
    """/proc/net/tcp's address field (host byte order words, little-endian here). Pure."""
    raw = bytes.fromhex(text)
    if family == 4:
        return str(ipaddress.IPv4Address(struct.pack("<I", struct.unpack(">I", raw)[0])))
    words = struct.unpack(">4I", raw)
    return str(ipaddress.IPv6Address(b"".join(struct.pack("<I", w) for w in words)))


def listening(tables: dict[int, str]) -> list[dict]:
    """{family: text of /proc/net/tcp(6)} -> [{address, port, inode, family}] listening. Pure."""
    found = []
    for family, text in tables.items():
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            address, _, port = fields[1].partition(":")
            found.append({"address": hex_address(address, family), "port": int(port, 16),
                          "inode": fields[9], "family": family})
    return sorted(found, key=lambda s: (s["port"], s["family"], s["address"]))


def socket_owners(proc: str = "/proc") -> dict[str, str]:
    """{socket inode: process name} of every process."""
    owners = {}
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc, pid, "comm")) as f:
                name = f.read().strip()
            fds = os.listdir(os.path.join(proc, pid, "fd"))
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(proc, pid, "fd", fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                owners.setdefault(target[8:-1], name)
    return owners


def read_sockets(proc: str = "/proc") -> list[dict]:
    tables = {}
    for family, name in ((4, "tcp"), (6, "tcp6")):
        try:
            with open(os.path.join(proc, "net", name)) as f:
                tables[family] = f.read()
        except OSError:
            pass
    owners = socket_owners(proc)
    sockets = []
    for sock in listening(tables):
        inode = sock.pop("inode")
        sockets.append({**sock, "process": owners.get(inode, "?")})
    return sockets


def drift(kept: str, running: str) -> list[str]:
    """The running listing's lines added (+) and gone (-) against the kept one. Pure."""
    lines = []
    for line in difflib.ndiff(kept.splitlines(), running.splitlines()):
        if line[:1] in "+-" and line[2:].strip():
            lines.append(f"{line[0]} {line[2:].strip()}")
    return lines


def firewall(module: AnsibleModule, table: str, applied: str) -> dict:
    if not table:
        return {"table": False, "applied_known": False, "drift": []}
    nft = module.get_bin_path("nft", opt_dirs=["/usr/sbin"])
    rc, out, _ = module.run_command([nft, "list", "table", "inet", table]) if nft else (1, "", "")
    state = {"table": rc == 0, "applied_known": os.path.exists(applied), "drift": []}
    if rc == 0 and state["applied_known"]:
        with open(applied) as f:
            state["drift"] = drift(f.read(), out)
    return state


def sshd_settings(module: AnsibleModule, keys: list[str]) -> dict:
    sshd = module.get_bin_path("sshd", opt_dirs=["/usr/sbin"])
    if not sshd:
        return {}
    rc, out, err = module.run_command([sshd, "-T"])
    if rc != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"sshd -T: {rc}"}
    wanted, settings = set(keys), {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key in wanted:
            settings[key] = value.strip()
    return settings


def open_to_others(path: str, st: os.stat_result) -> bool:
    """Readable by any local user: the file o+r and every directory above it o+x."""
    if not st.st_mode & stat.S_IROTH:
        return False
    parent = os.path.dirname(path)
    while parent not in ("/", ""):
        try:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        parent = os.path.dirname(parent)
    return True


def holds(data: bytes, secrets: list[tuple[str, bytes]]) -> list[str]:
    """The names of the secrets DATA holds, and 'a private key' for a PEM private key. Pure."""
    names = sorted({name for name, value in secrets if value in data})
    if PRIVATE_KEY in data:
        names.append("a private key")
    return names


def owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def secret_files(roots: list[str], secrets: list[tuple[str, bytes]], limit: int) -> list[dict]:
    found, seen = [], set()
    for root in roots:
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in SKIP_DIRS]
            for name in files:
                path = os.path.join(top, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if (path in seen or not stat.S_ISREG(st.st_mode) or st.st_size > limit
                        or not open_to_others(path, st)):
                    continue
                seen.add(path)
                try:
                    with open(path, "rb") as f:
                        data = f.read(limit)
                except OSError:
                    continue
                names = holds(data, secrets)
                if names:
                    found.append({"path": path, "mode": f"{stat.S_IMODE(st.st_mode):04o}",
                                  "owner": owner(st.st_uid), "secrets": names})
    return found


def updates() -> dict:
    try:
        state = apt_updates.pending_updates()
        error = None
    except Exception as exc:  # python3-apt missing or the lists unreadable: said, not fatal
        state, error = {"security": [], "other": [], "lists_age_s": None}, str(exc)
    return {**state, "reboot": apt_updates.reboot_required(), "error": error}


def main():
    module = AnsibleModule(
        argument_spec={
            "secrets": {"type": "list", "elements": "dict", "default": [], "no_log": True},
            "scan_roots": {"type": "list", "elements": "path",
                           "default": ["/etc", "/var/lib/golive", "/srv", "/opt", "/home",
                                       "/root", "/usr/local/etc", "/usr/local/sbin"]},
            "max_file_bytes": {"type": "int", "default": 1048576},
            "firewall_table": {"type": "str", "default": "golive"},
            "firewall_applied": {"type": "path", "default": "/etc/golive/firewall/applied.list"},
            "sshd_keys": {"type": "list", "elements": "str",
                          "default": ["permitrootlogin", "passwordauthentication",
                                      "kbdinteractiveauthentication", "pubkeyauthentication",
                                      "authenticationmethods", "port", "permitemptypasswords"]},
        },
        supports_check_mode=True,
    )
    p = module.params
    secrets = [(str(s.get("name", "?")), str(s["value"]).encode())
               for s in p["secrets"] if s.get("value")]
    module.exit_json(
        changed=False,
        listening=read_sockets(),
        firewall=firewall(module, p["firewall_table"], p["firewall_applied"]),
        updates=updates(),
        sshd=sshd_settings(module, p["sshd_keys"]),
        secret_files=secret_files([r for r in p["scan_roots"] if os.path.isdir(r)], secrets,
                                  p["max_file_bytes"]),
    )


if __name__ == "__main__":
    main()
