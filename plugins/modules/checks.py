#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: checks
short_description: Run a list of health checks given as data and report each one
description:
  - Runs every check of O(checks) on the target, concurrently (see O(parallel)), and returns
    one result per check in RV(checks), in the order given, each with a status C(ok), C(warn) or
    C(fail), the measured value with its unit, the thresholds and a one-line message.
  - "Thresholds: a value exactly at a threshold passes. Minimums (C(min_*), C(warn_free_*),
    C(warn_available_gb), certificate days left) pass when the value is C(>=) the threshold;
    maximums (C(max_*), C(warn_ms), C(fail_ms), C(warn_load1_per_cpu), C(warn_offset_ms),
    C(warn_age_hours)) pass when the value is C(<=) it. Values are rounded as reported (two
    decimals, latencies and offsets one) before they are compared, so the status always
    agrees with the value shown."
  - Each field not given in a check comes from O(defaults) for its type, then from the built-in
    default; so an inventory can set thresholds per group and host. A threshold set to V(null)
    is off.
  - "The whole list is validated before anything runs: an unknown type, a missing required
    field, an unknown field, a value of the wrong type or range, a duplicate name, or warn and
    fail thresholds in the wrong order fail the task with every problem, each naming the check
    by index and name and the field, and nothing is checked."
  - A check that raises an error or does not finish in time is C(fail), with the reason in its
    message; the other checks are not affected.
  - By default the task succeeds whatever the statuses, so that a status command gets the data
    of every host; O(fail_on=fail) fails the task when a check fails.
  - "Check types and their fields (units are in the names; fields marked (required) have no
    default; every type also takes C(name) (required, unique), C(type) (required) and
    C(timeout_s)):"
  - "C(disk): C(path) (required), free space of the filesystem holding it, as C(df) shows it
    in its Avail column. C(min_free_gb) (fail, default 10), C(warn_free_gb) (default null), or
    instead C(min_free_percent) / C(warn_free_percent) of the filesystem's size. GB are
    1024^3 bytes (what C(df -h) calls G). A check (or O(defaults) entry) setting a percent
    threshold drops the GB thresholds it would inherit, and the other way round; one check
    cannot mix both."
  - "C(memory): C(MemAvailable) of C(/proc/meminfo), in GB (1024^3 bytes).
    C(warn_available_gb) (default 2), C(min_available_gb) (fail, default null)."
  - "C(load): the 1-minute load average divided by the number of CPUs.
    C(warn_load1_per_cpu) (default 1.0), C(max_load1_per_cpu) (fail, default null)."
  - "C(tcp): C(host) (required), C(port) (required); C(ok) when a TCP connection is accepted
    within C(timeout_s) (default 3); the value is the time to connect, in ms."
  - "C(postgres): logs in with C(user) (required) to C(dbname) (default: C(user)) on C(host)
    (default 127.0.0.1) and C(port) (default 6432, PgBouncer), runs C(query) (default
    C(SELECT 1)) and measures the time to connect and run it, in ms. C(sslmode) is passed to
    libpq when set. The password is the entry of O(secrets) named after the check; without one
    no password is sent (C(.pgpass) and E(PGPASSWORD) are never used). C(warn_ms) (default
    100), C(fail_ms) (default null); a server that cannot be reached or refuses the login is
    C(fail). C(timeout_s) (default 5) is libpq's C(connect_timeout), rounded up to seconds."
  - "C(redis): connects to C(host) (default 127.0.0.1) and C(port) (default 6379) as the ACL
    user C(user) (default: the default user) with the password of O(secrets) named after the
    check, sends C(PING) and C(INFO replication), and measures the time it all took, in ms.
    C(expect_role) (V(master) or V(replica)) fails the check on another role. C(warn_ms)
    (default 100), C(fail_ms) (default null), C(timeout_s) (default 3). The ACL user needs
    C(+ping +info)."
  - "C(http): a GET of C(url) (required, http or https); C(fail) unless the status code is
    C(expect_status) (default 200). C(json_fields) maps dotted paths into the JSON body to the
    value they must equal, such as V(status) to V(healthy); a V(*) segment means every key (or
    item) at that level, so V(services.*) to V(healthy) needs every entry of C(services) to be
    V(healthy) (and at least one entry). A body that is not JSON fails any C(json_fields).
    The value is the time until the whole body was read, in ms: C(warn_ms) (default 100),
    C(fail_ms) (default null). For https, C(ca_path) is the CA bundle to verify against (the
    system store when omitted) and C(validate_certs) (default true) can turn verification
    off. Redirects are not followed and no proxy is used. C(timeout_s) (default 5) bounds the
    connection and each read."
  - "C(app_health): the app's health contract, judged as the deploy's gate and watch judge it
    (golive.ops.app_gate): a GET of C(url) must answer 200 with a JSON C(status) in
    C(statuses) (default V(ok), V(healthy)) and every entry of C(services) in
    C(service_statuses) (same default; V([]) ignores them). The entry also carries C(served),
    the version the app reports (body C(version) or the C(version_header) header). With
    C(release_link) set and absent (no release deployed yet), it is C(ok) with nothing probed.
    The value is the latency in ms: C(warn_ms) (default 1000, plan 003's p95 limit),
    C(fail_ms) (default null). C(validate_certs) defaults to false (a loopback URL)."
  - "C(systemd): C(unit) (required) is C(active) per C(systemctl is-active); C(activating) and
    C(reloading) are C(warn), anything else C(fail)."
  - "C(file): C(path) (required) exists (symbolic links followed) and, when given, has the
    permission bits C(mode) (a quoted octal string such as V('0600')), the owner C(owner) and
    the group C(group) (names or numeric ids). Any difference is C(fail)."
  - "C(backup_age): the newest regular file matching C(path) (required): a directory (its
    files, not those of its subdirectories) or a glob pattern (V(**) matches subdirectories).
    Its age from its modification time, in hours: C(max_age_hours) (fail, default 26),
    C(warn_age_hours) (default null). No matching file is C(fail)."
  - "C(alerts): the alerts of the Prometheus at C(url) (default V(http://127.0.0.1:9090), the
    mon host's own). A critical alert firing is C(fail) (the value is how many, the message
    names them, their hosts and since when); an unreachable Prometheus is C(warn).
    C(timeout_s) (default 5)."
  - "C(certificate): days left of the first certificate in the PEM file C(path) (required), as
    golive.ops.tls_cert reads it. C(warn_days) (default 30), C(fail_days) (default 14); an
    expired, missing or unreadable certificate is C(fail)."
  - "C(clock): the offset of the system clock from its time source, in ms, as chrony
    (C(chronyc -c tracking)) or systemd-timesyncd (C(timedatectl timesync-status)) report it,
    the first that answers. C(warn_offset_ms) (default 100), C(max_offset_ms) (fail, default
    1000). A chrony that is not synchronised is C(warn). When neither answers, the check is
    C(ok) if C(timedatectl show) says the clock is synchronised (another daemon, offset
    unknown), else C(warn) with the value V(no time daemon)."
  - "C(updates): pending Debian security updates, from the package lists already on the host
    (nothing is downloaded: the lists are as fresh as the last C(apt-get update), which
    C(apt-daily.timer) runs daily; the message says how old they are). An upgradable package
    is a security update when its candidate version comes from a suite ending in C(-security)
    or labelled C(Debian-Security). The value is how many there are: C(warn_security_pending)
    (default 0, so any pending one warns), C(max_security_pending) (fail, default null). The
    message names them with their versions (the first 10, then how many more) and the entry
    carries them all in C(updates). A reboot asked for by Debian's C(/run/reboot-required) is
    C(warn), naming the packages of C(/run/reboot-required.pkgs), unless
    C(warn_reboot_required) is false. No package lists at all is C(warn) (the count would mean
    nothing); without python3-apt the check is C(fail). C(timeout_s) (default 30)."
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
requirements:
  - psycopg2 on the target for C(postgres) checks (Debian package C(python3-psycopg2))
  - redis-py on the target for C(redis) checks (Debian package C(python3-redis))
  - cryptography on the target for C(certificate) checks (Debian package C(python3-cryptography))
  - python3-apt on the target for C(updates) checks (Debian package C(python3-apt), which
    unattended-upgrades and Ansible's apt module need too)
options:
  checks:
    description:
      - The checks to run, each a dict with C(name), C(type) and the fields of its type (see
        above).
      - C(name) identifies the check in the results and in O(secrets); names are unique.
      - C(timeout_s) (seconds, more than 0) bounds the check; its default depends on the type
        (3 for C(tcp) and C(redis), 5 for C(postgres) and C(http), 10 for the others). A check
        that has not finished C(timeout_s) + 2 seconds after it started is abandoned and
        reported as C(fail).
      - A C(password) (or any other unknown field) is refused; passwords go in O(secrets).
    type: list
    elements: dict
    required: true
  defaults:
    description:
      - "Field values per check type, used for the fields a check does not set, such as
        V({disk: {min_free_gb: 20}, http: {warn_ms: 250}})."
      - Keys are check types; values are dicts of that type's fields except C(name) and
        C(type), validated as in a check. Built-in defaults apply to what neither sets.
    type: dict
    default: {}
  secrets:
    description:
      - "Passwords of the C(postgres) and C(redis) checks, keyed by check name, such as
        V({db: '{{ vault_app_db_password }}'})."
      - Never shown in results or messages. An entry for a check that is not a C(postgres) or
        C(redis) check draws a warning and is not used.
    type: dict
    default: {}
  parallel:
    description:
      - How many checks run at the same time, at least 1. The task takes about as long as the
        slowest check when O(parallel) is at least the number of checks.
    type: int
    default: 8
  fail_on:
    description:
      - V(never) reports every result and succeeds.
      - V(fail) fails the task, with all the results, when any check is C(fail).
    type: str
    choices: [fail, never]
    default: never
  validate_only:
    description:
      - Validate O(checks) and O(defaults) and return without running any check (the
        task fails on an invalid definition as usual). C(golive check) runs this for every host
        on the control node first, so that one bad definition stops the run before any host is
        checked.
    type: bool
    default: false
  sources:
    description:
      - Where each check of O(checks) was defined, one entry per check, such as
        V(checks_extra[0]); problems then name the check by it instead of V(checks[N]).
    type: list
    elements: str
    default: []
  defaults_source:
    description:
      - What problems call O(defaults), such as the inventory variable it came from.
    type: str
    default: defaults
notes:
  - Checks run in threads of the module's process on the target; a check that is abandoned
    after its timeout keeps its thread until the module exits, which it does without waiting.
  - Latencies are wall-clock times measured on the target while the other checks run.
seealso:
  - module: golive.ops.tls_cert
  - module: golive.ops.pg_login
  - module: golive.ops.redis_replication
"""

EXAMPLES = r"""
# Thresholds per type come from an inventory variable (roles/checks calls it
# checks_thresholds), so that groups and hosts can override them, e.g. in group_vars:
#   checks_thresholds: {disk: {min_free_gb: 20}, http: {warn_ms: 250}}
- name: Checks
  golive.ops.checks:
    defaults: "{{ checks_thresholds }}"
    checks:
      - {name: disk_root, type: disk, path: /}
      - {name: disk_data, type: disk, path: /srv, min_free_percent: 15}
      - {name: memory, type: memory}
      - {name: load, type: load}
      - {name: pgbouncer_port, type: tcp, host: 127.0.0.1, port: 6432}
      - {name: db, type: postgres, user: app, dbname: app}
      - {name: redis, type: redis, user: app, expect_role: master}
      - name: health
        type: http
        url: https://127.0.0.1/health
        ca_path: /etc/golive/acme-ca.pem
        json_fields: {status: healthy, "services.*": healthy}
      - {name: nginx, type: systemd, unit: nginx.service}
      - {name: app_env, type: file, path: /srv/app/.env, mode: "0600", owner: app, group: app}
      - {name: backup, type: backup_age, path: "/var/backups/golive/*.dump"}
      - {name: tls, type: certificate, path: /etc/golive/tls/web.example.org/fullchain.pem}
      - {name: clock, type: clock}
      - {name: updates, type: updates, max_security_pending: 20}
    secrets:
      db: "{{ vault_app_db_password }}"
      redis: "{{ vault_redis_app_password }}"
  register: __checks
  no_log: "{{ golive_no_log | default(true) }}"

- name: Keep the results for the report
  ansible.builtin.set_fact:
    check_report: "{{ __checks.checks }}"

- name: Gate a deploy on the checks
  golive.ops.checks:
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8000/health", fail_ms: 1000}
    fail_on: fail
"""

RETURN = r"""
checks:
  description: One result per check of O(checks), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
    type:
      description: The check's type.
      type: str
    status:
      description: V(ok), V(warn) or V(fail).
      type: str
    value:
      description:
        - The measured value; a number in RV(checks[].unit) for most types (for C(updates),
          how many security updates are pending), a string for
          C(systemd) (the unit's state), C(file) (V(0600 owner:group), or V(missing)) and a
          C(clock) whose offset is unknown (V(synchronized) or V(no time daemon)).
        - Null when nothing could be measured (an unreachable target, an error).
      type: raw
    unit:
      description: Unit of RV(checks[].value) (V(GB), V(%), V(per CPU), V(ms), V(h), V(days),
        V(updates)), null when the value is not a number.
      type: str
    threshold:
      description: The thresholds applied, for a human, such as V(>= 20 GB (warn\), >= 10 GB
        (fail\)) or V(HTTP 200, status == "healthy", <= 100 ms (warn\)).
      type: str
    message:
      description: One line naming the check and the numbers, with the reason of a C(warn) or
        C(fail).
      type: str
    duration_ms:
      description: How long the check ran, in ms.
      type: float
    served:
      description: C(app_health) only, the version the app answered (null when none).
      type: str
    updates:
      description:
        - "C(updates) only, when the lists could be read: C(security) (C(name), C(installed),
          C(candidate), C(suite) of each pending security update, by name), C(other) (names of
          the other upgradable packages), C(lists_age_s) (seconds since the newest package
          list was written, null without lists) and C(reboot) (C(required), C(packages))."
      type: dict
  sample:
    - name: disk_root
      type: disk
      status: ok
      value: 42.17
      unit: GB
      threshold: ">= 10 GB (fail)"
      message: "disk_root: 42.17 GB free on / (61.5% of 68.56 GB)"
      duration_ms: 0.2
    - name: health
      type: http
      status: warn
      value: 131.4
      unit: ms
      threshold: 'HTTP 200, status == "healthy", services.* == "healthy", <= 100 ms (warn)'
      message: "health: HTTP 200 from https://127.0.0.1/health in 131.4 ms, above 100 ms (warn)"
      duration_ms: 133.0
status:
  description: The worst status of RV(checks) (V(ok) when there are none).
  returned: always
  type: str
  sample: warn
summary:
  description: How many checks have each status.
  returned: always
  type: dict
  sample: {ok: 12, warn: 1, fail: 0}
msg:
  description: One line; the counts, then the messages of the checks that failed.
  returned: always
  type: str
  sample: "13 checks: 12 ok, 1 warn, 0 fail"
valid:
  description: With O(validate_only), how many definitions were validated (none was run).
  returned: when O(validate_only) is true and the definitions are valid
  type: int
  sample: 13
problems:
  description: When the definitions are refused, one line per problem (as in RV(msg)).
  returned: on failure
  type: list
  elements: str
  sample:
    - "checks[3] 'db': unknown field 'passwd' (fields of postgres: dbname, fail_ms, host, name,
      port, query, sslmode, timeout_s, type, user, warn_ms)"
"""

import contextlib
import dataclasses
import datetime
import glob
import grp
import http.client as http_client
import json
import math
import os
import pwd
import queue
import re
import socket
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE
from ansible_collections.golive.ops.plugins.module_utils import alerts as alerts_utils
from ansible_collections.golive.ops.plugins.module_utils import apt_updates, certificate, health, pg
from ansible_collections.golive.ops.plugins.module_utils import http as http_utils
from ansible_collections.golive.ops.plugins.module_utils import redis as redis_utils
from ansible_collections.golive.ops.plugins.module_utils.jsonpath import json_problems, json_text

STATUSES = pg.CHECK_STATUSES  # ("ok", "warn", "fail"), worst last
GB = 1024**3
GRACE_S = 2.0  # how long after its timeout_s a check is abandoned
HTTP_BODY_LIMIT = http_utils.BODY_LIMIT
MAX_SHOWN_PROBLEMS = 3
_MODE = re.compile(r"0?[0-7]{3}|[0-7]{4}")
_TIMESPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(us|µs|ms|min|s|h)")
_TIMESPAN_UNITS_MS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0, "min": 60000.0, "h": 3.6e6}


# --- the types and their fields ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Field:
    """A check field: its kind (str, int, number, bool, dict, mode), default and range."""

    kind: str
    default: Any = None
    required: bool = False
    choices: tuple = ()
    minimum: float | None = None  # inclusive
    above: float | None = None  # exclusive minimum
    maximum: float | None = None  # inclusive


@dataclasses.dataclass(frozen=True)
class Limit:
    """A warn/fail pair of thresholds on the check's value; `lower_is_worse` for minimums."""

    warn: str | None
    fail: str | None
    lower_is_worse: bool
    unit: str


def _threshold(default=None, maximum=None):
    return Field("number", default, minimum=0, maximum=maximum)


def _timeout(default):
    return Field("number", default, above=0)


_PORT = {"minimum": 1, "maximum": 65535}
_LATENCY = {"warn_ms": _threshold(100.0), "fail_ms": _threshold()}
_LATENCY_LIMIT = Limit("warn_ms", "fail_ms", False, "ms")

TYPES = {
    "disk": {
        "fields": {
            "path": Field("str", required=True),
            "min_free_gb": _threshold(10.0),
            "warn_free_gb": _threshold(),
            "min_free_percent": _threshold(maximum=100),
            "warn_free_percent": _threshold(maximum=100),
            "timeout_s": _timeout(10.0),
        },
        "limits": (
            Limit("warn_free_gb", "min_free_gb", True, "GB"),
            Limit("warn_free_percent", "min_free_percent", True, "%"),
        ),
    },
    "memory": {
        "fields": {
            "warn_available_gb": _threshold(2.0),
            "min_available_gb": _threshold(),
            "timeout_s": _timeout(10.0),
        },
        "limits": (Limit("warn_available_gb", "min_available_gb", True, "GB"),),
    },
    "load": {
        "fields": {
            "warn_load1_per_cpu": _threshold(1.0),
            "max_load1_per_cpu": _threshold(),
            "timeout_s": _timeout(10.0),
        },
        "limits": (Limit("warn_load1_per_cpu", "max_load1_per_cpu", False, "per CPU"),),
    },
    "tcp": {
        "fields": {
            "host": Field("str", required=True),
            "port": Field("int", required=True, **_PORT),
            "timeout_s": _timeout(3.0),
        },
        "limits": (),
    },
    "postgres": {
        "fields": {
            "host": Field("str", "127.0.0.1"),
            "port": Field("int", 6432, **_PORT),
            "user": Field("str", required=True),
            "dbname": Field("str"),
            "query": Field("str", "SELECT 1"),
            "sslmode": Field(
                "str",
                choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
            ),
            **_LATENCY,
            "timeout_s": _timeout(5.0),
        },
        "limits": (_LATENCY_LIMIT,),
    },
    "redis": {
        "fields": {
            "host": Field("str", "127.0.0.1"),
            "port": Field("int", redis_utils.SERVER_PORT, **_PORT),
            "user": Field("str"),
            "expect_role": Field("str", choices=("master", "replica")),
            **_LATENCY,
            "timeout_s": _timeout(3.0),
        },
        "limits": (_LATENCY_LIMIT,),
    },
    "http": {
        "fields": {
            "url": Field("str", required=True),
            "expect_status": Field("int", 200, minimum=100, maximum=599),
            "json_fields": Field("dict"),
            **_LATENCY,
            "ca_path": Field("str"),
            "validate_certs": Field("bool", True),
            "timeout_s": _timeout(5.0),
        },
        "limits": (_LATENCY_LIMIT,),
    },
    "app_health": {
        "fields": {
            "url": Field("str", required=True),
            "statuses": Field("list", list(health.DEFAULT_STATUSES)),
            "service_statuses": Field("list", list(health.DEFAULT_STATUSES)),
            "version_header": Field("str", "X-App-Version"),
            "release_link": Field("str"),
            "warn_ms": _threshold(1000.0),
            "fail_ms": _threshold(),
            "validate_certs": Field("bool", False),
            "timeout_s": _timeout(5.0),
        },
        "limits": (_LATENCY_LIMIT,),
    },
    "systemd": {
        "fields": {"unit": Field("str", required=True), "timeout_s": _timeout(10.0)},
        "limits": (),
    },
    "file": {
        "fields": {
            "path": Field("str", required=True),
            "mode": Field("mode"),
            "owner": Field("str"),
            "group": Field("str"),
            "timeout_s": _timeout(10.0),
        },
        "limits": (),
    },
    "backup_age": {
        "fields": {
            "path": Field("str", required=True),
            "max_age_hours": _threshold(26.0),
            "warn_age_hours": _threshold(),
            "timeout_s": _timeout(10.0),
        },
        "limits": (Limit("warn_age_hours", "max_age_hours", False, "h"),),
    },
    "certificate": {
        "fields": {
            "path": Field("str", required=True),
            "warn_days": _threshold(30.0),
            "fail_days": _threshold(14.0),
            "timeout_s": _timeout(10.0),
        },
        "limits": (Limit("warn_days", "fail_days", True, "days"),),
    },
    "alerts": {
        "fields": {
            "url": Field("str", "http://127.0.0.1:9090"),
            "timeout_s": _timeout(5.0),
        },
        "limits": (),
    },
    "clock": {
        "fields": {
            "warn_offset_ms": _threshold(100.0),
            "max_offset_ms": _threshold(1000.0),
            "timeout_s": _timeout(10.0),
        },
        "limits": (Limit("warn_offset_ms", "max_offset_ms", False, "ms"),),
    },
    "updates": {
        "fields": {
            "warn_security_pending": _threshold(0.0),
            "max_security_pending": _threshold(),
            "warn_reboot_required": Field("bool", True),
            "timeout_s": _timeout(30.0),
        },
        "limits": (Limit("warn_security_pending", "max_security_pending", False, "updates"),),
    },
}
IDENTITY = ("name", "type")
SECRET_TYPES = ("postgres", "redis")
# Disk thresholds come in two exclusive sets: a layer setting one drops the other it inherits.
DISK_BASES = (("min_free_gb", "warn_free_gb"), ("min_free_percent", "warn_free_percent"))


def threshold_fields(check_type: str) -> set[str]:
    return {
        name
        for limit in TYPES[check_type]["limits"]
        for name in (limit.warn, limit.fail)
        if name is not None
    }


def allowed_fields(check_type: str) -> list[str]:
    return sorted([*IDENTITY, *TYPES[check_type]["fields"]])


def argument_spec() -> dict:
    return {
        "checks": {"type": "list", "elements": "dict", "required": True},
        "defaults": {"type": "dict", "default": {}},
        "secrets": {"type": "dict", "default": {}, "no_log": True},
        "parallel": {"type": "int", "default": 8},
        "fail_on": {"type": "str", "choices": ["fail", "never"], "default": "never"},
        "validate_only": {"type": "bool", "default": False},
        "sources": {"type": "list", "elements": "str", "default": []},
        "defaults_source": {"type": "str", "default": "defaults"},
    }


# --- validation: pure functions of the definitions ---------------------------------------------


class Invalid(ValueError):
    """A field value that cannot be used; str() says why, without naming the field."""


def coerce(value, field: Field):
    """`value` as the field's kind, in its range; Invalid when it cannot be."""
    kind = field.kind
    if kind == "str":
        if not isinstance(value, str):
            raise Invalid(f"must be a string, not {type(value).__name__} {value!r}")
        if not value:
            raise Invalid("must not be empty")
    elif kind == "mode":
        if not isinstance(value, str):
            raise Invalid(
                f"must be a quoted octal string such as '0600', not {type(value).__name__} "
                f"{value!r} (YAML reads an unquoted 0600 as the number 384)"
            )
        if not _MODE.fullmatch(value):
            raise Invalid(f"must be an octal mode such as '0600', not {value!r}")
        value = value.zfill(4)
    elif kind in ("int", "number"):
        value = _number(value, integer=kind == "int")
    elif kind == "bool":
        value = _boolean(value)
    elif kind == "dict" and not isinstance(value, dict):
        raise Invalid(f"must be a dict, not {type(value).__name__} {value!r}")
    elif kind == "list" and (not isinstance(value, list)
                             or not all(isinstance(item, str) and item for item in value)):
        raise Invalid(f"must be a list of strings, not {type(value).__name__} {value!r}")
    if field.choices and value not in field.choices:
        raise Invalid(f"must be one of {', '.join(field.choices)}, not {value!r}")
    if field.minimum is not None and value < field.minimum:
        raise Invalid(f"must be at least {number_text(field.minimum)}, not {number_text(value)}")
    if field.maximum is not None and value > field.maximum:
        raise Invalid(f"must be at most {number_text(field.maximum)}, not {number_text(value)}")
    if field.above is not None and value <= field.above:
        raise Invalid(f"must be more than {number_text(field.above)}, not {number_text(value)}")
    return value


def _number(value, integer: bool):
    what = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Invalid(f"must be {what}, not {type(value).__name__} {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise Invalid(f"must be {what}, not {value!r}") from None
    if not math.isfinite(number):
        raise Invalid(f"must be a finite number, not {value!r}")
    if integer:
        if not number.is_integer():
            raise Invalid(f"must be {what}, not {value!r}")
        return int(number)
    return number


def _boolean(value):
    if isinstance(value, bool):
        return value
    lowered = value.lower() if isinstance(value, str) else value
    if lowered in BOOLEANS_TRUE:
        return True
    if lowered in BOOLEANS_FALSE:
        return False
    raise Invalid(f"must be a boolean, not {type(value).__name__} {value!r}")


def label(index: int, item, sources: list | None = None) -> str:
    """checks[3] 'db' (or the check's entry of sources, e.g. checks_extra[0] 'db'), as problems
    name a check."""
    where = sources[index] if sources and index < len(sources) else f"checks[{index}]"
    name = item.get("name") if isinstance(item, dict) else None
    return f"{where} {name!r}" if isinstance(name, str) and name else where


def layer_problems(where: str, check_type: str, fields: dict) -> tuple[dict, list[str]]:
    """(coerced fields, problems) of the type fields a check or a defaults entry sets.

    Null values are kept as None: they turn a threshold off and leave other fields unset.
    """
    spec = TYPES[check_type]["fields"]
    coerced, problems = {}, []
    for key, value in fields.items():
        if key in IDENTITY:
            continue
        if key not in spec:
            if key == "password":
                problems.append(
                    f"{where}: password is not a field: give it in the secrets option, keyed "
                    "by the check's name, so that it stays hidden"
                )
            else:
                problems.append(
                    f"{where}: unknown field {key!r} (fields of {check_type}: "
                    f"{', '.join(allowed_fields(check_type))})"
                )
            continue
        if value is None:
            coerced[key] = None
            continue
        try:
            coerced[key] = coerce(value, spec[key])
        except Invalid as exc:
            problems.append(f"{where}: {key} {exc}")
    if check_type == "disk":
        gb, percent = ([key for key in base if coerced.get(key) is not None] for base in DISK_BASES)
        if gb and percent:
            problems.append(
                f"{where}: {', '.join(gb)} and {', '.join(percent)} cannot be mixed: use "
                "min_free_gb/warn_free_gb or min_free_percent/warn_free_percent"
            )
    return coerced, problems


def merge(check_type: str, layers: list[dict]) -> dict:
    """The fields of a check from its layers (built-in defaults first, the check's own last)."""
    merged = {}
    for layer in layers:
        if check_type == "disk":
            for own, other in (DISK_BASES, DISK_BASES[::-1]):
                if any(layer.get(key) is not None for key in own):
                    for key in other:
                        merged.pop(key, None)
        merged.update(layer)
    thresholds = threshold_fields(check_type)
    spec = TYPES[check_type]["fields"]
    for key, field in spec.items():
        if merged.get(key) is None and key not in thresholds:
            merged[key] = field.default
        merged.setdefault(key, None)
    return merged


def order_problems(where: str, check_type: str, fields: dict) -> list[str]:
    """Warn thresholds that can never be reached before the fail ones."""
    problems = []
    for limit in TYPES[check_type]["limits"]:
        warn, fail = fields.get(limit.warn), fields.get(limit.fail)
        if warn is None or fail is None:
            continue
        if limit.lower_is_worse and warn < fail:
            problems.append(
                f"{where}: {limit.warn} ({number_text(warn)}) must be at least {limit.fail} "
                f"({number_text(fail)})"
            )
        elif not limit.lower_is_worse and warn > fail:
            problems.append(
                f"{where}: {limit.warn} ({number_text(warn)}) must be at most {limit.fail} "
                f"({number_text(fail)})"
            )
    return problems


def defaults_problems(defaults: dict, source: str = "defaults") -> tuple[dict, list[str]]:
    """(coerced defaults per type, problems) of the defaults option (named SOURCE)."""
    coerced, problems = {}, []
    for check_type, fields in defaults.items():
        where = f"{source}.{check_type}"
        if check_type not in TYPES:
            problems.append(
                f"{source}: unknown type {check_type!r} (types: {', '.join(sorted(TYPES))})"
            )
            continue
        if not isinstance(fields, dict):
            problems.append(f"{where} must be a dict of fields, not {fields!r}")
            continue
        for key in IDENTITY:
            if key in fields:
                problems.append(f"{where}: {key} cannot have a default")
        coerced[check_type], found = layer_problems(where, check_type, fields)
        problems += found
    return coerced, problems


def field_problems(where: str, check_type: str, fields: dict) -> list[str]:
    """Problems of a merged check that no single field shows."""
    problems = [
        f"{where}: missing required field {key} (type {check_type})"
        for key, field in TYPES[check_type]["fields"].items()
        if field.required and fields.get(key) is None
    ]
    problems += order_problems(where, check_type, fields)
    if check_type == "http":
        problems += [
            f"{where}: json_fields keys must be dotted paths (strings), not {key!r}"
            for key in fields.get("json_fields") or {}
            if not isinstance(key, str) or not key
        ]
    url = fields.get("url") if check_type in ("http", "app_health") else None
    if url and not re.match(r"https?://[^/?#]+", url):
        problems.append(f"{where}: url must be an http:// or https:// URL, not {url!r}")
    if check_type == "systemd" and (fields.get("unit") or "").startswith("-"):
        problems.append(f"{where}: unit must be a unit name, not {fields['unit']!r}")
    return problems


def validate(checks: list, defaults: dict, sources: list | None = None,
             defaults_source: str = "defaults") -> tuple[list[dict], list[str]]:
    """(checks ready to run, each with every field of its type; problems).

    SOURCES and DEFAULTS_SOURCE name where the definitions came from, for the problems. The
    checks are only usable when there are no problems.
    """
    type_defaults, problems = defaults_problems(defaults, defaults_source)
    ready, names = [], {}
    for index, item in enumerate(checks):
        where = label(index, item, sources)
        name, check_type = item.get("name"), item.get("type")
        if name is None:
            problems.append(f"{where}: missing required field name")
        elif not isinstance(name, str) or not name:
            problems.append(f"{where}: name must be a non-empty string, not {name!r}")
        elif name in names:
            problems.append(f"{where}: duplicate name, also {label(names[name], item, sources)}")
        else:
            names[name] = index
        if check_type is None:
            problems.append(
                f"{where}: missing required field type (types: {', '.join(sorted(TYPES))})"
            )
            continue
        if not isinstance(check_type, str) or check_type not in TYPES:
            problems.append(
                f"{where}: unknown type {check_type!r} (types: {', '.join(sorted(TYPES))})"
            )
            continue
        own, found = layer_problems(where, check_type, item)
        problems += found
        builtin = {key: field.default for key, field in TYPES[check_type]["fields"].items()}
        fields = merge(check_type, [builtin, type_defaults.get(check_type, {}), own])
        problems += field_problems(where, check_type, fields)
        ready.append({**fields, "name": name, "type": check_type})
    return ready, problems


def secret_warnings(checks: list[dict], secrets: dict) -> list[str]:
    """Warnings for secrets that no postgres or redis check uses (names only, never values)."""
    types = {check["name"]: check["type"] for check in checks}
    warnings = []
    for name in secrets:
        if name not in types:
            warnings.append(f"secrets: no check is named {name!r}; its entry is not used")
        elif types[name] not in SECRET_TYPES:
            warnings.append(
                f"secrets: check {name!r} is a {types[name]} check, which takes no password; "
                "its entry is not used"
            )
    return warnings


# --- thresholds and results: pure functions ----------------------------------------------------


def number_text(value) -> str:
    """12.0 -> '12', 9.5 -> '9.5', 0.125 -> '0.12', 1500000.0 -> '1500000'."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def judge(value: float, warn: float | None, fail: float | None, lower_is_worse: bool):
    """(status, the threshold crossed or None); a value exactly at a threshold passes."""

    def crossed(limit):
        return limit is not None and (value < limit if lower_is_worse else value > limit)

    if crossed(fail):
        return "fail", fail
    if crossed(warn):
        return "warn", warn
    return "ok", None


def limit_text(check: dict, limit: Limit) -> list[str]:
    """['>= 20 GB (warn)', '>= 10 GB (fail)'] for the thresholds that are set."""
    operator = ">=" if limit.lower_is_worse else "<="
    return [
        f"{operator} {number_text(check[key])} {limit.unit} ({status})"
        for key, status in ((limit.warn, "warn"), (limit.fail, "fail"))
        if check.get(key) is not None
    ]


def active_limit(check: dict) -> Limit | None:
    """The Limit whose thresholds are set (disk: GB or percent), else the type's first."""
    limits = TYPES[check["type"]]["limits"]
    for limit in limits:
        if check.get(limit.warn) is not None or check.get(limit.fail) is not None:
            return limit
    return limits[0] if limits else None


def threshold_text(check: dict) -> str:
    """The human form of what a check requires, as results show it."""
    check_type = check["type"]
    limit = active_limit(check)
    numeric = limit_text(check, limit) if limit else []
    if check_type == "tcp":
        return f"reachable within {number_text(check['timeout_s'])} s"
    if check_type == "postgres":
        return ", ".join(["reachable", *numeric])
    if check_type == "redis":
        role = [f"role {check['expect_role']}"] if check["expect_role"] else []
        return ", ".join(["reachable", *role, *numeric])
    if check_type == "http":
        fields = [
            f"{path} == {json_text(value)}" for path, value in (check["json_fields"] or {}).items()
        ]
        return ", ".join([f"HTTP {check['expect_status']}", *fields, *numeric])
    if check_type == "app_health":
        services = (f", services {'/'.join(check['service_statuses'])}"
                    if check["service_statuses"] else "")
        return ", ".join([f"status {'/'.join(check['statuses'])}{services}", *numeric])
    if check_type == "systemd":
        return "active"
    if check_type == "file":
        wanted = [
            f"{key} {check[key]}" for key in ("mode", "owner", "group") if check[key] is not None
        ]
        return ", ".join(["present", *wanted])
    if check_type == "updates" and check["warn_reboot_required"]:
        return ", ".join([*numeric, "no reboot required (warn)"])
    return ", ".join(numeric) or "none"


def verdict(check: dict, value: float, detail: str, limit: Limit | None = None) -> "Outcome":
    """The Outcome of a measured number against the check's thresholds."""
    limit = limit or active_limit(check)
    status, crossed = judge(value, check[limit.warn], check[limit.fail], limit.lower_is_worse)
    if crossed is not None:
        side = "below" if limit.lower_is_worse else "above"
        detail += f", {side} {number_text(crossed)} {limit.unit} ({status})"
    return Outcome(status, value, detail, limit.unit)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a check function found: the status, the value, a phrase for the message."""

    status: str
    value: Any = None
    detail: str = ""
    unit: str | None = None
    extra: dict = dataclasses.field(default_factory=dict)  # more keys of the entry


class CheckFailed(Exception):
    """An expected failure of a check (unreachable, missing file ...); str() is the phrase."""


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def result(check: dict, outcome: Outcome, duration_ms: float) -> dict:
    """One entry of RV(checks)."""
    value = outcome.value
    unit = outcome.unit if isinstance(value, int | float) and not isinstance(value, bool) else None
    entry = pg.check(
        check["name"],
        outcome.status,
        value,
        threshold_text(check),
        one_line(f"{check['name']}: {outcome.detail}"),
    )
    return {
        "name": entry["name"],
        "type": check["type"],
        "status": entry["status"],
        "value": entry["value"],
        "unit": unit,
        "threshold": entry["threshold"],
        "message": entry["message"],
        "duration_ms": round(duration_ms, 1),
        **outcome.extra,
    }


def summarize(results: list[dict]) -> dict:
    """status, summary and msg of the results."""
    counts = {status: 0 for status in STATUSES}
    for entry in results:
        counts[entry["status"]] += 1
    worst = max((entry["status"] for entry in results), key=STATUSES.index, default="ok")
    noun = "check" if len(results) == 1 else "checks"
    msg = f"{len(results)} {noun}: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)
    failed = [entry["message"] for entry in results if entry["status"] == "fail"]
    if failed:
        msg += "; " + "; ".join(failed)
    return {"status": worst, "summary": counts, "msg": msg}


# --- the environment the checks read ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Env:
    """Everything the check functions touch besides sockets and files, replaceable in tests."""

    run_command: Callable
    which: Callable  # name -> path or None
    secrets: dict = dataclasses.field(default_factory=dict)
    clock: Callable = time.perf_counter  # durations and latencies
    now: Callable = time.time  # file ages and certificate days
    statvfs: Callable = os.statvfs
    meminfo: str = "/proc/meminfo"
    loadavg: Callable = os.getloadavg
    cpu_count: Callable = os.cpu_count
    pg_connect: Callable = pg.connect
    redis_connect: Callable = redis_utils.connect
    http_get: Callable = alerts_utils.fetch_json
    apt_pkg: Any = None  # python3-apt's apt_pkg, imported by the updates check when None
    root: str = "/"  # where the updates check looks for run/reboot-required
    grace_s: float = GRACE_S


def elapsed_ms(env: Env, start: float) -> float:
    return round((env.clock() - start) * 1000, 1)


# --- the checks ---------------------------------------------------------------------------------


def check_disk(check: dict, env: Env) -> Outcome:
    path = check["path"]
    try:
        fs = env.statvfs(path)
    except OSError as exc:
        raise CheckFailed(f"cannot read the filesystem of {path}: {exc.strerror or exc}") from None
    free = fs.f_bavail * fs.f_frsize
    # As df: the size users can get is what is used plus what is available to them.
    usable = (fs.f_blocks - fs.f_bfree + fs.f_bavail) * fs.f_frsize
    size_gb = round(fs.f_blocks * fs.f_frsize / GB, 2)
    free_gb = round(free / GB, 2)
    percent = round(100 * free / usable, 2) if usable else 0.0
    limit = active_limit(check)
    if limit.unit == "%":
        detail = f"{number_text(percent)}% free on {path} ({number_text(free_gb)} GB of "
        return verdict(check, percent, detail + f"{number_text(size_gb)} GB)", limit)
    detail = f"{number_text(free_gb)} GB free on {path} ({number_text(percent)}% of "
    return verdict(check, free_gb, detail + f"{number_text(size_gb)} GB)", limit)


def check_memory(check: dict, env: Env) -> Outcome:
    try:
        with open(env.meminfo, encoding="ascii") as handle:
            text = handle.read()
    except OSError as exc:
        raise CheckFailed(f"cannot read {env.meminfo}: {exc.strerror or exc}") from None
    match = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, re.MULTILINE)
    if not match:
        raise CheckFailed(f"no MemAvailable in {env.meminfo} (Linux 3.14 or later has it)")
    total = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    available = round(int(match.group(1)) * 1024 / GB, 2)
    detail = f"{number_text(available)} GB available"
    if total:
        detail += f" of {number_text(round(int(total.group(1)) * 1024 / GB, 2))} GB"
    return verdict(check, available, detail)


def check_load(check: dict, env: Env) -> Outcome:
    load1 = env.loadavg()[0]
    cpus = env.cpu_count() or 1
    per_cpu = round(load1 / cpus, 2)
    detail = f"load1 {number_text(round(load1, 2))} on {cpus} CPUs, {number_text(per_cpu)} per CPU"
    return verdict(check, per_cpu, detail)


def check_tcp(check: dict, env: Env) -> Outcome:
    address = redis_utils.format_address(check["host"], check["port"])
    timeout = check["timeout_s"]
    start = env.clock()
    try:
        with socket.create_connection((check["host"], check["port"]), timeout=timeout):
            latency = elapsed_ms(env, start)
    except TimeoutError:
        raise CheckFailed(
            f"{address} did not accept a connection within {number_text(timeout)} s"
        ) from None
    except OSError as exc:
        raise CheckFailed(f"cannot connect to {address}: {exc.strerror or exc}") from None
    detail = f"{address} accepted a connection in {number_text(latency)} ms"
    return Outcome("ok", latency, detail, "ms")


def check_postgres(check: dict, env: Env) -> Outcome:
    dbname = check["dbname"] or check["user"]
    where = f"{check['user']}@{redis_utils.format_address(check['host'], check['port'])}/{dbname}"
    start = env.clock()
    try:
        conn = env.pg_connect(
            host=check["host"],
            port=check["port"],
            user=check["user"],
            password=env.secrets.get(check["name"]),
            dbname=dbname,
            connect_timeout=max(1, math.ceil(check["timeout_s"])),
            sslmode=check["sslmode"],
            ignore_pgpass=True,
        )
    except pg.MissingLibraryError as exc:
        raise CheckFailed(str(exc)) from None
    except pg.PgError as exc:
        raise CheckFailed(f"cannot log in as {where} ({exc.reason}): {exc.message}") from None
    try:
        pg.execute(conn, check["query"])
        latency = elapsed_ms(env, start)
    except pg.PgError as exc:
        raise CheckFailed(f"logged in as {where}, but the query failed: {exc.message}") from None
    finally:
        conn.close()
    return verdict(check, latency, f"{check['query']} as {where} in {number_text(latency)} ms")


def check_redis(check: dict, env: Env) -> Outcome:
    address = redis_utils.format_address(check["host"], check["port"])
    who = f"as {check['user']}" if check["user"] else "as the default user"
    kwargs = redis_utils.with_login(
        {}, check["host"], check["port"], check["user"], env.secrets.get(check["name"])
    )
    start = env.clock()
    try:
        client = env.redis_connect(kwargs, check["timeout_s"])
    except ImportError:
        raise CheckFailed(
            missing_required_lib(
                "redis", reason="to check Redis (on Debian: apt install python3-redis)"
            )
        ) from None
    except redis_utils.RedisError as exc:
        raise CheckFailed(
            f"no PING answer from {address} {who} ({exc.reason}): {exc.message}"
        ) from None
    try:
        info = redis_utils.decode_info(redis_utils.command(client, "INFO", "replication"))
        latency = elapsed_ms(env, start)
    except redis_utils.RedisError as exc:
        raise CheckFailed(f"{address} answered PING {who}, but not INFO: {exc.message}") from None
    finally:
        redis_utils.close(client)
    role = {"master": "master", "slave": "replica"}.get(info.get("role", ""))
    detail = f"{address} answered PING and INFO {who} in {number_text(latency)} ms"
    detail += f", role {role or 'unknown'}"
    if check["expect_role"] and role != check["expect_role"]:
        return Outcome("fail", latency, f"{detail}, expected {check['expect_role']}", "ms")
    return verdict(check, latency, detail)


def check_http(check: dict, env: Env) -> Outcome:
    url, timeout = check["url"], check["timeout_s"]
    start = env.clock()
    try:
        code, _headers, body = http_utils.get(url, timeout, check["ca_path"],
                                        check["validate_certs"], agent="golive.ops.checks")
        latency = elapsed_ms(env, start)
    except http_utils.CALoadError as exc:
        raise CheckFailed(str(exc)) from None
    except (OSError, ValueError, http_client.HTTPException) as exc:  # URLError is an OSError
        raise CheckFailed(http_utils.error_text(exc, url, timeout)) from None
    problems = []
    if code != check["expect_status"]:
        problems.append(f"expected HTTP {check['expect_status']}")
    if check["json_fields"]:
        try:
            if len(body) > HTTP_BODY_LIMIT:
                raise ValueError(f"larger than {HTTP_BODY_LIMIT} bytes")
            document = json.loads(body)
        except ValueError as exc:
            problems.append(f"body is not JSON: {exc}")
        else:
            found = json_problems(document, check["json_fields"])
            if len(found) > MAX_SHOWN_PROBLEMS:
                more = len(found) - MAX_SHOWN_PROBLEMS
                found = [*found[:MAX_SHOWN_PROBLEMS], f"and {more} more"]
            problems += found
    detail = f"HTTP {code} from {url} in {number_text(latency)} ms"
    if problems:
        return Outcome("fail", latency, f"{detail}: {'; '.join(problems)}", "ms")
    return verdict(check, latency, detail)


def check_app_health(check: dict, env: Env) -> Outcome:
    """The app's health contract through nginx (module_utils.health.judge, as the deploy's gate
    and watch judge it). With release_link set and no release behind it, there is nothing to
    check yet (a first deploy's pre-deploy checks)."""
    link = check["release_link"]
    if link and not os.path.exists(link):
        return Outcome("ok", None, f"no release deployed ({link} absent)", extra={"served": None})
    url, timeout = check["url"], check["timeout_s"]
    params = {"url": url, "timeout": timeout, "expect_status": 200,
              "expect_json_status": check["statuses"],
              "expect_service_status": check["service_statuses"], "expect_version": None,
              "version_header": check["version_header"], "host_header": None,
              "validate_certs": check["validate_certs"]}
    start = env.clock()
    try:
        code, headers, body = http_utils.get(url, timeout, validate_certs=check["validate_certs"],
                                             agent="golive.ops.checks")
    except http_utils.CALoadError as exc:
        raise CheckFailed(str(exc)) from None
    except (OSError, ValueError, http_client.HTTPException) as exc:
        raise CheckFailed(http_utils.error_text(exc, url, timeout)) from None
    latency = elapsed_ms(env, start)
    reason, seen = health.judge(params, code, headers, body[:HTTP_BODY_LIMIT])
    served = seen.get("version")
    detail = f"HTTP {code} from {url} in {number_text(latency)} ms, version {served or '?'}"
    if reason:
        return Outcome("fail", latency, f"{detail}: {reason}", "ms", extra={"served": served})
    outcome = verdict(check, latency, f"{detail}, status {seen.get('status')}")
    return dataclasses.replace(outcome, extra={"served": served})


def check_systemd(check: dict, env: Env) -> Outcome:
    systemctl = env.which("systemctl")
    if not systemctl:
        raise CheckFailed("systemctl not found (is this host run by systemd?)")
    _rc, out, err = env.run_command([systemctl, "is-active", check["unit"]])
    state = out.strip().splitlines()[0] if out.strip() else ""
    if not state:
        raise CheckFailed(f"systemctl is-active {check['unit']} said nothing: {one_line(err)}")
    detail = f"{check['unit']} is {state}"
    if state == "active":
        return Outcome("ok", state, detail)
    if state in ("activating", "reloading"):
        return Outcome("warn", state, detail)
    return Outcome("fail", state, f"{detail}, expected active")


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def check_file(check: dict, env: Env) -> Outcome:
    path = check["path"]
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Outcome("fail", "missing", f"{path} is missing")
    except OSError as exc:
        raise CheckFailed(f"cannot stat {path}: {exc.strerror or exc}") from None
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    owner, group = user_name(info.st_uid), group_name(info.st_gid)
    actual = {"mode": mode, "owner": owner, "group": group}
    ids = {"mode": mode, "owner": str(info.st_uid), "group": str(info.st_gid)}
    wrong = [
        f"{key} {check[key]}"
        for key in ("mode", "owner", "group")
        if check[key] is not None and check[key] not in (actual[key], ids[key])
    ]
    value = f"{mode} {owner}:{group}"
    detail = f"{path} is {value}"
    if wrong:
        return Outcome("fail", value, f"{detail}, expected {', '.join(wrong)}")
    return Outcome("ok", value, detail)


def newest_file(pattern: str) -> tuple[str, float] | None:
    """(path, mtime) of the newest regular file in a directory or matching a glob, or None."""
    if os.path.isdir(pattern):
        candidates = [os.path.join(pattern, name) for name in os.listdir(pattern)]
    else:
        candidates = glob.glob(pattern, recursive=True)
    newest = None
    for path in candidates:
        try:
            info = os.stat(path)
        except OSError:
            continue  # removed meanwhile, or a dangling link
        if stat.S_ISREG(info.st_mode) and (newest is None or info.st_mtime > newest[1]):
            newest = (path, info.st_mtime)
    return newest


def check_backup_age(check: dict, env: Env) -> Outcome:
    try:
        newest = newest_file(check["path"])
    except OSError as exc:
        raise CheckFailed(f"cannot list {check['path']}: {exc.strerror or exc}") from None
    if newest is None:
        raise CheckFailed(f"no backup file matches {check['path']}")
    path, mtime = newest
    age = round((env.now() - mtime) / 3600, 2)
    return verdict(check, age, f"newest backup {path} is {number_text(age)} h old")


def check_certificate(check: dict, env: Env) -> Outcome:
    try:
        x509 = certificate.load_x509()
    except certificate.MissingLibraryError as exc:
        raise CheckFailed(str(exc)) from None
    now = datetime_from(env.now())
    entry = certificate.read_disk(x509, check["path"], now)
    if entry["error"]:
        raise CheckFailed(entry["error"])
    days = entry["days_left"]
    name = entry["names"][0] if entry["names"] else "(no name)"
    who = f"certificate {check['path']} for {name} (serial {entry['serial']})"
    if days < 0:
        detail = f"{who} expired {certificate.format_days(-days)} days ago, on {entry['not_after']}"
        return Outcome("fail", days, detail, "days")
    return verdict(check, days, f"{who} has {certificate.format_days(days)} days left")


def datetime_from(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


def timespan_ms(text: str) -> float | None:
    """Milliseconds of systemd's time span such as '+1.126ms', '-312us' or '1min 2.5s'."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    parts = _TIMESPAN.findall(text.lstrip("+-"))
    if not parts:
        return None
    return sign * sum(float(amount) * _TIMESPAN_UNITS_MS[unit] for amount, unit in parts)


def chrony_offset(out: str) -> tuple[float, bool] | None:
    """(|offset| in ms, synchronised) from `chronyc -c tracking`; None when unreadable."""
    fields = out.strip().split(",")
    if len(fields) < 14:
        return None
    try:
        offset = abs(float(fields[4])) * 1000
    except ValueError:
        return None
    return offset, fields[13].strip() != "Not synchronised"


def check_clock(check: dict, env: Env) -> Outcome:
    chronyc, timedatectl = env.which("chronyc"), env.which("timedatectl")
    if chronyc:
        rc, out, _err = env.run_command([chronyc, "-c", "tracking"])
        reading = chrony_offset(out) if rc == 0 else None
        if reading is not None:
            offset, synchronised = round(reading[0], 1), reading[1]
            if not synchronised:
                return Outcome("warn", offset, "chronyd runs but is not synchronised", "ms")
            return verdict(check, offset, f"offset {number_text(offset)} ms per chrony")
    if timedatectl:
        rc, out, _err = env.run_command([timedatectl, "timesync-status"])
        match = re.search(r"^\s*Offset:\s*(.+)$", out, re.MULTILINE) if rc == 0 else None
        offset = timespan_ms(match.group(1)) if match else None
        if offset is not None:
            offset = round(abs(offset), 1)
            return verdict(check, offset, f"offset {number_text(offset)} ms per systemd-timesyncd")
        rc, out, _err = env.run_command([timedatectl, "show"])
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if rc == 0 and props.get("NTPSynchronized") == "yes":
            return Outcome("ok", "synchronized", "synchronized per timedatectl, offset unknown")
    return Outcome(
        "warn",
        "no time daemon",
        "no time daemon (neither chronyc tracking nor timedatectl timesync-status answered, and "
        "timedatectl does not report a synchronized clock)",
    )


def check_alerts(check: dict, env: Env) -> Outcome:
    """Fail while a critical alert fires in the Prometheus at C(url); warn when it is down."""
    state = alerts_utils.read(check["url"], check["timeout_s"], get=env.http_get)
    if not state["reachable"]:
        return Outcome("warn", "unreachable",
                       f"Prometheus at {check['url']} did not answer ({state['error']})")
    firing = alerts_utils.firing(state["alerts"])
    critical = alerts_utils.firing(state["alerts"], "critical")
    if critical:
        named = ", ".join(f"{a['alertname']} on {a['instance'] or 'all'} since {a['since']}"
                          for a in critical)
        return Outcome("fail", len(critical), f"critical alerts firing: {named}")
    return Outcome("ok", 0, f"{len(firing)} alerts firing, none critical")


def age_text(seconds: float) -> str:
    """How long ago, in the largest sensible unit: '40 s', '12 min', '5.5 h', '3.2 days'."""
    if seconds < 120:
        return f"{number_text(round(seconds))} s"
    if seconds < 7200:
        return f"{number_text(round(seconds / 60))} min"
    if seconds < 172800:
        return f"{number_text(round(seconds / 3600, 1))} h"
    return f"{number_text(round(seconds / 86400, 1))} days"


def check_updates(check: dict, env: Env) -> Outcome:
    """Pending security updates (the host's package lists as they are) and a required reboot."""
    try:
        pending = apt_updates.pending_updates(env.apt_pkg)
    except apt_updates.AptUnavailable as exc:
        raise CheckFailed(f"cannot tell which updates are pending: {exc}") from None
    except SystemError as exc:  # apt_pkg's errors: unreadable lists or status
        raise CheckFailed(f"APT cannot read its package lists: {one_line(exc)}") from None
    reboot = apt_updates.reboot_required(env.root)
    security, age = pending["security"], pending["lists_age_s"]
    detail = apt_updates.pending_text(security) if security else "no security update pending"
    outcome = verdict(check, len(security), detail)
    status, parts = outcome.status, [outcome.detail]
    if pending["other"]:
        parts.append(f"{len(pending['other'])} other package(s) upgradable")
    if age is None:
        parts.append("no package lists (apt-get update never ran), so pending updates are unknown")
        status = "warn" if status == "ok" else status
    else:
        parts.append(f"package lists {age_text(age)} old")
    if reboot["required"]:
        who = f" by {apt_updates.shown(reboot['packages'])}" if reboot["packages"] else ""
        parts.append(f"reboot required{who}")
        if check["warn_reboot_required"] and status == "ok":
            status = "warn"
    return Outcome(status, len(security), "; ".join(parts), outcome.unit,
                   {"updates": {**pending, "reboot": reboot}})


RUNNERS = {
    "disk": check_disk,
    "memory": check_memory,
    "load": check_load,
    "tcp": check_tcp,
    "postgres": check_postgres,
    "redis": check_redis,
    "http": check_http,
    "app_health": check_app_health,
    "systemd": check_systemd,
    "file": check_file,
    "backup_age": check_backup_age,
    "certificate": check_certificate,
    "clock": check_clock,
    "alerts": check_alerts,
    "updates": check_updates,
}


# --- running them -------------------------------------------------------------------------------


def preload(types: set[str]) -> None:
    """Import the client libraries the checks will use before any check starts, so that the
    first check of a type does not count the import in its latency. A missing library is
    reported by the check itself."""
    loaders = {"postgres": pg.load_psycopg2, "redis": lambda: __import__("redis")}
    for check_type in sorted(types & set(loaders)):
        with contextlib.suppress(ImportError, pg.MissingLibraryError):
            loaders[check_type]()


def run_bounded(check: dict, env: Env, runners: dict) -> dict:
    """The result of one check, run in its own daemon thread and abandoned when it overruns."""
    box = {}

    def target():
        try:
            box["outcome"] = runners[check["type"]](check, env)
        except CheckFailed as exc:
            box["outcome"] = Outcome("fail", None, str(exc))
        except Exception as exc:  # a bug or an unforeseen error: reported, never a traceback
            box["outcome"] = Outcome("fail", None, f"{type(exc).__name__}: {exc}")

    start = env.clock()
    limit = check["timeout_s"] + env.grace_s
    thread = threading.Thread(target=target, name=f"check {check['name']}", daemon=True)
    thread.start()
    thread.join(limit)
    outcome = box.get("outcome")
    if outcome is None:
        outcome = Outcome("fail", None, f"did not finish within {number_text(limit)} s")
    return result(check, outcome, (env.clock() - start) * 1000)


def run_all(checks: list[dict], env: Env, parallel: int, runners: dict) -> list[dict]:
    """The results of all checks, in order, at most `parallel` running at the same time."""
    results = [None] * len(checks)
    pending = queue.SimpleQueue()
    for index in range(len(checks)):
        pending.put(index)

    def worker():
        while True:
            try:
                index = pending.get_nowait()
            except queue.Empty:
                return
            results[index] = run_bounded(checks[index], env, runners)

    workers = [
        threading.Thread(target=worker, name=f"checks worker {n}", daemon=True)
        for n in range(min(parallel, len(checks)))
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return results


def definition_problems(checks, defaults, sources, defaults_source="defaults",
                        parallel=8) -> tuple[list[dict], list[str]]:
    """(checks ready to run, problems) of the options as given, before Ansible's type checks:
    the action plugin calls this on the control node, main() again on the host."""
    if not isinstance(checks, list):
        return [], [f"checks must be a list of dicts, not {type(checks).__name__}"]
    if not isinstance(defaults, dict):
        return [], [f"{defaults_source} must be a dict of check types, not "
                    f"{type(defaults).__name__}"]
    not_dicts = [label(i, item, sources) for i, item in enumerate(checks)
                 if not isinstance(item, dict)]
    if not_dicts:
        return [], [f"{where}: a check must be a dict" for where in not_dicts]
    if sources and len(sources) != len(checks):
        return [], [f"sources has {len(sources)} entries for {len(checks)} checks; give one "
                    "per check or none"]
    ready, problems = validate(checks, defaults, sources, defaults_source)
    try:
        parallel_ok = int(parallel) >= 1
    except (TypeError, ValueError):
        parallel_ok = False
    if not parallel_ok:
        problems.insert(0, f"parallel must be at least 1, not {parallel}")
    return ready, problems


def refusal(problems: list[str]) -> dict:
    """The failed result of definitions that were refused."""
    return {
        "failed": True,
        "changed": False,
        "msg": f"{len(problems)} problem(s) in the check definitions, nothing was run: "
        + "; ".join(problems),
        "problems": problems,
    }


def main(**deps):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    secrets = {
        str(name): None if value is None else str(value)
        for name, value in (params["secrets"] or {}).items()
    }
    checks, problems = definition_problems(
        params["checks"], params["defaults"] or {}, params["sources"] or [],
        params["defaults_source"], params["parallel"])
    problems = redis_utils.redact(problems, list(secrets.values()))
    if problems:
        result = refusal(problems)
        module.fail_json(**{k: v for k, v in result.items() if k != "failed"})
    for warning in secret_warnings(checks, secrets):
        module.warn(warning)
    if params["validate_only"]:
        module.exit_json(changed=False, checks=[], **summarize([]),
                         valid=len(checks))

    env = Env(
        **{
            "run_command": module.run_command,
            "which": module.get_bin_path,
            "secrets": secrets,
            **deps,  # tests replace the I/O
        }
    )
    preload({check["type"] for check in checks})
    results = run_all(checks, env, params["parallel"], RUNNERS)
    results = redis_utils.redact(results, list(secrets.values()))
    outcome = {"changed": False, "checks": results, **summarize(results)}
    if params["fail_on"] == "fail" and outcome["status"] == "fail":
        module.fail_json(**outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
