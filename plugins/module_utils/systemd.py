# SPDX-License-Identifier: Apache-2.0
"""systemd as the app tier's modules ask it, in one call for several units."""

from __future__ import annotations

import subprocess


def states(verb: str, units: list[str]) -> dict:
    """`systemctl is-active` or `is-enabled` of every unit in one call: {unit: answer}, with
    "unknown" for a unit systemd gave no line for."""
    if not units:
        return {}
    proc = subprocess.run(["systemctl", verb, *units], capture_output=True, text=True,
                          check=False)
    lines = proc.stdout.split()
    return {unit: (lines[i] if i < len(lines) else "unknown") for i, unit in enumerate(units)}


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
