#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: nginx_upstream
short_description: Switch nginx's app upstream atomically, validated, and check that the reload took
description:
  - Reads the upstream file that golive's deploys own (C(/etc/nginx/golive/upstream/active.conf),
    written once by golive.ops.nginx) and reports the servers in it.
  - With O(servers), writes the new file next to the old one and renames it over (atomic),
    runs C(nginx -t), and reloads nginx (a graceful reload, in which workers finish their
      requests).
    A configuration nginx rejects, or a reload that fails, puts the previous file back; nginx
    keeps serving the previous upstream.
  - With O(verify_url), the switch counts only when that URL (through nginx) then answers with
    O(expect_version) O(verify_passes) times in a row within O(verify_deadline) seconds;
    otherwise the previous file is put back and nginx reloaded again, and the task fails.
  - The file nginx serves is also kept at O(copy_path), outside C(/etc/nginx), after every
    switch (and whenever a call with O(servers) finds the copy missing or different). A host
    whose nginx is rebuilt gets its upstream from there (golive.ops.nginx seeds a missing
    upstream file from the copy), so it serves the color the app runs, not the first install's.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change; writes and reloads nothing.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  path:
    description: The upstream file.
    type: path
    default: /etc/nginx/golive/upstream/active.conf
  name:
    description: The upstream's name in nginx.
    type: str
    default: golive_app
  servers:
    description: C(host:port) of every server of the upstream; omitted, the module only reads.
    type: list
    elements: str
  keepalive:
    description: Idle keepalive connections to the upstream kept per worker.
    type: int
    default: 16
  verify_url:
    description: URL through nginx whose answer shows the new upstream is live.
    type: str
  verify_host_header:
    description: Host header of the verification request.
    type: str
  expect_version:
    description: Version the verification URL must report after the switch.
    type: str
  verify_passes:
    description: Consecutive verification answers needed.
    type: int
    default: 3
  verify_deadline:
    description: Seconds the verification may take.
    type: float
    default: 15
  copy_path:
    description: Where the deploys' upstream is kept outside nginx's configuration.
    type: path
    default: /var/lib/golive/nginx/upstream-active.conf
"""

EXAMPLES = r"""
- name: Send the app's traffic to the green color
  golive.ops.nginx_upstream:
    servers: ["127.0.0.1:8002"]
    verify_url: https://127.0.0.1/health
    verify_host_header: web1
    expect_version: "2.0.0"
"""

RETURN = r"""
servers_before:
  description: Servers in the file before the task.
  returned: always
  type: list
  elements: str
servers:
  description: Servers in the file after the task.
  returned: always
  type: list
  elements: str
reload_s:
  description: Seconds from the rename to a verified reload.
  returned: when changed
  type: float
verify:
  description: The verification gate's result (see golive.ops.app_gate).
  returned: when verify_url is set and not in check mode
  type: dict
"""

import os
import re
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.health import run_gate

SERVER = re.compile(r"^\s*server\s+([^\s;]+)[^;]*;", re.MULTILINE)
SERVER_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def parse_servers(text: str) -> list[str]:
    return SERVER.findall(text)


def render(name: str, servers: list[str], keepalive: int) -> str:
    lines = ["# Owned by golive's deploys (golive.ops.nginx_upstream): the live color.",
             f"upstream {name} {{"]
    lines += [f"    server {server};" for server in servers]
    lines += [f"    keepalive {keepalive};", "}", ""]
    return "\n".join(lines)


def problems(params: dict) -> list[str]:
    found = []
    servers = params["servers"]
    if servers is not None:
        if not servers:
            found.append("servers: at least one host:port")
        bad = [s for s in servers if not SERVER_RE.match(s)]
        if bad:
            found.append(f"servers: host:port entries only (got {', '.join(bad)})")
    if not re.match(r"^[A-Za-z0-9_]+$", params["name"]):
        found.append(f"name: letters, digits and _ (got {params['name']!r})")
    if params["expect_version"] and not params["verify_url"]:
        found.append("expect_version needs verify_url")
    return found


def write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".golive-upstream-", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(argv: list[str]) -> tuple[int, str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, (proc.stderr or proc.stdout).strip()


def gate_params(params: dict) -> dict:
    return {"url": params["verify_url"], "passes": params["verify_passes"], "interval": 0.2,
            "deadline": params["verify_deadline"], "timeout": 5.0, "expect_status": 200,
            "expect_json_status": [], "expect_version": params["expect_version"],
            "version_header": "X-App-Version", "host_header": params["verify_host_header"],
            "validate_certs": False}


def switch(module, before_text: str, after_text: str) -> dict:
    """Rename the new file in, test, reload, verify; on any failure put the old file back."""
    path = module.params["path"]
    start = time.monotonic()

    def restore(why: str, reload_again: bool):
        write_atomic(path, before_text)
        if reload_again:
            run(["systemctl", "reload", "nginx"])
        previous = ", ".join(parse_servers(before_text))
        module.fail_json(msg=f"{why}; the previous upstream ({previous}) was put back and nginx "
                             f"keeps serving it")

    write_atomic(path, after_text)
    rc, out = run(["nginx", "-t", "-q"])
    if rc != 0:
        restore(f"nginx -t rejected the switched upstream: {out}", reload_again=False)
    rc, out = run(["systemctl", "reload", "nginx"])
    if rc != 0:
        restore(f"reloading nginx failed: {out}", reload_again=True)
    result: dict = {}
    if module.params["verify_url"]:
        verify = run_gate(gate_params(module.params))
        result["verify"] = verify
        if not verify["opened"]:
            last = verify["failures"][-1]["reason"] if verify["failures"] else "no answer"
            restore(f"after the reload, {module.params['verify_url']} did not show the new "
                    f"upstream within {module.params['verify_deadline']:g} s ({last})",
                    reload_again=True)
    result["reload_s"] = round(time.monotonic() - start, 3)
    return result


def argument_spec() -> dict:
    return {
        "path": {"type": "path", "default": "/etc/nginx/golive/upstream/active.conf"},
        "name": {"type": "str", "default": "golive_app"},
        "servers": {"type": "list", "elements": "str"},
        "keepalive": {"type": "int", "default": 16},
        "verify_url": {"type": "str"},
        "verify_host_header": {"type": "str"},
        "expect_version": {"type": "str"},
        "verify_passes": {"type": "int", "default": 3},
        "verify_deadline": {"type": "float", "default": 15.0},
        "copy_path": {"type": "path", "default": "/var/lib/golive/nginx/upstream-active.conf"},
    }


def keep_copy(path: str, text: str) -> None:
    """TEXT at PATH unless it is there already."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return
    except OSError:
        pass
    write_atomic(path, text)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    found = problems(params)
    if found:
        module.fail_json(msg="; ".join(found))
    try:
        with open(params["path"]) as handle:
            before_text = handle.read()
    except OSError as exc:
        module.fail_json(msg=f"cannot read {params['path']}: {exc.strerror} (converge the edge "
                             f"tier first: golive converge --only edge)")
    before = parse_servers(before_text)
    if params["servers"] is None:
        module.exit_json(changed=False, servers_before=before, servers=before)
    after_text = render(params["name"], params["servers"], params["keepalive"])
    changed = parse_servers(after_text) != before
    result = {"changed": changed, "servers_before": before, "servers": params["servers"],
              "diff": {"before": before_text, "after": after_text if changed else before_text}}
    if not module.check_mode:
        if changed:
            result.update(switch(module, before_text, after_text))
        keep_copy(params["copy_path"], after_text)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
