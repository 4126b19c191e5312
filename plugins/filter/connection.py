# SPDX-License-Identifier: Apache-2.0
"""Whether a connection plugin reaches the host through its sshd.

The roles that change sshd or the firewall ask it before they trust SSH_CLIENT or guard against
locking the connection out; a podman or local connection never passes through sshd.
"""

from __future__ import annotations

import re

_VIA_SSHD = re.compile(r"^(ansible\.(builtin|legacy)\.)?(ssh|paramiko|paramiko_ssh|smart)$")


def via_sshd(connection) -> bool:
    """connection: ansible_connection's value (Ansible's default is ssh)."""
    return bool(_VIA_SSHD.match(str(connection or "ssh")))


class FilterModule:
    def filters(self):
        return {"via_sshd": via_sshd}
