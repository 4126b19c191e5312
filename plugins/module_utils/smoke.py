# SPDX-License-Identifier: Apache-2.0
"""Smoke tests as data (app_smoke): their validation, shared by the app role's preflight (the
golive.ops.smoke_problems filter, before anything changes) and golive.ops.app_smoke, and one
test's run against a base URL."""

from __future__ import annotations

import json
import time
from http import client as http_client

from ansible_collections.golive.ops.plugins.module_utils import http as http_utils
from ansible_collections.golive.ops.plugins.module_utils.jsonpath import json_problems

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PLACES = ("color", "nginx")
FIELDS = {"name", "path", "method", "body", "status", "json", "where"}


def expected_status(test: dict):
    """The status code a test expects (200 unless given; "404" read as 404)."""
    status = test.get("status", 200)
    return int(status) if isinstance(status, str) and status.isdigit() else status


def definition_problems(tests: list) -> list[str]:
    """Every problem of the tests' definitions, each naming the test and the field."""
    found, names = [], set()
    for index, test in enumerate(tests):
        where = f"app_smoke[{index}]"
        if not isinstance(test, dict):
            found.append(f"{where}: must be a mapping, not {type(test).__name__}")
            continue
        name = test.get("name")
        where += f" {name!r}" if name else ""
        if not isinstance(name, str) or not name:
            found.append(f"{where}: name is required (a string)")
        elif name in names:
            found.append(f"{where}: duplicate name")
        else:
            names.add(name)
        unknown = sorted(set(test) - FIELDS)
        if unknown:
            found.append(f"{where}: unknown field(s) {', '.join(unknown)} (fields: "
                         f"{', '.join(sorted(FIELDS))})")
        path = test.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            found.append(f"{where}: path must start with / (got {path!r})")
        method = str(test.get("method", "GET")).upper()
        if method not in METHODS:
            found.append(f"{where}: method must be one of {', '.join(METHODS)} (got {method})")
        status = expected_status(test)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            found.append(f"{where}: status must be an HTTP status code 100-599 (got {status!r})")
        if not isinstance(test.get("json", {}), dict):
            found.append(f"{where}: json must map dotted paths to expected values")
        places = test.get("where", list(PLACES))
        if not isinstance(places, list) or not places or any(p not in PLACES for p in places):
            found.append(f"{where}: where must be a non-empty list of color, nginx "
                         f"(got {places!r})")
    return found


def run_test(base: str, test: dict, timeout: float, validate_certs: bool) -> dict:
    method = str(test.get("method", "GET")).upper()
    url = base.rstrip("/") + test["path"]
    body = json.dumps(test["body"]).encode() if "body" in test else None
    start = time.monotonic()
    result = {"name": test["name"], "ok": False, "status": None, "ms": None, "problems": []}
    try:
        code, _headers, answer = http_utils.get(url, timeout, validate_certs=validate_certs,
                                                agent="golive.ops.app_smoke", method=method,
                                                body=body)
    except (OSError, ValueError, http_client.HTTPException) as exc:
        result["problems"].append(http_utils.error_text(exc, url, timeout, method))
        return result
    result["status"], result["ms"] = code, round((time.monotonic() - start) * 1000, 1)
    expected = expected_status(test)
    if code != expected:
        result["problems"].append(f"HTTP {code}, expected {expected}")
    if test.get("json"):
        try:
            document = json.loads(answer)
        except ValueError:
            result["problems"].append("the answer is not JSON")
        else:
            result["problems"] += json_problems(document, test["json"])
    result["ok"] = not result["problems"]
    return result
