# SPDX-License-Identifier: Apache-2.0
"""golive.ops.report: write every play host's report fact to a JSON file on the control node,
from the worker that runs the task (no module is shipped anywhere). See playbooks/report.yml."""

from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        dest, var, hosts = args.get("dest"), args.get("var"), args.get("hosts") or []
        if not dest or not var:
            return {**result, "failed": True, "msg": "report: dest and var are required"}
        hostvars = (task_vars or {}).get("hostvars", {})
        data = {}
        for host in hosts:
            value = hostvars[host].get(var) if host in hostvars else None
            data[host] = self._templar.template(value) if value is not None else None
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, default=str)
        return {**result, "changed": False, "hosts": len(data)}
