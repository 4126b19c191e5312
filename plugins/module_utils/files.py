# SPDX-License-Identifier: Apache-2.0
"""Files and directories compared with what the host has, and written only where they differ:
what golive.ops.files and golive.ops.config_candidate share. A converge where nothing changed
then costs one stat and one read per file, inside one module call, instead of a template's
two round trips per file."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import tempfile
from dataclasses import dataclass

FILE_SPEC = {
    "path": {"type": "str", "required": True},
    "content": {"type": "str", "required": True},
    "mode": {"type": "raw", "required": True},  # a quoted octal string; parse_mode checks
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
    "force": {"type": "bool", "default": True},
    "seed_from": {"type": "str"},
}
DIR_SPEC = {
    "path": {"type": "str", "required": True},
    "mode": {"type": "raw", "required": True},  # a quoted octal string; parse_mode checks
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
}


@dataclass(frozen=True)
class State:
    kind: str  # file, directory, link, other
    mode: int
    uid: int
    gid: int
    content: bytes | None = None  # files only


def parse_mode(mode: str) -> int:
    """'0644' -> 0o644; anything but a quoted octal mode raises ValueError."""
    if not isinstance(mode, str) or not mode.isdigit() or any(c in "89" for c in mode) \
            or not 3 <= len(mode) <= 5:
        raise ValueError(f"mode must be a quoted octal string such as \"0644\", got {mode!r}")
    return int(mode, 8)


def ids(owner: str, group: str) -> tuple[int, int]:
    """Names (or numbers) -> (uid, gid); an unknown name raises KeyError."""
    uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
    gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    return uid, gid


def read_state(path: str, with_content: bool = True) -> State | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        kind = "link"
    elif stat.S_ISDIR(st.st_mode):
        kind = "directory"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    content = None
    if kind == "file" and with_content:
        with open(path, "rb") as handle:
            content = handle.read()
    return State(kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, content)


def wanted_content(item: dict, exists: bool) -> bytes:
    """What ITEM's file should hold: its content; or, for a file not there yet whose seed_from
    names a readable file on the host, that file's (a file some other owner keeps a copy of,
    e.g. the deploys' nginx upstream, comes back as that owner left it)."""
    if not exists and item.get("seed_from"):
        try:
            with open(item["seed_from"], "rb") as handle:
                return handle.read()
        except OSError:
            pass
    return item["content"].encode("utf-8", "surrogateescape")


def file_changes(current: State | None, content: bytes, mode: int, uid: int, gid: int,
                 force: bool = True) -> list[str]:
    """What differs between a file on the host and the wanted one: [] when nothing, else some of
    created, replaced (not a regular file), content, mode, owner. Pure."""
    if current is None:
        return ["created"]
    if not force:
        return []
    if current.kind != "file":
        return ["replaced"]
    changes = []
    if current.content != content:
        changes.append("content")
    if current.mode != mode:
        changes.append("mode")
    if (current.uid, current.gid) != (uid, gid):
        changes.append("owner")
    return changes


def dir_changes(current: State | None, mode: int, uid: int, gid: int) -> list[str]:
    """As file_changes, for a directory (something else in its place is refused by the caller).
    Pure."""
    if current is None:
        return ["created"]
    if current.kind != "directory":
        return ["not a directory"]
    changes = []
    if current.mode != mode:
        changes.append("mode")
    if (current.uid, current.gid) != (uid, gid):
        changes.append("owner")
    return changes


def write_file(path: str, content: bytes, mode: int, uid: int, gid: int) -> None:
    """Atomically put CONTENT at PATH with MODE and owner: a temporary file in the same
    directory, renamed over the old one (a reader sees the old or the new file, never half)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".golive-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            os.fchmod(handle.fileno(), mode)
            os.fchown(handle.fileno(), uid, gid)
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(f"{path} is a directory")
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def make_dir(path: str, mode: int, uid: int, gid: int) -> None:
    """A directory with MODE and owner, created if missing (parents too, as root's 0755)."""
    os.makedirs(path, mode=0o755, exist_ok=True)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


def text_diff(path: str, before: bytes | None, after: bytes) -> dict:
    """One entry of a module's diff list for --diff."""
    return {"before_header": path, "after_header": path,
            "before": (before or b"").decode("utf-8", "replace"),
            "after": after.decode("utf-8", "replace")}
