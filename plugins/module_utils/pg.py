"""PostgreSQL helpers shared by the golive.ops modules.

psycopg2 is imported on first use, not at import time, so that a module can still start, parse
its arguments and report a missing library as a clean task failure. Nothing here keeps state
between calls.
"""

from __future__ import annotations

import math
import re

from ansible.module_utils.basic import missing_required_lib

CHECK_STATUSES = ("ok", "warn", "fail")

# Reasons that mean "the server answered and refused these credentials", as opposed to a
# server that could not be reached at all.
AUTH_REASONS = frozenset({"auth_failed", "no_password", "no_role", "hba_rejected"})

# (pattern searched in the lower-cased libpq / PgBouncer / server message, reason); first wins.
_ERROR_REASONS = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"no password supplied", "no_password"),
        # "password/SASL authentication failed"; "no such user" is PgBouncer < 1.18's answer
        # for a user missing from its auth_file.
        (r"authentication failed|no such user", "auth_failed"),
        (r'role ".*" does not exist', "no_role"),
        (r"no pg_hba\.conf entry", "hba_rejected"),
        (r"timeout expired|timed out|statement timeout", "timeout"),
        # A unix socket that does not exist: nothing listens there, as with a refused port.
        (r"connection refused|no such file or directory", "refused"),
        (r"could not translate host name", "unknown_host"),
        (r'no such database|database ".*" does not exist', "no_database"),
    )
)

# libpq reads ~/.pgpass (or PGPASSFILE) whenever the password is empty; a path that does not
# exist makes it skip the file silently (a non-regular file such as /dev/null draws a warning).
NO_PASSFILE = "/nonexistent/golive-no-passfile"

REDACTED = "********"


class MissingLibraryError(Exception):
    """psycopg2 cannot be imported on the target; str() is Ansible's usual install hint."""


class PgError(Exception):
    """A database error: `message` is libpq's text (secrets removed), `reason` its class."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


def load_psycopg2():
    """Import psycopg2, or raise MissingLibraryError naming the package to install."""
    try:
        import psycopg2
    except ImportError as exc:
        raise MissingLibraryError(
            missing_required_lib(
                "psycopg2",
                reason="to connect to PostgreSQL (on Debian: apt install python3-psycopg2)",
            )
        ) from exc
    return psycopg2


def redact(value, secret: str | None):
    """`value` with `secret` replaced in every string it holds (lists and dicts walked)."""
    if not secret:
        return value
    if isinstance(value, str):
        return value.replace(secret, REDACTED)
    if isinstance(value, list | tuple):
        return [redact(item, secret) for item in value]
    if isinstance(value, dict):
        return {key: redact(item, secret) for key, item in value.items()}
    return value


def classify_error(exc: BaseException | str) -> str:
    """A short reason for a libpq/PgBouncer error message; 'other' when none matches."""
    text = str(exc).lower()
    for pattern, reason in _ERROR_REASONS:
        if pattern.search(text):
            return reason
    return "other"


def connect(
    host: str,
    port: int,
    user: str,
    password: str | None,
    dbname: str,
    connect_timeout: int,
    sslmode: str | None = None,
    *,
    ignore_pgpass: bool = False,
):
    """An autocommit psycopg2 connection; connection errors are raised as PgError.

    With ignore_pgpass, libpq uses exactly `password` (None meaning no password at all) and
    never falls back to PGPASSWORD or a password file, so a refused login proves what it says.
    """
    psycopg2 = load_psycopg2()
    params = {
        "host": host,
        "port": port,
        "user": user,
        "dbname": dbname,
        "connect_timeout": connect_timeout,
    }
    if password is not None:
        params["password"] = password
    if sslmode:
        params["sslmode"] = sslmode
    if ignore_pgpass:
        # An explicit empty password also stops libpq from reading PGPASSWORD.
        params["password"] = password or ""
        params["passfile"] = NO_PASSFILE
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.Error as exc:
        message = redact(str(exc).strip(), password)
        # `from None`: the chained exception adds nothing but another copy of the message.
        raise PgError(message, classify_error(message)) from None
    conn.autocommit = True
    return conn


def execute(conn, sql: str, params=None) -> tuple[list[str], list[tuple]]:
    """Run one statement; return its column names and rows (both empty for no result set)."""
    # DB-API connections expose their driver's exception classes, so no psycopg2 import here.
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            if cur.description is None:
                return [], []
            return [col[0] for col in cur.description], list(cur.fetchall())
    except conn.Error as exc:
        message = str(exc).strip()
        raise PgError(message, classify_error(message)) from None


def fetch_dicts(conn, sql: str, params=None) -> list[dict]:
    """The rows of a query as JSON-safe dicts keyed by column name."""
    columns, rows = execute(conn, sql, params)
    return [json_safe(dict(zip(columns, row, strict=True))) for row in rows]


def json_safe(value):
    """`value` with everything JSON cannot carry turned into a string.

    Lists/tuples become lists and dicts get string keys (recursively); bytes become bytea hex
    ('\\x...'); NaN/inf floats and any other type (Decimal, datetime, UUID ...) become str().
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)  # Decimal, datetime, timedelta, UUID, ... in their text form


def check(name: str, status: str, value, threshold, message: str) -> dict:
    """One check result, the shape every golive check reports."""
    if status not in CHECK_STATUSES:
        raise ValueError(f"check status must be one of {', '.join(CHECK_STATUSES)}, not {status!r}")
    return {
        "name": name,
        "status": status,
        "value": value,
        "threshold": threshold,
        "message": message,
    }


def checks_ok(checks: list[dict]) -> bool:
    """True when no check failed (warnings do not fail)."""
    return all(item["status"] != "fail" for item in checks)
