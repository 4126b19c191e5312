# SPDX-License-Identifier: Apache-2.0
"""`systemctl show UNIT... -p PROP...` output as one dict per unit, in the order given.

systemctl separates units with a blank line and prints `Name=value` lines in its own order, not
the order of `-p`. Parsing it in Jinja needs newline literals, which ansible-core 2.19 leaves
unescaped in templates (a split on them found one block, and the later units were lost).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def systemctl_show(text: str) -> list[dict[str, str]]:
    """'Id=a.service\\nActiveState=active\\n\\nId=b.service\\n...' -> [{'Id': ..., ...}, ...]."""
    if not isinstance(text, str):
        raise AnsibleFilterError(
            f"systemctl_show wants systemctl's output, got {type(text).__name__}")
    units = []
    for block in text.strip().split("\n\n"):
        props = {}
        for line in block.splitlines():
            name, sep, value = line.partition("=")
            if not sep:
                raise AnsibleFilterError(f"systemctl_show: not a Name=value line: {line!r}")
            props[name] = value
        if props:
            units.append(props)
    return units


class FilterModule:
    def filters(self):
        return {"systemctl_show": systemctl_show}
