"""X.509 helpers shared by golive.ops.tls_cert and golive.ops.checks: read a PEM certificate.

cryptography is imported on first use (load_x509()), not at import time, so that a module can
still start, parse its arguments and report a missing library as a clean task failure. The
functions take the imported x509 module as an argument and `now` as a value, so that they stay
pure and testable. Nothing here keeps state between calls.
"""

from __future__ import annotations

import datetime
import re
import ssl

from ansible.module_utils.basic import missing_required_lib

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL
)
SECONDS_PER_DAY = 86400


class MissingLibraryError(Exception):
    """cryptography cannot be imported on the target; str() is Ansible's usual install hint."""


def load_x509():
    """cryptography's x509 module, or MissingLibraryError naming the package to install."""
    try:
        from cryptography import x509
    except ImportError as exc:
        raise MissingLibraryError(
            missing_required_lib(
                "cryptography",
                reason="to read certificates (on Debian: apt install python3-cryptography)",
            )
        ) from exc
    return x509


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def serial_hex(number: int) -> str:
    """A serial as `openssl x509 -serial` prints it: upper-case hex in whole bytes, no colons."""
    digits = format(abs(number), "X")
    digits = digits.zfill(len(digits) + len(digits) % 2)
    return f"-{digits}" if number < 0 else digits


def format_days(days: float) -> str:
    """9.5 -> '9.5', 14.0 -> '14', 0.25 -> '0.25'."""
    return f"{days:.2f}".rstrip("0").rstrip(".")


def first_pem_certificate(data: bytes) -> bytes | None:
    """The first PEM CERTIFICATE block of a file (the leaf of a fullchain.pem), or None."""
    match = _PEM_CERTIFICATE.search(data)
    return match.group(0) if match else None


def validity(cert) -> tuple[datetime.datetime, datetime.datetime]:
    """(not before, not after) as aware UTC datetimes.

    cryptography 38 (Debian 12) only has the naive-UTC not_valid_before/after; 42 added the
    *_utc variants and deprecated the naive ones.
    """
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return (
        cert.not_valid_before.replace(tzinfo=datetime.UTC),
        cert.not_valid_after.replace(tzinfo=datetime.UTC),
    )


def cert_names(x509, cert) -> list[str]:
    """DNS names of the subjectAltName, else the subject's CN(s)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = []
    else:
        names = san.get_values_for_type(x509.DNSName)
    if names:
        return list(names)
    common_names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return [str(attr.value) for attr in common_names]


def days_until(moment: datetime.datetime, now: datetime.datetime) -> float:
    return round((moment - now).total_seconds() / SECONDS_PER_DAY, 2)


def parse_errors(x509) -> tuple:
    """What cryptography raises for a malformed certificate (extensions are parsed lazily)."""
    return (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


def describe(x509, cert, now: datetime.datetime) -> dict:
    """The fields of a parsed certificate; parse_errors() for a malformed one."""
    not_before, not_after = validity(cert)
    return {
        "serial": serial_hex(cert.serial_number),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "names": cert_names(x509, cert),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": days_until(not_after, now),
    }


def disk_entry(path: str) -> dict:
    """What is known of the certificate file at `path` before reading it."""
    return {
        "path": path,
        "exists": False,
        "error": None,
        "serial": None,
        "subject": None,
        "issuer": None,
        "names": [],
        "not_before": None,
        "not_after": None,
        "days_left": None,
    }


def disk_from_bytes(x509, path: str, data: bytes, now: datetime.datetime) -> dict:
    """disk_entry() of a file that exists and holds `data`."""
    entry = {**disk_entry(path), "exists": True}
    pem = first_pem_certificate(data)
    if pem is None:
        entry["error"] = f"no PEM certificate in {path}"
        return entry
    try:
        entry.update(describe(x509, x509.load_pem_x509_certificate(pem), now))
    except parse_errors(x509) as exc:
        entry["error"] = f"cannot parse the certificate in {path}: {exc}"
    return entry


def read_disk(x509, path: str, now: datetime.datetime) -> dict:
    """disk_entry() of the first certificate in the file at `path`; `error` says why none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return {**disk_entry(path), "error": f"no certificate at {path}"}
    except OSError as exc:
        return {**disk_entry(path), "exists": True, "error": f"cannot read {path}: {exc}"}
    return disk_from_bytes(x509, path, data, now)


def verify_flags(flags: ssl.VerifyFlags) -> ssl.VerifyFlags:
    """The flags of the chain check, the same whatever Python runs on the target.

    Trust what the bundle holds even when it is an intermediate (PARTIAL_CHAIN). No X509_STRICT:
    Python 3.13 (Debian 13) sets it by default, 3.11 (Debian 12) does not, and it refuses chains
    that nginx's clients accept (a CA without keyUsage, a leaf without authorityKeyIdentifier),
    so the same chain would verify on one release and not on the other.
    """
    return (flags | ssl.VERIFY_X509_PARTIAL_CHAIN) & ~ssl.VERIFY_X509_STRICT
