# SPDX-License-Identifier: Apache-2.0
"""Prometheus's alerts as golive's data, for `golive alerts`, `golive status` and the `alerts`
check. Pure functions over the JSON of /api/v1/alerts, and one GET (no proxy, a timeout)."""

from __future__ import annotations

import json
import urllib.request

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2, "none": 3}


def fetch_json(url: str, timeout: float) -> dict:
    """GET URL's JSON; OSError (refused, timeout, HTTP error) or ValueError (not JSON) raise."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as answer:
        return json.loads(answer.read().decode())


def alerts_of(payload: dict) -> list[dict]:
    """Prometheus's {status, data: {alerts: [...]}} -> [{alertname, severity, instance, state,
    since, summary, labels}], critical first, then by name and instance. ValueError when the
    payload is not an alerts answer."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise ValueError(f"not a successful alerts answer: {str(payload)[:200]}")
    out = []
    for alert in (payload.get("data") or {}).get("alerts") or []:
        labels = alert.get("labels") or {}
        out.append({
            "alertname": labels.get("alertname", "?"),
            "severity": labels.get("severity", "none"),
            "instance": labels.get("instance", ""),
            "state": alert.get("state", "firing"),
            "since": alert.get("activeAt"),
            "summary": (alert.get("annotations") or {}).get("summary", ""),
            "labels": {k: v for k, v in labels.items()
                       if k not in ("alertname", "severity", "instance")},
        })
    out.sort(key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), a["alertname"], a["instance"]))
    return out


def firing(alerts: list[dict], severity: str | None = None) -> list[dict]:
    """The firing ones (not pending), of SEVERITY when given."""
    return [a for a in alerts if a["state"] == "firing"
            and (severity is None or a["severity"] == severity)]


def read(url: str, timeout: float, get=fetch_json) -> dict:
    """{reachable, error, alerts} from the Prometheus at URL (its base URL)."""
    try:
        alerts = alerts_of(get(url.rstrip("/") + "/api/v1/alerts", timeout))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"reachable": False, "error": f"{type(reason).__name__}: {reason}", "alerts": []}
    return {"reachable": True, "error": None, "alerts": alerts}
