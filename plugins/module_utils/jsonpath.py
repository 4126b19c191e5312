# SPDX-License-Identifier: Apache-2.0
"""Dotted paths into JSON documents, and the problems of a document against expected values:
the http checks' json_fields (golive.ops.checks) and the deploy's smoke tests
(golive.ops.app_smoke)."""

from __future__ import annotations

import json
from typing import Any


def json_text(value) -> str:
    """A value as JSON writes it ("healthy", true, 3); str() of what JSON cannot carry."""
    return json.dumps(value, default=str)


MISSING = object()


def json_matches(document, path: str) -> list[tuple[str, Any]]:
    """(concrete path, value or MISSING) for a dotted path; `*` matches every key or item.

    A `*` over an empty (or non-container) value gives one MISSING entry for that path.
    """
    found = [("", document)]
    for segment in path.split("."):
        step = []
        for prefix, value in found:
            here = f"{prefix}.{segment}" if prefix else segment
            if value is MISSING:
                step.append((here, MISSING))
            elif segment == "*":
                items = children(value)
                if not items:
                    step.append((here, MISSING))
                step += [(f"{prefix}.{key}" if prefix else str(key), item) for key, item in items]
            elif isinstance(value, dict) and segment in value:
                step.append((here, value[segment]))
            elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
                step.append((here, value[int(segment)]))
            else:
                step.append((here, MISSING))
        found = step
    return found


def children(value) -> list[tuple[Any, Any]]:
    """(key, item) of a dict, (index, item) of a list, nothing for anything else."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


def same(actual, expected) -> bool:
    """Equality that keeps true apart from 1 (JSON and YAML do)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return actual == expected


def json_problems(document, fields: dict) -> list[str]:
    problems = []
    for path, expected in fields.items():
        for where, actual in json_matches(document, path):
            if actual is MISSING:
                problems.append(f"{where} missing")
            elif not same(actual, expected):
                problems.append(f"{where} is {json_text(actual)}, expected {json_text(expected)}")
    return problems
