#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: deploy_watch
short_description: Watch a freshly switched release - health through nginx and its 5xx ratio
description:
  - For O(seconds) after a switch, probes O(health_url) every O(interval) seconds (it must answer
    like golive.ops.app_gate expects, with O(expect_version)), and reads nginx's JSON access log
    (golive's C(golive_json) format) from O(offset) on, counting the requests nginx sent to
    O(upstream) and those answered with a 5xx status.
  - Fails as soon as a health probe fails O(health_failures) times in a row, or the 5xx count
    exceeds O(max_5xx_ratio) of max(requests, O(min_requests)) - so with few requests, a single
    5xx already fails the default window. The failure names the paths that answered 5xx.
  - Reads only; never reports C(changed). In check mode it does nothing.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is watched in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  seconds:
    description: Length of the window.
    type: float
    default: 20
  interval:
    description: Seconds between health probes (and log reads).
    type: float
    default: 1
  health_url:
    description: Health URL through nginx.
    type: str
    required: true
  host_header:
    description: Host header of the health probes.
    type: str
  expect_version:
    description: Version the health URL must report.
    type: str
  expect_json_status:
    description: Values of the health body's C(status) that pass (as golive.ops.app_gate's).
    type: list
    elements: str
    default: [ok, healthy]
  expect_service_status:
    description: Values of each entry of the health body's C(services) that pass.
    type: list
    elements: str
    default: [ok, healthy]
  health_failures:
    description: Consecutive failed health probes that fail the window.
    type: int
    default: 2
  log_path:
    description: nginx access log in the golive_json format.
    type: path
    default: /var/log/nginx/access.log
  offset:
    description:
      - Byte offset in O(log_path) to read from (its size just before the switch); omitted,
        the end of the file when the window starts. A file now shorter (rotated) is read from 0.
    type: int
  upstream:
    description: C(host:port) of the new release; only requests nginx sent there are counted.
    type: str
    required: true
  max_5xx_ratio:
    description: Largest share of 5xx answers, 0-1.
    type: float
    default: 0.01
  min_requests:
    description: Request count the ratio is taken of when fewer requests came.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Watch the new release for 20 s
  golive.ops.deploy_watch:
    health_url: https://127.0.0.1/health
    host_header: web1
    expect_version: "2.0.0"
    upstream: 127.0.0.1:8002
    offset: "{{ log_size_before_switch }}"
"""

RETURN = r"""
ok:
  description: Whether the window passed.
  returned: always
  type: bool
elapsed_s:
  description: Seconds watched (less than O(seconds) when the window failed early).
  returned: always
  type: float
requests:
  description: Requests nginx sent to O(upstream) during the window.
  returned: always
  type: int
errors_5xx:
  description: Of those, how many were answered with a 5xx status.
  returned: always
  type: int
ratio_5xx:
  description: errors_5xx / requests (0 with no request).
  returned: always
  type: float
failing_paths:
  description: Up to 5 C({uri, status, count}) of the 5xx answers.
  returned: always
  type: list
  elements: dict
health:
  description: Health probes made and failed, and the last failure's reason.
  returned: always
  type: dict
"""

import os
import time
from collections import Counter

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.health import DEFAULT_STATUSES, probe
from ansible_collections.golive.ops.plugins.module_utils.jsonlines import json_objects


class LogTail:
    """Complete JSON lines appended to a file since an offset."""

    def __init__(self, path: str, offset: int | None):
        self.path = path
        size = self._size()
        self.offset = size if offset is None or offset > size else offset
        self.rest = b""

    def _size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def read(self) -> list[dict]:
        if self._size() < self.offset:  # rotated
            self.offset, self.rest = 0, b""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        self.offset += len(data)
        lines = (self.rest + data).split(b"\n")
        self.rest = lines.pop()
        return json_objects(lines)


class Tally:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.requests = 0
        self.errors = 0
        self.paths: Counter = Counter()

    def add(self, entries: list[dict]) -> None:
        for entry in entries:
            # upstream_addr lists every server tried ("a, b"); count it when ours is among them
            tried = [x.strip() for x in str(entry.get("upstream_addr", "")).split(",")]
            if self.upstream not in tried:
                continue
            self.requests += 1
            try:
                status = int(entry.get("status", 0))
            except (TypeError, ValueError):
                continue
            if status >= 500:
                self.errors += 1
                self.paths[(str(entry.get("uri", "?")).split("?")[0], status)] += 1

    def too_many(self, max_ratio: float, min_requests: int) -> bool:
        return self.errors > max_ratio * max(self.requests, min_requests)

    def summary(self) -> dict:
        return {"requests": self.requests, "errors_5xx": self.errors,
                "ratio_5xx": round(self.errors / self.requests, 4) if self.requests else 0.0,
                "failing_paths": [{"uri": uri, "status": status, "count": count}
                                  for (uri, status), count in self.paths.most_common(5)]}


def probe_params(params: dict) -> dict:
    return {"url": params["health_url"], "timeout": max(1.0, params["interval"] * 2),
            "expect_status": 200, "expect_json_status": params["expect_json_status"],
            "expect_service_status": params["expect_service_status"],
            "expect_version": params["expect_version"], "version_header": "X-App-Version",
            "host_header": params["host_header"], "validate_certs": False}


def watch(params: dict, probe_once=probe, clock=time.monotonic, sleep=time.sleep) -> dict:
    tail = LogTail(params["log_path"], params["offset"])
    tally = Tally(params["upstream"])
    health = {"probes": 0, "failed": 0, "last_failure": None}
    streak = 0
    start = clock()
    why = None
    while True:
        reason, _seen = probe_once(probe_params(params))
        health["probes"] += 1
        if reason:
            health["failed"] += 1
            health["last_failure"] = reason
            streak += 1
        else:
            streak = 0
        tally.add(tail.read())
        if streak >= params["health_failures"]:
            why = f"health through nginx failed {streak} times in a row: {reason}"
        elif tally.too_many(params["max_5xx_ratio"], params["min_requests"]):
            why = (f"{tally.errors} of {tally.requests} requests answered 5xx (more than "
                   f"{params['max_5xx_ratio']:g} of max({tally.requests}, "
                   f"{params['min_requests']}))")
        elapsed = clock() - start
        if why or elapsed + params["interval"] > params["seconds"]:
            break
        sleep(params["interval"])
    return {"ok": why is None, "why": why, "elapsed_s": round(clock() - start, 3),
            "health": health, **tally.summary()}


def argument_spec() -> dict:
    return {
        "seconds": {"type": "float", "default": 20.0},
        "interval": {"type": "float", "default": 1.0},
        "health_url": {"type": "str", "required": True},
        "host_header": {"type": "str"},
        "expect_version": {"type": "str"},
        "expect_json_status": {"type": "list", "elements": "str",
                               "default": list(DEFAULT_STATUSES)},
        "expect_service_status": {"type": "list", "elements": "str",
                                  "default": list(DEFAULT_STATUSES)},
        "health_failures": {"type": "int", "default": 2},
        "log_path": {"type": "path", "default": "/var/log/nginx/access.log"},
        "offset": {"type": "int"},
        "upstream": {"type": "str", "required": True},
        "max_5xx_ratio": {"type": "float", "default": 0.01},
        "min_requests": {"type": "int", "default": 20},
    }


def problems(params: dict) -> list[str]:
    found = []
    if params["seconds"] < 0 or params["interval"] <= 0:
        found.append("seconds must be 0 or more and interval more than 0")
    if not 0 <= params["max_5xx_ratio"] <= 1:
        found.append(f"max_5xx_ratio must be between 0 and 1 (got {params['max_5xx_ratio']})")
    if params["health_failures"] < 1 or params["min_requests"] < 1:
        found.append("health_failures and min_requests must be at least 1")
    return found


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    found = problems(module.params)
    if found:
        module.fail_json(msg="; ".join(found))
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="check mode: nothing watched")
    result = watch(module.params)
    if not result["ok"]:
        paths = ", ".join(f"{p['uri']} {p['status']} x{p['count']}"
                          for p in result["failing_paths"])
        module.fail_json(msg=f"watch window failed after {result['elapsed_s']:g} s: "
                             f"{result['why']}" + (f" ({paths})" if paths else ""), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
