#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: dpkg_missing
short_description: Which of these Debian packages are not installed (a cheap read before apt)
description:
  - Asks dpkg (C(dpkg-query --show)), which answers in milliseconds, whether each package is
    installed. C(ansible.builtin.apt) opens the whole package cache even when everything is
    installed (about a second of CPU per host); a role calls it only for RV(missing).
  - A name with a version (C(name=1.2-3)) counts as installed only at that version. A name
    dpkg does not know counts as missing.
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.3.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
options:
  name:
    description: Package names, as given to C(ansible.builtin.apt).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Which packages are missing
  golive.ops.dpkg_missing:
    name: [nginx, certbot]
  register: pkgs

- name: Install what is missing
  ansible.builtin.apt:
    name: "{{ pkgs.missing }}"
    state: present
  when: pkgs.missing | length > 0
"""

RETURN = r"""
missing:
  description: The names (as given) that are not installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [certbot]
versions:
  description: Installed version per package name.
  returned: always
  type: dict
  sample: {"nginx": "1.26.3-3"}
"""

from ansible.module_utils.basic import AnsibleModule

FORMAT = "${db:Status-Status}\t${Package}\t${Version}\n"


def installed_versions(output: str) -> dict[str, str]:
    """dpkg-query --showformat=FORMAT output -> {package: version} of installed ones. Pure."""
    versions = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] == "installed":
            versions[parts[1]] = parts[2]
    return versions


def missing(names: list[str], versions: dict[str, str]) -> list[str]:
    """The NAMES (name or name=version, arch qualifiers ignored) not installed. Pure."""
    result = []
    for name in names:
        package, _, version = name.partition("=")
        package = package.split(":")[0]
        if package not in versions or (version and versions[package] != version):
            result.append(name)
    return result


def main():
    module = AnsibleModule(
        argument_spec={"name": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    names = module.params["name"]
    packages = sorted({n.partition("=")[0] for n in names})
    versions = {}
    if packages:
        # rc 1 when some name is unknown to dpkg; the known ones are still listed
        rc, out, err = module.run_command(["dpkg-query", "--show", f"--showformat={FORMAT}",
                                           *packages])
        if rc not in (0, 1):
            module.fail_json(msg=f"dpkg-query failed ({rc}): {err.strip()}")
        versions = installed_versions(out)
    module.exit_json(changed=False, missing=missing(names, versions), versions=versions)


if __name__ == "__main__":
    main()
