#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: config_candidate
short_description: A daemon's configuration files changed through a tested copy of its tree
description:
  - Compares each file (content, mode, owner) and directory with the live tree O(live_dir).
    When nothing differs it returns at once, unchanged, so a converge where nothing changed costs
    this one call.
  - When something differs, the live tree is copied to O(candidate_dir) (C(cp -a), after
    removing an old copy), the differing files are written into the copy, and O(test_argv) (the
    daemon's checker, pointed at the copy) must exit 0. Only then are the same files written
    into the live tree (each atomically). A rejected candidate changes nothing live; the result
    then says so (RV(installed) false, RV(test_rc), RV(test_output)) without failing, so the
    calling role words the failure.
  - The caller reloads the daemon when RV(changed_files) is not empty.
version_added: 0.3.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what differs; copies, tests and writes nothing.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  live_dir:
    description: The live configuration tree, such as C(/etc/nginx).
    type: path
    required: true
  candidate_dir:
    description: Where the copy is made and tested; removed and made anew on each change.
    type: path
    required: true
  test_argv:
    description: The checker run against the copy, such as C([nginx, -t, -q, -c, COPY/nginx.conf]).
    type: list
    elements: str
    required: true
  directories:
    description: Directories to have, relative to the tree.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Path relative to the tree., type: str, required: true}
      mode: {description: Quoted octal mode such as C("0755")., type: raw, required: true}
      owner: {description: User name or uid., type: str, default: root}
      group: {description: Group name or gid., type: str, default: root}
  files:
    description: Files to have, relative to the tree.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Path relative to the tree., type: str, required: true}
      content:
        description: The whole content, verbatim (e.g. a template lookup).
        type: str
        required: true
      mode: {description: Quoted octal mode such as C("0644")., type: raw, required: true}
      owner: {description: User name or uid., type: str, default: root}
      group: {description: Group name or gid., type: str, default: root}
      force:
        description: Replace a file that differs; C(false) only creates a missing one (a file
          that belongs to someone else once it exists).
        type: bool
        default: true
      seed_from:
        description: A path on the host whose content a file that does not exist yet gets
          instead of O(files[].content), when that path can be read.
        type: str
"""

EXAMPLES = r"""
- name: nginx's files, through a tested candidate
  golive.ops.config_candidate:
    live_dir: /etc/nginx
    candidate_dir: /run/golive-nginx-candidate
    test_argv: [nginx, -t, -q, -c, /run/golive-nginx-candidate/nginx.conf]
    directories: [{path: golive, mode: "0755"}]
    files:
      - path: nginx.conf
        content: "{{ lookup('ansible.builtin.template', 'nginx/nginx.conf.j2') }}"
        mode: "0644"
  register: nginx_config
"""

RETURN = r"""
changed_files:
  description: Files, relative to the tree, that differed and went live (or would, in check
    mode; or were rejected, see RV(installed)).
  returned: always
  type: list
  elements: str
  sample: ["golive/site.conf"]
installed:
  description: Whether the differing files are live; false when the checker rejected them.
  returned: always
  type: bool
test_rc:
  description: The checker's exit code; absent when nothing differed or in check mode.
  returned: when tested
  type: int
test_output:
  description: The checker's stderr and stdout, stripped.
  returned: when tested
  type: str
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.files import (
    DIR_SPEC,
    FILE_SPEC,
    dir_changes,
    file_changes,
    ids,
    make_dir,
    parse_mode,
    read_state,
    text_diff,
    wanted_content,
    write_file,
)


def plan(live_dir: str, directories: list[dict], files: list[dict], read=read_state,
         resolve=ids) -> tuple[list[tuple], list[tuple], list[dict], list[str]]:
    """(directory steps, file steps, diffs, errors) for what differs from the live tree.
    A step is (relative path, wanted dict, changes). Reads only."""
    dir_steps, file_steps, diffs, errors = [], [], [], []
    for item in [*directories, *files]:
        rel = item["path"]
        if os.path.isabs(rel) or ".." in rel.split("/"):
            errors.append(f"{rel}: must be relative to the tree, without '..'")
            continue
        try:
            wanted = {"mode": parse_mode(item["mode"])}
            wanted["uid"], wanted["gid"] = resolve(item["owner"], item["group"])
        except (ValueError, KeyError) as exc:
            errors.append(f"{rel}: {exc}")
            continue
        live = os.path.join(live_dir, rel)
        if "content" not in item:
            changes = dir_changes(read(live, False), **wanted)
            if "not a directory" in changes:
                errors.append(f"{live}: exists and is not a directory")
            elif changes:
                dir_steps.append((rel, wanted, changes))
            continue
        current = read(live, True)
        wanted["content"] = wanted_content(item, current is not None)
        if current is not None and current.kind == "directory":
            errors.append(f"{live}: is a directory")
            continue
        changes = file_changes(current, wanted["content"], wanted["mode"], wanted["uid"],
                               wanted["gid"], item["force"])
        if changes:
            file_steps.append((rel, wanted, changes))
            if "content" in changes or "created" in changes:
                diffs.append(text_diff(live, current.content if current else None,
                                       wanted["content"]))
    return dir_steps, file_steps, diffs, errors


def put(root: str, dir_steps, file_steps) -> None:
    for rel, wanted, _ in dir_steps:
        make_dir(os.path.join(root, rel), **wanted)
    for rel, wanted, _ in file_steps:
        write_file(os.path.join(root, rel), wanted["content"], wanted["mode"], wanted["uid"],
                   wanted["gid"])


def main():
    module = AnsibleModule(
        argument_spec={
            "live_dir": {"type": "path", "required": True},
            "candidate_dir": {"type": "path", "required": True},
            "test_argv": {"type": "list", "elements": "str", "required": True},
            "directories": {"type": "list", "elements": "dict", "default": [],
                            "options": DIR_SPEC},
            "files": {"type": "list", "elements": "dict", "default": [], "options": FILE_SPEC},
        },
        supports_check_mode=True,
    )
    p = module.params
    live, candidate = p["live_dir"], p["candidate_dir"]
    dir_steps, file_steps, diffs, errors = plan(live, p["directories"], p["files"])
    if errors:
        module.fail_json(msg="; ".join(errors), changed=False)
    result = {"changed": bool(dir_steps or file_steps), "installed": True,
              "changed_files": [rel for rel, _, _ in file_steps]}
    if module._diff and diffs:
        result["diff"] = diffs
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)

    if file_steps:
        shutil.rmtree(candidate, ignore_errors=True)
        module.run_command(["cp", "-a", live, candidate], check_rc=True)
        put(candidate, dir_steps, file_steps)
        rc, out, err = module.run_command(p["test_argv"])
        result.update(test_rc=rc, test_output="\n".join(x.strip() for x in (err, out)
                                                        if x.strip()))
        if rc != 0:
            module.exit_json(**{**result, "changed": False, "installed": False})
    put(live, dir_steps, file_steps)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
