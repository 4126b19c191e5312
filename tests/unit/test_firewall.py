"""golive.ops.firewall_rules: the allow-lists a host gets from the inventory's groups, the lab's
services table rendered, and bad input refused with the variable named."""

from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from .conftest import ROOT, collection_modules

GROUPS = {"all": ["db1", "db2", "web1", "cache1", "mon1", "backup1"], "db": ["db1", "db2"],
          "pgbouncer": ["db1"], "web": ["web1"], "cache": ["cache1"], "mon": ["mon1"],
          "backup": ["backup1"], "ungrouped": []}
HOSTVARS = {"db1": {"ansible_host": "10.0.1.11"}, "db2": {"ansible_host": "10.0.1.12"},
            "web1": {"ansible_host": "10.0.3.11"}, "cache1": {"ansible_host": "10.0.2.11"},
            "mon1": {"ansible_host": "10.0.5.11", "firewall_address": "192.168.5.11"},
            "backup1": {"ansible_host": "10.0.4.11"}}
SERVICES = [
    {"name": "postgresql", "ports": [5432], "at": ["db"], "from": ["db"]},
    {"name": "pgbouncer", "ports": ["6432"], "at": ["pgbouncer"], "from": ["web"]},
    {"name": "http and https", "ports": [80, 443], "at": ["web"], "from": "any"},
    {"name": "acme", "ports": [14000], "at": ["acme"], "from": ["web"]},
    {"name": "node exporter", "ports": [9100], "at": [], "from": ["mon"]},
    {"name": "pebble", "ports": [15000], "at": ["db"], "from": ["acme"]},  # no acme group
]


@pytest.fixture(scope="module")
def fw(tmp_path_factory):
    with collection_modules(tmp_path_factory, m="filter.firewall") as ns:
        yield ns.m


def rules(fw, host_groups, extra=(), ssh=(), port=22, control="10.0.9.1"):
    return fw.firewall_rules(SERVICES, GROUPS, HOSTVARS, host_groups, list(extra), list(ssh),
                             port, control)


def test_a_db_host_allows_its_peers_the_web_hosts_and_the_monitoring_host_only(fw):
    got = {r["comment"]: r for r in rules(fw, ["db", "pgbouncer"], ssh=["10.8.0.0/16"])}
    assert got["ssh from firewall_ssh_sources and the control node"]["v4"] == \
        ["10.0.9.1/32", "10.8.0.0/16"]
    assert got["postgresql from db"]["v4"] == ["10.0.1.11/32", "10.0.1.12/32"]
    assert got["pgbouncer from web"]["v4"] == ["10.0.3.11/32"]
    # firewall_address wins over ansible_host; a group the inventory lacks allows nobody
    assert got["node exporter from mon"]["v4"] == ["192.168.5.11/32"]
    assert "pebble from acme" not in got and "http and https from anywhere" not in got


def test_a_web_host_is_open_to_everyone_on_80_and_443_only(fw):
    got = {r["comment"]: r for r in rules(fw, ["web"])}
    assert got["http and https from anywhere"] == {
        "comment": "http and https from anywhere", "proto": "tcp", "ports": [80, 443],
        "action": "accept", "any": True, "v4": [], "v6": []}
    assert set(got) == {"ssh from firewall_ssh_sources and the control node",
                        "http and https from anywhere", "node exporter from mon"}


def test_a_host_added_to_a_group_is_allowed_and_nothing_else_changes(fw):
    before = rules(fw, ["db"])
    GROUPS["web"].append("web2")
    HOSTVARS["web2"] = {"ansible_host": "10.0.3.12"}
    try:
        after = rules(fw, ["db", "pgbouncer"])
    finally:
        GROUPS["web"].remove("web2")
        del HOSTVARS["web2"]
    changed = [(a["comment"], a["v4"]) for a in after if a not in before]
    assert changed == [("pgbouncer from web", ["10.0.3.11/32", "10.0.3.12/32"])]


def test_extra_rules_and_ipv6_sources(fw):
    got = rules(fw, ["mon"], extra=[
        {"port": 3000, "from": ["2001:db8::/64", "10.1.0.0/16"], "from_groups": ["web"],
         "comment": "grafana"},
        {"port": 514, "proto": "udp", "from": "any", "comment": "syslog \"in\""}], control="")
    grafana = next(r for r in got if r["comment"] == "grafana")
    assert grafana["v4"] == ["10.0.3.11/32", "10.1.0.0/16"] and grafana["v6"] == ["2001:db8::/64"]
    syslog = next(r for r in got if r["proto"] == "udp")
    assert syslog["any"] and syslog["comment"] == "syslog 'in'"
    # no control node (not over SSH) and no firewall_ssh_sources: nobody to allow SSH from
    assert not any(r["comment"].startswith("ssh") for r in got)


def test_drop_and_reject_rules_come_before_every_accept_rule(fw):
    got = rules(fw, ["db", "pgbouncer"], extra=[
        {"port": 3000, "from": "any", "comment": "grafana"},
        {"port": 6432, "from": ["10.0.3.0/24"], "action": "reject", "comment": "old subnet"},
        {"port": 22, "from": "any", "action": "drop", "comment": "no ssh"}])
    assert [(r["comment"], r["action"]) for r in got[:2]] == [("old subnet", "reject"),
                                                             ("no ssh", "drop")]
    assert {r["action"] for r in got[2:]} == {"accept"}
    assert got[-1]["comment"] == "grafana"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"extra": [{"port": 80, "from": "any", "action": "deny"}]},
     "firewall_extra_rules[0]: action must be accept, drop or reject, got 'deny'"),
    ({"extra": [{"port": 9999, "from_groups": ["webz"]}]},
     "firewall_extra_rules[0].from_groups: unknown group 'webz'; the inventory has backup, cache"),
    ({"extra": [{"port": 70000, "from": ["10.0.0.1"]}]},
     "firewall_extra_rules[0]: port must be 1-65535, got 70000"),
    ({"extra": [{"port": 80, "from": ["db.example.com"]}]},
     "firewall_extra_rules[0].from[0]: 'db.example.com' is not an IP address or network"),
    ({"extra": [{"port": 80}]}, "firewall_extra_rules[0]: give from"),
    ({"extra": [{"port": 80, "from": "any", "to": "x"}]}, "unknown keys ['to']"),
    ({"extra": [{"port": 80, "proto": "icmp", "from": "any"}]}, "proto must be tcp or udp"),
    ({"ssh": ["10.0.0.0/33"]}, "firewall_ssh_sources[0]: '10.0.0.0/33' is not an IP address"),
    ({"port": "ssh"}, "firewall_ssh_port: port must be 1-65535, got 'ssh'"),
])
def test_bad_input_names_the_variable(fw, kwargs, words):
    with pytest.raises(AnsibleFilterError) as err:
        rules(fw, ["db"], **kwargs)
    assert words in str(err.value)


def test_a_host_without_an_ip_address_is_named(fw):
    HOSTVARS["web1"]["ansible_host"] = "web1.example.com"
    try:
        with pytest.raises(AnsibleFilterError) as err:
            rules(fw, ["pgbouncer"])
    finally:
        HOSTVARS["web1"]["ansible_host"] = "10.0.3.11"
    assert "host web1's address 'web1.example.com' is not an IP address: set firewall_address" \
        in str(err.value)


def test_the_roles_services_table_names_only_groups_the_example_inventory_has(fw):
    """Every group the services table names is one of the example's or the lab's (acme)."""
    table = yaml.safe_load((ROOT / "roles/firewall/vars/main.yml").read_text())
    named = {g for s in table["_firewall_services"] for key in ("at", "from")
             for g in (s[key] if isinstance(s[key], list) else [])}
    example = yaml.safe_load((ROOT / "inventories/example/hosts.yml").read_text())

    def group_names(node):
        for name, body in (node or {}).items():
            yield name
            yield from group_names((body or {}).get("children"))

    assert named - set(group_names(example)) == {"acme"}


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    with collection_modules(tmp_path_factory, m="filter.connection") as ns:
        yield ns.m


@pytest.mark.parametrize(("connection", "through_sshd"), [
    ("ssh", True), ("ansible.builtin.ssh", True), ("paramiko", True), ("smart", True),
    (None, True),  # unset: Ansible's default, ssh
    ("golive.ops.podman", False), ("local", False), ("containers.podman.podman", False),
])
def test_via_sshd_tells_the_connections_that_pass_through_sshd(conn, connection, through_sshd):
    assert conn.via_sshd(connection) is through_sshd
