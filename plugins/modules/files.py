#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: files
short_description: A role's directories and small files in one call, written only where they differ
description:
  - Compares each directory and file with what the host has (kind, content, mode, owner) and
    changes only what differs; a run where nothing differs costs one module call for all of
    them, where C(ansible.builtin.template) costs two round trips per file.
  - Directories come first (so files can go in them), then files, then O(absent).
  - A file is written atomically (a temporary file in its directory, renamed over the old one).
  - Contents are given as text, typically C(lookup('ansible.builtin.template', ...)), which
    renders exactly as the template module does.
  - A file with O(files[].validate) is checked before anything is written. Its new content goes
    to a temporary file in its directory, the command runs on it, and a command that fails
    fails the task with nothing changed (as C(validate) of C(ansible.builtin.template)).
version_added: 0.3.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  directories:
    description: Directories to have, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Absolute path., type: str, required: true}
      mode: {description: Quoted octal mode such as C("0755")., type: raw, required: true}
      owner: {description: User name or uid., type: str, default: root}
      group: {description: Group name or gid., type: str, default: root}
  files:
    description: Files to have, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Absolute path; its directory must exist., type: str, required: true}
      content: {description: The whole content, verbatim., type: str, required: true}
      mode: {description: Quoted octal mode such as C("0644")., type: raw, required: true}
      owner: {description: User name or uid., type: str, default: root}
      group: {description: Group name or gid., type: str, default: root}
      force:
        description: Replace a file that differs; C(false) only creates a missing one.
        type: bool
        default: true
      seed_from:
        description: A path on the host whose content a file that does not exist yet gets
          instead of O(files[].content), when that path can be read.
        type: str
      validate:
        description: A command that checks the new content, run only when the file changes,
          with C(%s) standing for a temporary file that holds it (for example
          C(apt-config -c %s dump)); split like a shell word list, never run by a shell.
        type: str
  absent:
    description: Files or links to remove (a directory here is refused).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Renewal files
  golive.ops.files:
    directories:
      - {path: /etc/golive/tls, mode: "0755"}
    files:
      - path: /usr/local/sbin/golive-tls-renewal-failed
        content: "{{ lookup('ansible.builtin.template', 'golive-tls-renewal-failed.j2') }}"
        mode: "0750"
    absent: [/etc/cron.d/certbot]
  register: renewal_files
"""

RETURN = r"""
changed_paths:
  description: Paths created, changed or removed (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["/etc/golive/tls/renewal-failure.env"]
differences:
  description: What differed per changed path (created, content, mode, owner, replaced, removed).
  returned: always
  type: dict
  sample: {"/etc/golive/tls/renewal-failure.env": ["content"]}
"""

import os
import shlex
import tempfile

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


def plan(directories: list[dict], files: list[dict], absent: list[str], read=read_state,
         resolve=ids) -> tuple[list[tuple[str, str, dict, list[str]]], list[dict], list[str]]:
    """(steps, diffs, errors): each step is (kind, path, wanted, changes) for what differs.
    Reads through READ only; writes nothing."""
    steps, diffs, errors = [], [], []
    for item in directories:
        try:
            mode, (uid, gid) = parse_mode(item["mode"]), resolve(item["owner"], item["group"])
        except (ValueError, KeyError) as exc:
            errors.append(f"{item['path']}: {exc}")
            continue
        changes = dir_changes(read(item["path"], False), mode, uid, gid)
        if "not a directory" in changes:
            errors.append(f"{item['path']}: exists and is not a directory")
        elif changes:
            steps.append(("directory", item["path"], {"mode": mode, "uid": uid, "gid": gid},
                          changes))
    for item in files:
        try:
            mode, (uid, gid) = parse_mode(item["mode"]), resolve(item["owner"], item["group"])
        except (ValueError, KeyError) as exc:
            errors.append(f"{item['path']}: {exc}")
            continue
        current = read(item["path"], True)
        content = wanted_content(item, current is not None)
        if current is not None and current.kind == "directory":
            errors.append(f"{item['path']}: is a directory")
            continue
        changes = file_changes(current, content, mode, uid, gid, item["force"])
        if changes:
            steps.append(("file", item["path"], {"content": content, "mode": mode, "uid": uid,
                                                 "gid": gid}, changes))
            if "content" in changes or "created" in changes:
                diffs.append(text_diff(item["path"], current.content if current else None,
                                       content))
    for path in absent:
        current = read(path, False)
        if current is None:
            continue
        if current.kind == "directory":
            errors.append(f"{path}: is a directory, not removed")
        else:
            steps.append(("absent", path, {}, ["removed"]))
    return steps, diffs, errors


def validate(module, steps, files: list[dict]) -> list[str]:
    """Run each changed file's validate command on its new content in a temporary file of the
    same directory; the failures, as texts."""
    commands = {f["path"]: f["validate"] for f in files if f.get("validate")}
    failures = []
    for kind, path, wanted, _ in steps:
        if kind != "file" or path not in commands:
            continue
        command = commands[path]
        if "%s" not in command:
            failures.append(f"{path}: validate must contain %s (got {command!r})")
            continue
        # beside the file, as the checker may resolve relative includes; in the temporary
        # directory when its directory comes with this same call
        directory = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(dir=directory if os.path.isdir(directory) else None,
                                   prefix=".golive-check-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(wanted["content"])
            argv = [tmp if word == "%s" else word.replace("%s", tmp)
                    for word in shlex.split(command)]
            rc, out, err = module.run_command(argv)
            if rc != 0:
                said = (err or out).strip().splitlines()
                failures.append(f"{path}: {command} rejected the new content: "
                                f"{' / '.join(said[-3:]) or f'exit {rc}'}")
        finally:
            os.unlink(tmp)
    return failures


def apply(steps) -> None:
    for kind, path, wanted, _ in steps:
        if kind == "directory":
            make_dir(path, wanted["mode"], wanted["uid"], wanted["gid"])
        elif kind == "file":
            write_file(path, wanted["content"], wanted["mode"], wanted["uid"], wanted["gid"])
        else:
            os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec={
            "directories": {"type": "list", "elements": "dict", "default": [],
                            "options": DIR_SPEC},
            "files": {"type": "list", "elements": "dict", "default": [],
                      "options": {**FILE_SPEC, "validate": {"type": "str"}}},
            "absent": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    relative = [x for x in [*(d["path"] for d in p["directories"]),
                            *(f["path"] for f in p["files"]), *p["absent"]]
                if not os.path.isabs(x)]
    if relative:
        module.fail_json(msg=f"paths must be absolute: {', '.join(relative)}")
    steps, diffs, errors = plan(p["directories"], p["files"], p["absent"])
    if errors:
        module.fail_json(msg="; ".join(errors), changed=False)
    if not module.check_mode:
        rejected = validate(module, steps, p["files"])
        if rejected:
            module.fail_json(msg="; ".join(rejected) + "; nothing was changed", changed=False)
        try:
            apply(steps)
        except OSError as exc:
            module.fail_json(msg=f"{exc}", changed=True)
    result = {"changed": bool(steps), "changed_paths": [s[1] for s in steps],
              "differences": {s[1]: s[3] for s in steps}}
    if module._diff and diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
