#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: pgbouncer_admin
short_description: Run one command on PgBouncer's admin console, the password a no_log option
description:
  - Logs in to the C(pgbouncer) admin database as O(user) with O(password) and runs O(command)
    (C(SHOW CONFIG), C(SHOW DATABASES), C(SHOW POOLS), C(PAUSE), C(RESUME) ...).
  - Replaces C(psql) with E(PGPASSWORD) in tasks. Under C(become) a task's environment is part of
    the command line sudo runs, logs to the journal and shows in the process list; a module
    option travels in the module's payload (over stdin with pipelining) and is masked in
    results.
  - The console only speaks the simple query protocol and has no transactions; the module sends
    the command as it is, in autocommit mode, and never falls back to E(PGPASSWORD) or a
    C(.pgpass) file.
  - Values are returned as text, the way C(psql --csv) prints them (NULL as an empty string),
    so that tasks compare them with strings.
  - With O(changes=false) (the default) the command is taken to only read; it runs in check mode
    too and the task never reports C(changed). With O(changes=true) the task reports C(changed)
    and, in check mode, the command is not sent.
version_added: 0.3.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: A reading command (O(changes=false)) runs; a changing one is not sent.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - psycopg2 on the target (Debian package C(python3-psycopg2))
options:
  host:
    description:
      - Host name or address of PgBouncer, or the directory of its unix socket.
    type: str
    default: 127.0.0.1
  port:
    description:
      - PgBouncer's port.
    type: int
    default: 6432
  user:
    description:
      - An admin or stats user of PgBouncer (C(admin_users), C(stats_users)).
    type: str
    required: true
  password:
    description:
      - The password of O(user). When omitted no password is sent.
    type: str
  command:
    description:
      - One admin console command.
    type: str
    required: true
  changes:
    description:
      - Whether O(command) changes PgBouncer (C(PAUSE), C(RESUME), C(RELOAD) ...). See the
        description for what this does to C(changed) and check mode.
    type: bool
    default: false
  connect_timeout:
    description:
      - Seconds to wait for the connection, at least 1.
    type: int
    default: 5
notes:
  - A login or a command that fails fails the task with RV(error) and RV(reason) set; a task
    that tolerates a PgBouncer that is down uses C(failed_when) on RV(error).
seealso:
  - module: golive.ops.pg_login
"""

EXAMPLES = r"""
- name: Settings PgBouncer reports
  golive.ops.pgbouncer_admin:
    host: /var/run/postgresql
    user: pgbouncer_admin
    password: "{{ pgbouncer_admin_password }}"
    command: SHOW CONFIG
  register: __pgbouncer_show_config
  no_log: "{{ golive_no_log | default(true) }}"

- name: Hold new queries while the database is restored
  golive.ops.pgbouncer_admin:
    user: pgbouncer_admin
    password: "{{ pgbouncer_admin_password }}"
    command: PAUSE
    changes: true
  no_log: "{{ golive_no_log | default(true) }}"
"""

RETURN = r"""
columns:
  description: The column names of the answer; empty for a command without rows.
  returned: always
  type: list
  elements: str
  sample: [key, value, default, changeable]
rows:
  description: The rows, each a dict of column name to text (NULL as an empty string).
  returned: always
  type: list
  elements: dict
  sample: [{key: max_client_conn, value: "500", default: "100", changeable: "yes"}]
sent:
  description: Whether the command was sent (false only in check mode with O(changes=true)).
  returned: always
  type: bool
  sample: true
error:
  description: libpq's or PgBouncer's error, without the password; null on success.
  returned: always
  type: str
  sample: 'connection to server on socket "/var/run/postgresql/.s.PGSQL.6432" failed: ...'
reason:
  description:
    - Short class of RV(error), null on success. One of V(auth_failed), V(no_password),
      V(no_role), V(hba_rejected), V(timeout), V(refused), V(unknown_host), V(no_database),
      V(other).
  returned: always
  type: str
  sample: auth_failed
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.pg import (
    MissingLibraryError,
    PgError,
    connect,
    execute,
    redact,
)

ADMIN_DB = "pgbouncer"


def argument_spec() -> dict:
    return {
        "host": {"type": "str", "default": "127.0.0.1"},
        "port": {"type": "int", "default": 6432},
        "user": {"type": "str", "required": True},
        "password": {"type": "str", "no_log": True},
        "command": {"type": "str", "required": True},
        "changes": {"type": "bool", "default": False},
        "connect_timeout": {"type": "int", "default": 5},
    }


def param_problems(params: dict) -> list[str]:
    """What argument_spec cannot say."""
    problems = []
    if not params["command"].strip():
        problems.append("command must be an admin console command, e.g. SHOW POOLS")
    if params["connect_timeout"] < 1:
        problems.append(f"connect_timeout must be at least 1, not {params['connect_timeout']}")
    return problems


def as_text(value) -> str:
    """A value as `psql --csv` prints it: NULL empty, booleans t/f, the rest str()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def text_rows(columns: list[str], rows: list[tuple]) -> list[dict[str, str]]:
    """The rows as dicts of column name to text."""
    return [{name: as_text(value) for name, value in zip(columns, row, strict=True)}
            for row in rows]


def outcome_of(columns=(), rows=(), error: PgError | None = None, sent: bool = True) -> dict:
    return {
        "columns": list(columns),
        "rows": list(rows),
        "sent": sent,
        "error": error.message if error else None,
        "reason": error.reason if error else None,
    }


def run(params: dict, connect_fn) -> dict:
    """Log in, run the command, log out; the outcome as data (PgError caught)."""
    try:
        conn = connect_fn(
            host=params["host"],
            port=params["port"],
            user=params["user"],
            password=params["password"],
            dbname=ADMIN_DB,
            connect_timeout=params["connect_timeout"],
            ignore_pgpass=True,
        )
    except PgError as exc:
        return outcome_of(error=exc)
    try:
        columns, rows = execute(conn, params["command"])
        return outcome_of(columns, text_rows(columns, rows))
    except PgError as exc:
        return outcome_of(error=exc)
    finally:
        conn.close()


def main(connect_fn=connect):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problems = param_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    if params["changes"] and module.check_mode:
        outcome = outcome_of(sent=False)
    else:
        try:
            outcome = run(params, connect_fn)
        except MissingLibraryError as exc:
            module.fail_json(msg=str(exc))
    outcome = redact(outcome, params["password"])
    result = {"changed": params["changes"] and outcome["error"] is None, **outcome}
    if outcome["error"] is not None:
        where = f"{params['host']}:{params['port']}"
        module.fail_json(msg=f"{params['command']} on PgBouncer {where}: {outcome['error']}",
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
