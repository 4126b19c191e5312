#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: deploy_lock
short_description: The deploy lock - an atomic directory with a holder record
description:
  - O(state=acquired) creates O(path) with C(mkdir), which is atomic, and writes the holder
    record into it. When the directory exists already, the task fails naming the holder (id,
    kind, actor, control node, pid, since when, message) - unless O(break_holder) names that
    same holder's id, in which case the lock is taken over (a stale lock broken on purpose).
  - O(state=released) removes the lock only when O(holder.id) holds it.
  - O(state=query) reports the holder, if any.
  - Staleness (a holder whose process is gone) is judged on the control node by the action plugin
    of the same name, which knows the control node's processes.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports the holder; takes and releases nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description: The lock directory.
    type: path
    required: true
  state:
    description: What to do.
    type: str
    choices: [acquired, released, query]
    default: acquired
  holder:
    description:
      - The holder record - id, kind, actor, controller, pid, message; C(since) is added.
    type: dict
    default: {}
  break_holder:
    description: Id of a holder whose lock may be taken over (nothing else is broken).
    type: str
"""

EXAMPLES = r"""
- name: Take the deploy lock
  golive.ops.deploy_lock:
    path: /srv/app/.deploy/lock
    holder: {id: "20261122T150000Z-ab12", kind: deploy, actor: alice, controller: ops1, pid: 4242}
"""

RETURN = r"""
held:
  description: Whether the lock is held after the task.
  returned: always
  type: bool
holder:
  description: The holder record (ours after a successful acquire), or null.
  returned: always
  type: dict
age_s:
  description: Seconds since the holder took the lock.
  returned: when held
  type: float
broken:
  description: The holder record that was taken over with O(break_holder).
  returned: when a lock was broken
  type: dict
"""

import datetime
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

HOLDER_FILE = "holder.json"


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_holder(path: str) -> dict | None:
    """The holder record, None when unlocked; a lock dir without a readable record (a taker
    killed between mkdir and the write) is reported with its directory's time."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    try:
        with open(os.path.join(path, HOLDER_FILE)) as handle:
            holder = json.load(handle)
        if isinstance(holder, dict):
            holder.setdefault("since_epoch", stat.st_mtime)
            return holder
    except (OSError, ValueError):
        pass
    return {"id": None, "message": "lock directory without a holder record",
            "since_epoch": stat.st_mtime}


def describe(holder: dict, now: float) -> str:
    age = now - float(holder.get("since_epoch") or now)
    parts = [f"{holder.get('kind') or 'deploy'} {holder.get('id') or '(unknown)'}"]
    who = holder.get("actor")
    where = holder.get("controller")
    if who or where:
        parts.append(f"by {who or '?'} on {where or '?'} (pid {holder.get('pid') or '?'})")
    parts.append(f"since {holder.get('since') or '?'} ({age:.0f} s ago)")
    if holder.get("message"):
        parts.append(f"message: {holder['message']}")
    return ", ".join(parts)


def write_holder(path: str, holder: dict) -> dict:
    record = {**holder, "since": utc_now(), "since_epoch": time.time()}
    tmp = os.path.join(path, f".{HOLDER_FILE}.tmp")
    with open(tmp, "w") as handle:
        json.dump(record, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, os.path.join(path, HOLDER_FILE))
    return record


def acquire(path: str, holder: dict, break_holder: str | None, check_mode: bool) -> dict:
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    current = read_holder(path)
    broken = None
    if current is not None:
        if current.get("id") == holder.get("id") and holder.get("id"):
            return {"changed": False, "held": True, "holder": current, "ours": True}
        if break_holder is None or (current.get("id") != break_holder and not (
                break_holder == "" and current.get("id") is None)):
            return {"changed": False, "held": True, "holder": current, "ours": False,
                    "age_s": round(time.time() - float(current["since_epoch"]), 1)}
        broken = current
        if not check_mode:
            shutil.rmtree(path)
    if check_mode:
        return {"changed": True, "held": False, "holder": None, "ours": False,
                "broken": broken}
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:  # another taker won the race between our read and our mkdir
        current = read_holder(path) or {}
        return {"changed": False, "held": True, "holder": current, "ours": False,
                "age_s": round(time.time() - float(current.get("since_epoch") or time.time()), 1)}
    record = write_holder(path, holder)
    return {"changed": True, "held": True, "holder": record, "ours": True, "broken": broken}


def release(path: str, holder_id: str, check_mode: bool) -> dict:
    current = read_holder(path)
    if current is None:
        return {"changed": False, "held": False, "holder": None}
    if current.get("id") != holder_id:
        return {"changed": False, "held": True, "holder": current,
                "warning": f"not released: held by {describe(current, time.time())}"}
    if not check_mode:
        shutil.rmtree(path)
    return {"changed": True, "held": False, "holder": None, "released": current}


def main():
    module = AnsibleModule(argument_spec={
        "path": {"type": "path", "required": True},
        "state": {"type": "str", "choices": ["acquired", "released", "query"],
                  "default": "acquired"},
        "holder": {"type": "dict", "default": {}},
        "break_holder": {"type": "str"},
    }, supports_check_mode=True)
    params = module.params
    path = params["path"].rstrip("/")
    if params["state"] == "query":
        holder = read_holder(path)
        result = {"changed": False, "held": holder is not None, "holder": holder}
        if holder:
            result["age_s"] = round(time.time() - float(holder["since_epoch"]), 1)
            result["description"] = describe(holder, time.time())
        module.exit_json(**result)
    if not params["holder"].get("id"):
        module.fail_json(msg="holder.id is required to acquire or release the lock")
    if params["state"] == "released":
        result = release(path, params["holder"]["id"], module.check_mode)
        if result.get("warning"):
            module.warn(result["warning"])
        module.exit_json(**result)
    result = acquire(path, params["holder"], params["break_holder"], module.check_mode)
    if result["held"] and not result["ours"]:
        result["description"] = describe(result["holder"], time.time())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
