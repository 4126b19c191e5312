"""Redis helpers shared by the golive.ops Redis modules.

The login_* and TLS options, the redis-py keyword arguments built from them and the clean
failure when redis-py (or certifi) is missing come from community.general's redis module_utils,
with TLS off by default. redis-py itself is imported on first use. Answers are read raw (no
redis-py response callbacks) and decoded by the pure functions here, so that unit tests can feed
recorded server replies. Nothing here keeps state between calls.
"""

from __future__ import annotations

import re

from ansible_collections.community.general.plugins.module_utils.redis import (
    fail_imports,
    redis_auth_argument_spec,
    redis_auth_params,
)

REDACTED = "********"
SERVER_PORT = 6379
SENTINEL_PORT = 26379

# (pattern searched in the lower-cased error text, reason); first wins. redis-py strips the
# NOAUTH/NOPERM codes (it maps them to exception classes) but keeps WRONGPASS.
_ERROR_REASONS = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"^noauth\b|authentication required", "noauth"),
        (r"^wrongpass\b|invalid username-password pair|^invalid password", "wrongpass"),
        # A password sent to a server that has none configured (ERR, not WRONGPASS).
        (r"called without any password configured|no password is set", "no_password_set"),
        (r"^noperm\b|has no permissions", "noperm"),
        (r"timeout|timed out", "timeout"),
        (r"connection refused|no such file or directory", "refused"),
        (r"name or service not known|name resolution|nodename nor servname", "unknown_host"),
        (r"unknown command", "unknown_command"),
    )
)
# Redis's error code for a reason, put back in front of the message when redis-py dropped it.
_ERROR_CODES = {"noauth": "NOAUTH", "wrongpass": "WRONGPASS", "noperm": "NOPERM"}

# Redis's memory units (memtoull() in util.c): digits, then one of these, case-insensitive.
_MEMORY = re.compile(r"(\d+)(b|k|kb|m|mb|g|gb)", re.IGNORECASE)
_MEMORY_UNITS = {
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


class RedisError(Exception):
    """A failed Redis call: `message` is the server's or redis-py's text, `reason` its class.

    Not to be confused with redis-py's redis.exceptions.RedisError, which connect() and
    command() turn into this.
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


# --- options and connections ------------------------------------------------------------------


def auth_argument_spec() -> dict:
    """community.general's login_*/TLS options, with TLS off by default."""
    return redis_auth_argument_spec(tls_default=False)


def node_kwargs(module) -> dict:
    """redis-py keyword arguments for the login_* and TLS options of `module`.

    Fails the task cleanly when redis-py cannot be imported, or certifi when TLS is on without
    ca_certs (the only case where community.general's helper needs it).
    """
    params = module.params
    fail_imports(module, needs_certifi=bool(params["tls"] and params["ca_certs"] is None))
    return redis_auth_params(module)


def with_login(kwargs: dict, host: str, port: int, user: str | None, password: str | None):
    """`kwargs` (TLS options kept) for another endpoint and credentials."""
    changed = {key: value for key, value in kwargs.items() if key != "username"}
    changed.update(host=host, port=port, password=password)
    if user is not None:
        changed["username"] = user
    return changed


def _raw(response, **options):
    return response


def connect(kwargs: dict, timeout: float):
    """A redis-py client for `kwargs` that has answered PING; failures raise RedisError.

    `timeout` bounds connecting and every answer. INFO is returned as text (decode_info()).
    redis-py 6 (Debian 13) retries a connect that timed out 3 times with backoff by default,
    which turns a 0.5 s bound on a dead node into 11 s: its retries are switched off here.
    """
    from redis import Redis  # the module has checked with node_kwargs() that this works
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = Redis(
        **kwargs,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    # Commands sent as separate words ("CONFIG", "GET") get no redis-py callback; INFO does.
    client.set_response_callback("INFO", _raw)
    try:
        command(client, "PING")
    except RedisError:
        close(client)
        raise
    return client


def command(client, *args):
    """client.execute_command(*args); redis-py's errors are raised as RedisError."""
    from redis.exceptions import RedisError as LibraryError

    try:
        return client.execute_command(*args)
    except LibraryError as exc:
        raise error_from(exc) from None


def raw_command(client, *args):
    """command() with the reply as the server sent it: redis-py's parsing of it is off for this
    command name (redis-py answers PING with True and ACL LOAD with True, not PONG and OK)."""
    client.set_response_callback(str(args[0]).upper(), _raw)
    return command(client, *args)


def close(client) -> None:
    """Drop the client's connections (redis-py keeps them in a pool)."""
    client.close()
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        pool.disconnect()


def classify_error(text: str) -> str:
    """A short reason for a Redis/redis-py error message; 'other' when none matches."""
    lowered = text.lower()
    for pattern, reason in _ERROR_REASONS:
        if pattern.search(lowered):
            return reason
    return "other"


def error_from(exc: BaseException | str) -> RedisError:
    """RedisError for a redis-py exception: one line, with NOAUTH/WRONGPASS/NOPERM in front."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    reason = classify_error(text)
    code = _ERROR_CODES.get(reason)
    if code and not text.upper().startswith(code):
        text = f"{code} {text}"
    return RedisError(text, reason)


# --- addresses --------------------------------------------------------------------------------


def format_address(host: str, port: int | str) -> str:
    """host:port, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """(host, port) of 'host:port', 'host' or '[v6addr]:port'; ValueError when malformed."""
    text = text.strip()
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\w*))?", text)
    if bracketed:
        host, port = bracketed.group(1), bracketed.group(2)
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif ":" in text:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, as [{text}]:port")
    else:
        host, port = text, None
    if not host:
        raise ValueError(f"{text!r} has no host")
    if port is None:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} has no valid port (1-65535)")
    return host, int(port)


# --- decoding answers -------------------------------------------------------------------------


def decode_info(text: str | bytes) -> dict[str, str]:
    """INFO's `key:value` lines as a dict of strings; section headers and blank lines skipped."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    info = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep:
            info[key] = value
    return info


def info_fields(value: str) -> dict[str, str]:
    """The `a=1,b=2` value of an INFO line (slaveN, dbN) as a dict of strings."""
    fields = {}
    for item in value.split(","):
        key, sep, field = item.partition("=")
        if sep:
            fields[key] = field
    return fields


def to_int(value) -> int | None:
    """int(value), or None for a missing or non-numeric value."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def pairs(reply) -> dict[str, str]:
    """A flat [key, value, key, value ...] reply (CONFIG GET, SENTINEL MASTER) as a dict."""
    if isinstance(reply, dict):  # a client that parsed it already
        return {str(key): value for key, value in reply.items()}
    items = list(reply or [])
    return dict(zip(items[::2], items[1::2], strict=True))


# --- values -----------------------------------------------------------------------------------


def memory_bytes(text: str) -> int | None:
    """Bytes for a Redis memory value such as 256mb, 1gb, 100k; None for anything else."""
    match = _MEMORY.fullmatch(text.strip())
    if not match:
        return None
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]


def config_value(value) -> str:
    """`value` in the form CONFIG GET and SENTINEL MASTER print it.

    bool -> yes/no; int -> digits; a list -> its items so converted and space-joined (save);
    a memory string (256mb, 1gb, 100k; k=1000, kb=1024 ...) -> bytes; other strings unchanged.
    TypeError for null, dicts and nested lists.
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        size = memory_bytes(value)
        return value if size is None else str(size)
    if isinstance(value, list | tuple):
        if any(isinstance(item, list | tuple | dict) for item in value):
            raise TypeError("a list value must hold strings, numbers or booleans")
        return " ".join(config_value(item) for item in value)
    if value is None:
        raise TypeError("null is not a value (write '' for an empty one)")
    raise TypeError(f"a {type(value).__name__} is not a setting value")


# Secret settings whose names lack "pass": Valkey 8 calls masterauth primaryauth (and writes it
# so on CONFIG REWRITE), keeping masterauth as an alias.
_SECRET_NAMES = frozenset({"masterauth", "primaryauth"})


def is_secret_name(name: str) -> bool:
    """Settings whose values are never shown: requirepass, masterauth, primaryauth, auth-pass."""
    lowered = name.lower()
    return "pass" in lowered or lowered in _SECRET_NAMES


def shown(name: str, value):
    """`value`, or the mask for a secret setting."""
    return REDACTED if is_secret_name(name) and value is not None else value


def redact(value, secrets):
    """`value` with every non-empty string of `secrets` masked (lists and dicts walked)."""
    secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if not secrets:
        return value
    return _redact(value, secrets)


def _redact(value, secrets: list[str]):
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list | tuple):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _redact(item, secrets) for key, item in value.items()}
    return value
