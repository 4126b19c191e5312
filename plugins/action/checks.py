# SPDX-License-Identifier: Apache-2.0
"""Action plugin of golive.ops.checks: the check definitions are validated on the control node,
in the worker that already runs the task, before anything is sent to the host. An invalid list
fails the task there; with validate_only nothing reaches the host at all, which is how
`golive check` validates every host's list in a fraction of a second before any runs."""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.golive.ops.plugins.module_utils.redis import redact
from ansible_collections.golive.ops.plugins.modules import checks as checks_module


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        checks, problems = checks_module.definition_problems(
            args.get("checks"), args.get("defaults") or {}, args.get("sources") or [],
            args.get("defaults_source") or "defaults", args.get("parallel", 8))
        secrets = [str(v) for v in (args.get("secrets") or {}).values() if v is not None]
        if problems:
            result.update(checks_module.refusal(redact(problems, secrets)))
            return result
        if boolean(args.get("validate_only", False), strict=False):
            result.update(changed=False, checks=[], valid=len(checks),
                          **checks_module.summarize([]))
            return result
        result.update(self._execute_module(module_name="golive.ops.checks", task_vars=task_vars))
        return result
