# SPDX-License-Identifier: Apache-2.0
"""`golive audit`'s judgement, on the control node.

audit_prober() names the host that probes a host from outside (audit_prober, else the next host
of the play); audit_probes() turns what the hosts a prober looks after listen on into TCP checks
(golive.ops.checks, type tcp) it runs; audit_report() weighs one host's facts (golive.ops.
host_audit), the probes from outside and the rules the inventory implies for it
(golive.ops.firewall_rules) into findings of severity high, medium or info; secret_strings()
picks the inventory's secrets to search for in readable files.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.golive.ops.plugins.filter.firewall import _address
from ansible_collections.golive.ops.plugins.module_utils.apt_updates import pending_text, shown

SEVERITIES = ("high", "medium", "info")
# Names of variables (or keys inside them) whose strings are secrets.
SECRET_NAME = re.compile(r"password|passwd|secret|token|passphrase|private_?key|api_?key|_key$",
                         re.IGNORECASE)
LOOPBACK = ("127.", "::1")


def audit_prober(hosts: list, target: str, chosen: str = "") -> str:
    """The host that probes TARGET: CHOSEN (its audit_prober) when set, else the host after it
    in HOSTS (the play's), wrapping; '' when HOSTS has no other host."""
    if chosen:
        if chosen not in hosts:
            raise AnsibleFilterError(f"audit_prober of {target}: {chosen!r} is not a host of "
                                     "this run; give a host of the inventory (and the --limit)")
        if chosen == target:
            raise AnsibleFilterError(f"audit_prober of {target}: a host cannot probe itself")
        return chosen
    others = [h for h in hosts if h != target]
    if not others:
        return ""
    index = hosts.index(target) if target in hosts else -1
    return hosts[(index + 1) % len(hosts)] if index >= 0 else others[0]


def _exposable(sockets: list) -> list[int]:
    """The ports of SOCKETS that listen on more than loopback."""
    return sorted({s["port"] for s in sockets
                   if not str(s.get("address", "")).startswith(LOOPBACK)})


def audit_probes(hostvars, hosts: list, me: str, facts_var: str = "__audit_host",
                 timeout_s: int = 2) -> list[dict]:
    """The TCP checks ME runs: every exposable port of each host ME probes."""
    checks = []
    for target in hosts:
        variables = hostvars[target]
        if audit_prober(hosts, target, variables.get("audit_prober") or "") != me:
            continue
        facts = variables.get(facts_var) or {}
        for port in _exposable(facts.get("listening") or []):
            checks.append({"name": f"{target} tcp/{port}", "type": "tcp",
                           "host": _address(hostvars, target), "port": port,
                           "timeout_s": timeout_s})
    return checks


def _verdict(rules: list, source: str, port: int) -> tuple[bool, str]:
    """(allowed, the deciding rule's comment) for a new TCP connection from SOURCE to PORT:
    the first rule that matches decides, as in the ruleset; none matching: dropped."""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return False, f"{source} is not an IP address"
    for rule in rules:
        if rule.get("proto", "tcp") != "tcp" or port not in [int(p) for p in rule["ports"]]:
            continue
        networks = rule.get("v4", []) + rule.get("v6", [])
        if rule.get("any") or any(address in ipaddress.ip_network(n) for n in networks):
            return rule.get("action", "accept") == "accept", rule["comment"]
    return False, "no rule (inbound dropped)"


def audit_report(facts: dict, probes: list | None, rules: list, prober: str,
                 prober_address: str, firewall_enabled: bool = True) -> dict:
    """One host's audit: its ports (listening, exposed to the prober or not, allowed by the
    inventory or not) and its findings, [{severity, kind, what}], high first."""
    findings = []

    def find(severity, kind, what):
        findings.append({"severity": severity, "kind": kind, "what": what})

    answered = {int(c["name"].rsplit("/", 1)[1]): c for c in probes or []}
    by_port: dict[int, dict] = {}
    for sock in facts.get("listening") or []:
        entry = by_port.setdefault(sock["port"], {"port": sock["port"], "addresses": [],
                                                  "process": sock.get("process", "?")})
        entry["addresses"].append(sock["address"])
    ports = []
    for port, entry in sorted(by_port.items()):
        loopback = all(a.startswith(LOOPBACK) for a in entry["addresses"])
        allowed, rule = _verdict(rules, prober_address, port) if prober_address else (False, "")
        probe = answered.get(port)
        exposed = None if loopback or probe is None else probe.get("status") == "ok"
        ports.append({**entry, "loopback_only": loopback, "exposed": exposed,
                      "allowed": allowed, "rule": rule})
        if exposed and not allowed:
            find("high", "exposed",
                 f"tcp/{port} ({entry['process']}) answers {prober} ({prober_address}), which "
                 f"the inventory's firewall does not allow ({rule})")
    if prober and probes is None:
        find("medium", "probe", f"not probed from outside: {prober} gave no answer")
    elif not prober:
        find("medium", "probe", "not probed from outside: no other host in this run")

    fw = facts.get("firewall") or {}
    if not firewall_enabled:
        find("medium", "firewall", "firewall_enabled is false: golive's firewall is off")
    elif not fw.get("table"):
        find("high", "firewall", "golive's firewall table is not loaded (converge the security "
                                 "tier)")
    elif fw.get("drift"):
        find("high", "firewall", "golive's firewall table was changed by hand (the next "
             f"converge undoes it): {shown(fw['drift'])}")
    elif not fw.get("applied_known"):
        find("medium", "firewall", "no record of the ruleset golive applied (converge the "
                                   "security tier)")

    for item in facts.get("secret_files") or []:
        find("high", "secret file",
             f"{item['path']} ({item['mode']}, {item['owner']}) is readable by every local "
             f"user and holds {', '.join(item['secrets'])}")

    sshd = facts.get("sshd") or {}
    if sshd.get("error"):
        find("medium", "sshd", f"sshd -T failed: {sshd['error']}")
    if sshd.get("permitrootlogin", "no") != "no":
        find("high", "sshd", f"PermitRootLogin is {sshd['permitrootlogin']} (want no)")
    for key, name in (("passwordauthentication", "PasswordAuthentication"),
                      ("permitemptypasswords", "PermitEmptyPasswords")):
        if sshd.get(key) == "yes":
            find("high", "sshd", f"{name} is yes (want no: keys only)")
    if sshd.get("kbdinteractiveauthentication") == "yes":
        find("medium", "sshd", "KbdInteractiveAuthentication is yes (want no)")

    updates = facts.get("updates") or {}
    security = updates.get("security") or []
    if security:
        find("medium", "updates", pending_text(security))
    if updates.get("error"):
        find("medium", "updates", f"pending updates unknown: {updates['error']}")
    reboot = updates.get("reboot") or {}
    if reboot.get("required"):
        find("medium", "updates", "a reboot is required" + (
            f" (by {shown(reboot.get('packages') or [])})" if reboot.get("packages") else ""))

    findings.sort(key=lambda f: SEVERITIES.index(f["severity"]))
    return {"prober": prober, "prober_address": prober_address, "ports": ports,
            "findings": findings, "firewall": fw, "sshd": sshd, "updates": updates,
            "secret_files": facts.get("secret_files") or []}


def secret_strings(values: list, names: list, minimum: int = 8) -> list[dict]:
    """[{name, value}] of every string held by the variables NAMES (with their VALUES, in the
    same order) under a secret-looking name, paths and short strings left out."""
    found = []

    def walk(value, name, secret):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{name}.{key}", secret or bool(SECRET_NAME.search(str(key))))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{name}[{index}]", secret)
        elif isinstance(value, str) and secret and len(value) >= minimum \
                and not value.startswith(("/", "{{")):
            found.append({"name": name, "value": value})

    for name, value in zip(names, values, strict=True):
        walk(value, name, bool(SECRET_NAME.search(name)))
    return found


class FilterModule:
    def filters(self):
        return {"audit_prober": audit_prober, "audit_probes": audit_probes,
                "audit_report": audit_report, "secret_strings": secret_strings}
