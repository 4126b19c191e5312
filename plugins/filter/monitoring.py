# SPDX-License-Identifier: Apache-2.0
"""Prometheus's scrape configuration from what golive.ops.exporters published on each host.

Each host publishes (local fact golive_exporters) {job: {address, port, scheme, auth}}: the
address it listens on (its private one), and whether that exporter speaks TLS and checks basic
auth (it depends on the exporter and its Debian release). Targets are grouped by (job, scheme,
auth) so the password is only ever sent over TLS to an exporter that checks it; each group's
`job` label is the exporter's name, and `instance` is the inventory name.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

JOBS = ("node", "postgres", "pgbouncer", "redis", "nginx", "mtail")


def scrape_configs(hosts: list[dict], auth: dict, api: dict | None = None,
                   self_jobs: dict | None = None) -> list[dict]:
    """hosts: [{name, exporters: {job: {address, port, scheme, auth}}, certificate?}];
    auth: {username, password_file, ca_file}; api: {blackbox, module, url ('{host}' is replaced
    by each host's name), hosts};
    self_jobs: {job: address:port} scraped over plain HTTP on loopback (Prometheus itself)."""
    if not isinstance(hosts, list):
        raise AnsibleFilterError("scrape_configs: hosts must be a list")
    groups: dict[tuple[str, str, bool], list[dict]] = {}
    for host in hosts:
        for job, exp in sorted((host.get("exporters") or {}).items()):
            if job not in JOBS:
                raise AnsibleFilterError(f"scrape_configs: {host.get('name')}: unknown job {job!r}")
            scheme = exp.get("scheme", "http")
            if scheme not in ("http", "https"):
                raise AnsibleFilterError(
                    f"scrape_configs: {host.get('name')} {job}: scheme {scheme!r}")
            key = (job, scheme, bool(exp.get("auth")) and scheme == "https")
            groups.setdefault(key, []).append({
                "targets": [f"{exp['address']}:{exp['port']}"],
                "labels": {"instance": host["name"]}})
    configs = []
    for name, target in sorted((self_jobs or {}).items()):
        configs.append({"job_name": name, "static_configs": [
            {"targets": [target], "labels": {"instance": "self"}}]})
    for (job, scheme, with_auth), static in sorted(groups.items()):
        config: dict = {"job_name": job if (scheme == "https" and with_auth) else f"{job}_{scheme}"
                        + ("_auth" if with_auth else ""),
                        "scheme": scheme, "static_configs": static}
        if scheme == "https":
            config["tls_config"] = {"ca_file": auth["ca_file"]}
        if with_auth:
            config["basic_auth"] = {"username": auth["username"],
                                    "password_file": auth["password_file"]}
        if config["job_name"] != job:
            config["relabel_configs"] = [{"target_label": "job", "replacement": job}]
        configs.append(config)
    if api and api.get("hosts"):
        configs.append({
            "job_name": "api", "metrics_path": "/probe", "params": {"module": [api["module"]]},
            "static_configs": [{"targets": [api["url"].replace("{host}", name)],
                                "labels": {"instance": name}} for name in api["hosts"]],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"target_label": "__address__", "replacement": api["blackbox"]}]})
    return configs


def exporter_endpoint(name: str, release: dict, ports: dict, address: str, tls: bool,
                      proxied: list | None = None) -> dict:
    """Where and how Prometheus scrapes exporter NAME on a host: RELEASE says what the installed
    exporter supports ({name: {tls, auth}}), TLS whether the role serves TLS at all; a PROXIED
    exporter is served by golive-metrics-proxy, which does both. Basic auth is only ever used
    over TLS."""
    if name not in release or name not in ports:
        raise AnsibleFilterError(f"exporter_endpoint: unknown exporter {name!r}")
    caps = {"tls": True, "auth": True} if name in (proxied or []) else release[name]
    scheme = "https" if tls and caps.get("tls") else "http"
    return {"address": address, "port": int(ports[name]), "scheme": scheme,
            "auth": scheme == "https" and bool(caps.get("auth"))}


def exporter_bind(name: str, proxied: list, ports: dict, address: str) -> str:
    """Where exporter NAME itself listens: the private address, or loopback at its port + 10000
    when golive-metrics-proxy serves it there."""
    if name in proxied:
        return f"127.0.0.1:{int(ports[name]) + 10000}"
    return f"{address}:{int(ports[name])}"


DURATION = r"^[0-9]+(s|m|h)$"


def alert_problems(overrides, defaults: dict, ranges: dict, severities: list,
                   name: str = "prometheus_alerts_overrides") -> list[str]:
    """What is wrong with the alerts once OVERRIDES (named NAME) are merged into DEFAULTS: an
    unknown alert, a severity outside SEVERITIES, a `for`/`window` that is not a duration, a
    threshold that is not a number within RANGES[alert]. One phrase per problem, naming the
    variable and the allowed values; [] when all is well."""
    import re

    if not isinstance(overrides, dict):
        return [f"{name} must be a mapping of alert names (got {overrides!r})"]
    problems = []
    for alert, change in overrides.items():
        where = f"{name}.{alert}"
        if alert not in defaults:
            problems.append(f"{where}: no such alert (alerts: {', '.join(sorted(defaults))})")
            continue
        if not isinstance(change, dict):
            problems.append(f"{where} must be a mapping (got {change!r})")
            continue
        merged = {**defaults[alert], **change}
        if merged.get("severity") not in severities:
            problems.append(f"{where}.severity must be one of {', '.join(severities)} "
                            f"(got {merged.get('severity')!r})")
        for key in ("for", "window"):
            if key in merged and not re.match(DURATION, str(merged[key])):
                problems.append(f"{where}.{key} must be a duration such as 30s, 5m, 1h "
                                f"(got {merged[key]!r})")
        if "threshold" in change or "threshold" in merged:
            low, high = ranges.get(alert, (None, None))
            value = merged.get("threshold")
            try:
                number = float(value)
                ok = (low is None or low <= number <= high) and not isinstance(value, bool)
            except (TypeError, ValueError):
                ok = False
            if low is None and "threshold" in change:
                problems.append(f"{where}.threshold: this alert takes no threshold")
            elif not ok:
                problems.append(f"{where}.threshold must be a number from {low:g} to {high:g} "
                                f"(got '{value}')")
    return problems


UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    """Prometheus's duration ('15s', '1m30s', '500ms', '2h') in seconds."""
    import re

    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise AnsibleFilterError(f"duration_seconds: not a duration: {text!r}")
    return sum(int(n) * UNITS_S[u] for n, u in parts)


class FilterModule:
    def filters(self):
        return {"scrape_configs": scrape_configs, "exporter_endpoint": exporter_endpoint,
                "exporter_bind": exporter_bind,
                "duration_seconds": duration_seconds, "alert_problems": alert_problems}
