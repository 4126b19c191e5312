#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# The work is done by the action plugin plugins/action/report.py; this file documents it.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: report
short_description: Write the play hosts' report facts to a JSON file on the control node
description:
  - Collects the variable O(var) of every host of O(hosts) (null for a host that has none, such
    as a failed or unreachable one) into one JSON object keyed by host, and writes it to O(dest)
    on the control node with mode 0600.
  - An action plugin, it runs in the controller's worker and sends nothing to any host. Run it
    once (C(run_once)).
version_added: 0.1.0
author: golive maintainers
options:
  dest:
    description: Path of the JSON file on the control node.
    type: path
    required: true
  var:
    description: Name of the per-host variable to collect.
    type: str
    required: true
  hosts:
    description: The hosts to collect, usually C(ansible_play_hosts_all).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Writes the file in check mode too (it is the command's output, not a host change).
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Report | Write the report on the control node
  golive.ops.report:
    dest: "{{ golive_report_file }}"
    var: checks_report
    hosts: "{{ ansible_play_hosts_all }}"
  run_once: true
"""

RETURN = r"""
hosts:
  description: How many hosts were written.
  returned: success
  type: int
  sample: 9
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"dest": {"type": "path", "required": True},
                                          "var": {"type": "str", "required": True},
                                          "hosts": {"type": "list", "elements": "str",
                                                    "default": []}})
    module.fail_json(msg="golive.ops.report runs on the control node as an action plugin")


if __name__ == "__main__":
    main()
