#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: app_state
short_description: What a web host runs - live and new color, releases, history - in one call
description:
  - Reads, on a web host of golive.ops.app, the nginx upstream file, the color links, the units
    of both colors, the live release's RELEASE.json and the host's deploy history.
  - The live color is the one nginx's upstream points at, when its unit is active and linked to
    a release; the new color is the other one (on a first deploy, the one nginx points at).
  - With O(health_path), each color whose unit runs is asked once for its health (judged as
    golive.ops.app_gate judges it), so that a rollback knows in this same call whether its
    target still runs warm.
  - Read-only; never reports C(changed); runs in check mode.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
options:
  app_root:
    description: The app's directory (C(/srv/<app_name>)).
    type: path
    required: true
  unit:
    description: Name of the template unit before C(@), for example C(golive-sample-app).
    type: str
    required: true
  ports:
    description: "Ports of the colors, for example C({blue: 8001, green: 8002})."
    type: dict
    required: true
  upstream_file:
    description: nginx's upstream file of the deploys.
    type: path
    default: /etc/nginx/golive/upstream/active.conf
  health_path:
    description: The app's health path; omitted, no color is asked.
    type: str
  health_statuses:
    description: Accepted values of the health answer's C(status).
    type: list
    elements: str
    default: [ok, healthy]
  health_service_statuses:
    description: Accepted values of each of its C(services).
    type: list
    elements: str
    default: [ok, healthy]
  health_timeout:
    description: Seconds each color has to answer.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: What runs here
  golive.ops.app_state:
    app_root: /srv/golive-sample-app
    unit: golive-sample-app
    ports: {blue: 8001, green: 8002}
  register: state
"""

RETURN = r"""
live:
  description: The live color, or "" when none runs (first deploy).
  returned: always
  type: str
new:
  description: The color a deploy starts the new release on.
  returned: always
  type: str
pointed:
  description: The color nginx's upstream points at (even if nothing runs there).
  returned: always
  type: str
live_release:
  description: Release (deployment id) of the live color, or "".
  returned: always
  type: str
live_version:
  description: Version of the live release, or "".
  returned: always
  type: str
links:
  description: Release each color links to ("" for none).
  returned: always
  type: dict
active:
  description: systemd state of each color's unit.
  returned: always
  type: dict
upstream:
  description: Servers in nginx's upstream file.
  returned: always
  type: list
  elements: str
history:
  description: The host's deploy history, oldest first (torn lines skipped).
  returned: always
  type: list
  elements: dict
releases:
  description: Release directories present.
  returned: always
  type: list
  elements: str
installed:
  description: >-
    Releases whose install finished (C(venv/.golive-installed)), a subset of RV(releases).
  returned: always
  type: list
  elements: str
health:
  description: >-
    Per running color, its answer: C(reason) (null when it passes), C(version), C(status).
  returned: when O(health_path) is given
  type: dict
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.health import DEFAULT_STATUSES, probe
from ansible_collections.golive.ops.plugins.module_utils.jsonlines import json_objects
from ansible_collections.golive.ops.plugins.module_utils.systemd import show

COLORS = ("blue", "green")
SERVER = re.compile(r"^\s*server\s+([^\s;]+)[^;]*;", re.MULTILINE)


def read_text(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def parse_history(text: str) -> list[dict]:
    return json_objects(text.splitlines())


def unit_states(unit: str) -> dict:
    found = show([f"{unit}@{color}.service" for color in COLORS])
    return {color: found[f"{unit}@{color}.service"].get("ActiveState", "unknown")
            for color in COLORS}


def decide(upstream: list[str], ports: dict, links: dict, active: dict) -> dict:
    """Live, pointed and new color from what nginx points at and what runs."""
    by_port = {str(port): color for color, port in ports.items()}
    port = upstream[0].rsplit(":", 1)[-1] if upstream else ""
    pointed = by_port.get(port, "")
    live = pointed if pointed and links.get(pointed) and active.get(pointed) == "active" else ""
    other = {"blue": "green", "green": "blue"}
    new = other[live] if live else (pointed or "blue")
    return {"live": live, "pointed": pointed, "new": new}


def color_health(params: dict, active: dict) -> dict:
    """One probe of each running color's health path, on its own port."""
    found = {}
    for color in COLORS:
        if active.get(color) != "active":
            continue
        reason, seen = probe({
            "url": f"http://127.0.0.1:{params['ports'][color]}{params['health_path']}",
            "timeout": params["health_timeout"], "validate_certs": False, "host_header": None,
            "expect_status": 200, "expect_json_status": params["health_statuses"],
            "expect_service_status": params["health_service_statuses"],
            "expect_version": None, "version_header": "X-App-Version"})
        found[color] = {"reason": reason, "version": seen.get("version") or "",
                        "status": seen.get("status")}
    return found


def main():
    module = AnsibleModule(argument_spec={
        "app_root": {"type": "path", "required": True},
        "unit": {"type": "str", "required": True},
        "ports": {"type": "dict", "required": True},
        "upstream_file": {"type": "path", "default": "/etc/nginx/golive/upstream/active.conf"},
        "health_path": {"type": "str"},
        "health_statuses": {"type": "list", "elements": "str", "default": list(DEFAULT_STATUSES)},
        "health_service_statuses": {"type": "list", "elements": "str",
                                    "default": list(DEFAULT_STATUSES)},
        "health_timeout": {"type": "float", "default": 2.0},
    }, supports_check_mode=True)
    params = module.params
    root = params["app_root"]
    if sorted(params["ports"]) != list(COLORS):
        module.fail_json(msg=f"ports must name blue and green (got {sorted(params['ports'])})")
    upstream = SERVER.findall(read_text(params["upstream_file"]))
    links = {}
    for color in COLORS:
        target = os.path.join(root, "colors", color)
        links[color] = os.path.basename(os.readlink(target)) if os.path.islink(target) else ""
    try:
        active = unit_states(params["unit"])
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    result = decide(upstream, params["ports"], links, active)
    live_release = links[result["live"]] if result["live"] else ""
    live_version = ""
    if live_release:
        try:
            live_version = json.loads(read_text(os.path.join(
                root, "releases", live_release, "RELEASE.json")) or "{}").get("version", "")
        except ValueError:
            live_version = ""
    releases_dir = os.path.join(root, "releases")
    releases = sorted(os.listdir(releases_dir)) if os.path.isdir(releases_dir) else []
    installed = [r for r in releases
                 if os.path.exists(os.path.join(releases_dir, r, "venv", ".golive-installed"))]
    if params["health_path"]:
        result["health"] = color_health(params, active)
    module.exit_json(changed=False, upstream=upstream, links=links, active=active,
                     live_release=live_release, live_version=live_version, releases=releases,
                     installed=installed,
                     history=parse_history(read_text(os.path.join(root, ".deploy",
                                                                  "history.jsonl"))),
                     **result)


if __name__ == "__main__":
    main()
