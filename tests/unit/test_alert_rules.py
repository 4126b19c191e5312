"""The alert rules as tested code (issue 16): roles/prometheus's rule template rendered with the
role's defaults, checked with `promtool check rules` and unit-tested with `promtool test rules`
(tests/unit/promtool/golive_rules_test.yml, which writes the plans' thresholds out). promtool
comes from Debian's package, unpacked into the venv by `make tools` (no daemon on the control
node); the whole file takes about a second."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT
from .render_role import internal_vars, render, role_vars

RULES_TEMPLATE = "etc/prometheus/rules/golive.rules.yml.j2"
RULE_TESTS = ROOT / "tests" / "unit" / "promtool" / "golive_rules_test.yml"


def tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    if found.is_file():
        return str(found)
    if shutil.which(name):
        return shutil.which(name)
    pytest.fail(f"{name} is missing: run `make tools` (Debian's {name}, unpacked into the venv)")


def rules(**overrides) -> str:
    values = role_vars("prometheus", **overrides)
    return render("prometheus", RULES_TEMPLATE, values,
                  internal_vars("prometheus", "_prometheus_alerts"))


def promtool_test(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    (tmp_path / "golive.rules.yml").write_text(text)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    return subprocess.run([tool("promtool"), "test", "rules", RULE_TESTS.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_rules_pass_promtool_check(tmp_path):
    path = tmp_path / "golive.rules.yml"
    path.write_text(rules())
    proc = subprocess.run([tool("promtool"), "check", "rules", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_is_unit_tested():
    alerts = {r["alert"] for g in yaml.safe_load(rules())["groups"] for r in g["rules"]}
    defaults = role_vars("prometheus")["prometheus_alerts"]
    assert alerts == set(defaults), "the template and prometheus_alerts name the same alerts"
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing, silent = set(), set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert alerts - firing == set(), "an alert no test sees firing"
    assert alerts - {"Watchdog"} - silent == set(), "an alert no test sees silent"


def test_rules_with_the_defaults_pass_their_unit_tests(tmp_path):
    proc = promtool_test(tmp_path, rules())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.parametrize("override", [
    {"HighErrorRate": {"threshold": 0.06}},          # plan 001: 5 %
    {"ErrorRateAboveSLO": {"threshold": 0.025}},     # plan 003: 2 %
    {"HighResponseTime": {"threshold": 2.5}},        # plan 001: 2 s
    {"ResponseTimeAboveSLO": {"threshold": 0.9}},    # plan 003: 1000 ms
    {"HighMemoryUsage": {"threshold": 0.80}},        # 85 %
    {"HighDiskUsage": {"threshold": 0.95}},          # 90 %
    {"PostgresConnectionsHigh": {"threshold": 0.95}},  # plan 003: 90 %
    {"APIDown": {"for": "2m"}},                      # plan 001: 1m
    {"HighDiskUsage": {"for": "5m"}},                # plan 001: 10m
], ids=lambda o: next(iter(o)) + "." + next(iter(next(iter(o.values())))))
def test_a_mutated_threshold_fails_the_unit_tests(tmp_path, override):
    proc = promtool_test(tmp_path, rules(prometheus_alerts_overrides=override))
    assert proc.returncode != 0, f"{override} still passes: the tests do not pin it"
    assert next(iter(override)) in proc.stdout + proc.stderr
