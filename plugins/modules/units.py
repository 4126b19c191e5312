#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: units
short_description: Several systemd units started (or stopped) and enabled (or not), in one call
description:
  - Reads every unit's state with one C(systemctl show), and asks systemd to act only for the
    units that need it, with one C(systemctl enable) and one C(systemctl start) (or C(disable),
    C(stop)) for all of them. A converge that changes nothing costs one process on the host
    instead of a module run per unit.
  - systemd reloads its units first when O(daemon_reload) is set (unit files changed in this
    run), when one of them says it needs a reload, or when one is not loaded.
  - A unit systemd does not know after the reload fails the task, naming it; nothing is
    started or enabled then.
version_added: 0.2.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what it would do; systemd is not asked to act.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  names:
    description: The units, with their suffix (C(.service), C(.timer), C(.path), ...).
    type: list
    elements: str
    required: true
  state:
    description: >-
      C(started) starts those that do not run; C(stopped) stops those that do; omitted, no unit
      is started or stopped.
    type: str
    choices: [started, stopped]
  enabled:
    description: >-
      Start at boot (C(true)) or not (C(false)). A static, generated or indirect unit counts as
      enabled.
    type: bool
    default: true
  daemon_reload:
    description: Reload systemd's units before acting.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The timers run and start at boot
  golive.ops.units:
    names: [apt-daily.timer, apt-daily-upgrade.timer]
    state: started
"""

RETURN = r"""
reloaded:
  description: Whether systemd's units were reloaded.
  returned: always
  type: bool
done:
  description: What systemd was asked, one C(verb unit) each.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.systemd import needs_reload, plan, show


def main():
    module = AnsibleModule(argument_spec={
        "names": {"type": "list", "elements": "str", "required": True},
        "state": {"type": "str", "choices": ["started", "stopped"]},
        "enabled": {"type": "bool", "default": True},
        "daemon_reload": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    params = module.params
    names = list(dict.fromkeys(params["names"]))
    if not names:
        module.exit_json(changed=False, reloaded=False, done=[])
    systemctl = module.get_bin_path("systemctl", required=True)
    try:
        states = show(names, systemctl)
        reloaded = params["daemon_reload"] or needs_reload(states)
        if reloaded and not module.check_mode:
            module.run_command([systemctl, "daemon-reload"], check_rc=True)
            states = show(names, systemctl)
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    unknown = [n for n, s in states.items() if s.get("LoadState") not in ("loaded", None)
               and not (module.check_mode and reloaded)]
    if unknown:
        module.fail_json(msg="systemd does not know "
                             + ", ".join(f"{n} ({states[n].get('LoadState')})" for n in unknown))
    done = []
    for verb, units in plan(states, params["state"], params["enabled"]):
        done += [f"{verb} {unit}" for unit in units]
        if not module.check_mode:
            rc, _out, err = module.run_command([systemctl, verb, *units])
            if rc != 0:
                module.fail_json(msg=f"systemctl {verb} {' '.join(units)} failed: {err.strip()}",
                                 done=done, reloaded=reloaded)
    module.exit_json(changed=bool(done) or reloaded, reloaded=reloaded, done=done)


if __name__ == "__main__":
    main()
