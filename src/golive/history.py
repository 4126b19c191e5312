"""Deployment ids and the control node's deployment history.

Every `golive deploy` and `golive rollback` gets one id, made here and passed to every batch;
the hosts keep their own history (.deploy/history.jsonl, the authority for rollback targets),
and the control node keeps one JSON line per run here, read by `golive history`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from golive import paths

ID_FORMAT = "%Y%m%dT%H%M%SZ"


def new_id(now: datetime.datetime | None = None, token: str | None = None) -> str:
    """A sortable id: UTC time plus 6 hex digits (two runs in one second still differ)."""
    now = now or datetime.datetime.now(datetime.UTC)
    return f"{now.strftime(ID_FORMAT)}-{token or secrets.token_hex(3)}"


def history_file(inventory: Path) -> Path:
    """One history per inventory (two inventories are two sites)."""
    key = hashlib.sha256(str(Path(inventory).resolve()).encode()).hexdigest()[:12]
    folder = paths.state_dir() / "history"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{key}.jsonl"


def append(path: Path, record: dict[str, Any]) -> None:
    """One line per record, appended in a single write (O_APPEND), 0600."""
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def summary(result: dict[str, Any], wall_s: float | None = None) -> dict[str, Any]:
    """The control node's record of one run, from the playbook's result document."""
    hosts = result.get("hosts") or {}
    phases: dict[str, dict[str, float]] = {}
    for host, record in sorted(hosts.items()):
        if isinstance(record, dict):
            phases[host] = record.get("phases_s") or {}
    record = {key: result.get(key) for key in (
        "id", "kind", "outcome", "version", "release", "sha256", "actor", "started", "finished",
        "failures", "migrations", "restore_point", "rollback_of", "db_restore", "broken_lock",
        "reconciled")}
    record["phases_s"] = phases
    record["hosts"] = {h: {key: (r or {}).get(key) for key in (
        "color", "from_release", "from_version", "warm")} for h, r in sorted(hosts.items())}
    if wall_s is not None:
        record["wall_s"] = round(wall_s, 3)
    return record
