#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: app_gate
short_description: Wait until an HTTP health endpoint passes K times in a row, within a deadline
description:
  - Polls O(url) every O(interval) seconds. A probe passes when the answer has status
    O(expect_status), a JSON body whose C(status) is one of O(expect_json_status) (when that list
    is not empty), and, when O(expect_version) is set, the version O(expect_version) in the body's
    C(version) field or in the O(version_header) header.
  - The gate opens after O(passes) consecutive passes; any failed probe starts the count again.
    It fails when O(deadline) seconds pass first, with the last failures' reasons.
  - The deploy uses it on the new color's own port before any traffic reaches it, and on the old
    color before a revert or a rollback switches back to it.
  - Reads only; never reports C(changed). In check mode it does nothing and reports C(skipped).
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is probed in check mode; the result says so.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  url:
    description: Health endpoint, e.g. C(http://127.0.0.1:8002/health).
    type: str
    required: true
  passes:
    description: Consecutive passing probes needed (K).
    type: int
    default: 3
  interval:
    description: Seconds between probes.
    type: float
    default: 1
  deadline:
    description: Seconds the gate waits in all before it fails.
    type: float
    default: 60
  timeout:
    description: Seconds one probe waits for an answer.
    type: float
    default: 5
  expect_status:
    description: HTTP status of a passing probe.
    type: int
    default: 200
  expect_json_status:
    description:
      - Values of the body's C(status) field that pass; V([]) does not read the body.
    type: list
    elements: str
    default: [ok, healthy]
  expect_service_status:
    description:
      - "Values that pass for each entry of the body's C(services) object (a string, or an
        object with a C(status) field), as in plan 004's health document, where C(services)
        maps C(database) to C(healthy). A body without C(services) passes; V([]) does not look
        at it."
    type: list
    elements: str
    default: [ok, healthy]
  expect_version:
    description: Version the endpoint must report (body C(version) or O(version_header)).
    type: str
  version_header:
    description: Response header carrying the version.
    type: str
    default: X-App-Version
  host_header:
    description: Host header to send (for a request through nginx to a named server).
    type: str
  validate_certs:
    description: Verify the certificate of an C(https) URL.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The new color passes its health check 3 times in a row within 60 s
  golive.ops.app_gate:
    url: http://127.0.0.1:8002/health
    passes: 3
    deadline: 60
    expect_version: "2.0.0"
"""

RETURN = r"""
opened:
  description: Whether the gate opened.
  returned: always
  type: bool
elapsed_s:
  description: Seconds from the first probe until the gate opened or failed.
  returned: always
  type: float
probes:
  description: Probes made.
  returned: always
  type: int
failures:
  description: The last failed probes (up to 5), each C({t, reason}) with t in seconds.
  returned: always
  type: list
  elements: dict
last:
  description: The last probe's status code, version and body status.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.health import DEFAULT_STATUSES, run_gate


def argument_spec() -> dict:
    return {
        "url": {"type": "str", "required": True},
        "passes": {"type": "int", "default": 3},
        "interval": {"type": "float", "default": 1.0},
        "deadline": {"type": "float", "default": 60.0},
        "timeout": {"type": "float", "default": 5.0},
        "expect_status": {"type": "int", "default": 200},
        "expect_json_status": {"type": "list", "elements": "str",
                               "default": list(DEFAULT_STATUSES)},
        "expect_service_status": {"type": "list", "elements": "str",
                                  "default": list(DEFAULT_STATUSES)},
        "expect_version": {"type": "str"},
        "version_header": {"type": "str", "default": "X-App-Version"},
        "host_header": {"type": "str"},
        "validate_certs": {"type": "bool", "default": False},
    }


def problems(params: dict) -> list[str]:
    found = []
    if params["passes"] < 1:
        found.append(f"passes must be at least 1 (got {params['passes']})")
    if params["interval"] <= 0 or params["timeout"] <= 0:
        found.append("interval and timeout must be more than 0 s")
    if params["deadline"] < params["interval"] * (params["passes"] - 1):
        found.append(f"deadline {params['deadline']:g} s cannot hold {params['passes']} passes "
                     f"{params['interval']:g} s apart")
    return found


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    found = problems(module.params)
    if found:
        module.fail_json(msg="; ".join(found))
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="check mode: nothing probed")
    result = run_gate(module.params)
    if not result["opened"]:
        last = result["failures"][-1]["reason"] if result["failures"] else "no probe passed"
        module.fail_json(
            msg=f"{module.params['url']} did not pass {module.params['passes']} health checks in "
                f"a row within {module.params['deadline']:g} s ({result['probes']} probes); "
                f"last failure: {last}", **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
