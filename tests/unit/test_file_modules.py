"""golive.ops.files, golive.ops.config_candidate and golive.ops.dpkg_missing: the pure parts,
and main() on scratch directories with a real AnsibleModule whose exit_json/fail_json raise.
Owners are the test's own uid/gid, so the tests need no root."""

import os
import sys

import pytest

from .conftest import collection_modules, run_main

ME = str(os.getuid()), str(os.getgid())


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    with collection_modules(tmp_path_factory, files="modules.files",
                            candidate="modules.config_candidate",
                            dpkg="modules.dpkg_missing", util="module_utils.files") as found:
        yield found


def mine(**item):
    return {"owner": ME[0], "group": ME[1], **item}


# -- module_utils/files ------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "value"), [("0644", 0o644), ("755", 0o755), ("01777", 0o1777)])
def test_parse_mode(ns, mode, value):
    assert ns.util.parse_mode(mode) == value


@pytest.mark.parametrize("mode", [420, "0648", "rw-r--r--", "", "0644x"])
def test_parse_mode_refuses_unquoted_and_bad_modes(ns, mode):
    with pytest.raises(ValueError, match="quoted octal"):
        ns.util.parse_mode(mode)


@pytest.mark.parametrize(("current", "force", "changes"), [
    (None, True, ["created"]),
    (("file", 0o644, b"x"), True, []),
    (("file", 0o600, b"y"), True, ["content", "mode"]),
    (("link", 0o777, None), True, ["replaced"]),
    (("file", 0o600, b"y"), False, []),  # force false: an existing file is left alone
])
def test_file_changes(ns, current, force, changes):
    state = None if current is None else ns.util.State(current[0], current[1], 0, 0, current[2])
    assert ns.util.file_changes(state, b"x", 0o644, 0, 0, force) == changes


# -- golive.ops.files --------------------------------------------------------------------------
def test_files_converge_then_nothing_to_do(ns, tmp_path, ansible_module):
    (tmp_path / "old").write_text("cron")
    args = {"directories": [mine(path=str(tmp_path / "d/e"), mode="0750")],
            "files": [mine(path=str(tmp_path / "d/e/f.conf"), content="a = 1\n", mode="0640"),
                      mine(path=str(tmp_path / "keep"), content="new", mode="0644",
                           force=False)],
            "absent": [str(tmp_path / "old"), str(tmp_path / "never")]}
    (tmp_path / "keep").write_text("owned by someone else")
    failed, result = run_main(ns.files, {**args, "_ansible_diff": True})
    assert not failed and result["changed"]
    assert result["changed_paths"] == [str(tmp_path / "d/e"), str(tmp_path / "d/e/f.conf"),
                                       str(tmp_path / "old")]
    assert (tmp_path / "d/e/f.conf").read_text() == "a = 1\n"
    assert oct((tmp_path / "d/e/f.conf").stat().st_mode & 0o777) == "0o640"
    assert oct((tmp_path / "d/e").stat().st_mode & 0o777) == "0o750"
    assert not (tmp_path / "old").exists()
    assert (tmp_path / "keep").read_text() == "owned by someone else"
    assert result["diff"] == [{"before_header": str(tmp_path / "d/e/f.conf"),
                               "after_header": str(tmp_path / "d/e/f.conf"),
                               "before": "", "after": "a = 1\n"}]
    failed, again = run_main(ns.files, args)
    assert (failed, again["changed"], again["changed_paths"]) == (False, False, [])


def test_files_mode_only_change_and_check_mode(ns, tmp_path, ansible_module):
    path = tmp_path / "f"
    path.write_text("same")
    path.chmod(0o600)
    args = {"files": [mine(path=str(path), content="same", mode="0644")]}
    failed, result = run_main(ns.files, {**args, "_ansible_check_mode": True})
    assert not failed and result["differences"] == {str(path): ["mode"]}
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # check mode wrote nothing
    _, result = run_main(ns.files, args)
    assert result["changed"] and oct(path.stat().st_mode & 0o777) == "0o644"


def test_files_validate_checks_new_content_and_a_rejection_changes_nothing(ns, tmp_path,
                                                                            ansible_module):
    good, other = tmp_path / "good.conf", tmp_path / "other.conf"
    check = "grep -q '^valid' %s"
    args = {"files": [mine(path=str(good), content="valid = 1\n", mode="0644", validate=check),
                      mine(path=str(other), content="x\n", mode="0644")]}
    failed, result = run_main(ns.files, args)
    assert not failed and result["changed_paths"] == [str(good), str(other)]
    # a rejected file: nothing written, not even the other file, and no temporary file left
    args["files"][0]["content"] = "broken\n"
    args["files"][1]["content"] = "y\n"
    failed, result = run_main(ns.files, args)
    assert failed and result["msg"].startswith(f"{good}: {check} rejected the new content")
    assert "nothing was changed" in result["msg"]
    assert good.read_text() == "valid = 1\n" and other.read_text() == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.conf", "other.conf"]
    # unchanged content is not validated again (the command would fail here)
    args["files"] = [mine(path=str(good), content="valid = 1\n", mode="0644",
                          validate="false %s")]
    failed, result = run_main(ns.files, args)
    assert (failed, result["changed"]) == (False, False)


@pytest.mark.parametrize(("args", "words"), [
    ({"files": [mine(path="rel/f", content="", mode="0644")]}, ["must be absolute", "rel/f"]),
    ({"files": [mine(path="/tmp/x-golive-test", content="", mode=644)]}, ["quoted octal"]),
    ({"files": [{"path": "/tmp/x-golive-test", "content": "", "mode": "0644",
                 "owner": "no-such-user-golive"}]}, ["no-such-user-golive"]),
])
def test_files_bad_input_changes_nothing(ns, ansible_module, args, words):
    failed, result = run_main(ns.files, args)
    assert failed and all(w in result["msg"] for w in words), result["msg"]
    assert not os.path.exists("/tmp/x-golive-test")


def test_files_refuses_a_directory_in_a_files_place(ns, tmp_path, ansible_module):
    (tmp_path / "d").mkdir()
    failed, result = run_main(ns.files, {"files": [mine(path=str(tmp_path / "d"), content="x",
                                                        mode="0644")],
                                         "absent": [str(tmp_path / "d")]})
    assert failed and "is a directory" in result["msg"] and (tmp_path / "d").is_dir()


# -- golive.ops.config_candidate ---------------------------------------------------------------
CHECKER = [sys.executable, "-c",
           "import sys, pathlib; t = pathlib.Path(sys.argv[1]).read_text();"
           " sys.exit('bogus directive' if 'bogus' in t else 0)"]


@pytest.fixture
def tree(tmp_path):
    live = tmp_path / "etc-nginx"
    (live / "sites").mkdir(parents=True)
    (live / "main.conf").write_text("include golive/*.conf;\n")
    (live / "mime.types").write_text("types {}\n")
    os.symlink("../mime.types", live / "sites" / "link")
    return live, tmp_path / "candidate"


def candidate_args(live, candidate, site="server {}\n", upstream="127.0.0.1:8001\n"):
    return {"live_dir": str(live), "candidate_dir": str(candidate),
            "test_argv": [*CHECKER, str(candidate / "golive/site.conf")],
            "directories": [mine(path="golive", mode="0755")],
            "files": [mine(path="golive/site.conf", content=site, mode="0644"),
                      mine(path="golive/upstream.conf", content=upstream, mode="0644",
                           force=False)]}


def test_candidate_first_install_then_nothing_to_do(ns, tree, ansible_module):
    live, candidate = tree
    failed, result = run_main(ns.candidate, candidate_args(live, candidate))
    assert not failed and result["changed"] and result["installed"]
    assert result["changed_files"] == ["golive/site.conf", "golive/upstream.conf"]
    assert result["test_rc"] == 0
    assert (live / "golive/site.conf").read_text() == "server {}\n"
    # the candidate is a full copy of the tree, symlinks kept
    assert os.readlink(candidate / "sites" / "link") == "../mime.types"

    (live / "golive/upstream.conf").write_text("127.0.0.1:8002\n")  # a deploy switched it
    failed, again = run_main(ns.candidate, candidate_args(live, candidate))
    assert (failed, again["changed"], again["changed_files"]) == (False, False, [])
    assert "test_rc" not in again  # nothing differed: no copy, no test
    assert (live / "golive/upstream.conf").read_text() == "127.0.0.1:8002\n"


def test_candidate_seeds_a_missing_file_from_its_owners_copy(ns, tree, ansible_module, tmp_path):
    """nginx rebuilt on a host whose deploys keep a copy of the upstream: the file comes back as
    the deploys left it, not as the first install's content; an existing file is not touched."""
    live, candidate = tree
    copy = tmp_path / "upstream-copy.conf"
    copy.write_text("127.0.0.1:8002\n")
    args = candidate_args(live, candidate)
    args["files"][1]["seed_from"] = str(copy)
    failed, result = run_main(ns.candidate, args)
    assert result["changed_files"] == ["golive/site.conf", "golive/upstream.conf"]
    assert not failed and (live / "golive/upstream.conf").read_text() == "127.0.0.1:8002\n"
    copy.write_text("127.0.0.1:8001\n")
    failed, again = run_main(ns.candidate, args)
    assert not failed and not again["changed"]
    assert (live / "golive/upstream.conf").read_text() == "127.0.0.1:8002\n"
    args["files"][1]["seed_from"] = str(tmp_path / "no-such-copy")  # no copy: the content
    (live / "golive/upstream.conf").unlink()
    assert not run_main(ns.candidate, args)[0]
    assert (live / "golive/upstream.conf").read_text() == "127.0.0.1:8001\n"


def test_candidate_rejected_leaves_live_untouched(ns, tree, ansible_module):
    live, candidate = tree
    run_main(ns.candidate, candidate_args(live, candidate))
    before = {p: p.read_bytes() for p in live.rglob("*") if p.is_file()}
    failed, result = run_main(ns.candidate, candidate_args(live, candidate, site="bogus on;\n"))
    assert not failed and not result["changed"] and not result["installed"]
    assert result["test_rc"] != 0 and "bogus directive" in result["test_output"]
    assert result["changed_files"] == ["golive/site.conf"]
    assert {p: p.read_bytes() for p in live.rglob("*") if p.is_file()} == before
    assert (candidate / "golive/site.conf").read_text() == "bogus on;\n"  # left to inspect


def test_candidate_check_mode_reports_and_copies_nothing(ns, tree, ansible_module):
    live, candidate = tree
    failed, result = run_main(ns.candidate, {**candidate_args(live, candidate),
                                             "_ansible_check_mode": True})
    assert not failed and result["changed"] and result["changed_files"]
    assert not candidate.exists() and not (live / "golive").exists()


def test_candidate_refuses_paths_outside_the_tree(ns, tree, ansible_module):
    live, candidate = tree
    args = candidate_args(live, candidate)
    args["files"][0]["path"] = "../escape.conf"
    failed, result = run_main(ns.candidate, args)
    assert failed and "must be relative to the tree" in result["msg"]
    assert not (live.parent / "escape.conf").exists()


# -- golive.ops.dpkg_missing -------------------------------------------------------------------
DPKG = ("installed\tnginx\t1.26.3-3\nconfig-files\tcertbot\t2.1.0-4\n"
        "installed\tcurl\t8.14.1-2\n")


def test_installed_versions_only_installed(ns):
    assert ns.dpkg.installed_versions(DPKG) == {"nginx": "1.26.3-3", "curl": "8.14.1-2"}


@pytest.mark.parametrize(("names", "missing"), [
    (["nginx", "curl"], []),
    (["nginx", "certbot", "jq"], ["certbot", "jq"]),  # removed (config-files), unknown
    (["nginx=1.26.3-3", "curl=8.0"], ["curl=8.0"]),
    (["curl:amd64"], []),
])
def test_missing(ns, names, missing):
    assert ns.dpkg.missing(names, ns.dpkg.installed_versions(DPKG)) == missing
