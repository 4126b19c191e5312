#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: pg_login
short_description: Check that PostgreSQL (through PgBouncer) accepts, or refuses, a login
description:
  - Logs in as O(user) with O(password), runs O(query), and reports whether the login worked, how
    long connecting and running the query took, the server version and whether the server is in
    recovery.
  - With O(expect=refused) the check passes only when the server answers and refuses the login
    (reason C(auth_failed), C(no_password), C(no_role) or C(hba_rejected)); a server that cannot
    be reached fails the check, because it proves nothing about the credentials.
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
requirements:
  - psycopg2 on the target (Debian package C(python3-psycopg2))
options:
  host:
    description:
      - Host name or address to connect to, or the directory of a unix socket.
    type: str
    default: 127.0.0.1
  port:
    description:
      - TCP port, PgBouncer's by default.
    type: int
    default: 6432
  user:
    description:
      - The role to log in as.
    type: str
    required: true
  password:
    description:
      - The password of O(user).
      - When omitted the module logs in without any password; it never falls back to
        E(PGPASSWORD) or a C(.pgpass) file. With O(expect=refused) this proves that
        password-less logins are rejected.
    type: str
  dbname:
    description:
      - Database to connect to. Defaults to O(user).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the connection, at least 1 (libpq counts whole seconds and treats 0
        as no limit).
    type: int
    default: 5
  query:
    description:
      - Statement(s) to run once logged in, in autocommit mode as O(user); the rows of the
        last one are returned.
    type: str
    default: SELECT 1
  expect:
    description:
      - V(success) fails the task unless the login and O(query) succeed.
      - V(refused) fails the task unless the server refuses the login.
    type: str
    choices: [success, refused]
    default: success
  max_latency_ms:
    description:
      - Connect plus query time above which a successful check becomes C(warn) (never C(fail)).
    type: float
    default: 100
notes:
  - Ansible hides O(password) wherever it appears in the task result; the module also removes it
    from libpq's error messages itself.
seealso:
  - module: golive.ops.pg_replication
  - module: community.postgresql.postgresql_ping
"""

EXAMPLES = r"""
- name: The application logs in through PgBouncer
  golive.ops.pg_login:
    user: app
    password: "{{ app_db_password }}"
  no_log: "{{ golive_no_log | default(true) }}"

- name: A login without a password is refused
  golive.ops.pg_login:
    user: app
    expect: refused

- name: A wrong password is refused
  golive.ops.pg_login:
    user: app
    password: not-the-password
    expect: refused

- name: Log in to the primary directly, bypassing PgBouncer
  golive.ops.pg_login:
    port: 5432
    user: app
    password: "{{ app_db_password }}"
    query: SELECT count(*) FROM pg_stat_activity
    max_latency_ms: 20
  register: __login
  no_log: "{{ golive_no_log | default(true) }}"

- name: The primary is not in recovery
  ansible.builtin.assert:
    that: not __login.in_recovery
    fail_msg: "{{ __login.check.name }} answers, but it is a standby"
"""

RETURN = r"""
connected:
  description: Whether the login succeeded.
  returned: always
  type: bool
  sample: true
latency_ms:
  description: Milliseconds to connect and run O(query); null when either failed.
  returned: always
  type: float
  sample: 4.213
server_version:
  description: The server's C(server_version) setting; null when not connected.
  returned: always
  type: str
  sample: "15.8 (Debian 15.8-0+deb12u1)"
in_recovery:
  description: The result of C(pg_is_in_recovery) (true on a standby); null when not connected.
  returned: always
  type: bool
  sample: false
error:
  description: The libpq or server error message, never containing the password; null on success.
  returned: always
  type: str
  sample: 'connection to server at "127.0.0.1", port 6432 failed: fe_sendauth: no password supplied'
reason:
  description:
    - Short class of RV(error), null on success.
    - One of V(auth_failed), V(no_password), V(no_role), V(hba_rejected), V(timeout), V(refused)
      (nothing listens), V(unknown_host), V(no_database), V(other).
  returned: always
  type: str
  sample: no_password
rows:
  description:
    - The rows returned by O(query), each a list; values JSON cannot carry (numeric, timestamps,
      ...) are given as strings.
  returned: always
  type: list
  elements: list
  sample: [[1]]
check:
  description: The check result, as every golive check reports it.
  returned: always
  type: dict
  contains:
    name:
      description: What was checked.
      type: str
      sample: pg_login app@127.0.0.1:6432/app
    status:
      description: V(ok), V(warn) (slow answer) or V(fail).
      type: str
      sample: ok
    value:
      description: The measured latency in ms with O(expect=success); the RV(reason) (or
        V(connected)) with O(expect=refused).
      type: raw
      sample: 4.213
    threshold:
      description: O(max_latency_ms) with O(expect=success); V(refused) with O(expect=refused).
      type: raw
      sample: 100.0
    message:
      description: One line for a human.
      type: str
      sample: answered in 4.2 ms
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.pg import (
    AUTH_REASONS,
    MissingLibraryError,
    PgError,
    check,
    connect,
    execute,
    fetch_dicts,
    json_safe,
    redact,
)

SERVER_INFO_SQL = (
    "SELECT current_setting('server_version') AS server_version, pg_is_in_recovery() AS in_recovery"
)


def argument_spec() -> dict:
    return {
        "host": {"type": "str", "default": "127.0.0.1"},
        "port": {"type": "int", "default": 6432},
        "user": {"type": "str", "required": True},
        "password": {"type": "str", "no_log": True},
        "dbname": {"type": "str"},
        "connect_timeout": {"type": "int", "default": 5},
        "query": {"type": "str", "default": "SELECT 1"},
        "expect": {"type": "str", "choices": ["success", "refused"], "default": "success"},
        "max_latency_ms": {"type": "float", "default": 100.0},
    }


def param_problems(params: dict) -> list[str]:
    """What argument_spec cannot say: ranges."""
    problems = []
    if params["connect_timeout"] < 1:
        problems.append(f"connect_timeout must be at least 1, not {params['connect_timeout']}")
    if params["max_latency_ms"] < 0:
        problems.append(f"max_latency_ms must be 0 or more, not {params['max_latency_ms']}")
    return problems


def check_name(params: dict) -> str:
    dbname = params["dbname"] or params["user"]
    return f"pg_login {params['user']}@{params['host']}:{params['port']}/{dbname}"


def login(params: dict, connect_fn, clock) -> dict:
    """Log in, run the query, read the server's state; the outcome as data (PgError caught)."""
    outcome = {
        "connected": False,
        "latency_ms": None,
        "server_version": None,
        "in_recovery": None,
        "error": None,
        "reason": None,
        "rows": [],
    }
    start = clock()
    try:
        conn = connect_fn(
            host=params["host"],
            port=params["port"],
            user=params["user"],
            password=params["password"],
            dbname=params["dbname"] or params["user"],
            connect_timeout=params["connect_timeout"],
            ignore_pgpass=True,
        )
    except PgError as exc:
        outcome.update(error=exc.message, reason=exc.reason)
        return outcome
    outcome["connected"] = True
    try:
        _columns, rows = execute(conn, params["query"])
        outcome["latency_ms"] = round((clock() - start) * 1000, 3)
        outcome["rows"] = json_safe(rows)
        outcome.update(fetch_dicts(conn, SERVER_INFO_SQL)[0])
    except PgError as exc:
        outcome.update(error=exc.message, reason=exc.reason)
    finally:
        conn.close()
    return outcome


def evaluate(outcome: dict, name: str, expect: str, max_latency_ms: float) -> dict:
    """The check for an outcome of login() against what was expected."""
    connected, reason, latency = outcome["connected"], outcome["reason"], outcome["latency_ms"]
    error = f"({reason}) {outcome['error']}"
    if expect == "refused":
        if connected:
            message = "logged in, but the login should have been refused"
            return check(name, "fail", "connected", "refused", message)
        if reason in AUTH_REASONS:
            return check(name, "ok", reason, "refused", f"refused as expected {error}")
        message = f"should have been refused by the server, but could not reach it {error}"
        return check(name, "fail", reason, "refused", message)
    if not connected:
        return check(name, "fail", None, max_latency_ms, f"login failed {error}")
    if outcome["error"]:
        return check(name, "fail", None, max_latency_ms, f"logged in, but the query failed {error}")
    message = f"answered in {latency:.1f} ms"
    if latency > max_latency_ms:
        message += f", above {max_latency_ms:g} ms"
        return check(name, "warn", latency, max_latency_ms, message)
    return check(name, "ok", latency, max_latency_ms, message)


def main(connect_fn=connect, clock=time.perf_counter):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problems = param_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    name = check_name(params)
    try:
        outcome = login(params, connect_fn, clock)
    except MissingLibraryError as exc:
        module.fail_json(msg=str(exc))
    # connect() already scrubs libpq's messages; this also covers the query's rows and errors.
    outcome = redact(outcome, params["password"])
    result = {"changed": False, **outcome}
    result["check"] = evaluate(outcome, name, params["expect"], params["max_latency_ms"])
    if result["check"]["status"] == "fail":
        module.fail_json(msg=f"{name}: {result['check']['message']}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
