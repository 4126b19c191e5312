# SPDX-License-Identifier: Apache-2.0
"""Pending Debian updates and a required reboot, read from what the host already has: the
package lists APT last downloaded (nothing is fetched: no `apt-get update`, no network) and
Debian's /run/reboot-required flag. Shared by the `updates` check of golive.ops.checks and by
golive.ops.host_audit.

python3-apt's apt_pkg is imported at first use (Ansible's apt module needs it on the host too);
tests pass a fake with the same small surface: init(), config.find_dir(), Cache(None),
DepCache(cache).get_candidate_ver(pkg), version_compare(), and packages / versions / package
files with the attributes read below.
"""

from __future__ import annotations

import os
import stat
import time

LISTS_DIR = "/var/lib/apt/lists"
SECURITY_LABEL = "Debian-Security"
SECURITY_SUFFIX = "-security"
REBOOT_FLAG = "run/reboot-required"  # relative to the root given
REBOOT_PACKAGES = "run/reboot-required.pkgs"
MAX_SHOWN = 10  # items named in a one-line message; the rest are counted


class AptUnavailable(ImportError):
    """python3-apt is not installed on the host; str() says how to get it."""


def load_apt_pkg():
    """python3-apt's apt_pkg, or AptUnavailable saying which package brings it."""
    try:
        import apt_pkg
    except ImportError:
        raise AptUnavailable(
            "python3-apt is not installed (apt-get install python3-apt; golive.ops.updates "
            "installs it with unattended-upgrades)") from None
    return apt_pkg


def security_suite(package_file) -> str | None:
    """The suite of a package file when it is Debian's security archive (codename or archive
    ending in -security, or the label Debian-Security), else None. Pure."""
    codename = getattr(package_file, "codename", "") or ""
    archive = getattr(package_file, "archive", "") or ""
    for suite in (codename, archive):
        if suite.endswith(SECURITY_SUFFIX):
            return suite
    if (getattr(package_file, "label", "") or "") == SECURITY_LABEL:
        return codename or archive or SECURITY_LABEL
    return None


def candidate_security_suite(version) -> str | None:
    """The security suite of the first of a version's package files that is one, else None."""
    for package_file, _index in version.file_list:
        suite = security_suite(package_file)
        if suite:
            return suite
    return None


def package_name(package) -> str:
    """name, or name:arch for a foreign architecture (as apt prints it)."""
    get_fullname = getattr(package, "get_fullname", None)
    return get_fullname(True) if get_fullname else package.name


def upgradable(apt_pkg, cache, depcache) -> list[tuple[str, object, object]]:
    """(name, installed version, candidate version) of every installed package whose candidate
    (APT's policy: pins and priorities) is newer than what is installed."""
    found = []
    for package in cache.packages:
        installed = package.current_ver
        if installed is None:
            continue
        candidate = depcache.get_candidate_ver(package)
        if candidate is None or apt_pkg.version_compare(candidate.ver_str, installed.ver_str) <= 0:
            continue
        found.append((package_name(package), installed, candidate))
    return found


def classify(found: list[tuple[str, object, object]]) -> dict:
    """{security: [{name, installed, candidate, suite}] by name, other: [names] sorted}."""
    security, other = [], []
    for name, installed, candidate in found:
        suite = candidate_security_suite(candidate)
        if suite:
            security.append({"name": name, "installed": installed.ver_str,
                             "candidate": candidate.ver_str, "suite": suite})
        else:
            other.append(name)
    return {"security": sorted(security, key=lambda entry: entry["name"]),
            "other": sorted(other)}


def lists_age_s(lists_dir: str = LISTS_DIR, now: float | None = None) -> int | None:
    """Seconds since the newest package list in LISTS_DIR was written (APT's lock file and the
    partial/ directory are not lists); None when there is none."""
    newest = None
    try:
        names = os.listdir(lists_dir)
    except OSError:
        return None
    for name in names:
        if name == "lock":
            continue
        try:
            info = os.stat(os.path.join(lists_dir, name))
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and (newest is None or info.st_mtime > newest):
            newest = info.st_mtime
    if newest is None:
        return None
    return max(0, round((time.time() if now is None else now) - newest))


def pending_updates(apt_pkg=None) -> dict:
    """The upgradable packages per the host's package lists, never refreshed here:
    {security: [{name, installed, candidate, suite}...] sorted by name, other: [names],
    lists_age_s}. A candidate counts as a security update when one of its package files comes
    from a suite ending in -security or labelled Debian-Security. APT_CONFIG is honoured (APT
    reads it at init). AptUnavailable without python3-apt; apt_pkg's SystemError on unreadable
    lists."""
    apt_pkg = apt_pkg or load_apt_pkg()
    apt_pkg.init()
    cache = apt_pkg.Cache(None)  # None: no progress output on stdout
    depcache = apt_pkg.DepCache(cache)
    state = classify(upgradable(apt_pkg, cache, depcache))
    lists_dir = apt_pkg.config.find_dir("Dir::State::Lists") or LISTS_DIR
    return {**state, "lists_age_s": lists_age_s(lists_dir)}


def reboot_required(root: str = "/") -> dict:
    """{required, packages} from Debian's /run/reboot-required and /run/reboot-required.pkgs
    (the packages that asked, each once, sorted), under ROOT."""
    flag = os.path.join(root, REBOOT_FLAG)
    if not os.path.exists(flag):
        return {"required": False, "packages": []}
    try:
        with open(os.path.join(root, REBOOT_PACKAGES), encoding="utf-8",
                  errors="replace") as handle:
            packages = sorted({line.strip() for line in handle if line.strip()})
    except OSError:
        packages = []
    return {"required": True, "packages": packages}


def shown(items: list[str], limit: int = MAX_SHOWN) -> str:
    """'a, b, c' or, past LIMIT items, 'a, ..., j and 5 more'. Pure."""
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def pending_text(security: list[dict]) -> str:
    """'2 security update(s) pending: openssl 3.0.1 -> 3.0.2 (bookworm-security), ...' of
    pending_updates()'s security list (the suite left out where unknown). Pure."""
    named = [f"{u['name']} {u.get('installed', '?')} -> {u.get('candidate', '?')}"
             + (f" ({u['suite']})" if u.get("suite") else "") for u in security]
    return f"{len(security)} security update(s) pending: {shown(named)}"
