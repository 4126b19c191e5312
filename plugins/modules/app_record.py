#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: app_record
short_description: Record a deploy's or rollback's outcome on a web host in one call
description:
  - The last step of golive's deploys and rollbacks on each web host, done in one module call
    instead of one task each (a rollback's wall time is mostly tasks).
  - Points the O(current) link at O(current_target) (the release this host serves).
  - Appends O(records) to the host's deploy history (JSON lines, C(root:root 0640), created
    when missing).
  - Writes O(status) to O(status_file) (C(0644); read by C(golive status)), when given.
  - Makes O(boot_enable) start at boot and O(boot_disable) not, when they are not already so.
  - Stops O(stop) when it runs (the color a rollback left), without waiting for it to finish
    its requests (systemd does; nginx no longer sends it any).
version_added: 0.2.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change; writes and stops nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  current:
    description: The release link (C(<app_root>/current)).
    type: path
  current_target:
    description: The release it must point at; omitted, the link is left as it is.
    type: path
  history:
    description: The host's history file.
    type: path
    required: true
  records:
    description: Records to append, in order.
    type: list
    elements: dict
    default: []
  status_file:
    description: Where the served release is kept for C(golive status).
    type: path
  status:
    description: What this host serves now; omitted, O(status_file) is left as it is.
    type: dict
  boot_enable:
    description: Unit that must start at boot.
    type: str
  boot_disable:
    description: Unit that must not start at boot.
    type: str
  stop:
    description: Unit to stop when it runs.
    type: str
"""

EXAMPLES = r"""
- name: Record the outcome
  golive.ops.app_record:
    current: /srv/golive-sample-app/current
    current_target: /srv/golive-sample-app/releases/20261122T101500Z-1a2b3c
    history: /srv/golive-sample-app/.deploy/history.jsonl
    records: ["{{ record }}"]
    status_file: /var/lib/golive/status/app.json
    status: {app: golive-sample-app, version: 1.0.0}
    boot_enable: golive-sample-app@blue.service
    boot_disable: golive-sample-app@green.service
    stop: golive-sample-app@green.service
"""

RETURN = r"""
done:
  description: What changed, in order.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.files import write_file
from ansible_collections.golive.ops.plugins.module_utils.systemd import plan, show

# stop queues the job and returns: the unit finishes its requests in flight after the module
# returns. (disable keeps its daemon reload: without it, systemd reports its units as needing
# one, and the next converge would do it and say changed.)
SYSTEMCTL = {"enable": ("enable",), "disable": ("disable",), "stop": ("stop", "--no-block")}
HISTORY_MODE = 0o640
STATUS_MODE = 0o644


def history_lines(records: list[dict]) -> str:
    """One JSON object per line, keys sorted (the history's format)."""
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)


def append(path: str, text: str) -> None:
    """Append TEXT to PATH (root:root 0640, created with its directory when missing). A line
    torn by a crash is skipped by every reader (module_utils.jsonlines)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, HISTORY_MODE)
    try:
        os.fchmod(fd, HISTORY_MODE)
        os.fchown(fd, 0, 0)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def points_at(link: str, target: str) -> bool:
    return os.path.islink(link) and os.readlink(link) == target


def point_link(link: str, target: str) -> None:
    """LINK -> TARGET, replaced atomically (a new link renamed over it)."""
    tmp = f"{link}.golive-{os.getpid()}"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def unit_steps(params: dict, now: dict[str, dict]) -> list[tuple[str, list[str]]]:
    """[(verb, units)] for boot_enable, boot_disable and stop, given NOW (systemd.show)."""
    wanted = [(params["boot_enable"], None, True), (params["boot_disable"], None, False),
              (params["stop"], "stopped", None)]
    return [step for unit, state, enabled in wanted if unit
            for step in plan({unit: now.get(unit, {})}, state, enabled)]


def main():
    module = AnsibleModule(argument_spec={
        "current": {"type": "path"},
        "current_target": {"type": "path"},
        "history": {"type": "path", "required": True},
        "records": {"type": "list", "elements": "dict", "default": []},
        "status_file": {"type": "path"},
        "status": {"type": "dict"},
        "boot_enable": {"type": "str"},
        "boot_disable": {"type": "str"},
        "stop": {"type": "str"},
    }, required_by={"status": "status_file", "current_target": "current"},
        supports_check_mode=True)
    params = module.params
    done = []
    target = params["current_target"]
    if target and not points_at(params["current"], target):
        done.append(f"current -> {os.path.basename(target)}")
        if not module.check_mode:
            point_link(params["current"], target)
    if params["records"]:
        done.append(f"history +{len(params['records'])}")
        if not module.check_mode:
            append(params["history"], history_lines(params["records"]))
    if params["status"] is not None:
        done.append("status")
        if not module.check_mode:
            os.makedirs(os.path.dirname(params["status_file"]), exist_ok=True)
            text = json.dumps(params["status"], indent=4, sort_keys=True) + "\n"
            write_file(params["status_file"], text.encode(), STATUS_MODE, 0, 0)
    units = [params[k] for k in ("boot_enable", "boot_disable", "stop") if params[k]]
    try:
        steps = unit_steps(params, show(list(dict.fromkeys(units))))
    except RuntimeError as exc:
        module.fail_json(msg=str(exc), done=done)
    for verb, names in steps:
        done += [f"{verb} {name}" for name in names]
        if module.check_mode:
            continue
        rc, out, err = module.run_command(["systemctl", *SYSTEMCTL[verb], *names])
        if rc != 0:
            module.fail_json(msg=f"systemctl {verb} {' '.join(names)} failed: "
                                 f"{(err or out).strip()}", done=done)
    module.exit_json(changed=bool(done), done=done)


if __name__ == "__main__":
    main()
