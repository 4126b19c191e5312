#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: redis_config
short_description: Make the runtime settings of Redis or Sentinel match, without a restart
description:
  - With O(target=server), reads each setting of O(settings) with C(CONFIG GET), sets all those
    that differ with a single C(CONFIG SET) (all or nothing), then runs C(CONFIG REWRITE) so that
    redis.conf keeps them (O(rewrite)).
  - With O(target=sentinel), compares O(settings) with what C(SENTINEL MASTER) reports for
    O(master_name) and sets those that differ with one C(SENTINEL SET), which Sentinel writes to
    its own configuration file.
  - Wanted values are compared in the form Redis reports them. V(true)/V(false) become
    C(yes)/C(no), numbers become digits, a list is space-joined (C(save)), and memory sizes
    become bytes with Redis's units (C(k)=1000, C(kb)=1024, C(m)=1000000, C(mb)=1048576,
    C(g)=10^9, C(gb)=1073741824, any case). Other strings are compared as written.
  - Values of settings whose name contains C(pass), and of C(masterauth) (Valkey's C(primaryauth)),
    are never shown.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.redis_login
attributes:
  check_mode:
    support: full
    details: Reads the current values and reports what would change, without setting anything.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  login_host:
    description:
      - Redis server or Sentinel to configure.
    type: str
    default: localhost
  login_port:
    description:
      - Its port; 6379 with O(target=server) and 26379 with O(target=sentinel) when omitted.
    type: int
  settings:
    description:
      - Setting names and the values they must have (strings, numbers, booleans, or lists for
        settings such as C(save)).
      - Names are case-insensitive and may not contain glob characters (C(*?[)).
      - A compound value (C(client-output-buffer-limit)) must be written the way C(CONFIG GET)
        prints it, in bytes and with C(slave) for C(replica), or every run changes it again; the
        module warns when a value reads back differently from how it was set.
      - With O(target=sentinel), only keys that C(SENTINEL MASTER) reports can be managed
        (C(quorum), C(down-after-milliseconds), C(failover-timeout), C(parallel-syncs)).
        C(auth-pass), C(auth-user) and the script paths are refused, because their current value
        cannot be read back to compare.
    type: dict
    default: {}
  secret_settings:
    description:
      - Settings whose values are secrets (C(masterauth), C(requirepass)), managed like
        O(settings). This option is C(no_log), so the values stay out of the target's journal
        and the task's output without hiding the rest of the task behind C(no_log).
      - A name may appear in only one of O(settings) and O(secret_settings).
    type: dict
    default: {}
  target:
    description:
      - V(server) for a Redis server (C(CONFIG GET/SET)), V(sentinel) for the settings a
        Sentinel keeps for O(master_name).
    type: str
    choices: [server, sentinel]
    default: server
  master_name:
    description:
      - With O(target=sentinel), the name the Sentinel monitors the master under.
    type: str
    default: golive
  rewrite:
    description:
      - With O(target=server), run C(CONFIG REWRITE) after a change so that it survives a
        restart. Ignored for Sentinel, which always saves its own configuration.
    type: bool
    default: true
  connect_timeout:
    description:
      - Seconds to wait for the connection and for each answer.
    type: float
    default: 3
notes:
  - Settings that need a restart (C(CONFIG SET) answers C(can't set immutable config)) make the
    task fail without changing anything.
  - Pass secret values in O(secret_settings). Values of secret-looking names in O(settings) are
    masked in results, but they are task arguments and reach the target's journal.
  - C(CONFIG REWRITE) rewrites redis.conf in place, so a role that also templates redis.conf must
    template the same values.
seealso:
  - module: golive.ops.redis_replication
  - module: community.general.redis
"""

EXAMPLES = r"""
- name: Memory limit, eviction and snapshots at runtime, kept in redis.conf
  golive.ops.redis_config:
    login_password: "{{ redis_password }}"
    settings:
      maxmemory: 256mb
      maxmemory-policy: allkeys-lru
      save: ["3600 1", "300 100", "60 10000"]
      appendonly: true
  no_log: "{{ golive_no_log | default(true) }}"

- name: Failover timing of the golive master, on each Sentinel
  golive.ops.redis_config:
    target: sentinel
    master_name: golive
    login_password: "{{ redis_sentinel_password }}"
    settings:
      quorum: 2
      down-after-milliseconds: 5000
      failover-timeout: 60000
      parallel-syncs: 1
  no_log: "{{ golive_no_log | default(true) }}"

- name: What would change (check mode, with a diff)
  golive.ops.redis_config:
    settings:
      maxmemory: 1gb
  check_mode: true
  diff: true
  register: __redis_config
"""

RETURN = r"""
changes:
  description: The settings that differed, with the value read and the value wanted (as Redis
    reports it). Values of secret settings are V(********).
  returned: always
  type: dict
  sample:
    maxmemory:
      before: "0"
      after: "268435456"
    requirepass:
      before: "********"
      after: "********"
rewritten:
  description: Whether C(CONFIG REWRITE) ran.
  returned: always
  type: bool
  sample: true
diff:
  description: The managed settings before and after, in diff mode.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The values read.
      type: dict
    after:
      description: The values wanted.
      type: dict
  sample:
    before:
      maxmemory: "0"
      appendonly: "yes"
    after:
      maxmemory: "268435456"
      appendonly: "yes"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.redis import (
    REDACTED,
    SENTINEL_PORT,
    SERVER_PORT,
    RedisError,
    auth_argument_spec,
    close,
    command,
    config_value,
    connect,
    format_address,
    is_secret_name,
    node_kwargs,
    pairs,
    redact,
    shown,
)

GLOB_CHARACTERS = "*?["


class Failed(Exception):
    """The task fails with `msg`; `result` says what was done before."""

    def __init__(self, msg: str, result: dict):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def argument_spec() -> dict:
    spec = auth_argument_spec()
    spec["login_port"] = {"type": "int"}  # the default depends on target
    spec.update(
        settings={"type": "dict", "default": {}},
        secret_settings={"type": "dict", "default": {}, "no_log": True},
        target={"type": "str", "choices": ["server", "sentinel"], "default": "server"},
        master_name={"type": "str", "default": "golive"},
        rewrite={"type": "bool", "default": True},
        connect_timeout={"type": "float", "default": 3.0},
    )
    return spec


def param_problems(params: dict) -> list[str]:
    problems = []
    if not params["login_host"]:
        problems.append("login_host must name the server or Sentinel to configure")
    if params["connect_timeout"] <= 0:
        problems.append(f"connect_timeout must be more than 0, not {params['connect_timeout']}")
    return problems


# --- pure functions ---------------------------------------------------------------------------


def wanted_values(settings: dict) -> tuple[dict[str, str], list[str]]:
    """({lower-cased name: value as Redis prints it}, problems) for the settings option."""
    wanted, problems = {}, []
    for raw_name, value in settings.items():
        name = str(raw_name).strip().lower()
        if not name or any(char in name for char in GLOB_CHARACTERS):
            problems.append(f"settings: {raw_name!r} is not a setting name")
            continue
        if name in wanted:
            problems.append(f"settings: {name} is given twice")
            continue
        try:
            wanted[name] = config_value(value)
        except TypeError as exc:
            problems.append(f"settings.{name}: {exc}")
    return wanted, problems


def compare(current: dict[str, str], wanted: dict[str, str]) -> dict[str, dict]:
    """{name: {before, after}} for every wanted setting whose current value differs."""
    return {
        name: {"before": current.get(name), "after": value}
        for name, value in wanted.items()
        if current.get(name) != value
    }


def masked(changes: dict[str, dict]) -> dict[str, dict]:
    return {
        name: {key: shown(name, value) for key, value in change.items()}
        for name, change in changes.items()
    }


def diff_of(current: dict, wanted: dict, changes: dict) -> dict:
    """before/after of every managed setting; a changed secret shows as such, not its value."""
    after = {}
    for name, value in wanted.items():
        if is_secret_name(name):
            after[name] = f"{REDACTED} (changed)" if name in changes else REDACTED
        else:
            after[name] = value
    before = {name: shown(name, current.get(name)) for name in wanted}
    return {"before": before, "after": after}


def set_arguments(changes: dict[str, dict]) -> list[str]:
    """name1 value1 name2 value2 ... for CONFIG SET / SENTINEL SET."""
    return [item for name, change in changes.items() for item in (name, change["after"])]


def unknown_command_hint(exc: RedisError, target: str) -> str:
    if exc.reason != "unknown_command":
        return ""
    other = "sentinel" if target == "server" else "server"
    return f" (is this a {other}? target is {target})"


def readback_warnings(wanted: dict, after: dict, names, source: str) -> list[str]:
    """Settings that read back differently from how they were set: never idempotent."""
    return [
        f"{name} was set to {shown(name, wanted[name])!r} but {source} reports "
        f"{shown(name, after.get(name))!r}; write it as Redis reports it, or every run changes it"
        for name in names
        if after.get(name) != wanted[name]
    ]


# --- I/O --------------------------------------------------------------------------------------


def read_server(client, names: list[str]) -> dict[str, str]:
    """{name: value} from one CONFIG GET; names Redis does not know are missing."""
    reply = pairs(command(client, "CONFIG", "GET", *names))
    return {key.lower(): value for key, value in reply.items()}


def read_sentinel(client, master_name: str) -> dict[str, str]:
    """Everything SENTINEL MASTER reports for master_name."""
    return pairs(command(client, "SENTINEL", "MASTER", master_name))


def configure(client, params: dict, wanted: dict, address: str, check_mode: bool, secrets: list):
    """Read, compare and (outside check mode) set; returns (result, current, warnings).

    Raises Failed. Current values of secret settings are appended to `secrets`.
    """
    target, master_name = params["target"], params["master_name"]
    names = list(wanted)
    result = {"changed": False, "changes": {}, "rewritten": False}
    source = "CONFIG GET" if target == "server" else f"SENTINEL MASTER {master_name}"

    def read():
        if target == "server":
            return read_server(client, names)
        return read_sentinel(client, master_name)

    try:
        current = read()
    except RedisError as exc:
        hint = unknown_command_hint(exc, target)
        raise Failed(f"{source} on {address} failed: {exc.message}{hint}", result) from None
    secrets += [value for name, value in current.items() if is_secret_name(name)]

    missing = [name for name in names if name not in current]
    if missing and target == "server":
        raise Failed(f"unknown setting(s) on {address}: {', '.join(missing)}", result)
    if missing:
        raise Failed(
            f"cannot manage {', '.join(missing)} on Sentinel {address}: {source} does not report "
            "it, so its current value cannot be compared; set it when the Sentinel is first "
            "configured instead",
            result,
        )

    changes = compare(current, wanted)
    result.update(changed=bool(changes), changes=changes)
    if not changes or check_mode:
        return result, current, []

    changed_names = ", ".join(changes)
    if target == "server":
        try:
            command(client, "CONFIG", "SET", *set_arguments(changes))
        except RedisError as exc:
            result["changed"] = False
            raise Failed(
                f"CONFIG SET {changed_names} on {address} failed, nothing was changed: "
                f"{exc.message}",
                result,
            ) from None
        if params["rewrite"]:
            try:
                command(client, "CONFIG", "REWRITE")
            except RedisError as exc:
                raise Failed(
                    f"{changed_names} changed at runtime on {address}, but CONFIG REWRITE "
                    f"failed, so a restart would undo them: {exc.message}",
                    result,
                ) from None
            result["rewritten"] = True
    else:
        try:
            command(client, "SENTINEL", "SET", master_name, *set_arguments(changes))
        except RedisError as exc:
            try:
                now = read()
            except RedisError:
                now = current
            applied = [name for name in changes if now.get(name) == wanted[name]]
            result["changed"] = bool(applied)
            done = f" ({', '.join(applied)} applied before the error)" if applied else ""
            raise Failed(
                f"SENTINEL SET {master_name} {changed_names} on {address} failed: "
                f"{exc.message}{done}",
                result,
            ) from None

    try:
        now = read()
    except RedisError:
        return result, current, []
    return result, current, readback_warnings(wanted, now, changes, source)


def main(connect_fn=connect):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    both = sorted(set(map(str.lower, params["settings"]))
                  & set(map(str.lower, params["secret_settings"])))
    wanted, problems = wanted_values({**params["settings"], **params["secret_settings"]})
    problems = param_problems(params) + problems
    problems += [f"{name} is in both settings and secret_settings" for name in both]
    secret_names = set(map(str.lower, params["secret_settings"]))
    secrets = [params["login_password"]]
    secrets += [value for name, value in wanted.items()
                if is_secret_name(name) or name in secret_names]
    # Ansible masks these too wherever it shows them, e.g. the invocation's module_args.
    module.no_log_values.update(secret for secret in secrets if secret)
    if problems:
        module.fail_json(msg=redact("; ".join(problems), secrets))

    result = {"changed": False, "changes": {}, "rewritten": False}
    if not wanted:
        module.exit_json(**result)

    kwargs = node_kwargs(module)
    default_port = SERVER_PORT if params["target"] == "server" else SENTINEL_PORT
    kwargs["port"] = params["login_port"] or default_port
    address = format_address(params["login_host"], kwargs["port"])

    failure, current, warnings = None, {}, []
    try:
        client = connect_fn(kwargs, params["connect_timeout"])
    except RedisError as exc:
        failure = f"cannot connect to {address}: {exc.message}"
    else:
        try:
            result, current, warnings = configure(
                client, params, wanted, address, module.check_mode, secrets
            )
        except Failed as exc:
            failure, result = exc.msg, exc.result
        finally:
            close(client)

    module.no_log_values.update(secret for secret in secrets if secret)  # and current ones
    for warning in warnings:
        module.warn(redact(warning, secrets))
    output = {**result, "changes": masked(result["changes"])}
    if module._diff and current:
        output["diff"] = diff_of(current, wanted, result["changes"])
    output = redact(output, secrets)
    if failure:
        module.fail_json(msg=redact(failure, secrets), **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
