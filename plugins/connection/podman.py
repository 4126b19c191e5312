"""golive.ops.podman: containers.podman.podman with pipelining.

The collection's plugin runs every module in four podman processes (mount, mkdir of a temporary
directory, exec of the module file, rm) and cannot pipeline, because it calls `podman exec`
without `-i`, so the module piped to python3 never arrives. With `-i` a module task is one
`podman exec`; the container's filesystem is mounted only when a file is copied or fetched.
"""

from __future__ import annotations

import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as _Podman

DOCUMENTATION = r"""
name: podman
short_description: Run tasks in a local podman container, pipelined
description:
  - The connection of golive's lab and Molecule hosts. It is C(containers.podman.podman) with
    pipelining, so a module runs in a single C(podman exec -i).
  - Files are copied through the container's mounted filesystem; the mount happens on the first
    copy or fetch of a task, not on every task.
author: golive
options:
  remote_addr:
    description: Name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User (name or UID) that runs the commands in the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments for the podman command line.
    default: ''
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description: The podman executable.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Send the module on stdin instead of copying it first.
    default: true
    type: boolean
    ini:
      - section: connection
        key: pipelining
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
"""


class Connection(_Podman):
    transport = "golive.ops.podman"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._mount_tried = False

    def _connect(self):
        # no `podman mount` for every task: _mount() does it when a file is transferred
        self._connected = True
        return self

    def _mount(self):
        if not self._mount_tried:
            self._mount_tried = True
            super()._connect()

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        args = ["exec"]
        if in_data is not None:
            args.append("-i")
        if self.user:
            args.extend(("--user", self.user))
        rc, out, err = self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")),
                                    in_data)
        if rc in (125, 255) and err.startswith(b"Error:"):
            # podman's own failure (container stopped or gone): the host is unreachable, as the
            # collection's plugin reports it when its temporary directory cannot be made
            raise AnsibleConnectionFailure(to_native(err.strip()))
        return rc, out, err

    def put_file(self, in_path, out_path):
        self._mount()
        super().put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        self._mount()
        super().fetch_file(in_path, out_path)
