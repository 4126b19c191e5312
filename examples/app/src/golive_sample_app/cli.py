"""golive-sample-app migrate|migrations|version: the release's own tools, run from its venv."""

from __future__ import annotations

import argparse
import json
import os
import sys

from golive_sample_app import _build, migrations


def connect():
    import psycopg2

    url = os.environ.get("MIGRATIONS_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("MIGRATIONS_DATABASE_URL or DATABASE_URL must be set")
    return psycopg2.connect(url, connect_timeout=10, application_name="golive-sample-app migrate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="golive-sample-app")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the release's version, schema level and fault")
    sub.add_parser("migrations", help="JSON: applied and pending migrations")
    sub.add_parser("migrate", help="apply the pending migrations; JSON: what was applied")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(json.dumps({"version": _build.VERSION, "schema": _build.SCHEMA,
                          "fault": _build.FAULT}))
        return 0
    available = migrations.bundled()
    conn = connect()
    try:
        if args.command == "migrations":
            conn.autocommit = True
            with conn.cursor() as cur:
                document = migrations.status_document(available, migrations.applied_ids(cur))
        else:
            document = {"applied": migrations.run(conn, _build.VERSION, available)}
    finally:
        conn.close()
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
