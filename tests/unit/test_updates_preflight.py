"""The updates role's preflight on bad input and on the db reboot rule (issue 19), for real: one
ansible-playbook run on the control node that includes roles/updates/tasks/preflight.yml (only
asserts: nothing is installed or written) once per case, for a host of group db and one of no
group, and collects what each refusal says. The defaults pass on both."""

from __future__ import annotations

import json

import pytest
import yaml

from .test_monitoring_preflight import assert_verdict, case_tasks, run_cases

INVENTORY = {"all": {
    "vars": {"ansible_connection": "local",
             "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
    "hosts": {"web1": {}},
    "children": {"db": {"children": {"db_primary": {"hosts": {"db1": {}}}}}}}}
REBOOT = {"updates_automatic_reboot": True}
CASES = [
    ("db1", {}, None),
    ("web1", {}, None),
    ("web1", REBOOT, None),
    ("db1", REBOOT, ["db1 is in group db", "updates_automatic_reboot: true",
                     "updates_allow_db_reboot: true"]),
    ("db1", {**REBOOT, "updates_allow_db_reboot": True}, None),
    ("db1", {"updates_allow_db_reboot": True}, None),
    ("web1", {"updates_enabled": "yes"}, ["updates_enabled must be true or false", "yes"]),
    ("web1", {"updates_automatic_reboot": 1}, ["updates_automatic_reboot must be true or false"]),
    ("web1", {"updates_reboot_time": "4:00"}, ["updates_reboot_time", "HH:MM", "4:00"]),
    ("web1", {"updates_reboot_time": "24:00"}, ["updates_reboot_time", "00:00 to 23:59"]),
    ("web1", {"updates_reboot_time": 240}, ["updates_reboot_time", "HH:MM"]),
    ("web1", {"updates_reboot_time": "23:59"}, None),
    ("web1", {"updates_origins_patterns": []}, ["updates_origins_patterns", "non-empty list"]),
    ("web1", {"updates_origins_patterns": "origin=Debian"}, ["updates_origins_patterns"]),
    ("web1", {"updates_origins_patterns": ["origin=Debian", "owner=me"]},
     ["updates_origins_patterns", "origin, o, label", "owner=me"]),
    ("web1", {"updates_origins_patterns": ['origin=Debian";']}, ["updates_origins_patterns"]),
    ("web1", {"updates_origins_patterns": [
        "origin=Debian,codename=${distro_codename},label=Debian",
        "o=Debian Backports,a=${distro_codename}-backports,l=Debian Backports"]}, None),
    ("web1", {"updates_package_blacklist": ["postgresql-", 'libpq"5']},
     ["updates_package_blacklist", "no quotes"]),
    ("web1", {"updates_package_blacklist": ["postgresql-", "libpq5$"]}, None),
]


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> dict[int, str]:
    tmp = tmp_path_factory.mktemp("updates-preflight")
    inventory = tmp / "hosts.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY))
    tasks = [{"name": f"Case {i} on {host}", "when": f"inventory_hostname == '{host}'",
              "block": [case_tasks(i, "updates", variables)]}
             for i, (host, variables, _) in enumerate(CASES)]
    report = {"name": "Report", "ansible.builtin.copy": {
        "content": "{{ preflight_results | to_json }}",
        "dest": str(tmp / "report-{{ inventory_hostname }}.json"), "mode": "0600"}}
    play = [{"name": "Updates preflight cases", "hosts": "all", "gather_facts": False,
             "tasks": [*tasks, report]}]
    run_cases(tmp, play, inventory)
    found = {}
    for path in tmp.glob("report-*.json"):
        found.update({int(k): v for k, v in json.loads(path.read_text()).items()})
    return found


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{h}-{'ok' if w is None else w[0][:30]}" for h, _, w in CASES])
def test_bad_input_is_refused_naming_the_variable(refusals, index):
    assert_verdict(refusals[index], CASES[index][2])
