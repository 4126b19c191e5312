# SPDX-License-Identifier: Apache-2.0
"""golive.ops.deploy_lock on the control node: runs the module on the lock host, then judges a
lock held by someone else. A holder is stale when it was taken from this control node by a
process that no longer runs (a golive killed with SIGKILL), or when it is older than
`stale_after` seconds. A lock held by someone else fails the task naming the holder; with
`force_unlock`, a stale lock - or a foreign one whose liveness cannot be seen from here - is
taken over (never a golive that still runs on this control node)."""

from __future__ import annotations

import os
import socket
import time

from ansible.plugins.action import ActionBase

MODULE = "golive.ops.deploy_lock"


def process_alive(pid) -> bool:
    """A golive process with this pid runs on this machine (a recycled pid of another program
    does not count)."""
    try:
        pid = int(pid)
        os.kill(pid, 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"golive" in handle.read()
    except OSError:
        return True


def staleness(holder: dict, controller: str, stale_after: float, now: float,
              alive=process_alive) -> tuple[bool, str]:
    """(stale?, why) of a lock holder, as seen from CONTROLLER."""
    since = holder.get("since_epoch")
    age = now - float(since) if since is not None else 0.0
    if holder.get("controller") == controller and holder.get("pid"):
        if not alive(holder["pid"]):
            return True, f"its golive process (pid {holder['pid']}) no longer runs on {controller}"
        return False, f"its golive process (pid {holder['pid']}) still runs on {controller}"
    if not holder.get("id"):
        return True, "the lock has no holder record (its taker died while taking it)"
    if age > stale_after:
        return True, f"it is {age:.0f} s old, more than the {stale_after:g} s a deploy may take"
    return False, f"it was taken from {holder.get('controller') or 'another control node'}, " \
                  f"{age:.0f} s ago"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        force = bool(args.pop("force_unlock", False))
        stale_after = float(args.pop("stale_after", 3600))
        controller = args.pop("controller", None) or socket.gethostname()
        answer = self._execute_module(MODULE, module_args=args, task_vars=task_vars)
        if answer.get("failed") or args.get("state", "acquired") != "acquired" \
                or answer.get("ours") or not answer.get("held"):
            return {**result, **answer}
        holder = answer["holder"]
        stale, why = staleness(holder, controller, stale_after, time.time())
        described = answer.get("description") or holder.get("id")
        if force and not (holder.get("controller") == controller and not stale):
            taken = self._execute_module(
                MODULE, module_args={**args, "break_holder": holder.get("id") or ""},
                task_vars=task_vars)
            if taken.get("ours"):
                return {**result, **taken, "stale": stale, "stale_reason": why,
                        "msg": f"broke the lock of {described} ({why})"}
            return {**result, **taken, "failed": True,
                    "msg": f"the deploy lock changed hands while breaking it: "
                           f"{taken.get('description') or taken.get('holder')}"}
        if stale:
            msg = (f"deploy lock held by {described}; it is stale: {why}. Check that no deploy "
                   f"runs, then rerun with --force-unlock")
        elif force:
            msg = (f"deploy lock held by {described}; not broken: {why}. Wait for it, or stop "
                   f"that golive first")
        else:
            msg = (f"deploy lock held by {described} ({why}). Wait for it to finish; if it is "
                   f"dead, rerun with --force-unlock")
        return {**result, **answer, "failed": True, "stale": stale, "stale_reason": why,
                "msg": msg}
