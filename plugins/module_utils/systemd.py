# SPDX-License-Identifier: Apache-2.0
"""systemd asked about several units in one `systemctl show`, and what it must then be told to
do: golive.ops.units, golive.ops.app_state and golive.ops.app_record."""

from __future__ import annotations

import subprocess


def parse_show(text: str) -> list[dict[str, str]]:
    """`systemctl show UNIT... -p PROP...`: one dict per unit, in the order given (systemctl
    separates units with a blank line). A line that is not Name=value raises ValueError."""
    units = []
    for block in text.strip().split("\n\n"):
        props = {}
        for line in block.splitlines():
            name, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"not a Name=value line: {line!r}")
            props[name] = value
        if props:
            units.append(props)
    return units


PROPS = "Id,LoadState,ActiveState,UnitFileState,NeedDaemonReload"
# what `systemctl is-enabled` exits 0 for, as Ansible's systemd_service counts it
ENABLED = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"}
RUNNING = {"active", "activating", "reloading"}


def show(names: list[str], systemctl: str = "systemctl") -> dict[str, dict]:
    """{unit: its properties} for NAMES, in one call ({} for a unit systemd printed nothing
    for). RuntimeError when systemctl fails."""
    if not names:
        return {}
    proc = subprocess.run([systemctl, "show", f"--property={PROPS}", *names],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"systemctl show failed: {proc.stderr.strip()}")
    found = parse_show(proc.stdout)
    return {name: (found[i] if i < len(found) else {}) for i, name in enumerate(names)}


def needs_reload(states: dict[str, dict]) -> bool:
    return any(s.get("NeedDaemonReload") == "yes" or s.get("LoadState") != "loaded"
               for s in states.values())


def plan(states: dict[str, dict], state: str | None,
         enabled: bool | None) -> list[tuple[str, list[str]]]:
    """[(verb, units)] systemd must be told so that every unit of STATES (from show) is STATE
    (started, stopped; None: left as it is) and ENABLED at boot (None: left as it is); the
    boot step first, units in the order of STATES."""
    steps = []
    if enabled is not None:
        if enabled:
            boot = [n for n, s in states.items() if s.get("UnitFileState") not in ENABLED]
        else:
            boot = [n for n, s in states.items()
                    if s.get("UnitFileState") in ("enabled", "enabled-runtime")]
        if boot:
            steps.append(("enable" if enabled else "disable", boot))
    if state is not None:
        running = {n for n, s in states.items() if s.get("ActiveState") in RUNNING}
        act = [n for n in states if (n not in running) == (state == "started")]
        if act:
            steps.append(("start" if state == "started" else "stop", act))
    return steps
