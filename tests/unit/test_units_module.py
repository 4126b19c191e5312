"""golive.ops.units: the plan from systemctl show's answer, and main() against a fake systemctl
on PATH that keeps the units' state in a JSON file and logs every call."""

import json
import os
import stat
import sys

import pytest

from .conftest import collection_modules, run_main

FAKE = r'''#!PYTHON
import json, os, sys
path = os.environ["FAKE_UNITS"]
units = json.load(open(path))
with open(path + ".log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
verb, args = sys.argv[1], [a for a in sys.argv[2:] if not a.startswith("--")]
if verb == "show":
    blocks = []
    for name in args:
        u = units.get(name, {"LoadState": "not-found", "ActiveState": "inactive",
                             "UnitFileState": "", "NeedDaemonReload": "no"})
        if u.get("pending"):  # a unit file systemd has not read yet
            u = {**u, "LoadState": "not-found"}
        blocks.append("\n".join([f"Id={name}"] + [f"{k}={v}" for k, v in u.items()
                                                  if k != "pending"]))
    print("\n\n".join(blocks))
elif verb == "daemon-reload":
    for u in units.values():
        u.pop("pending", None)
        u["NeedDaemonReload"] = "no"
elif verb in ("enable", "disable", "start", "stop"):
    for name in args:
        if name not in units:
            sys.exit(f"Unit {name} not found.")
        key, value = {"enable": ("UnitFileState", "enabled"),
                      "disable": ("UnitFileState", "disabled"),
                      "start": ("ActiveState", "active"),
                      "stop": ("ActiveState", "inactive")}[verb]
        units[name][key] = value
json.dump(units, open(path, "w"))
'''


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    with collection_modules(tmp_path_factory, units="modules.units") as found:
        yield found


@pytest.fixture
def fake(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(FAKE.replace("PYTHON", sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    state = tmp_path / "units.json"
    monkeypatch.setenv("FAKE_UNITS", str(state))

    def put(units):
        state.write_text(json.dumps(units))
        (tmp_path / "units.json.log").write_text("")

    def calls():
        return (tmp_path / "units.json.log").read_text().splitlines()

    def units():
        return json.loads(state.read_text())

    return put, calls, units


def unit(active="active", boot="enabled", reload="no"):
    return {"LoadState": "loaded", "ActiveState": active, "UnitFileState": boot,
            "NeedDaemonReload": reload}


@pytest.mark.parametrize(("states", "state", "enabled", "steps"), [
    ({"a": unit(), "b": unit()}, "started", True, []),
    ({"a": unit("inactive", "disabled"), "b": unit("failed"), "c": unit(boot="static")},
     "started", True, [("enable", ["a"]), ("start", ["a", "b"])]),
    # activating counts as started (a oneshot on its way), so it is not started twice
    ({"a": unit("activating")}, "started", True, []),
    ({"a": unit(), "b": unit("inactive", "disabled")}, "stopped", False,
     [("disable", ["a"]), ("stop", ["a"])]),
    # no state: only the boot setting
    ({"a": unit("inactive", "disabled")}, None, True, [("enable", ["a"])]),
])
def test_plan(ns, states, state, enabled, steps):
    assert ns.units.plan(states, state, enabled) == steps


def test_needs_reload(ns):
    assert not ns.units.needs_reload({"a": unit()})
    assert ns.units.needs_reload({"a": unit(reload="yes")})
    assert ns.units.needs_reload({"a": {**unit(), "LoadState": "not-found"}})


def test_nothing_to_do_is_one_show_and_unchanged(ns, fake, ansible_module):
    put, calls, _ = fake
    put({"a.timer": unit(), "b.path": unit()})
    failed, result = run_main(ns.units, {"names": ["a.timer", "b.path"], "state": "started"})
    assert not failed and not result["changed"] and result["done"] == []
    assert len(calls()) == 1 and calls()[0].startswith("show ")


def test_one_enable_and_one_start_for_all_that_need_it(ns, fake, ansible_module):
    put, calls, units = fake
    put({"a.timer": unit("inactive", "disabled"), "b.path": unit("inactive"),
         "c.service": unit()})
    failed, result = run_main(ns.units, {"names": ["a.timer", "b.path", "c.service"],
                                         "state": "started"})
    assert not failed and result["changed"]
    assert result["done"] == ["enable a.timer", "start a.timer", "start b.path"]
    assert calls()[1:] == ["enable a.timer", "start a.timer b.path"]
    assert all(u["ActiveState"] == "active" and u["UnitFileState"] == "enabled"
               for u in units().values())
    # the second run changes nothing
    failed, result = run_main(ns.units, {"names": ["a.timer", "b.path", "c.service"],
                                         "state": "started"})
    assert not failed and not result["changed"]


def test_a_new_unit_file_is_loaded_before_it_starts(ns, fake, ansible_module):
    put, calls, units = fake
    put({"new.timer": {**unit("inactive", "disabled"), "pending": True}})
    failed, result = run_main(ns.units, {"names": ["new.timer"], "state": "started"})
    assert not failed and result["reloaded"] and result["changed"]
    assert calls() == ["show --property=Id,LoadState,ActiveState,UnitFileState,NeedDaemonReload "
                       "new.timer", "daemon-reload",
                       "show --property=Id,LoadState,ActiveState,UnitFileState,NeedDaemonReload "
                       "new.timer", "enable new.timer", "start new.timer"]
    assert units()["new.timer"]["ActiveState"] == "active"


def test_an_unknown_unit_fails_naming_it_and_nothing_starts(ns, fake, ansible_module):
    put, calls, units = fake
    put({"a.timer": unit("inactive")})
    failed, result = run_main(ns.units, {"names": ["a.timer", "nope.service"], "state": "started"})
    assert failed and "nope.service (not-found)" in result["msg"]
    assert not any(c.startswith(("start", "enable")) for c in calls())
    assert units()["a.timer"]["ActiveState"] == "inactive"


def test_check_mode_asks_systemd_nothing(ns, fake, ansible_module):
    put, calls, _ = fake
    put({"a.timer": unit("inactive", "disabled")})
    failed, result = run_main(ns.units, {"names": ["a.timer"], "state": "started",
                                         "_ansible_check_mode": True})
    assert not failed and result["changed"]
    assert result["done"] == ["enable a.timer", "start a.timer"]
    assert [c.split()[0] for c in calls()] == ["show"]
