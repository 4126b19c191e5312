"""The monitoring tier's preflight on bad input (issue 16, acceptance 6), for real: one
ansible-playbook run on the control node itself that includes each role's preflight.yml (only
asserts and include_vars: nothing is installed or written) once per case, and collects what each
refusal says. Good input (the defaults with the required passwords) passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from golive import runner

from .conftest import FIXTURES

REQUIRED = {"prometheus_exporter_password": "unit-exporter-secret",
            "exporters_password": "unit-exporter-secret"}
CASES = [
    ("alertmanager", {"alertmanager_routes": {"critical": ["telegram"], "urgent": ["webhook"]}},
     ["alertmanager_routes", "urgent"]),
    ("alertmanager", {"alertmanager_routes": {"critical": ["pager"]}},
     ["alertmanager_routes", "pager"]),
    ("alertmanager", {"alertmanager_telegram_chat_id": "ops-team"},
     ["alertmanager_telegram_chat_id", "ops-team"]),
    ("alertmanager", {"alertmanager_telegram_bot_token": "123:abc",
                      "alertmanager_telegram_chat_id": 0}, ["alertmanager_telegram_chat_id"]),
    ("prometheus", {"prometheus_alerts_overrides": {"HighErrorRate": {"threshold": 5}}},
     ["prometheus_alerts_overrides.HighErrorRate.threshold", "0.0001 to 1", "'5'"]),
    ("prometheus", {"prometheus_alerts_overrides": {"HighDiskUsage": {"threshold": "ninety"}}},
     ["prometheus_alerts_overrides.HighDiskUsage.threshold"]),
    ("prometheus", {"prometheus_alerts_overrides": {"APIDown": {"severity": "page"}}},
     ["prometheus_alerts_overrides.APIDown", "severity"]),
    ("prometheus", {"prometheus_alerts_overrides": {"NoSuchAlert": {"for": "1m"}}},
     ["prometheus_alerts_overrides.NoSuchAlert"]),
    ("prometheus", {"prometheus_scrape_interval": "5s", "prometheus_scrape_timeout": "10s"},
     ["prometheus_scrape_timeout"]),
    ("exporters", {"exporters_listen_address": "0.0.0.0"}, ["exporters_listen_address"]),
    ("alertmanager", {}, None),
    ("prometheus", {}, None),
    ("exporters", {}, None),
]


REFUSED = "ansible_failed_task.name ~ ': ' ~ (ansible_failed_result.msg | default('?'))"


def record(index: int, value: str) -> dict:
    """set_fact preflight_results[INDEX] = VALUE (a Jinja expression)."""
    expression = "preflight_results | default({}) | combine({'" + str(index) + "': " + value + "})"
    return {"ansible.builtin.set_fact": {"preflight_results": "{{ " + expression + " }}"}}


def case_tasks(index: int, role: str, variables: dict) -> dict:
    return {"name": f"Case {index}", "block": [
        {"name": f"Case {index} | preflight", "ansible.builtin.include_role": {
            "name": f"golive.ops.{role}", "tasks_from": "preflight.yml"}, "vars": variables},
        {"name": f"Case {index} | passed", **record(index, "''")}],
        "rescue": [{"name": f"Case {index} | refused", **record(index, REFUSED)}]}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> dict[int, str]:
    tmp = tmp_path_factory.mktemp("preflight")
    report = tmp / "report.json"
    play = [{"name": "Monitoring preflight cases", "hosts": "local", "gather_facts": True,
             "gather_subset": ["min", "network"], "vars": REQUIRED,
             "tasks": [case_tasks(i, role, v) for i, (role, v, _) in enumerate(CASES)] + [
                 {"name": "Report", "ansible.builtin.copy": {
                     "content": "{{ preflight_results | to_json }}", "dest": str(report),
                     "mode": "0600"}}]}]
    run_cases(tmp, play, FIXTURES / "local-inventory.yml", "-l", "local")
    return {int(k): v for k, v in json.loads(report.read_text()).items()}


def run_cases(tmp: Path, play: list, inventory: Path, *options: str) -> None:
    """ansible-playbook PLAY (written to TMP) against INVENTORY; it must run through (a refusal
    is rescued and recorded by its case)."""
    playbook = tmp / "preflight.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = {**os.environ, **runner.run_env()}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                           str(inventory), *options, str(playbook)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def assert_verdict(message: str, words: list[str] | None) -> None:
    """A case's recorded MESSAGE: '' (passed) when WORDS is None, else a preflight refusal
    naming every one of WORDS."""
    if words is None:
        assert message == "", f"good input refused: {message}"
        return
    assert message.startswith("Preflight |"), message
    assert all(w in message for w in words), message


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{r}-{'ok' if w is None else w[0]}" for r, _, w in CASES])
def test_bad_input_is_refused_naming_the_variable(refusals, index):
    assert_verdict(refusals[index], CASES[index][2])
