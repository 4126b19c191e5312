# SPDX-License-Identifier: Apache-2.0
"""Health gates: a probe of an HTTP health endpoint judged against expectations, and a gate
that opens after K consecutive passes within a deadline (app_gate, nginx_upstream's check that
a reload took, the deploy watch window).

params (a dict, as the modules' own): url, passes, interval, deadline, timeout, expect_status,
expect_json_status, expect_service_status, expect_version, version_header, host_header,
validate_certs.

The health contract is data: the body's `status` must be one of expect_json_status and each
value of its `services` object one of expect_service_status (plan 004's shape is
`{"status": "healthy", "services": {"database": "healthy", ...}}`; golive accepts `ok` and
`healthy` by default). An empty list does not look at that part of the body.
"""

from __future__ import annotations

import json
import time

from ansible_collections.golive.ops.plugins.module_utils import http as http_utils

MAX_FAILURES_KEPT = 5
DEFAULT_STATUSES = ("ok", "healthy")


def service_problems(services, accepted) -> list[str]:
    """The services whose status is not accepted, as "name status" texts. A service's status is
    either a string or an object with a `status` field."""
    if not accepted or services is None:
        return []
    if not isinstance(services, dict):
        return [f"services is {type(services).__name__}, expected an object"]
    found = []
    for name, value in sorted(services.items()):
        status = value.get("status") if isinstance(value, dict) else value
        if status not in accepted:
            found.append(f"{name} {status!r}")
    return found


def judge(params: dict, code: int, headers: dict, body: bytes) -> tuple[str | None, dict]:
    """(reason the probe failed or None, what was seen)."""
    seen: dict = {"code": code}
    document = None
    services_wanted = params.get("expect_service_status") or []
    if params["expect_json_status"] or params["expect_version"] or services_wanted:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
    header = {k.lower(): v for k, v in headers.items()}.get(params["version_header"].lower())
    body_version = document.get("version") if isinstance(document, dict) else None
    seen["status"] = document.get("status") if isinstance(document, dict) else None
    seen["version"] = body_version or header
    if code != params["expect_status"]:
        detail = f" ({seen['status']})" if seen.get("status") else ""
        return f"HTTP {code}{detail}, expected {params['expect_status']}", seen
    if params["expect_json_status"]:
        if not isinstance(document, dict):
            return "body is not a JSON object", seen
        if seen.get("status") not in params["expect_json_status"]:
            return (f"status {seen.get('status')!r}, expected one of "
                    f"{', '.join(params['expect_json_status'])}"), seen
    if services_wanted and isinstance(document, dict):
        bad = service_problems(document.get("services"), services_wanted)
        if bad:
            return (f"services not {'/'.join(services_wanted)}: {', '.join(bad)}"), seen
    want = params["expect_version"]
    if want and want not in {seen.get("version"), header}:
        return f"version {seen.get('version')!r}, expected {want!r}", seen
    return None, seen


def probe(params: dict) -> tuple[str | None, dict]:
    headers = {"Host": params["host_header"]} if params["host_header"] else {}
    try:
        code, answer_headers, body = http_utils.get(
            params["url"], params["timeout"], validate_certs=params["validate_certs"],
            headers=headers, agent="golive.ops.app_gate")
    except http_utils.CALoadError as exc:
        return str(exc), {}
    except Exception as exc:
        return http_utils.error_text(exc, params["url"], params["timeout"]), {}
    return judge(params, code, answer_headers, body)


def run_gate(params: dict, probe_once=probe, clock=time.monotonic, sleep=time.sleep) -> dict:
    start = clock()
    streak = probes = 0
    failures: list[dict] = []
    seen: dict = {}
    while True:
        probes += 1
        reason, seen = probe_once(params)
        now = clock() - start
        if reason is None:
            streak += 1
            if streak >= params["passes"]:
                return {"opened": True, "elapsed_s": round(now, 3), "probes": probes,
                        "failures": failures, "last": seen}
        else:
            streak = 0
            failures = [*failures, {"t": round(now, 3), "reason": reason}][-MAX_FAILURES_KEPT:]
        if now + params["interval"] > params["deadline"]:
            return {"opened": False, "elapsed_s": round(now, 3), "probes": probes,
                    "failures": failures, "last": seen}
        sleep(params["interval"])
