#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: app_smoke
short_description: Run a release's smoke tests (requests and what they must answer) once
description:
  - Sends each test of O(tests) whose C(where) includes O(where) to O(url) plus its C(path),
    one after the other, and judges the answer, as plan 001's smoke tests after a deploy.
  - "A test: C(name) (required), C(path) (required, starting with C(/)), C(method) (default
    V(GET)), C(body) (JSON sent with it), C(status) (the expected status code, default 200),
    C(json) (dotted paths into the JSON answer mapped to the values they must equal, V(*)
    for every key or item, as golive.ops.checks' C(json_fields)), C(where) (V(color), the new
    color's own port before the switch, and/or V(nginx), through nginx after it; default
    both)."
  - Every test is validated before any request is sent; a bad definition fails naming the test
    and the field. Fails when a test fails, naming each failed test and why.
  - Sends requests, so in check mode it does nothing. Never reports C(changed).
version_added: 0.2.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is sent in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  url:
    description: Base URL, such as V(http://127.0.0.1:8002) (a color) or V(https://127.0.0.1).
    type: str
    required: true
  tests:
    description: The smoke tests (see the description).
    type: list
    elements: dict
    required: true
  where:
    description: Which tests run here, by their C(where).
    type: str
    choices: [color, nginx]
    required: true
  timeout:
    description: Seconds one request may take.
    type: float
    default: 10
  validate_certs:
    description: Verify the certificate of an C(https) URL.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The new color answers its smoke tests before any traffic reaches it
  golive.ops.app_smoke:
    url: http://127.0.0.1:8002
    where: color
    tests:
      - {name: index, path: /, json: {app: golive-sample-app}}
      - {name: items, path: /api/items, status: 200}
"""

RETURN = r"""
results:
  description: One entry per test run, C({name, ok, status, ms, problems}).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.smoke import (
    PLACES,
    definition_problems,
    run_test,
)


def main():
    module = AnsibleModule(argument_spec={
        "url": {"type": "str", "required": True},
        "tests": {"type": "list", "elements": "dict", "required": True},
        "where": {"type": "str", "choices": list(PLACES), "required": True},
        "timeout": {"type": "float", "default": 10.0},
        "validate_certs": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    params = module.params
    found = definition_problems(params["tests"])
    if found:
        module.fail_json(msg="app_smoke: " + "; ".join(found))
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, results=[], msg="check mode: nothing sent")
    results = [run_test(params["url"], test, params["timeout"], params["validate_certs"])
               for test in params["tests"]
               if params["where"] in test.get("where", list(PLACES))]
    failed = [r for r in results if not r["ok"]]
    if failed:
        module.fail_json(
            msg=f"smoke tests failed through {params['where']} ({params['url']}): "
                + "; ".join(f"{r['name']}: {', '.join(r['problems'])}" for r in failed),
            results=results)
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
