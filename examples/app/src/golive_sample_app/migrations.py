"""Versioned SQL migrations: files NNNN_name.sql whose first line says `-- golive: compatible`
or `-- golive: breaking` (breaking = code of earlier releases no longer works on the schema).

Applied in order, each in its own transaction together with its row in schema_migrations, under
a session advisory lock so that two runners never interleave. The status document is what the
deploy reads to decide whether a pre-deploy backup is needed and what a rollback must refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

HEADER = re.compile(r"^--\s*golive:\s*(compatible|breaking)\s*$")
NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
LOCK_KEY = 7_311_015  # pg_advisory_lock key of this app's migrations

TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    id text PRIMARY KEY,
    breaking boolean NOT NULL,
    version text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    id: str
    breaking: bool
    sql: str


def parse(filename: str, text: str) -> Migration:
    if not NAME.match(filename):
        raise ValueError(f"{filename}: migration files are named NNNN_name.sql")
    first = text.splitlines()[0] if text else ""
    match = HEADER.match(first)
    if not match:
        raise ValueError(f"{filename}: the first line must be '-- golive: compatible' or "
                         f"'-- golive: breaking'")
    return Migration(filename[:-4], match.group(1) == "breaking", text)


def bundled() -> list[Migration]:
    folder = resources.files("golive_sample_app") / "migrations"
    found = [parse(entry.name, entry.read_text()) for entry in folder.iterdir()
             if entry.name.endswith(".sql")]
    return sorted(found, key=lambda m: m.id)


def plan(available: list[Migration], applied: set[str]) -> list[Migration]:
    return [m for m in available if m.id not in applied]


def status_document(available: list[Migration], applied: set[str]) -> dict:
    pending = plan(available, applied)
    return {"applied": sorted(applied),
            "pending": [{"id": m.id, "breaking": m.breaking} for m in pending],
            "unknown_applied": sorted(applied - {m.id for m in available})}


def applied_ids(cur) -> set[str]:
    cur.execute(TABLE)
    cur.execute("SELECT id FROM schema_migrations")
    return {row[0] for row in cur.fetchall()}


def run(conn, version: str, available: list[Migration]) -> list[dict]:
    """Apply what is pending; returns the applied migrations in order."""
    done = []
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            for migration in plan(available, applied_ids(cur)):
                conn.autocommit = False
                try:
                    with conn.cursor() as tx:
                        tx.execute(migration.sql)
                        tx.execute("INSERT INTO schema_migrations (id, breaking, version) "
                                   "VALUES (%s, %s, %s)",
                                   (migration.id, migration.breaking, version))
                    conn.commit()
                except Exception:
                    conn.rollback()
                    raise
                finally:
                    conn.autocommit = True
                done.append({"id": migration.id, "breaking": migration.breaking})
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done
