#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: pg_replication
short_description: Check that PostgreSQL standbys are streaming with a bounded lag
description:
  - Connects to the local PostgreSQL server and finds its role with C(pg_is_in_recovery).
  - On a primary, every standby named in O(standbys) must appear in C(pg_stat_replication) in state
    C(streaming), no more than O(max_lag_bytes) and O(max_lag_seconds) behind in replay. An
    inactive physical replication slot is a warning (it retains WAL).
  - On a standby, the WAL receiver (C(pg_stat_wal_receiver)) must be C(streaming) and replay must
    be no more than O(max_lag_bytes) behind what was received.
  - Results are a list of checks; the task fails when any check has status C(fail).
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
requirements:
  - psycopg2 on the target (Debian package C(python3-psycopg2))
options:
  login_host:
    description:
      - Host to connect to, or the directory of the server's unix socket.
    type: str
    default: /var/run/postgresql
  login_port:
    description:
      - Server port (also the unix socket's name suffix).
    type: int
    default: 5432
  login_user:
    description:
      - Role to connect as; it needs to see other sessions' replication statistics (a superuser
        or a member of C(pg_monitor)).
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user). Not needed for peer authentication over the unix socket.
    type: str
  login_db:
    description:
      - Database to connect to.
    type: str
    default: postgres
  standbys:
    description:
      - C(application_name)s of the standbys that must be streaming from this server.
      - When the server turns out to be a standby, a non-empty list fails the check, because
        nothing can stream from it as a primary.
    type: list
    elements: str
    default: []
  max_lag_bytes:
    description:
      - Largest acceptable replay lag in bytes of WAL (on a primary, per standby; on a standby,
        between received and replayed WAL).
    type: int
    default: 16777216
  max_lag_seconds:
    description:
      - Largest acceptable C(replay_lag) of each standby, on a primary. A NULL C(replay_lag)
        (PostgreSQL's value for an idle, caught-up standby) counts as 0 when the standby has
        replayed everything, and as a warning otherwise.
    type: float
    default: 5
  wait_timeout:
    description:
      - V(0) evaluates once.
      - Otherwise, evaluate every 0.5 seconds until no check fails or this many seconds have
        passed, then report the last evaluation.
    type: float
    default: 0
notes:
  - Connecting as C(postgres) over the unix socket with peer authentication needs the task to
    become the C(postgres) system user (C(become_user=postgres)).
  - The age of the last message from the primary (RV(receiver.last_msg_age_seconds)) is reported
    but not checked, since an idle primary sends keepalives only every C(wal_sender_timeout)/2.
seealso:
  - module: golive.ops.pg_login
  - module: community.postgresql.postgresql_info
"""

EXAMPLES = r"""
- name: Both standbys stream from the primary, at most 16 MiB and 5 s behind
  golive.ops.pg_replication:
    standbys: [db2, db3]
  become: true
  become_user: postgres
  when: inventory_hostname in groups['pg_primary']

- name: The standby streams and replays what it receives
  golive.ops.pg_replication:
    max_lag_bytes: 1048576
  become: true
  become_user: postgres
  when: inventory_hostname in groups['pg_standby']

- name: Wait up to a minute for a freshly cloned standby to catch up
  golive.ops.pg_replication:
    standbys: [db2]
    max_lag_seconds: 1
    wait_timeout: 60
  become: true
  become_user: postgres
  register: __replication

- name: Show how long catching up took
  ansible.builtin.debug:
    msg: "{{ __replication.role }}: ok after {{ __replication.waited_seconds }} s"
"""

RETURN = r"""
role:
  description: V(primary) or V(standby) (from C(pg_is_in_recovery)); null when not connected.
  returned: always
  type: str
  sample: primary
standbys:
  description: The rows of C(pg_stat_replication), on a primary; empty on a standby.
  returned: always
  type: list
  elements: dict
  contains:
    application_name:
      description: The standby's C(application_name) (its C(cluster_name) by default).
      type: str
      sample: db2
    client_addr:
      description: The standby's address; null over a unix socket.
      type: str
      sample: 10.0.0.12
    state:
      description: The WAL sender's state (C(streaming), C(catchup), C(startup), C(backup) ...).
      type: str
      sample: streaming
    sync_state:
      description: C(async), C(sync), C(potential) or C(quorum).
      type: str
      sample: async
    replay_lsn:
      description: WAL position replayed by the standby.
      type: str
      sample: 0/3000148
    replay_lag_bytes:
      description: Bytes of WAL written on the primary but not yet replayed by the standby.
      type: int
      sample: 0
    replay_lag_seconds:
      description: PostgreSQL's C(replay_lag) in seconds; null when the standby is idle.
      type: float
      sample: 0.000812
  sample:
    - application_name: db2
      client_addr: 10.0.0.12
      state: streaming
      sync_state: async
      replay_lsn: 0/3000148
      replay_lag_bytes: 0
      replay_lag_seconds: null
slots:
  description: The rows of C(pg_replication_slots), on a primary; empty on a standby.
  returned: always
  type: list
  elements: dict
  contains:
    slot_name:
      description: Name of the slot.
      type: str
    slot_type:
      description: C(physical) or C(logical).
      type: str
    active:
      description: Whether a consumer is connected to the slot.
      type: bool
    retained_bytes:
      description: Bytes of WAL the slot keeps on disk; null if it never reserved WAL.
      type: int
  sample:
    - slot_name: db2
      slot_type: physical
      active: true
      retained_bytes: 176
receiver:
  description: The row of C(pg_stat_wal_receiver) on a standby; null on a primary or when no WAL
    receiver runs.
  returned: always
  type: dict
  contains:
    status:
      description: Receiver status, C(streaming) when healthy.
      type: str
    sender_host:
      description: The primary it streams from.
      type: str
    sender_port:
      description: The primary's port.
      type: int
    slot_name:
      description: The replication slot used on the primary, if any.
      type: str
    flushed_lsn:
      description: Last WAL position received and flushed to disk.
      type: str
    latest_end_lsn:
      description: Last WAL position reported to the primary.
      type: str
    last_msg_age_seconds:
      description: Seconds since the last message from the primary.
      type: float
    replay_gap_bytes:
      description: Bytes received but not yet replayed.
      type: int
  sample:
    status: streaming
    sender_host: 10.0.0.11
    sender_port: 5432
    slot_name: db2
    flushed_lsn: 0/3000148
    latest_end_lsn: 0/3000148
    last_msg_age_seconds: 3.2
    replay_gap_bytes: 0
checks:
  description: The checks made, as every golive check reports them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
      sample: pg_replication standby db2 replay_lag_bytes
    status:
      description: V(ok), V(warn) or V(fail).
      type: str
      sample: ok
    value:
      description: The measured value.
      type: raw
      sample: 0
    threshold:
      description: The limit or expected value it was compared with.
      type: raw
      sample: 16777216
    message:
      description: One line for a human.
      type: str
      sample: standby db2 is 0 bytes behind in replay (limit 16777216)
ok:
  description: True when no check failed (warnings allowed).
  returned: always
  type: bool
  sample: true
waited_seconds:
  description: Seconds spent until the reported evaluation (0 without O(wait_timeout)).
  returned: always
  type: float
  sample: 1.503
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.pg import (
    MissingLibraryError,
    PgError,
    check,
    checks_ok,
    connect,
    fetch_dicts,
    redact,
)

CONNECT_TIMEOUT = 5
POLL_INTERVAL = 0.5

ROLE_SQL = "SELECT pg_is_in_recovery() AS in_recovery"
STANDBYS_SQL = """
SELECT application_name, host(client_addr) AS client_addr, state, sync_state,
       replay_lsn::text AS replay_lsn,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes,
       EXTRACT(epoch FROM replay_lag)::float8 AS replay_lag_seconds
  FROM pg_stat_replication
 ORDER BY application_name
"""
SLOTS_SQL = """
SELECT slot_name, slot_type, active,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes
  FROM pg_replication_slots
 ORDER BY slot_name
"""
RECEIVER_SQL = """
SELECT status, sender_host, sender_port, slot_name,
       flushed_lsn::text AS flushed_lsn, latest_end_lsn::text AS latest_end_lsn,
       EXTRACT(epoch FROM clock_timestamp() - last_msg_receipt_time)::float8
         AS last_msg_age_seconds
  FROM pg_stat_wal_receiver
"""
GAP_SQL = """
SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
         AS replay_gap_bytes
"""


def argument_spec() -> dict:
    return {
        "login_host": {"type": "str", "default": "/var/run/postgresql"},
        "login_port": {"type": "int", "default": 5432},
        "login_user": {"type": "str", "default": "postgres"},
        "login_password": {"type": "str", "no_log": True},
        "login_db": {"type": "str", "default": "postgres"},
        "standbys": {"type": "list", "elements": "str", "default": []},
        "max_lag_bytes": {"type": "int", "default": 16777216},
        "max_lag_seconds": {"type": "float", "default": 5.0},
        "wait_timeout": {"type": "float", "default": 0.0},
    }


def param_problems(params: dict) -> list[str]:
    """What argument_spec cannot say: ranges."""
    return [
        f"{key} must be 0 or more, not {params[key]}"
        for key in ("max_lag_bytes", "max_lag_seconds", "wait_timeout")
        if params[key] < 0
    ]


# --- evaluation: pure functions of plain row dicts -----------------------------------------


def pick_standby(rows: list[dict], name: str) -> dict | None:
    """The pg_stat_replication row of application_name `name`, a streaming one first."""
    matches = [row for row in rows if row["application_name"] == name]
    return min(matches, key=lambda row: row["state"] != "streaming") if matches else None


def replay_lag_seconds(row: dict) -> float | None:
    """replay_lag, or 0 when it is NULL because the standby has replayed everything."""
    if row["replay_lag_seconds"] is not None:
        return row["replay_lag_seconds"]
    if row["replay_lag_bytes"] == 0:
        return 0.0
    return None


def standby_checks(
    name: str, row: dict | None, connected: list[str], max_lag_bytes: int, max_lag_seconds: float
) -> list[dict]:
    """Checks for one expected standby, given its pg_stat_replication row (or None)."""
    prefix = f"pg_replication standby {name}"
    if row is None:
        others = ", ".join(connected) or "none"
        message = f"standby {name} is not connected to this primary (connected: {others})"
        return [check(f"{prefix} state", "fail", None, "streaming", message)]

    state = row["state"]
    checks = [
        check(
            f"{prefix} state",
            "ok" if state == "streaming" else "fail",
            state,
            "streaming",
            f"standby {name} is {state}" + ("" if state == "streaming" else ", not streaming"),
        )
    ]

    lag_bytes = row["replay_lag_bytes"]
    if lag_bytes is None:
        status, message = "fail", f"standby {name} has not reported a replay position"
    else:
        status = "ok" if lag_bytes <= max_lag_bytes else "fail"
        message = f"standby {name} is {lag_bytes} bytes behind in replay (limit {max_lag_bytes})"
    checks.append(check(f"{prefix} replay_lag_bytes", status, lag_bytes, max_lag_bytes, message))

    lag_seconds = replay_lag_seconds(row)
    if lag_seconds is None:
        status, message = "warn", f"standby {name} reports no replay_lag"
        if lag_bytes is not None:
            message += f" while {lag_bytes} bytes behind"
    else:
        status = "ok" if lag_seconds <= max_lag_seconds else "fail"
        message = f"standby {name} replays {lag_seconds:g} s behind (limit {max_lag_seconds:g} s)"
    checks.append(
        check(f"{prefix} replay_lag_seconds", status, lag_seconds, max_lag_seconds, message)
    )
    return checks


def slot_check(slot: dict) -> dict:
    """A physical slot nobody consumes keeps WAL on the primary forever: a warning."""
    name, retained = slot["slot_name"], slot["retained_bytes"]
    if slot["active"]:
        status, message = "ok", f"slot {name} is active (retains {retained} bytes of WAL)"
    else:
        status, message = "warn", f"slot {name} is inactive and retains {retained} bytes of WAL"
    return check(f"pg_replication slot {name} active", status, slot["active"], True, message)


def evaluate_primary(
    standbys: list[dict],
    slots: list[dict],
    expected: list[str],
    max_lag_bytes: int,
    max_lag_seconds: float,
) -> list[dict]:
    """Checks of a primary from its pg_stat_replication and pg_replication_slots rows."""
    connected = [row["application_name"] for row in standbys]
    checks = []
    for name in expected:
        checks += standby_checks(
            name, pick_standby(standbys, name), connected, max_lag_bytes, max_lag_seconds
        )
    checks += [slot_check(slot) for slot in slots if slot["slot_type"] == "physical"]
    return checks


def evaluate_standby(
    receiver: dict | None, replay_gap_bytes: int | None, expected: list[str], max_lag_bytes: int
) -> list[dict]:
    """Checks of a standby from its pg_stat_wal_receiver row (None: no receiver) and gap."""
    checks = []
    if expected:
        message = (
            f"this server is in recovery, so standbys {', '.join(expected)} cannot stream from it"
        )
        checks.append(check("pg_replication role", "fail", "standby", "primary", message))

    status = receiver["status"] if receiver else None
    if status is None:
        message = "no WAL receiver is running (primary_conninfo unset, or the primary is down)"
    else:
        sender = f"{receiver['sender_host']}:{receiver['sender_port']}"
        message = f"WAL receiver is {status} from {sender}"
    checks.append(
        check(
            "pg_replication receiver status",
            "ok" if status == "streaming" else "fail",
            status,
            "streaming",
            message,
        )
    )

    if replay_gap_bytes is None:
        gap_status, message = "fail", "no WAL has been received by streaming"
    else:
        gap_status = "ok" if replay_gap_bytes <= max_lag_bytes else "fail"
        message = (
            f"replay is {replay_gap_bytes} bytes behind what was received (limit {max_lag_bytes})"
        )
    checks.append(
        check(
            "pg_replication receiver replay_gap_bytes",
            gap_status,
            replay_gap_bytes,
            max_lag_bytes,
            message,
        )
    )
    return checks


def evaluate(
    state: dict, expected: list[str], max_lag_bytes: int, max_lag_seconds: float
) -> list[dict]:
    """Checks for a state as read by read_state()."""
    if state["role"] == "primary":
        return evaluate_primary(
            state["standbys"], state["slots"], expected, max_lag_bytes, max_lag_seconds
        )
    return evaluate_standby(state["receiver"], state["replay_gap_bytes"], expected, max_lag_bytes)


def poll(evaluate_once, wait_timeout: float, clock, sleep, interval: float = POLL_INTERVAL):
    """Call evaluate_once() -> (state, checks) until no check fails or wait_timeout passes.

    Returns the last (state, checks, seconds waited); wait_timeout 0 evaluates exactly once.
    """
    start = clock()
    while True:
        state, checks = evaluate_once()
        waited = clock() - start
        if checks_ok(checks) or waited >= wait_timeout:
            return state, checks, waited
        sleep(min(interval, wait_timeout - waited))


# --- I/O --------------------------------------------------------------------------------------


def read_state(conn) -> dict:
    """Role and replication rows of the server behind `conn`."""
    if not fetch_dicts(conn, ROLE_SQL)[0]["in_recovery"]:
        return {
            "role": "primary",
            "standbys": fetch_dicts(conn, STANDBYS_SQL),
            "slots": fetch_dicts(conn, SLOTS_SQL),
            "receiver": None,
            "replay_gap_bytes": None,
        }
    receivers = fetch_dicts(conn, RECEIVER_SQL)
    gap = fetch_dicts(conn, GAP_SQL)[0]["replay_gap_bytes"]
    return {
        "role": "standby",
        "standbys": [],
        "slots": [],
        "receiver": {**receivers[0], "replay_gap_bytes": gap} if receivers else None,
        "replay_gap_bytes": gap,
    }


def run(params: dict, connect_fn, clock, sleep) -> dict:
    """Connect, evaluate (polling if asked), and return the module's result data."""
    result = {
        "changed": False,
        "role": None,
        "standbys": [],
        "slots": [],
        "receiver": None,
        "checks": [],
        "ok": False,
        "waited_seconds": 0.0,
    }
    where = f"{params['login_user']}@{params['login_host']}:{params['login_port']}"
    try:
        conn = connect_fn(
            host=params["login_host"],
            port=params["login_port"],
            user=params["login_user"],
            password=params["login_password"],
            dbname=params["login_db"],
            connect_timeout=CONNECT_TIMEOUT,
        )
    except PgError as exc:
        message = f"cannot connect as {where}: {exc.message}"
        result["checks"] = [check("pg_replication connect", "fail", exc.reason, None, message)]
        return result

    expected = list(dict.fromkeys(params["standbys"]))  # de-duplicated, order kept

    def evaluate_once():
        state = read_state(conn)
        return state, evaluate(state, expected, params["max_lag_bytes"], params["max_lag_seconds"])

    try:
        state, checks, waited = poll(evaluate_once, params["wait_timeout"], clock, sleep)
    except PgError as exc:
        message = f"reading replication state as {where} failed: {exc.message}"
        result["checks"] = [check("pg_replication query", "fail", exc.reason, None, message)]
        return result
    finally:
        conn.close()

    result.update(
        role=state["role"],
        standbys=state["standbys"],
        slots=state["slots"],
        receiver=state["receiver"],
        checks=checks,
        ok=checks_ok(checks),
        waited_seconds=round(waited, 3),
    )
    return result


def main(connect_fn=connect, clock=time.monotonic, sleep=time.sleep):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problems = param_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    try:
        result = run(params, connect_fn, clock, sleep)
    except MissingLibraryError as exc:
        module.fail_json(msg=str(exc))
    result = redact(result, params["login_password"])
    failing = [item["message"] for item in result["checks"] if item["status"] == "fail"]
    if failing:
        module.fail_json(msg="; ".join(failing), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
