#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: locale_timezone
short_description: The system locale and time zone of a Debian host, in one pass
description:
  - Reads what the host has (C(locale -a), C(/etc/locale.gen), C(/etc/default/locale),
    C(/etc/localtime), C(/etc/timezone)) and changes only what differs from the request, so a
    run where nothing changed costs one module call and one C(locale -a).
  - The locale is enabled in C(/etc/locale.gen) (uncommented, or added with its charset from
    C(/usr/share/i18n/SUPPORTED)) and C(locale-gen) runs only when C(locale -a) lacks it.
  - C(/etc/default/locale) gets O(locale_file) verbatim. Where systemd-tmpfiles links
    C(/etc/default/locale) to another file at boot (Debian 13, C(L+ ... ../locale.conf)), that
    file gets it and C(/etc/default/locale) is made the same symlink, so a reboot keeps the
    locale. C(/etc/localtime) is made a symlink to
    the zone under O(zoneinfo) (replaced atomically), C(/etc/timezone) holds the zone's name.
    Files are root-owned, mode 0644.
  - Every input is checked before anything is written; an unknown zone or a locale the host
    does not offer fails and leaves the host as it was.
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
    platforms: debian
options:
  locale:
    description: The locale to generate, such as C(en_US.UTF-8).
    type: str
    required: true
  locale_file:
    description: The whole content of C(/etc/default/locale) (e.g. a template lookup), verbatim.
    type: str
    required: true
  timezone:
    description: A zone name under O(zoneinfo), such as C(UTC) or C(Europe/Berlin).
    type: str
    required: true
  zoneinfo:
    description: Where the host keeps its zone files.
    type: path
    default: /usr/share/zoneinfo
  zone_hint:
    description: Appended to the failure for a zone that does not exist (the variable, a package).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Locale and time zone
  golive.ops.locale_timezone:
    locale: en_US.UTF-8
    locale_file: "{{ lookup('ansible.builtin.template', 'etc/default/locale.j2') }}"
    timezone: Europe/Berlin
"""

RETURN = r"""
changes:
  description: What was changed (or would be, in check mode), in the order it was done.
  returned: always
  type: list
  elements: str
  sample: ["/etc/locale.gen", "locale-gen", "/etc/localtime"]
generated:
  description: Whether C(locale -a) listed the locale before the run.
  returned: success
  type: bool
diff:
  description: Before and after of every file and of the generated locale, for C(--diff).
  returned: changed and diff mode
  type: dict
"""

import os
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

LOCALE_GEN = "/etc/locale.gen"
SUPPORTED = "/usr/share/i18n/SUPPORTED"
DEFAULT_LOCALE = "/etc/default/locale"
LOCALTIME = "/etc/localtime"
TIMEZONE = "/etc/timezone"
FILE_MODE = 0o644
# systemd-tmpfiles(8)'s directories, highest precedence first: a file of one name in /etc hides
# the same name in /usr/lib.
TMPFILES_DIRS = ("/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/lib/tmpfiles.d")


def normalize(name: str) -> str:
    """A locale as glibc lists it (`locale -a`): the codeset lower-cased, without punctuation
    (en_US.UTF-8 -> en_US.utf8)."""
    lang, dot, codeset = name.partition(".")
    if not dot:
        return name
    codeset, at, modifier = codeset.partition("@")
    return f"{lang}.{re.sub(r'[^a-z0-9]', '', codeset.lower())}{at}{modifier}"


def is_generated(locale: str, listed: str) -> bool:
    """Whether `locale -a` output lists the locale."""
    want = normalize(locale)
    return any(normalize(line.strip()) == want for line in listed.splitlines())


def enable_in_locale_gen(text: str, locale: str, supported: str) -> str | None:
    """/etc/locale.gen with the locale enabled (the same text when it already is), or None when
    neither the file nor SUPPORTED offers it."""
    line_re = re.compile(r"^#?\s*" + re.escape(locale) + r"\s+(\S+)\s*$")
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = line_re.match(line)
        if match:
            if not line.startswith("#"):
                return text
            lines[i] = f"{locale} {match.group(1)}\n"
            return "".join(lines)
    for line in supported.splitlines():
        match = line_re.match(line)
        if match:
            sep = "" if not text or text.endswith("\n") else "\n"
            return f"{text}{sep}{locale} {match.group(1)}\n"
    return None


def tmpfiles_link(configs: dict[str, str], path: str) -> str | None:
    """The target of the `L`/`L+` line for PATH in tmpfiles.d CONFIGS ({name: text}, the
    effective file per name), or None. Pure.

    Debian 13's systemd ships `L+ /etc/default/locale - - - - ../locale.conf`: at every boot
    /etc/default/locale is made that symlink again, whatever file stood there. The locale then
    belongs in the link's target, or a reboot loses it.
    """
    for name in sorted(configs):
        for line in configs[name].splitlines():
            fields = line.split()
            if len(fields) >= 7 and fields[0].rstrip("!-=~^").startswith("L") \
                    and fields[1] == path:
                return fields[6]
    return None


def read_tmpfiles(at) -> dict[str, str]:
    """{name: text} of the *.conf files systemd-tmpfiles would read (AT maps a host path)."""
    configs: dict[str, str] = {}
    for directory in TMPFILES_DIRS:
        try:
            names = os.listdir(at(directory))
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in configs:
                configs[name] = read_text(os.path.join(at(directory), name)) or ""
    return configs


def plan(current: dict, desired: dict) -> list[str]:
    """The changes to make, in order: locale.gen, locale-gen, then every path whose state
    differs (files, then symlinks, in DESIRED's order). Pure."""
    changes = []
    if current["locale_gen"] != desired["locale_gen"]:
        changes.append(LOCALE_GEN)
    if not current["generated"]:
        changes.append("locale-gen")
    for path, want in desired.items():
        if path.startswith("/") and current.get(path) != want:
            changes.append(path)
    return changes


def describe(state: dict, locale: str, changes: list[str]) -> str:
    """The changed parts of a state, one line each, for --diff (the locale's line of
    /etc/locale.gen, not the whole file). Pure."""
    lines = []
    for change in changes:
        if change == LOCALE_GEN:
            found = [line for line in state["locale_gen"].splitlines()
                     if re.match(r"^#?\s*" + re.escape(locale) + r"\s", line)]
            lines.append(f"{LOCALE_GEN}: {found[0] if found else '(no line)'}")
        elif change == "locale-gen":
            lines.append(f"locale -a lists {locale}: {state['generated']}")
        elif not isinstance(state[change], tuple | None):
            lines.append(f"{change} -> {state[change]}")
        else:
            value = state[change]
            if value is None:
                lines.append(f"{change}: (missing)")
            else:
                content, mode, uid, gid = value
                mode_text = oct(mode) if mode is not None else "-"
                lines.append(f"{change} (mode {mode_text}, owner {uid}:{gid}):")
                lines.extend(f"  {line}" for line in str(content).splitlines())
    return "\n".join(lines) + "\n"


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def file_state(path: str) -> tuple | None:
    """(content, mode, uid, gid) of a regular file, None when missing; a symlink or other kind
    reads as a different state so that it is replaced by a file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return ("<not a regular file>", None, None, None)
    return (read_text(path), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def link_target(path: str) -> str | None:
    try:
        return os.readlink(path)
    except (FileNotFoundError, OSError):
        return None


def write_file(module: AnsibleModule, path: str, content: str, owner: tuple[int, int]) -> None:
    """Atomically replace PATH with CONTENT, owned by OWNER (uid, gid), 0644."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".golive-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(content)
        os.chmod(tmp, FILE_MODE)
        os.chown(tmp, *owner)
        module.atomic_move(tmp, path, unsafe_writes=False, keep_dest_attrs=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace_link(path: str, target: str) -> None:
    tmp = os.path.join(os.path.dirname(path), ".golive-link")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, path)


def main(root: str = "/", list_locales=None, generate=None, owner: tuple[int, int] = (0, 0)):
    module = AnsibleModule(
        argument_spec={
            "locale": {"type": "str", "required": True},
            "locale_file": {"type": "str", "required": True},
            "timezone": {"type": "str", "required": True},
            "zoneinfo": {"type": "path", "default": "/usr/share/zoneinfo"},
            "zone_hint": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    p = module.params

    def at(path: str) -> str:  # paths on the host; tests pass a scratch root
        return os.path.join(root, path.lstrip("/"))

    if list_locales is None:
        def list_locales():
            return module.run_command(["locale", "-a"], check_rc=True)[1]
    if generate is None:
        def generate():
            module.run_command(["locale-gen"], check_rc=True)

    zone_file = f"{p['zoneinfo'].rstrip('/')}/{p['timezone']}"
    if not os.path.isfile(at(zone_file)):
        module.fail_json(msg=f"time zone '{p['timezone']}' does not exist under "
                             f"{p['zoneinfo']}{p['zone_hint']}")
    locale_gen = read_text(at(LOCALE_GEN)) or ""
    wanted_gen = enable_in_locale_gen(locale_gen, p["locale"], read_text(at(SUPPORTED)) or "")
    if wanted_gen is None:
        module.fail_json(msg=f"locale '{p['locale']}' is neither in {LOCALE_GEN} nor in "
                             f"{SUPPORTED}: is the package locales installed?")

    generated = is_generated(p["locale"], list_locales())
    owned = (FILE_MODE, *owner)
    # Where the locale lives: /etc/default/locale, or the target systemd-tmpfiles links it to.
    locale_link = tmpfiles_link(read_tmpfiles(at), DEFAULT_LOCALE)
    locale_path = DEFAULT_LOCALE if locale_link is None else \
        os.path.normpath(os.path.join(os.path.dirname(DEFAULT_LOCALE), locale_link))
    links = {LOCALTIME: zone_file}
    if locale_link is not None:
        links[DEFAULT_LOCALE] = locale_link
    desired = {
        "locale_gen": wanted_gen,
        "generated": True,
        locale_path: (p["locale_file"], *owned),
        TIMEZONE: (f"{p['timezone']}\n", *owned),
        **links,
    }
    current = {
        "locale_gen": locale_gen,
        "generated": generated,
        locale_path: file_state(at(locale_path)),
        TIMEZONE: file_state(at(TIMEZONE)),
        **{path: link_target(at(path)) for path in links},
    }
    changes = plan(current, desired)

    if not module.check_mode:
        for change in changes:
            if change == LOCALE_GEN:
                write_file(module, at(LOCALE_GEN), wanted_gen, owner)
            elif change == "locale-gen":
                generate()
            elif change in links:
                replace_link(at(change), links[change])
            else:
                write_file(module, at(change), desired[change][0], owner)
        if "locale-gen" in changes and not is_generated(p["locale"], list_locales()):
            module.fail_json(msg=f"locale-gen ran but locale -a does not list {p['locale']}",
                             changes=changes)

    result = {"changed": bool(changes), "changes": changes, "generated": generated}
    if module._diff and changes:
        result["diff"] = {"before": describe(current, p["locale"], changes),
                          "after": describe(desired, p["locale"], changes)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
