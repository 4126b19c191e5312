#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: redis_replication
short_description: Report, and optionally wait for, Redis replication and Sentinel state
description:
  - Reads C(INFO replication) of the Redis node at O(login_host) and asks every Sentinel in
    O(sentinels) about O(master_name) (C(SENTINEL GET-MASTER-ADDR-BY-NAME), C(SENTINEL CKQUORUM),
    C(SENTINEL MASTER)).
  - "Conditions: the node is reachable and accepts the credentials; its role matches
    O(expect_role); a replica's link to its master is C(up) with no full sync in progress; a
    master has at least O(min_replicas) caught-up replicas; every Sentinel is reachable, passes
    C(CKQUORUM) and all of them name the same master."
  - Each violated condition is one line in RV(problems); the task fails when any remains, with
    the whole state in the result. Unreachable nodes and refused credentials are problems, not
    errors.
  - With O(wait_timeout), polls every 0.5 seconds until no problem remains or the time is up.
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
  - golive.ops.redis_login
options:
  login_host:
    description:
      - Redis node to check.
      - V(null) (or an empty string) skips the node and only asks O(sentinels), of which there
        must then be at least one.
    type: str
    default: localhost
  login_port:
    description:
      - Port of the Redis node.
    type: int
    default: 6379
  sentinels:
    description:
      - Sentinels to ask, each V(host:port) (V([ipv6]:port) for an IPv6 address; the port
        defaults to 26379).
    type: list
    elements: str
    default: []
  sentinel_user:
    description:
      - ACL user for the Sentinels; the default user when omitted.
    type: str
  sentinel_password:
    description:
      - Password for the Sentinels (their C(requirepass)); none when omitted.
      - Never shown in results or messages.
    type: str
  master_name:
    description:
      - Name the Sentinels monitor the master under.
    type: str
    default: golive
  expect_role:
    description:
      - Role the node must have; V(any) accepts both.
    type: str
    choices: [master, replica, any]
    default: any
  min_replicas:
    description:
      - On a master, how many replicas must be C(online) and caught up (see O(max_lag_bytes)).
      - Not checked when the node is a replica.
    type: int
    default: 0
  max_lag_bytes:
    description:
      - A replica is caught up when its acknowledged offset is at most this many bytes short of
        the master's C(master_repl_offset) at the first look, so it has every write made
        before the module started looking.
      - The first look is the reference because the master's offset never rests while
        Sentinels run (their hello messages every 2 seconds, the master's PING to its
        replicas), and replicas acknowledge once a second. Waiting for the current offset
        itself can take many seconds with V(0).
    type: int
    default: 0
  wait_timeout:
    description:
      - V(0) looks once.
      - Otherwise, look every 0.5 seconds until no problem remains or this many seconds have
        passed, then report the last look.
    type: float
    default: 0
  connect_timeout:
    description:
      - Seconds to wait for each connection and each answer.
    type: float
    default: 3
notes:
  - An ACL user needs C(+ping +info) on the node and C(+ping +sentinel|get-master-addr-by-name
    +sentinel|ckquorum +sentinel|master) on the Sentinels.
  - Each look opens new connections, so a node or Sentinel that comes up while waiting is seen.
seealso:
  - module: golive.ops.redis_config
  - module: community.general.redis_info
"""

EXAMPLES = r"""
- name: The master has both replicas online and caught up, and the Sentinels agree
  golive.ops.redis_replication:
    login_host: 127.0.0.1
    login_password: "{{ redis_password }}"
    expect_role: master
    min_replicas: 2
    wait_timeout: 30
    sentinels: [10.0.0.21:26379, 10.0.0.22:26379, 10.0.0.23:26379]
    sentinel_password: "{{ redis_sentinel_password }}"
  no_log: "{{ golive_no_log | default(true) }}"

- name: This replica is linked to its master and not syncing
  golive.ops.redis_replication:
    login_password: "{{ redis_password }}"
    expect_role: replica
  no_log: "{{ golive_no_log | default(true) }}"

- name: Only ask the Sentinels who the master is
  golive.ops.redis_replication:
    login_host: null
    sentinels: [10.0.0.21:26379, 10.0.0.22:26379, 10.0.0.23:26379]
  register: __redis_sentinels
  run_once: true

- name: Show the master
  ansible.builtin.debug:
    msg: "{{ __redis_sentinels.sentinel_master.host }}:{{ __redis_sentinels.sentinel_master.port }}"
"""

RETURN = r"""
role:
  description: V(master) or V(replica) (INFO's C(slave)); null when the node was not read.
  returned: always
  type: str
  sample: master
master_repl_offset:
  description: The node's C(master_repl_offset).
  returned: always
  type: int
  sample: 3811
replica_offset:
  description: On a replica, its C(slave_repl_offset); null otherwise.
  returned: always
  type: int
  sample: 3811
master_host:
  description: On a replica, the master it replicates from; null otherwise.
  returned: always
  type: str
  sample: 10.0.0.21
master_port:
  description: On a replica, the master's port; null otherwise.
  returned: always
  type: int
  sample: 6379
master_link_status:
  description: On a replica, V(up) or V(down); null otherwise.
  returned: always
  type: str
  sample: up
master_sync_in_progress:
  description: On a replica, 1 while a full sync from the master runs, else 0; null otherwise.
  returned: always
  type: int
  sample: 0
master_last_io_seconds_ago:
  description: On a replica, seconds since the last exchange with the master (-1 when the link
    is down); null otherwise.
  returned: always
  type: int
  sample: 1
replicas:
  description: The replicas connected to the node (INFO's C(slaveN) lines).
  returned: always
  type: list
  elements: dict
  contains:
    ip:
      description: Address of the replica.
      type: str
    port:
      description: Listening port of the replica.
      type: int
    state:
      description: C(online) when streaming; C(wait_bgsave), C(send_bulk) during a full sync.
      type: str
    offset:
      description: Replication offset the replica acknowledged.
      type: int
    lag_seconds:
      description: Seconds since the replica's last acknowledgement.
      type: int
    lag_bytes:
      description: RV(master_repl_offset) minus RV(replicas[].offset).
      type: int
  sample:
    - ip: 10.0.0.22
      port: 6379
      state: online
      offset: 3811
      lag_seconds: 0
      lag_bytes: 0
sentinels:
  description: What each Sentinel of O(sentinels) answered, in that order.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The Sentinel, as V(host:port).
      type: str
    reachable:
      description: Whether it answered PING with the credentials given.
      type: bool
    error:
      description: Why it could not be reached or asked; null when all went well.
      type: str
    master:
      description: The master it names for O(master_name), as V(ip:port); null when unknown.
      type: str
    ckquorum_ok:
      description: Whether C(SENTINEL CKQUORUM) answered OK.
      type: bool
    ckquorum:
      description: The answer or error of C(SENTINEL CKQUORUM).
      type: str
    sentinels_seen:
      description: Sentinels monitoring the master as this one knows them (C(num-other-sentinels)
        + 1); null when C(SENTINEL MASTER) failed.
      type: int
  sample:
    - address: 10.0.0.21:26379
      reachable: true
      error: null
      master: 10.0.0.21:6379
      ckquorum_ok: true
      ckquorum: OK 3 usable Sentinels. Quorum and failover authorization can be reached
      sentinels_seen: 3
sentinel_master:
  description: The master all reachable Sentinels name; null when none answered or they
    disagree.
  returned: always
  type: dict
  contains:
    host:
      description: Its address.
      type: str
    port:
      description: Its port.
      type: int
  sample:
    host: 10.0.0.21
    port: 6379
sentinels_agree:
  description: True when at least one Sentinel answered and all that answered name the same
    master; false otherwise, including when O(sentinels) is empty.
  returned: always
  type: bool
  sample: true
ok:
  description: True when RV(problems) is empty.
  returned: always
  type: bool
  sample: false
problems:
  description: One line per violated condition, naming the node or Sentinel.
  returned: always
  type: list
  elements: str
  sample:
    - "redis 10.0.0.21:6379: 1 of 2 required replicas caught up (online and at most 0 bytes
      behind offset 3811): 10.0.0.23:6379 online, 128 bytes behind"
    - "sentinel 10.0.0.23:26379: Error 111 connecting to 10.0.0.23:26379. Connection refused."
waited_seconds:
  description: Seconds spent until the reported look (0 without O(wait_timeout)).
  returned: always
  type: float
  sample: 1.502
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.redis import (
    SENTINEL_PORT,
    RedisError,
    auth_argument_spec,
    close,
    command,
    connect,
    decode_info,
    format_address,
    info_fields,
    node_kwargs,
    pairs,
    parse_address,
    redact,
    to_int,
    with_login,
)

POLL_INTERVAL = 0.5
_REPLICA_KEY = re.compile(r"slave(\d+)")

NODE_FIELDS = (
    "role",
    "master_repl_offset",
    "replica_offset",
    "master_host",
    "master_port",
    "master_link_status",
    "master_sync_in_progress",
    "master_last_io_seconds_ago",
)


def argument_spec() -> dict:
    return {
        **auth_argument_spec(),
        "sentinels": {"type": "list", "elements": "str", "default": []},
        "sentinel_user": {"type": "str"},
        "sentinel_password": {"type": "str", "no_log": True},
        "master_name": {"type": "str", "default": "golive"},
        "expect_role": {
            "type": "str",
            "choices": ["master", "replica", "any"],
            "default": "any",
        },
        "min_replicas": {"type": "int", "default": 0},
        "max_lag_bytes": {"type": "int", "default": 0},
        "wait_timeout": {"type": "float", "default": 0.0},
        "connect_timeout": {"type": "float", "default": 3.0},
    }


def param_problems(params: dict) -> list[str]:
    """What argument_spec cannot say: ranges, addresses, something to check."""
    problems = [
        f"{key} must be 0 or more, not {params[key]}"
        for key in ("min_replicas", "max_lag_bytes", "wait_timeout")
        if params[key] < 0
    ]
    if params["connect_timeout"] <= 0:
        problems.append(f"connect_timeout must be more than 0, not {params['connect_timeout']}")
    for text in params["sentinels"]:
        try:
            parse_address(text, SENTINEL_PORT)
        except ValueError as exc:
            problems.append(f"sentinels: {exc}")
    if not params["login_host"] and not params["sentinels"]:
        problems.append("nothing to check: login_host is null and sentinels is empty")
    return problems


# --- evaluation: pure functions of decoded answers ---------------------------------------------


def replication_state(info: dict[str, str]) -> dict:
    """The RETURN fields of the node from its decoded INFO replication."""
    role = {"slave": "replica", "master": "master"}.get(info.get("role", ""))
    is_replica = role == "replica"
    master_offset = to_int(info.get("master_repl_offset"))
    numbered = sorted(
        (int(match.group(1)), key) for key in info if (match := _REPLICA_KEY.fullmatch(key))
    )
    replicas = []
    for _number, key in numbered:
        fields = info_fields(info[key])
        offset = to_int(fields.get("offset"))
        behind = None if master_offset is None or offset is None else master_offset - offset
        replicas.append(
            {
                "ip": fields.get("ip"),
                "port": to_int(fields.get("port")),
                "state": fields.get("state"),
                "offset": offset,
                "lag_seconds": to_int(fields.get("lag")),
                "lag_bytes": behind,
            }
        )

    def replica_field(name, convert=None):
        if not is_replica:
            return None
        value = info.get(name)
        return convert(value) if convert else value

    return {
        "role": role,
        "master_repl_offset": master_offset,
        "replica_offset": replica_field("slave_repl_offset", to_int),
        "master_host": replica_field("master_host"),
        "master_port": replica_field("master_port", to_int),
        "master_link_status": replica_field("master_link_status"),
        "master_sync_in_progress": replica_field("master_sync_in_progress", to_int),
        "master_last_io_seconds_ago": replica_field("master_last_io_seconds_ago", to_int),
        "replicas": replicas,
    }


def short_of(replica: dict, target: int | None) -> int | None:
    if target is None or replica["offset"] is None:
        return None
    return max(target - replica["offset"], 0)


def node_problems(
    node: dict,
    address: str,
    expect_role: str,
    min_replicas: int,
    max_lag_bytes: int,
    since_offset: int | None = None,
) -> list[str]:
    """Problems of a node's replication_state(). On a master, replicas are measured against
    SINCE_OFFSET (the master's offset at the first look) when given, else the current one."""
    where = f"redis {address}"
    role = node["role"]
    if role is None:
        return [f"{where}: INFO replication reports no role (is this a Sentinel?)"]
    problems = []
    if expect_role != "any" and role != expect_role:
        problems.append(f"{where} is a {role}, expected a {expect_role}")
    if role == "replica":
        master = format_address(node["master_host"], node["master_port"])
        if node["master_link_status"] != "up":
            problems.append(f"{where}: link to master {master} is {node['master_link_status']}")
        if node["master_sync_in_progress"] != 0:
            problems.append(f"{where}: full sync from master {master} in progress")
        return problems

    target = node["master_repl_offset"]
    if since_offset is not None and target is not None:
        target = min(since_offset, target)  # lower: the master restarted meanwhile
    measured = [(item, short_of(item, target)) for item in node["replicas"]]
    good = [
        item
        for item, short in measured
        if item["state"] == "online" and short is not None and short <= max_lag_bytes
    ]
    if len(good) < min_replicas:
        others = [
            f"{format_address(item['ip'], item['port'])} {item['state']}"
            + ("" if short is None else f", {short} bytes behind")
            for item, short in measured
            if item not in good
        ]
        problems.append(
            f"{where}: {len(good)} of {min_replicas} required replicas caught up (online and at "
            f"most {max_lag_bytes} bytes behind offset {target}): "
            + ("; ".join(others) or "no replica connected")
        )
    return problems


def sentinel_entry(address: str) -> dict:
    return {
        "address": address,
        "reachable": False,
        "error": None,
        "master": None,
        "ckquorum_ok": False,
        "ckquorum": None,
        "sentinels_seen": None,
    }


def sentinel_verdict(entries: list[dict], master_name: str) -> tuple[list[str], dict | None, bool]:
    """(problems, sentinel_master, sentinels_agree) for the answers of the Sentinels."""
    problems = []
    for entry in entries:
        where = f"sentinel {entry['address']}"
        if not entry["reachable"]:
            problems.append(f"{where}: {entry['error']}")
            continue
        if entry["master"] is None:
            detail = f": {entry['error']}" if entry["error"] else ""
            problems.append(f"{where} knows no master named {master_name}{detail}")
        if not entry["ckquorum_ok"]:
            problems.append(f"{where}: CKQUORUM {master_name} failed: {entry['ckquorum']}")

    reachable = [entry for entry in entries if entry["reachable"]]
    named = {}
    for entry in reachable:
        if entry["master"] is not None:
            named.setdefault(entry["master"], []).append(entry["address"])
    if len(named) > 1:
        problems.append(
            f"sentinels disagree on the master of {master_name}: "
            + "; ".join(f"{master} by {', '.join(who)}" for master, who in named.items())
        )
    agree = bool(reachable) and len(named) == 1 and all(entry["master"] for entry in reachable)
    if not agree:
        return problems, None, False
    host, port = parse_address(next(iter(named)), 0)
    return problems, {"host": host, "port": port}, True


def poll(evaluate_once, wait_timeout: float, clock, sleep, interval: float = POLL_INTERVAL):
    """Call evaluate_once() -> (state, problems) until none remain or wait_timeout passes.

    Returns the last (state, problems, seconds waited); wait_timeout 0 evaluates exactly once.
    """
    start = clock()
    while True:
        state, problems = evaluate_once()
        waited = clock() - start
        if not problems or waited >= wait_timeout:
            return state, problems, waited
        sleep(min(interval, wait_timeout - waited))


# --- I/O --------------------------------------------------------------------------------------


def read_node(connect_fn, kwargs: dict, timeout: float) -> dict:
    """replication_state() of the node; RedisError when it cannot be reached or read."""
    client = connect_fn(kwargs, timeout)
    try:
        return replication_state(decode_info(command(client, "INFO", "replication")))
    finally:
        close(client)


def read_sentinel(connect_fn, address: str, kwargs: dict, timeout: float, master_name: str):
    """What one Sentinel says about master_name; its errors are kept in the entry."""
    entry = sentinel_entry(address)
    try:
        client = connect_fn(kwargs, timeout)
    except RedisError as exc:
        entry["error"] = exc.message
        return entry
    entry["reachable"] = True
    try:
        try:
            reply = command(client, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_name)
            if reply:
                entry["master"] = format_address(reply[0], reply[1])
        except RedisError as exc:
            entry["error"] = exc.message
        try:
            entry["ckquorum"] = str(command(client, "SENTINEL", "CKQUORUM", master_name))
            entry["ckquorum_ok"] = entry["ckquorum"].startswith("OK")
        except RedisError as exc:
            entry["ckquorum"] = exc.message
        try:
            master = pairs(command(client, "SENTINEL", "MASTER", master_name))
            others = to_int(master.get("num-other-sentinels"))
            entry["sentinels_seen"] = None if others is None else others + 1
        except RedisError:
            pass  # sentinels_seen is informative; CKQUORUM already judged the quorum
    finally:
        close(client)
    return entry


def empty_node() -> dict:
    return {**dict.fromkeys(NODE_FIELDS), "replicas": []}


def look(
    params: dict, kwargs: dict, connect_fn, first: dict | None = None
) -> tuple[dict, list[str]]:
    """One look at the node and the Sentinels: (state, problems). FIRST keeps the master's
    offset of the first look across the looks of one wait."""
    first = {} if first is None else first
    timeout = params["connect_timeout"]
    master_name = params["master_name"]
    problems = []
    node = empty_node()
    if params["login_host"]:  # null arrives as '' (the option has a default)
        address = format_address(params["login_host"], params["login_port"])
        try:
            node = read_node(connect_fn, kwargs, timeout)
        except RedisError as exc:
            problems.append(f"redis {address}: {exc.message}")
        else:
            if node["role"] == "master" and node["master_repl_offset"] is not None:
                first.setdefault("offset", node["master_repl_offset"])
            problems += node_problems(
                node,
                address,
                params["expect_role"],
                params["min_replicas"],
                params["max_lag_bytes"],
                first.get("offset"),
            )

    entries = []
    for text in params["sentinels"]:
        host, port = parse_address(text, SENTINEL_PORT)
        sentinel = with_login(
            kwargs, host, port, params["sentinel_user"], params["sentinel_password"]
        )
        entries.append(
            read_sentinel(connect_fn, format_address(host, port), sentinel, timeout, master_name)
        )
    sentinel_problems, sentinel_master, agree = sentinel_verdict(entries, master_name)
    state = {
        **node,
        "sentinels": entries,
        "sentinel_master": sentinel_master,
        "sentinels_agree": agree,
    }
    return state, problems + sentinel_problems


def run(params: dict, kwargs: dict, connect_fn, clock, sleep) -> dict:
    """Look (polling if asked) and return the module's result data."""
    first: dict = {}
    state, problems, waited = poll(
        lambda: look(params, kwargs, connect_fn, first), params["wait_timeout"], clock, sleep
    )
    return {
        "changed": False,
        **state,
        "ok": not problems,
        "problems": problems,
        "waited_seconds": round(waited, 3),
    }


def main(connect_fn=connect, clock=time.monotonic, sleep=time.sleep):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problems = param_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    kwargs = node_kwargs(module)
    result = run(params, kwargs, connect_fn, clock, sleep)
    result = redact(result, [params["login_password"], params["sentinel_password"]])
    if result["problems"]:
        msg = "; ".join(result["problems"])
        if params["wait_timeout"] > 0:
            msg = f"still failing after {result['waited_seconds']:g} s: {msg}"
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
