"""golive.converge: the site's tiers as concurrent runs where they share no host."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from golive import converge
from golive.cli import TIER_PLAYBOOKS
from golive.events import HostStats
from golive.runner import RunResult

ROOT = Path(__file__).resolve().parents[2]
NAMES = {stem: tier for tier, stem in TIER_PLAYBOOKS.items()}

# the lab's groups, as `ansible-inventory --list` prints them
LAB = {
    "_meta": {"hostvars": {h: {} for h in ["acme", "backup1", "cache1", "cache2", "cache3",
                                           "db1", "db2", "web1", "web2"]}},
    "all": {"children": ["ungrouped", "lab"]},
    "lab": {"children": ["db", "pgbouncer", "cache", "web", "acme", "backup"]},
    "db": {"hosts": ["db1", "db2"]},
    "pgbouncer": {"hosts": ["db1"]},
    "cache": {"hosts": ["cache1", "cache2", "cache3"]},
    "web": {"hosts": ["web1", "web2"]},
    "acme": {"hosts": ["acme"]},
    "backup": {"hosts": ["backup1"]},
}


def lab_tiers(inventory=LAB):
    groups = converge.group_members(inventory)
    return [converge.Tier(t.name, t.playbook,
                          converge.pattern_hosts(converge.play_patterns(t.playbook), groups))
            for t in converge.site_tiers(ROOT / "playbooks" / "site.yml", NAMES)]


def test_site_yml_tiers_in_order_with_their_names():
    tiers = converge.site_tiers(ROOT / "playbooks" / "site.yml", NAMES)
    assert [t.name for t in tiers][:7] == ["common", "security", "db", "cache", "edge", "backup",
                                           "app"]
    assert all(t.playbook.is_file() for t in tiers)


def test_the_lab_tiers_wait_only_for_the_tiers_they_share_hosts_with():
    hosts = {t.name: t.hosts for t in lab_tiers()}
    assert hosts["db"] == {"db1", "db2"} and hosts["edge"] == {"acme", "web1", "web2"}
    assert hosts["backup"] == {"backup1", "db1", "db2"} and len(hosts["common"]) == 9
    waits = converge.waits_for(lab_tiers())
    assert waits["common"] == set()
    assert waits["security"] == {"common"}
    assert waits["db"] == waits["cache"] == waits["edge"] == {"common", "security"}
    assert waits["backup"] == {"common", "security", "db"}
    assert waits["app"] == {"common", "security", "edge"}


def test_one_host_in_every_group_runs_the_tiers_one_after_another():
    small = {"_meta": {"hostvars": {"box": {}}},
             **{g: {"hosts": ["box"]} for g in ["db", "pgbouncer", "cache", "web", "acme",
                                                 "backup"]}}
    tiers = lab_tiers(small)
    waits = converge.waits_for(tiers)
    for i, tier in enumerate(tiers):
        assert waits[tier.name] == {t.name for t in tiers[:i]}


@pytest.mark.parametrize(("pattern", "expected"), [
    ("db:pgbouncer", {"db1", "db2"}),
    ("web,acme", {"web1", "web2", "acme"}),
    ("db1", {"db1"}),
    ("nosuchgroup", set()),
    ("db:!db2", "all"),
    ("web*", "all"),
    ("{{ target }}", "all"),
    ("db:&web", "all"),
])
def test_patterns_it_cannot_resolve_count_as_every_host(pattern, expected):
    groups = converge.group_members(LAB)
    got = converge.pattern_hosts([pattern], groups)
    assert got == (groups["all"] if expected == "all" else expected)


def result(code=0, hosts=None, status=None, duration=1.0):
    return RunResult(status=status or ("successful" if code == 0 else "failed"), exit_code=code,
                     ansible_rc=code, hosts=hosts or {}, failed_tasks=[], duration=duration,
                     playbook="p", artifact_dir=Path("/x"))


def test_independent_tiers_overlap_in_time_and_dependents_wait():
    tiers = lab_tiers()
    spans: dict[str, tuple[float, float]] = {}
    lock = threading.Lock()

    def run_one(tier):
        start = time.monotonic()
        time.sleep(0.2)
        with lock:
            spans[tier.name] = (start, time.monotonic())
        return result()

    outcomes = converge.run_tiers([converge.Tier(t.name, t.playbook) for t in tiers], run_one,
                                  resolve=lambda: {t.name: t.hosts for t in tiers})
    assert [o.tier for o in outcomes] == [t.name for t in tiers]
    assert all(converge.succeeded(o) for o in outcomes)
    # db, cache and edge run at the same time, each after common
    assert max(spans[t][0] for t in ("db", "cache", "edge")) < \
        min(spans[t][1] for t in ("db", "cache", "edge"))
    assert min(spans[t][0] for t in ("db", "cache", "edge")) >= spans["common"][1]
    assert spans["backup"][0] >= spans["db"][1] and spans["app"][0] >= spans["edge"][1]


def test_a_failed_tier_stops_its_dependents_only():
    tiers = lab_tiers()
    ran = []

    def run_one(tier):
        ran.append(tier.name)
        return result(1 if tier.name == "db" else 0)

    outcomes = {o.tier: o for o in converge.run_tiers(
        [converge.Tier(t.name, t.playbook) for t in tiers], run_one,
        resolve=lambda: {t.name: t.hosts for t in tiers})}
    assert "backup" not in ran and {"cache", "edge", "app"} <= set(ran)
    assert outcomes["backup"].skipped_because == "not run: db did not succeed"
    merged = converge.merged_result(list(outcomes.values()), Path("site.yml"), Path("/runs"), 3)
    assert merged.exit_code == 1 and merged.status == "failed"
    assert merged.as_dict()["tiers"]["backup"] == "not run: db did not succeed"


def test_an_inventory_that_cannot_be_listed_runs_the_tiers_one_by_one():
    tiers = [converge.Tier(t.name, t.playbook) for t in lab_tiers()]
    active, most = [0], [0]
    lock = threading.Lock()

    def run_one(tier):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return result()

    def resolve():
        raise ValueError("ansible-inventory failed")

    outcomes = converge.run_tiers(tiers, run_one, resolve=resolve)
    assert all(converge.succeeded(o) for o in outcomes) and most[0] == 1


def test_merged_result_sums_hosts_and_takes_the_first_failure_in_site_order():
    outcomes = [
        converge.Outcome("common", result(0, {"db1": HostStats(ok=5)})),
        converge.Outcome("db", result(3, {"db1": HostStats(ok=2, unreachable=1)},
                                      status="failed")),
        converge.Outcome("cache", result(1, {"cache1": HostStats(ok=1, failed=1)})),
    ]
    merged = converge.merged_result(outcomes, Path("site.yml"), Path("/runs"), 9.5)
    assert merged.exit_code == 3
    assert merged.hosts["db1"] == HostStats(ok=7, unreachable=1)
    assert merged.duration == 9.5 and set(merged.as_dict()["tiers"]) == {"common", "db", "cache"}


def test_prefixed_stream_writes_whole_lines_under_the_prefix():
    import io

    out = io.StringIO()
    stream = converge.PrefixedStream(out, "[db] ", threading.Lock())
    stream.write("PLAY one\nFAIL")
    stream.write("ED db1\n")
    assert out.getvalue() == "[db] PLAY one\n[db] FAILED db1\n" and not stream.isatty()
