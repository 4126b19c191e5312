# SPDX-License-Identifier: Apache-2.0
"""JSON lines as the deploy history and nginx's JSON access log write them: one object per
line; a line that is not a JSON object (torn by a crash, or a foreign format) is skipped."""

from __future__ import annotations

import json


def json_objects(lines) -> list[dict]:
    """The JSON objects among LINES (str or bytes each)."""
    found = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found
