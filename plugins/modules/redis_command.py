#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: redis_command
short_description: Run one command on Redis or Sentinel, with the password in a no_log option
description:
  - Connects to O(login_host):O(login_port) as O(login_user) with O(login_password), runs
    O(command) and returns the reply.
  - Replaces C(redis-cli)/C(valkey-cli) with E(REDISCLI_AUTH) or C(-a) in tasks. Under C(become)
    a task's environment is part of the command line sudo runs, logs to the journal and shows
    in the process list; a module option travels in the module's payload (over stdin with
    pipelining) and is masked in results.
  - Works the same with both redis_flavors (Redis and Valkey speak the same protocol), and with
    Sentinel (no O(login_user), its C(requirepass)).
  - With O(changes=false) (the default) the command is taken to only read; it runs in check mode
    too and the task never reports C(changed). With O(changes=true) the task reports C(changed)
    and, in check mode, the command is not sent.
version_added: 0.3.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.redis_login
attributes:
  check_mode:
    support: full
    details: A reading command (O(changes=false)) runs; a changing one is not sent.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  login_host:
    description:
      - Redis server or Sentinel to talk to.
    type: str
    default: localhost
  login_port:
    description:
      - Its port.
    type: int
    default: 6379
  command:
    description:
      - The command and its arguments, one word per item (V([ACL, LOAD])).
    type: list
    elements: str
    required: true
  changes:
    description:
      - Whether O(command) changes the server (C(ACL LOAD), C(CONFIG SET) ...). See the
        description for what this does to C(changed) and check mode.
    type: bool
    default: false
  expect:
    description:
      - The reply the command must give (V(PONG), V(OK)); any other reply fails the task. No
        check when omitted.
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the connection and for the answer.
    type: float
    default: 3
notes:
  - A connection refused, a wrong password or an error reply fail the task with RV(error) and
    RV(reason) set; a task that only probes uses C(failed_when) on RV(reply).
  - O(login_password) never appears in results or messages, also not inside a reply or an error.
seealso:
  - module: golive.ops.redis_config
  - module: community.general.redis
"""

EXAMPLES = r"""
- name: Ask the running server for PONG as the admin user
  golive.ops.redis_command:
    login_host: 127.0.0.1
    login_user: golive-admin
    login_password: "{{ redis_admin_password }}"
    command: [PING]
  register: __redis_live
  failed_when: false
  no_log: "{{ golive_no_log | default(true) }}"

- name: Load the users file (keeps the old users if the file is bad)
  golive.ops.redis_command:
    login_host: 127.0.0.1
    login_user: golive-admin
    login_password: "{{ redis_admin_password }}"
    command: [ACL, LOAD]
    changes: true
    expect: OK
  no_log: "{{ golive_no_log | default(true) }}"

- name: The Sentinel answers with its password
  golive.ops.redis_command:
    login_host: 127.0.0.1
    login_port: 26379
    login_password: "{{ redis_sentinel_password }}"
    command: [PING]
    expect: PONG
  no_log: "{{ golive_no_log | default(true) }}"
"""

RETURN = r"""
reply:
  description:
    - The reply, decoded as text (a list for an array reply, null for nil); null when the
      command failed or was not sent (check mode with O(changes=true)).
  returned: always
  type: raw
  sample: PONG
sent:
  description: Whether the command was sent (false only in check mode with O(changes=true)).
  returned: always
  type: bool
  sample: true
error:
  description: Redis's or redis-py's error, without the password; null on success.
  returned: always
  type: str
  sample: WRONGPASS invalid username-password pair or user is disabled.
reason:
  description:
    - Short class of RV(error), null on success. One of V(noauth), V(wrongpass),
      V(no_password_set), V(noperm), V(timeout), V(refused), V(unknown_host),
      V(unknown_command), V(unexpected_reply) (the reply is not O(expect)), V(other).
  returned: always
  type: str
  sample: wrongpass
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.redis import (
    RedisError,
    auth_argument_spec,
    close,
    connect,
    format_address,
    node_kwargs,
    raw_command,
    redact,
)


def argument_spec() -> dict:
    spec = auth_argument_spec()
    spec.update(
        command={"type": "list", "elements": "str", "required": True},
        changes={"type": "bool", "default": False},
        expect={"type": "str"},
        connect_timeout={"type": "float", "default": 3.0},
    )
    return spec


def param_problems(params: dict) -> list[str]:
    """What argument_spec cannot say."""
    problems = []
    if not params["command"] or not params["command"][0].strip():
        problems.append("command must name a command, e.g. [PING]")
    if params["connect_timeout"] <= 0:
        problems.append(f"connect_timeout must be more than 0, not {params['connect_timeout']}")
    return problems


def outcome_of(reply=None, error: RedisError | None = None, sent: bool = True) -> dict:
    """The result fields for a reply or an error."""
    return {
        "reply": reply,
        "sent": sent,
        "error": error.message if error else None,
        "reason": error.reason if error else None,
    }


def judge(outcome: dict, expect: str | None) -> dict:
    """`outcome` with an error when the reply is not the expected one."""
    if outcome["error"] is None and outcome["sent"] and expect is not None \
            and outcome["reply"] != expect:
        return {**outcome, "error": f"the reply was {outcome['reply']!r}, not {expect!r}",
                "reason": "unexpected_reply"}
    return outcome


def run(connect_fn, kwargs: dict, timeout: float, words: list[str]) -> dict:
    """Connect, run `words`, close; the outcome as data (RedisError caught)."""
    try:
        client = connect_fn(kwargs, timeout)
    except RedisError as exc:
        return outcome_of(error=exc)
    try:
        return outcome_of(reply=raw_command(client, *words))
    except RedisError as exc:
        return outcome_of(error=exc)
    finally:
        close(client)


def main(connect_fn=connect):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    secrets = [params["login_password"]]
    problems = param_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    words = params["command"]
    if params["changes"] and module.check_mode:
        outcome = outcome_of(sent=False)
    else:
        kwargs = node_kwargs(module)
        outcome = run(connect_fn, kwargs, params["connect_timeout"], words)
    outcome = redact(judge(outcome, params["expect"]), secrets)
    result = {"changed": params["changes"] and outcome["error"] is None, **outcome}
    if outcome["error"] is not None:
        address = format_address(params["login_host"], params["login_port"])
        module.fail_json(msg=f"{words[0].upper()} on {address}: {outcome['error']}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
