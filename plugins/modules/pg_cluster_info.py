#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: pg_cluster_info
short_description: Which PostgreSQL major and cluster a Debian host runs, or should run
description:
  - Reads the host's Debian PostgreSQL clusters (C(/etc/postgresql/MAJOR/NAME), their
    C(start.conf), C(data_directory) and port) and the server binaries installed
    (C(/usr/lib/postgresql/MAJOR/bin/postgres)), and decides the major the db tier manages.
  - A host that already has a cluster named O(cluster_name) keeps it, whatever its major. A host
    dist-upgraded from Debian 12 keeps serving its PostgreSQL 15 cluster, and is never given a
    second, empty cluster of the new release's default major. The result then carries a warning
    naming the major that runs and how a major upgrade is done (C(pg_upgradecluster)).
  - A host without one gets O(requested), or the release's default O(release_default) when
    O(requested) is empty. A major the release does not ship (O(release_majors)) and that is not
    installed is refused, as is a O(requested) major that differs from the cluster that runs.
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.2.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
options:
  cluster_name:
    description: The cluster's name (Debian's C(pg_createcluster) NAME).
    type: str
    default: main
  requested:
    description:
      - The major the inventory asks for (C(postgresql_version)); empty to follow the host.
    type: str
    default: ""
  release:
    description: The host's Debian release codename, for the messages (C(trixie), C(bookworm)).
    type: str
    required: true
  release_default:
    description: The major the release installs by default (17 on trixie, 15 on bookworm).
    type: int
    required: true
  release_majors:
    description: The majors the release's archive ships.
    type: list
    elements: int
    required: true
  etc_dir:
    description: Where Debian keeps the clusters' configuration.
    type: path
    default: /etc/postgresql
  lib_dir:
    description: Where Debian installs the server binaries, one directory per major.
    type: path
    default: /usr/lib/postgresql
"""

EXAMPLES = r"""
- name: The major this host runs or will run
  golive.ops.pg_cluster_info:
    cluster_name: main
    requested: "{{ postgresql_version }}"
    release: "{{ ansible_distribution_release }}"
    release_default: 17
    release_majors: [17]
  register: pg
"""

RETURN = r"""
major:
  description: The major the db tier manages on this host.
  returned: success
  type: int
  sample: 17
source:
  description: Why this major (C(cluster) that runs, C(requested), C(release) default).
  returned: success
  type: str
  sample: cluster
clusters:
  description: Every cluster found, of any name and major.
  returned: always
  type: list
  elements: dict
  sample: [{"major": 15, "name": "main", "start": "auto", "port": 5432,
            "data_dir": "/var/lib/postgresql/15/main"}]
installed:
  description: Majors whose server binaries are installed.
  returned: always
  type: list
  elements: int
  sample: [15]
unit:
  description: The cluster's systemd unit.
  returned: success
  type: str
  sample: postgresql@17-main
conf_dir:
  description: The cluster's configuration directory.
  returned: success
  type: str
bin_dir:
  description: The major's server binaries.
  returned: success
  type: str
data_dir:
  description: The cluster's data directory (its C(data_directory), else Debian's default).
  returned: success
  type: str
note:
  description: What runs against the release's default and how to upgrade, or empty.
  returned: success
  type: str
"""

import re
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

_SETTING = re.compile(r"^\s*(data_directory|port)\s*=\s*'?([^'#\s]+)'?", re.MULTILINE)


def read_clusters(etc_dir: Path) -> list[dict]:
    """Debian's clusters under ETC_DIR (MAJOR/NAME/postgresql.conf), sorted by major."""
    clusters = []
    for conf in sorted(etc_dir.glob("*/*/postgresql.conf")):
        major_dir, name = conf.parent.parent.name, conf.parent.name
        if not major_dir.isdigit():
            continue
        text = conf.read_text(errors="replace")
        settings = dict(_SETTING.findall(text))
        start = conf.parent / "start.conf"
        start_mode = "auto"
        if start.is_file():
            words = [w for line in start.read_text().splitlines()
                     if (w := line.split("#")[0].strip())]
            start_mode = words[0] if words else "auto"
        clusters.append({
            "major": int(major_dir), "name": name, "start": start_mode,
            "port": int(settings["port"]) if settings.get("port", "").isdigit() else 5432,
            "data_dir": settings.get("data_directory")
            or f"/var/lib/postgresql/{major_dir}/{name}",
        })
    return sorted(clusters, key=lambda c: (c["major"], c["name"]))


def read_installed(lib_dir: Path) -> list[int]:
    return sorted(int(p.parent.parent.name) for p in lib_dir.glob("*/bin/postgres")
                  if p.parent.parent.name.isdigit())


def choose_major(cluster_name: str, requested: str, release: str, release_default: int,
                 release_majors: list[int], clusters: list[dict],
                 installed: list[int]) -> tuple[int | None, str, str]:
    """(major, source, message): the major to manage, why, and a note; major None means refused
    and the message says why, naming the variable, the host's release and what it offers."""
    offered = sorted(set(release_majors) | set(installed))
    offer = (f"Debian {release} ships PostgreSQL {', '.join(map(str, release_majors))}"
             + (f"; installed here: {', '.join(map(str, installed))}" if installed else ""))
    if requested and not re.fullmatch(r"[0-9]{2}", requested):
        return None, "", (f"postgresql_version must be a major such as {release_default} or "
                          f"empty to follow the host (got {requested!r}); {offer}")
    mine = [c for c in clusters if c["name"] == cluster_name]
    if mine:
        majors = [c["major"] for c in mine]
        if requested and int(requested) in majors:
            major, source = int(requested), "requested"
        elif requested:
            return None, "", (
                f"postgresql_version is {requested}, but this host runs PostgreSQL "
                f"{', '.join(map(str, majors))} (cluster {cluster_name}); golive never creates a "
                f"second, empty cluster beside it. Leave postgresql_version unset to keep "
                f"serving it, or upgrade it first: pg_upgradecluster {majors[-1]} {cluster_name}"
                f" ({offer})")
        else:
            auto = [c["major"] for c in mine if c["start"] == "auto"]
            if len(auto) != 1:
                return None, "", (
                    f"this host has PostgreSQL clusters {cluster_name} of majors "
                    f"{', '.join(map(str, majors))} and {len(auto)} of them start "
                    "automatically; set postgresql_version to the one golive manages")
            major, source = auto[0], "cluster"
        note = ""
        if major != release_default:
            note = (f"PostgreSQL {major} (cluster {cluster_name}) keeps serving; Debian "
                    f"{release}'s default is {release_default}. A major upgrade is done with "
                    f"pg_upgradecluster {major} {cluster_name} (see roles/postgresql/README.md)")
        return major, source, note
    major = int(requested) if requested else release_default
    if major not in offered:
        return None, "", (f"postgresql_version {major} is not available on this host: {offer}")
    return major, "requested" if requested else "release", ""


def describe(major: int, cluster_name: str, clusters: list[dict]) -> dict:
    data_dir = next((c["data_dir"] for c in clusters
                     if c["major"] == major and c["name"] == cluster_name),
                    f"/var/lib/postgresql/{major}/{cluster_name}")
    return {"unit": f"postgresql@{major}-{cluster_name}",
            "conf_dir": f"/etc/postgresql/{major}/{cluster_name}",
            "bin_dir": f"/usr/lib/postgresql/{major}/bin", "data_dir": data_dir}


def main():
    module = AnsibleModule(
        argument_spec={
            "cluster_name": {"type": "str", "default": "main"},
            "requested": {"type": "str", "default": ""},
            "release": {"type": "str", "required": True},
            "release_default": {"type": "int", "required": True},
            "release_majors": {"type": "list", "elements": "int", "required": True},
            "etc_dir": {"type": "path", "default": "/etc/postgresql"},
            "lib_dir": {"type": "path", "default": "/usr/lib/postgresql"},
        },
        supports_check_mode=True,
    )
    p = module.params
    clusters = read_clusters(Path(p["etc_dir"]))
    installed = read_installed(Path(p["lib_dir"]))
    major, source, message = choose_major(
        p["cluster_name"], (p["requested"] or "").strip(), p["release"], p["release_default"],
        p["release_majors"], clusters, installed)
    if major is None:
        module.fail_json(msg=message, clusters=clusters, installed=installed)
    if message:
        module.warn(message)
    module.exit_json(changed=False, major=major, source=source, clusters=clusters,
                     installed=installed, note=message,
                     **describe(major, p["cluster_name"], clusters))


if __name__ == "__main__":
    main()
