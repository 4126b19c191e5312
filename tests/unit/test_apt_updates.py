"""Pending security updates and a required reboot (module_utils apt_updates, issue 19) and the
`updates` check of golive.ops.checks built on it: APT's cache through a fake apt_pkg with the
few calls the module makes, the package lists and Debian's reboot flag as files in tmp_path."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import pytest

from .conftest import collection_modules, run_main


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    with collection_modules(tmp_path_factory, apt="module_utils.apt_updates",
                            checks="modules.checks") as modules:
        yield modules


@pytest.fixture(scope="module")
def apt(collection):
    return collection.apt


@pytest.fixture(scope="module")
def checks(collection):
    return collection.checks


# --- a fake apt_pkg ------------------------------------------------------------------------------


@dataclass
class PackageFile:
    archive: str
    codename: str
    label: str
    origin: str = "Debian"


MAIN = PackageFile("stable", "trixie", "Debian")
SECURITY = PackageFile("stable-security", "trixie-security", "Debian-Security")
STATUS = PackageFile("now", "", "")  # dpkg's status file: what is installed
OTHER = PackageFile("golive", "golive", "golive-extras", "golive")


@dataclass
class Version:
    ver_str: str
    files: list = field(default_factory=lambda: [STATUS])

    @property
    def file_list(self):
        return [(package_file, index) for index, package_file in enumerate(self.files)]


@dataclass
class Package:
    name: str
    current_ver: Version | None
    candidate: Version | None
    arch: str = "amd64"

    def get_fullname(self, pretty=False):
        return self.name if pretty and self.arch in ("amd64", "all") else f"{self.name}:{self.arch}"


def pkg(name, installed, candidate=None, *files, arch="amd64"):
    """An installed package (or not: installed None) with its candidate from FILES."""
    current = Version(installed) if installed else None
    wanted = Version(candidate, list(files)) if candidate else current
    return Package(name, current, wanted, arch)


class FakeAptPkg:
    """apt_pkg as pending_updates() uses it. version_compare orders versions as strings, which
    is enough for the versions below."""

    def __init__(self, packages, lists_dir):
        self.packages, self.lists_dir, self.calls = packages, str(lists_dir), []
        self.config = self

    def find_dir(self, key):
        assert key == "Dir::State::Lists"
        return self.lists_dir + "/"

    def init(self):
        self.calls.append("init")

    def Cache(self, progress):
        self.calls.append(("Cache", progress))
        return type("Cache", (), {"packages": self.packages})()

    def DepCache(self, cache):
        return type("DepCache", (), {"get_candidate_ver": staticmethod(lambda p: p.candidate)})()

    @staticmethod
    def version_compare(a, b):
        return (a > b) - (a < b)


def lists(tmp_path, *ages_s):
    """A lists directory with one file per age (seconds, from now), plus APT's lock and
    partial/."""
    now = time.time()
    directory = tmp_path / "lists"
    (directory / "partial").mkdir(parents=True, exist_ok=True)
    (directory / "lock").write_text("")
    os.utime(directory / "lock", (now, now))
    for index, age in enumerate(ages_s):
        path = directory / f"deb.debian.org_debian_dists_trixie_{index}_Packages"
        path.write_text("Package: x\n")
        os.utime(path, (now - age, now - age))
    return directory


HOST = [
    pkg("openssl", "3.5.1-1", "3.5.4-1~deb13u1", SECURITY),
    pkg("libc6", "2.41-12", "2.41-12+deb13u1", MAIN, SECURITY),  # in both: security
    pkg("libc6", "2.41-12", "2.41-12+deb13u1", SECURITY, arch="i386"),
    pkg("tzdata", "2025a-4", "2025b-0+deb13u1", MAIN),  # a point release's update
    pkg("golive-tool", "1.0", "1.1", OTHER),
    pkg("curl", "8.14.1-2", None),  # up to date
    pkg("pinned", "2.0", "1.9", MAIN),  # an older candidate (pinned down) is no update
    pkg("nginx", None, "1.26.3-3+deb13u1", SECURITY),  # not installed
]


def test_pending_updates_classifies_by_the_candidates_suite(apt, tmp_path):
    fake = FakeAptPkg(HOST, lists(tmp_path, 7200, 60))
    found = apt.pending_updates(fake)
    assert found == {
        "security": [
            {"name": "libc6", "installed": "2.41-12", "candidate": "2.41-12+deb13u1",
             "suite": "trixie-security"},
            {"name": "libc6:i386", "installed": "2.41-12", "candidate": "2.41-12+deb13u1",
             "suite": "trixie-security"},
            {"name": "openssl", "installed": "3.5.1-1", "candidate": "3.5.4-1~deb13u1",
             "suite": "trixie-security"},
        ],
        "other": ["golive-tool", "tzdata"],
        "lists_age_s": found["lists_age_s"],
    }
    assert found["lists_age_s"] in (60, 61)  # seconds, however slow the machine
    # the lists as they are: APT initialised from its configuration, no progress printed
    assert fake.calls == ["init", ("Cache", None)]


@pytest.mark.parametrize(("package_file", "suite"), [
    (PackageFile("stable-security", "trixie-security", "Debian-Security"), "trixie-security"),
    (PackageFile("oldstable-security", "", ""), "oldstable-security"),
    (PackageFile("stable", "trixie", "Debian-Security"), "trixie"),  # by its label
    (PackageFile("", "", "Debian-Security"), "Debian-Security"),
    (PackageFile("stable", "trixie", "Debian"), None),
    (PackageFile("trixie-updates", "trixie-updates", "Debian"), None),
    (PackageFile("now", "", ""), None),
])
def test_security_suite(apt, package_file, suite):
    assert apt.security_suite(package_file) == suite


def test_no_update_pending(apt, tmp_path):
    fake = FakeAptPkg([pkg("curl", "8.14.1-2")], lists(tmp_path, 30))
    found = apt.pending_updates(fake)
    assert (found["security"], found["other"]) == ([], [])


def test_lists_age_ignores_the_lock_and_partial_and_says_none_without_lists(apt, tmp_path):
    directory = lists(tmp_path, 900, 3600)
    now = (directory / "lock").stat().st_mtime
    assert apt.lists_age_s(str(directory), now=now + 10) == 910
    assert apt.lists_age_s(str(lists(tmp_path / "empty")), now=now) is None
    assert apt.lists_age_s(str(tmp_path / "missing"), now=now) is None


def test_without_python3_apt_the_error_names_the_package(apt, monkeypatch):
    monkeypatch.setitem(sys.modules, "apt_pkg", None)  # import apt_pkg raises ImportError
    with pytest.raises(apt.AptUnavailable, match="python3-apt is not installed"):
        apt.pending_updates()


def reboot_files(tmp_path, *packages, flag=True):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    if flag:
        (run / "reboot-required").write_text("*** System restart required ***\n")
    if packages:
        (run / "reboot-required.pkgs").write_text("".join(f"{p}\n" for p in packages))
    return str(tmp_path)


def test_reboot_required(apt, tmp_path):
    assert apt.reboot_required(str(tmp_path)) == {"required": False, "packages": []}
    # Debian appends a package each time it asks; each is named once
    root = reboot_files(tmp_path, "linux-image-6.12.48+deb13-amd64", "libc6", "libc6")
    assert apt.reboot_required(root) == {
        "required": True, "packages": ["libc6", "linux-image-6.12.48+deb13-amd64"]}


def test_reboot_flag_without_a_package_list(apt, tmp_path):
    root = reboot_files(tmp_path)
    assert apt.reboot_required(root) == {"required": True, "packages": []}


def test_a_stale_package_list_without_the_flag_is_no_reboot(apt, tmp_path):
    root = reboot_files(tmp_path, "libc6", flag=False)
    assert apt.reboot_required(root) == {"required": False, "packages": []}


# --- the updates check -------------------------------------------------------------------------

RESULT_KEYS = {"name", "type", "status", "value", "unit", "threshold", "message", "duration_ms"}


def check(checks, item, fake, root):
    failed, result = run_main(checks, {"checks": [{"name": "updates", "type": "updates", **item}]},
                              apt_pkg=fake, root=root)
    assert not failed and result["changed"] is False, result
    (entry,) = result["checks"]
    assert set(entry) <= RESULT_KEYS | {"updates"} and "\n" not in entry["message"]
    return entry


def test_pending_security_updates_warn_naming_them_with_versions(checks, ansible_module,
                                                                  tmp_path):
    fake = FakeAptPkg(HOST, lists(tmp_path, 5400))
    entry = check(checks, {}, fake, str(tmp_path))
    assert (entry["status"], entry["value"], entry["unit"]) == ("warn", 3, "updates")
    assert entry["threshold"] == "<= 0 updates (warn), no reboot required (warn)"
    assert entry["message"] == (
        "updates: 3 security update(s) pending: libc6 2.41-12 -> 2.41-12+deb13u1 "
        "(trixie-security), libc6:i386 2.41-12 -> 2.41-12+deb13u1 (trixie-security), openssl "
        "3.5.1-1 -> 3.5.4-1~deb13u1 (trixie-security), above 0 updates (warn); 2 other "
        "package(s) upgradable; package lists 90 min old")
    assert [u["name"] for u in entry["updates"]["security"]] == ["libc6", "libc6:i386", "openssl"]
    assert entry["updates"]["other"] == ["golive-tool", "tzdata"]
    assert entry["updates"]["reboot"] == {"required": False, "packages": []}


def test_no_pending_update_and_no_reboot_is_ok(checks, ansible_module, tmp_path):
    fake = FakeAptPkg([pkg("curl", "8.14.1-2")], lists(tmp_path, 600))
    entry = check(checks, {}, fake, str(tmp_path))
    assert (entry["status"], entry["value"]) == ("ok", 0)
    assert entry["message"] == "updates: no security update pending; package lists 10 min old"


def test_past_ten_updates_the_message_says_how_many_more(checks, ansible_module, tmp_path):
    host = [pkg(f"lib{n:02d}", "1.0", "1.1", SECURITY) for n in range(13)]
    entry = check(checks, {}, FakeAptPkg(host, lists(tmp_path, 30)), str(tmp_path))
    assert entry["value"] == 13
    assert "lib09 1.0 -> 1.1 (trixie-security) and 3 more, above 0 updates" in entry["message"]
    assert "lib10" not in entry["message"]
    assert len(entry["updates"]["security"]) == 13


@pytest.mark.parametrize(("own", "status"), [
    ({"max_security_pending": 2}, "fail"),
    ({"max_security_pending": 3}, "warn"),  # at the threshold passes
    ({"warn_security_pending": 3}, "ok"),
    ({"warn_security_pending": None}, "ok"),  # null turns the warning off
])
def test_thresholds(checks, ansible_module, tmp_path, own, status):
    entry = check(checks, own, FakeAptPkg(HOST, lists(tmp_path, 30)), str(tmp_path))
    assert (entry["status"], entry["value"]) == (status, 3)


def test_a_required_reboot_warns_naming_the_packages(checks, ansible_module, tmp_path):
    root = reboot_files(tmp_path, "linux-image-6.12.48+deb13-amd64", "libc6")
    fake = FakeAptPkg([pkg("curl", "8.14.1-2")], lists(tmp_path, 600))
    entry = check(checks, {}, fake, root)
    assert (entry["status"], entry["value"]) == ("warn", 0)
    assert entry["message"] == ("updates: no security update pending; package lists 10 min old; "
                                "reboot required by libc6, linux-image-6.12.48+deb13-amd64")
    assert entry["updates"]["reboot"]["required"] is True
    # turned off, the reboot is still said but does not warn; a failure stays a failure
    off = check(checks, {"warn_reboot_required": False}, fake, root)
    assert off["status"] == "ok" and "reboot required by libc6" in off["message"]
    assert off["threshold"] == "<= 0 updates (warn)"
    failing = check(checks, {"max_security_pending": 0}, FakeAptPkg(HOST, lists(tmp_path, 30)),
                    root)
    assert failing["status"] == "fail" and failing["message"].endswith(
        "reboot required by libc6, linux-image-6.12.48+deb13-amd64")


def test_without_package_lists_the_count_means_nothing_and_warns(checks, ansible_module,
                                                                 tmp_path):
    entry = check(checks, {}, FakeAptPkg([pkg("curl", "8.14.1-2")], lists(tmp_path)),
                  str(tmp_path))
    assert entry["status"] == "warn"
    assert "no package lists (apt-get update never ran)" in entry["message"]
    assert entry["updates"]["lists_age_s"] is None


def test_without_python3_apt_the_check_fails_saying_so(checks, ansible_module, monkeypatch,
                                                       tmp_path):
    monkeypatch.setitem(sys.modules, "apt_pkg", None)
    entry = check(checks, {}, None, str(tmp_path))
    assert (entry["status"], entry["value"]) == ("fail", None)
    assert entry["message"].startswith(
        "updates: cannot tell which updates are pending: python3-apt is not installed "
        "(apt-get install python3-apt")


def test_unreadable_lists_fail_with_apts_message(checks, ansible_module, tmp_path):
    class Broken(FakeAptPkg):
        def Cache(self, progress):
            raise SystemError("E:Encountered a section with no Package: header")

    entry = check(checks, {}, Broken([], lists(tmp_path, 30)), str(tmp_path))
    assert entry["status"] == "fail"
    assert entry["message"] == ("updates: APT cannot read its package lists: E:Encountered a "
                                "section with no Package: header")


@pytest.mark.parametrize(("item", "problem"), [
    ({"warn_reboot_required": "maybe"}, "warn_reboot_required must be a boolean, not str 'maybe'"),
    ({"warn_security_pending": 5, "max_security_pending": 2},
     "warn_security_pending (5) must be at most max_security_pending (2)"),
    ({"max_security_pending": -1}, "max_security_pending must be at least 0, not -1"),
    ({"path": "/"}, "unknown field 'path' (fields of updates: max_security_pending, name, "
                    "timeout_s, type, warn_reboot_required, warn_security_pending)"),
])
def test_bad_definitions_are_refused(checks, ansible_module, item, problem):
    failed, result = run_main(checks, {"checks": [{"name": "u", "type": "updates", **item}]})
    assert failed
    assert result["problems"] == [f"checks[0] 'u': {problem}"]


def test_builtin_defaults(checks):
    (ready,), problems = checks.validate([{"name": "u", "type": "updates"}], {})
    assert problems == []
    assert {k: ready[k] for k in ("warn_security_pending", "max_security_pending",
                                  "warn_reboot_required", "timeout_s")} == {
        "warn_security_pending": 0.0, "max_security_pending": None,
        "warn_reboot_required": True, "timeout_s": 30.0}
