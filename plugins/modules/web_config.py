#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: web_config
short_description: An exporter-toolkit web.config.file (TLS and bcrypt basic auth), idempotently
description:
  - Writes the YAML file Prometheus exporters read with C(--web.config.file)
    (C(tls_server_config) and C(basic_auth_users)), with the password stored as a bcrypt hash
    computed on the host (python3-bcrypt).
  - A bcrypt hash has a random salt, so a template would change the file on every run; this
    module keeps the hash already in the file when it still matches O(password), and writes a
    new one only when the password changed.
  - The file is written atomically with O(owner), O(group) and O(mode); the password is a
    C(no_log) option and never part of the result.
version_added: 0.4.0
author: golive maintainers
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  path:
    description: The file to write.
    type: path
    required: true
  username:
    description: The basic-auth user.
    type: str
    required: true
  password:
    description: Its password (hashed with bcrypt before it is written).
    type: str
    required: true
  cert_file:
    description: TLS certificate; empty for plain HTTP.
    type: path
    default: ""
  key_file:
    description: TLS key; empty for plain HTTP.
    type: path
    default: ""
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description: Group of the file (the exporters' group, which must read it).
    type: str
    default: prometheus
  mode:
    description: Mode of the file.
    type: raw
    default: "0640"
"""

EXAMPLES = r"""
- name: Exporters' web config
  golive.ops.web_config:
    path: /etc/prometheus/web-config.yml
    username: prometheus
    password: "{{ exporters_password }}"
    cert_file: /etc/prometheus/exporter-tls/cert.pem
    key_file: /etc/prometheus/exporter-tls/key.pem
  no_log: true
"""

RETURN = r"""
hash_kept:
  description: Whether the bcrypt hash already in the file matched the password and was kept.
  returned: always
  type: bool
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with Ansible's Python on the host
    yaml = None


def existing_hash(text: str, username: str) -> str | None:
    """The bcrypt hash of USERNAME in a web config's text, if any. Pure."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return None
    users = data.get("basic_auth_users") if isinstance(data, dict) else None
    value = users.get(username) if isinstance(users, dict) else None
    return value if isinstance(value, str) else None


def render(username: str, hashed: str, cert_file: str, key_file: str) -> str:
    """The web config's text. Pure."""
    lines = ["# Written by golive.ops.web_config (exporter-toolkit web.config.file)."]
    if cert_file and key_file:
        lines += ["tls_server_config:", f"  cert_file: {cert_file}", f"  key_file: {key_file}",
                  "  min_version: TLS12"]
    lines += ["basic_auth_users:", f"  {username}: '{hashed}'"]
    return "\n".join(lines) + "\n"


def desired(current: str, username: str, password: str, cert_file: str, key_file: str,
            hasher, checker) -> tuple[str, bool]:
    """(text to write, whether the current hash was kept). HASHER(password) -> hash;
    CHECKER(password, hash) -> bool."""
    old = existing_hash(current, username) if current else None
    keep = bool(old) and checker(password, old)
    return render(username, old if keep else hasher(password), cert_file, key_file), keep


def main():
    module = AnsibleModule(argument_spec={
        "path": {"type": "path", "required": True},
        "username": {"type": "str", "required": True},
        "password": {"type": "str", "required": True, "no_log": True},
        "cert_file": {"type": "path", "default": ""},
        "key_file": {"type": "path", "default": ""},
        "owner": {"type": "str", "default": "root"},
        "group": {"type": "str", "default": "prometheus"},
        "mode": {"type": "raw", "default": "0640"},
    }, supports_check_mode=True)
    try:
        import bcrypt
    except ImportError:
        module.fail_json(msg="web_config needs python3-bcrypt on the host")
    if yaml is None:
        module.fail_json(msg="web_config needs python3-yaml on the host")
    p = module.params
    path = p["path"]
    current = ""
    if os.path.exists(path):
        with open(path) as f:
            current = f.read()
    text, kept = desired(
        current, p["username"], p["password"], p["cert_file"], p["key_file"],
        hasher=lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=10)).decode(),
        checker=lambda pw, h: bcrypt.checkpw(pw.encode(), h.encode()))
    changed = text != current
    if changed and not module.check_mode:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".web-config.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        module.atomic_move(tmp, path)
    file_args = module.load_file_common_arguments(
        {"path": path, "owner": p["owner"], "group": p["group"], "mode": p["mode"]})
    if not module.check_mode or os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(changed=changed, hash_kept=kept)


if __name__ == "__main__":
    main()
