#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: prometheus_alerts
short_description: The alerts a Prometheus evaluates (firing and pending), as data
description:
  - Reads C(/api/v1/alerts) of the Prometheus at O(url) (on the mon host, over loopback) and
    returns each alert with its name, severity, instance, state and since when it is active.
  - An unreachable Prometheus is not a failure of the task; RV(reachable) says so, so that
    C(golive status) and C(golive alerts) report it.
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.4.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
options:
  url:
    description: Prometheus's base URL.
    type: str
    default: http://127.0.0.1:9090
  timeout:
    description: Seconds to wait for the answer.
    type: float
    default: 5
"""

EXAMPLES = r"""
- name: Alerts on the mon host
  golive.ops.prometheus_alerts:
    url: http://127.0.0.1:9090
  register: alerts
"""

RETURN = r"""
reachable:
  description: Whether Prometheus answered with its alerts.
  returned: always
  type: bool
error:
  description: Why it did not, else null.
  returned: always
  type: str
alerts:
  description: Alerts, critical first; each {alertname, severity, instance, state (firing or
    pending), since (RFC 3339), summary, labels (the others)}.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils import alerts


def main():
    module = AnsibleModule(argument_spec={
        "url": {"type": "str", "default": "http://127.0.0.1:9090"},
        "timeout": {"type": "float", "default": 5},
    }, supports_check_mode=True)
    module.exit_json(changed=False, **alerts.read(module.params["url"], module.params["timeout"]))


if __name__ == "__main__":
    main()
