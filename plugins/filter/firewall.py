# SPDX-License-Identifier: Apache-2.0
"""The firewall's allow-lists, derived from the inventory's groups.

firewall_rules() turns the services table (which port, on which groups' hosts, from which
groups' hosts), the extra rules and the SSH sources into the rules of ONE host, each with
its sources split by address family. Every input is checked here, so bad input fails in the
role's preflight with the variable named: an unknown group, a port out of range, a source that
is not an address or network, a host whose address is not an IP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ansible.errors import AnsibleFilterError

PROTOCOLS = ("tcp", "udp")
ACTIONS = ("accept", "drop", "reject")


def _port(value, where: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not 1 <= port <= 65535 or isinstance(value, bool):
        raise AnsibleFilterError(f"{where}: port must be 1-65535, got {value!r}")
    return port


def _network(value, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise AnsibleFilterError(
            f"{where}: {value!r} is not an IP address or network (such as 10.0.1.5 or "
            f"10.0.0.0/16)") from None


def _address(hostvars, host: str) -> str:
    """HOST's address: firewall_address, else ansible_host, else its name."""
    try:
        variables = hostvars[host]
    except KeyError:
        return host
    return str(variables.get("firewall_address") or variables.get("ansible_host") or host)


def _group_sources(names: Iterable[str], groups: dict, hostvars, where: str) -> list:
    sources = []
    for name in names:
        if name not in groups:
            known = ", ".join(sorted(g for g in groups if g not in ("all", "ungrouped")))
            raise AnsibleFilterError(f"{where}: unknown group {name!r}; the inventory has {known}")
        for host in groups[name]:
            address = _address(hostvars, host)
            try:
                sources.append(ipaddress.ip_network(str(address), strict=False))
            except ValueError:
                raise AnsibleFilterError(
                    f"{where}: host {host}'s address {address!r} is not an IP address: set "
                    f"firewall_address (or ansible_host) for it") from None
    return sources


def _rule(comment: str, proto: str, ports: list[int], sources: list | None,
          action: str = "accept") -> dict:
    """sources None: from anywhere."""
    if sources is None:
        return {"comment": comment, "proto": proto, "ports": ports, "action": action,
                "any": True, "v4": [], "v6": []}
    unique = sorted(set(sources), key=lambda n: (n.version, n))
    return {"comment": comment, "proto": proto, "ports": ports, "action": action, "any": False,
            "v4": [str(n) for n in unique if n.version == 4],
            "v6": [str(n) for n in unique if n.version == 6]}


def firewall_rules(services: list, groups: dict, hostvars, host_groups: list,
                   extra_rules: list, ssh_sources: list, ssh_port, control: str = "") -> list:
    """The rules of one host: the extra rules that drop or reject first (so that they can carve
    a source out of an allow-list), then the accept rules.

    services: [{name, ports: [..], proto?, at: [group] (empty: every host), from: [group] or
    'any'}]; groups: Ansible's `groups`; hostvars: Ansible's `hostvars` (or {host: {vars}}),
    each host's address being firewall_address, else ansible_host; host_groups: this host's
    group_names; extra_rules: firewall_extra_rules, [{port, proto?, from_groups?, from?,
    action? (accept, drop or reject), comment?}]; ssh_sources: firewall_ssh_sources; ssh_port:
    firewall_ssh_port; control: the address this run's connection comes from ('' when not over
    SSH), always allowed to SSH. Returns [{comment, proto, ports, action, any, v4, v6}]; rules
    whose source lists are empty are left out (nobody to allow).
    """
    if not isinstance(extra_rules, list):
        raise AnsibleFilterError("firewall_extra_rules must be a list of rules")
    if not isinstance(ssh_sources, list):
        raise AnsibleFilterError("firewall_ssh_sources must be a list of addresses or networks")
    ssh = [_network(s, f"firewall_ssh_sources[{i}]") for i, s in enumerate(ssh_sources)]
    if control:
        ssh.append(_network(control, "the control node's address"))
    rules = [_rule("ssh from firewall_ssh_sources and the control node", "tcp",
                   [_port(ssh_port, "firewall_ssh_port")], ssh)]
    denied = []
    mine = set(host_groups)
    for service in services:
        name = service["name"]
        where = f"firewall service {name}"
        ports = [_port(p, where) for p in service["ports"]]
        at = service.get("at") or []
        if at and not mine & set(at):
            continue
        proto = service.get("proto", "tcp")
        if service["from"] == "any":
            rules.append(_rule(f"{name} from anywhere", proto, ports, None))
            continue
        present = [g for g in service["from"] if g in groups]
        sources = _group_sources(present, groups, hostvars, where)
        rules.append(_rule(f"{name} from {', '.join(service['from'])}", proto, ports, sources))
    for i, extra in enumerate(extra_rules):
        where = f"firewall_extra_rules[{i}]"
        if not isinstance(extra, dict):
            raise AnsibleFilterError(f"{where} must be a mapping with port and from/from_groups")
        unknown = set(extra) - {"port", "proto", "from", "from_groups", "action", "comment"}
        if unknown:
            raise AnsibleFilterError(f"{where}: unknown keys {sorted(unknown)}; allowed: port, "
                                     "proto, from, from_groups, action, comment")
        action = extra.get("action", "accept")
        if action not in ACTIONS:
            raise AnsibleFilterError(f"{where}: action must be accept, drop or reject, got "
                                     f"{action!r}")
        into = rules if action == "accept" else denied
        proto = extra.get("proto", "tcp")
        if proto not in PROTOCOLS:
            raise AnsibleFilterError(f"{where}: proto must be tcp or udp, got {proto!r}")
        port = _port(extra.get("port"), where)
        if "from" not in extra and "from_groups" not in extra:
            raise AnsibleFilterError(f"{where}: give from (addresses, networks or 'any') "
                                     "and/or from_groups")
        comment = str(extra.get("comment") or f"extra rule {i}").replace('"', "'")
        if extra.get("from") == "any":
            into.append(_rule(comment, proto, [port], None, action))
            continue
        listed = extra.get("from") or []
        if not isinstance(listed, list):
            raise AnsibleFilterError(f"{where}: from must be a list or 'any'")
        sources = [_network(s, f"{where}.from[{j}]") for j, s in enumerate(listed)]
        from_groups = extra.get("from_groups") or []
        if not isinstance(from_groups, list):
            raise AnsibleFilterError(f"{where}: from_groups must be a list of group names")
        sources += _group_sources(from_groups, groups, hostvars, f"{where}.from_groups")
        into.append(_rule(comment, proto, [port], sources, action))
    return [r for r in denied + rules if r["any"] or r["v4"] or r["v6"]]


class FilterModule:
    def filters(self):
        return {"firewall_rules": firewall_rules}
