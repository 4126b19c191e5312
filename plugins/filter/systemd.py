# SPDX-License-Identifier: Apache-2.0
"""`systemctl show UNIT... -p PROP...` output as one dict per unit, in the order given.

systemctl separates units with a blank line and prints `Name=value` lines in its own order, not
the order of `-p`. Parsing it in Jinja needs newline literals, which ansible-core 2.19 leaves
unescaped in templates (a split on them found one block, and the later units were lost).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.golive.ops.plugins.module_utils.systemd import parse_show


def systemctl_show(text: str) -> list[dict[str, str]]:
    """'Id=a.service\\nActiveState=active\\n\\nId=b.service\\n...' -> [{'Id': ..., ...}, ...]."""
    if not isinstance(text, str):
        raise AnsibleFilterError(
            f"systemctl_show wants systemctl's output, got {type(text).__name__}")
    try:
        return parse_show(text)
    except ValueError as exc:
        raise AnsibleFilterError(f"systemctl_show: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"systemctl_show": systemctl_show}
