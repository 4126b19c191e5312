#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: tls_cert
short_description: Report the TLS certificate on disk and the one actually served
description:
  - Reads the certificate in O(path) (the first one of the file is the leaf) and, unless
    O(served_host) is null, the leaf certificate served on O(served_host):O(served_port) for
    O(server_name).
  - "Status C(fail) when: the file is missing or holds no readable certificate; the endpoint
    cannot be reached or does not complete a TLS handshake; with O(ca_path), the served chain
    does not verify (hostname included); the served serial differs from the serial on disk (a
    renewed certificate the web server has not loaded); or fewer than O(fail_days) days are left
    (an expired certificate included). Status C(warn) when fewer than O(warn_days) days are left.
    Else C(ok)."
  - Days left are those of the served certificate when it was read, else those of the one on
    disk.
  - Each finding is one line in RV(problems). By default the module only reports, so that a
    status command gets the data of every host; O(fail_on_problem=true) makes status C(fail)
    fail the task.
  - The module only reads, never reports C(changed), and runs normally in check mode.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - golive.ops.read_only
requirements:
  - cryptography >= 38 on the target (Debian package C(python3-cryptography))
options:
  path:
    description:
      - PEM file of the certificate on the target, such as C(cert.pem) or C(fullchain.pem).
      - The first C(CERTIFICATE) block is the leaf; anything else in the file (a private key, the
        chain) is ignored.
    type: path
    required: true
  served_host:
    description:
      - Host to connect to for the served certificate.
      - V(null) (or an empty string) does not check the served certificate; RV(served) and
        RV(serial_match) are then null and the thresholds apply to the certificate on disk.
    type: str
    default: 127.0.0.1
  served_port:
    description:
      - TLS port of O(served_host).
    type: int
    default: 443
  server_name:
    description:
      - Name sent as SNI, and the hostname the served certificate must match when O(ca_path)
        is set.
      - Defaults to the first name of the certificate on disk (see RV(disk.names)). When that is
        unknown too (no readable file), no SNI is sent and only the chain is verified.
    type: str
  ca_path:
    description:
      - CA bundle on the target to verify the served chain against, hostname included.
      - The bundle alone is trusted (not the system store); it may hold the root or an
        intermediate certificate.
      - Verified as OpenSSL verifies for nginx's clients, without the strict X.509 checks that
        Python 3.13 turns on by default, so the result is the same on Debian 12 and 13 targets.
      - Without it the chain is not verified and RV(served.chain_verified) is null.
    type: path
  warn_days:
    description:
      - Status C(warn) when fewer days than this are left.
    type: int
    default: 30
  fail_days:
    description:
      - Status C(fail) when fewer days than this are left. At most O(warn_days).
    type: int
    default: 14
  connect_timeout:
    description:
      - Seconds to wait for each connection and TLS handshake.
    type: float
    default: 5
  fail_on_problem:
    description:
      - Fail the task when the status is C(fail).
      - By default the task succeeds whatever the status, and reports it.
    type: bool
    default: false
notes:
  - Two connections are made to the endpoint, one without any verification to read the served
    leaf whatever its state, and one with O(ca_path) to verify it. Both send O(server_name).
  - Thresholds compare RV(disk.days_left) or RV(served.days_left) as returned, rounded to two
    decimals; exactly O(fail_days) days left is C(warn), not C(fail).
seealso:
  - module: community.crypto.x509_certificate_info
  - module: community.crypto.get_certificate
"""

EXAMPLES = r"""
- name: Read the certificate on disk and the one nginx serves
  golive.ops.tls_cert:
    path: /etc/golive/tls/web.example.org/fullchain.pem
    ca_path: /etc/golive/acme-ca.pem
  register: __nginx_tls_cert

- name: After a reload, nginx serves the renewed certificate
  golive.ops.tls_cert:
    path: /etc/golive/tls/web.example.org/fullchain.pem
    server_name: web.example.org
    ca_path: /etc/golive/acme-ca.pem
    fail_on_problem: true

- name: Only the file (no listener on this host)
  golive.ops.tls_cert:
    path: /etc/golive/tls/db.example.org/cert.pem
    served_host: null
    warn_days: 21
    fail_days: 7
"""

RETURN = r"""
disk:
  description: The leaf certificate of O(path).
  returned: always
  type: dict
  contains:
    path:
      description: O(path).
      type: str
    exists:
      description: Whether the file exists.
      type: bool
    error:
      description: Why the file gives no certificate (as in RV(problems)); null when it does.
      type: str
    serial:
      description: Serial number in upper-case hex without colons, as C(openssl x509 -serial)
        prints it; null when unknown.
      type: str
    subject:
      description: Subject, as an RFC 4514 string.
      type: str
    issuer:
      description: Issuer, as an RFC 4514 string.
      type: str
    names:
      description: DNS names of the subjectAltName extension, or the subject's CN when it has
        none; empty when unknown.
      type: list
      elements: str
    not_before:
      description: Start of validity, ISO 8601 in UTC.
      type: str
    not_after:
      description: End of validity, ISO 8601 in UTC.
      type: str
    days_left:
      description: Days until RV(disk.not_after), two decimals; negative once expired.
      type: float
  sample:
    path: /etc/golive/tls/web.example.org/fullchain.pem
    exists: true
    error: null
    serial: 04D2A1B3C4
    subject: CN=web.example.org
    issuer: CN=golive ACME intermediate,O=golive
    names: [web.example.org, www.example.org]
    not_before: "2024-05-01T08:00:00+00:00"
    not_after: "2024-07-30T08:00:00+00:00"
    days_left: 61.25
served:
  description: The leaf certificate served on O(served_host):O(served_port); null when
    O(served_host) is null.
  returned: always
  type: dict
  contains:
    address:
      description: The endpoint, as V(host:port) (V([ipv6]:port) for an IPv6 address).
      type: str
    server_name:
      description: The SNI sent and hostname checked; null when none was known.
      type: str
    reachable:
      description: Whether a TLS handshake completed and a certificate was read.
      type: bool
    error:
      description: Why the certificate could not be read (as in RV(problems)); null when it was.
      type: str
    serial:
      description: Serial number, as RV(disk.serial).
      type: str
    issuer:
      description: Issuer, as an RFC 4514 string.
      type: str
    names:
      description: As RV(disk.names).
      type: list
      elements: str
    not_after:
      description: End of validity, ISO 8601 in UTC.
      type: str
    days_left:
      description: Days until RV(served.not_after), two decimals; negative once expired.
      type: float
    chain_verified:
      description: Whether the served chain verifies against O(ca_path) for RV(served.server_name);
        null without O(ca_path), when the endpoint is unreachable, or when the bundle cannot be
        loaded.
      type: bool
    verify_error:
      description: OpenSSL's reason when the chain does not verify (or why it could not be
        verified); null otherwise.
      type: str
  sample:
    address: 127.0.0.1:443
    server_name: web.example.org
    reachable: true
    error: null
    serial: 04D2A1B3C4
    issuer: CN=golive ACME intermediate,O=golive
    names: [web.example.org, www.example.org]
    not_after: "2024-07-30T08:00:00+00:00"
    days_left: 61.25
    chain_verified: true
    verify_error: null
serial_match:
  description: Whether the served serial is the serial on disk; null when the served certificate
    was not checked or not read, or the one on disk is unknown.
  returned: always
  type: bool
  sample: true
status:
  description: V(fail), V(warn) or V(ok), as described above.
  returned: always
  type: str
  sample: warn
problems:
  description: One line per finding, C(fail) and C(warn) ones alike, naming the certificate and
    the number.
  returned: always
  type: list
  elements: str
  sample:
    - "the served serial 0A1B differs from the serial on disk 0C2D: the renewed certificate is
      not loaded (reload nginx)"
    - "served certificate for web.example.org (serial 0A1B) expires in 9.5 days, under fail_days
      14"
msg:
  description: One-line summary; the problems joined with C(; ) when there are any.
  returned: always
  type: str
  sample: certificate for web.example.org (serial 04D2A1B3C4) has 61.25 days left, served on
    127.0.0.1:443, chain verified against /etc/golive/acme-ca.pem
"""

import datetime
import re
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.golive.ops.plugins.module_utils.certificate import (
    MissingLibraryError,
    describe,
    format_days,
    load_x509,
    parse_errors,
    read_disk,
    utc_now,
    verify_flags,
)

STATUSES = ("ok", "warn", "fail")
_SSL_SOURCE = re.compile(r"\s*\(_ssl\.c:\d+\)$")  # where in CPython the error was raised


def argument_spec() -> dict:
    return {
        "path": {"type": "path", "required": True},
        "served_host": {"type": "str", "default": "127.0.0.1"},
        "served_port": {"type": "int", "default": 443},
        "server_name": {"type": "str"},
        "ca_path": {"type": "path"},
        "warn_days": {"type": "int", "default": 30},
        "fail_days": {"type": "int", "default": 14},
        "connect_timeout": {"type": "float", "default": 5.0},
        "fail_on_problem": {"type": "bool", "default": False},
    }


def param_problems(params: dict) -> list[str]:
    """What argument_spec cannot say: ranges and the order of the thresholds."""
    problems = [
        f"{key} must be 0 or more, not {params[key]}"
        for key in ("warn_days", "fail_days")
        if params[key] < 0
    ]
    if params["fail_days"] > params["warn_days"]:
        problems.append(
            f"fail_days ({params['fail_days']}) must be at most warn_days ({params['warn_days']})"
        )
    if params["served_host"] and not 0 < params["served_port"] < 65536:
        problems.append(f"served_port must be 1 to 65535, not {params['served_port']}")
    if params["connect_timeout"] <= 0:
        problems.append(f"connect_timeout must be more than 0, not {params['connect_timeout']}")
    if not params["path"]:
        problems.append("path must name the certificate file")
    return problems


# --- pure functions ---------------------------------------------------------------------------


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ssl_error_text(exc: BaseException) -> str:
    """The error's text without CPython's source location; the class name when it has none."""
    return _SSL_SOURCE.sub("", str(exc)).strip() or type(exc).__name__


def served_entry(host: str, port: int, server_name: str | None) -> dict:
    return {
        "address": format_address(host, port),
        "server_name": server_name,
        "reachable": False,
        "error": None,
        "serial": None,
        "issuer": None,
        "names": [],
        "not_after": None,
        "days_left": None,
        "chain_verified": None,
        "verify_error": None,
    }


def served_from_der(x509, entry: dict, der: bytes, now: datetime.datetime) -> dict:
    """`entry` completed with the served leaf (DER), or with why it cannot be parsed."""
    entry = {**entry, "reachable": True}
    try:
        details = describe(x509, x509.load_der_x509_certificate(der), now)
    except parse_errors(x509) as exc:
        entry["error"] = f"cannot parse the certificate served on {entry['address']}: {exc}"
        return entry
    for key in ("serial", "issuer", "names", "not_after", "days_left"):
        entry[key] = details[key]
    return entry


def label(entry: dict, what: str) -> str:
    name = entry["names"][0] if entry["names"] else "(no name)"
    return f"{what} for {name} (serial {entry['serial']})"


def expiry_finding(entry: dict, what: str, warn_days: int, fail_days: int):
    """(status, problem or None) of the days left of a certificate."""
    days = entry["days_left"]
    who = label(entry, what)
    if days < 0:
        return "fail", f"{who} expired {format_days(-days)} days ago, on {entry['not_after']}"
    if days < fail_days:
        return "fail", f"{who} expires in {format_days(days)} days, under fail_days {fail_days}"
    if days < warn_days:
        return "warn", f"{who} expires in {format_days(days)} days, under warn_days {warn_days}"
    return "ok", None


def evaluate(disk: dict, served: dict | None, params: dict) -> dict:
    """serial_match, status, problems and msg of what was read."""
    findings = []  # (status, problem)
    if disk["error"] is not None:
        findings.append(("fail", disk["error"]))
    serial_match = None
    if served is not None:
        if served["error"] is not None:
            findings.append(("fail", served["error"]))
        if served["chain_verified"] is False:
            findings.append(
                (
                    "fail",
                    f"served chain does not verify against {params['ca_path']}: "
                    f"{served['verify_error']}",
                )
            )
        elif served["verify_error"] is not None:
            findings.append(
                (
                    "fail",
                    f"cannot verify the served chain against {params['ca_path']}: "
                    f"{served['verify_error']}",
                )
            )
        if served["serial"] is not None and disk["serial"] is not None:
            serial_match = served["serial"] == disk["serial"]
            if not serial_match:
                findings.append(
                    (
                        "fail",
                        f"the served serial {served['serial']} differs from the serial on disk "
                        f"{disk['serial']}: the renewed certificate is not loaded (reload nginx)",
                    )
                )

    if served is not None and served["days_left"] is not None:
        timed, what = served, "served certificate"
    elif disk["days_left"] is not None:
        timed, what = disk, f"certificate at {disk['path']}"
    else:
        timed = None
    if timed is not None:
        finding = expiry_finding(timed, what, params["warn_days"], params["fail_days"])
        if finding[1] is not None:
            findings.append(finding)

    status = max((level for level, _problem in findings), key=STATUSES.index, default="ok")
    problems = [problem for _level, problem in findings]
    if problems:
        msg = "; ".join(problems)
    elif timed is None:  # unreachable through a problem, so only for completeness
        msg = "no certificate read"
    else:
        name = label(timed, "certificate")
        msg = f"{name} has {format_days(timed['days_left'])} days left"
        if served is not None:
            msg += f", served on {served['address']}"
            if served["chain_verified"]:
                msg += f", chain verified against {params['ca_path']}"
    return {"serial_match": serial_match, "status": status, "problems": problems, "msg": msg}


# --- I/O --------------------------------------------------------------------------------------


class EndpointError(Exception):
    """The endpoint gave no certificate; str() is the whole sentence."""


def handshake(host: str, port: int, context: ssl.SSLContext, server_name, timeout: float):
    """Connect, complete a TLS handshake and return the served leaf in DER.

    EndpointError when the TCP connection fails; ssl.SSLError (and OSError) from the handshake
    are raised as they are.
    """
    address = format_address(host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise EndpointError(f"cannot connect to {address}: {ssl_error_text(exc)}") from None
    with sock, context.wrap_socket(sock, server_hostname=server_name or None) as tls:
        return tls.getpeercert(binary_form=True)


def fetch_leaf(host: str, port: int, server_name, timeout: float) -> bytes:
    """The served leaf in DER, read without any verification; EndpointError when none."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        der = handshake(host, port, context, server_name, timeout)
    except EndpointError:
        raise
    except OSError as exc:  # ssl.SSLError included
        raise EndpointError(
            f"TLS handshake with {format_address(host, port)} failed: {ssl_error_text(exc)}"
        ) from None
    if not der:
        raise EndpointError(f"{format_address(host, port)} served no certificate")
    return der


def verify_chain(host: str, port: int, server_name, ca_path: str, timeout: float):
    """(chain_verified, verify_error) of a handshake verifying against ca_path only."""
    try:
        context = ssl.create_default_context(cafile=ca_path)
    except OSError as exc:  # ssl.SSLError included: no certificate in the bundle
        return None, f"cannot load the CA bundle {ca_path}: {ssl_error_text(exc)}"
    context.verify_flags = verify_flags(context.verify_flags)
    context.check_hostname = bool(server_name)
    try:
        handshake(host, port, context, server_name, timeout)
    except EndpointError as exc:
        return None, str(exc)
    except ssl.SSLError as exc:  # SSLCertVerificationError, or an alert during the handshake
        return False, ssl_error_text(exc)
    except OSError as exc:
        return None, f"handshake with {format_address(host, port)} failed: {ssl_error_text(exc)}"
    return True, None


def read_served(x509, params: dict, server_name, now: datetime.datetime) -> dict:
    host, port, timeout = params["served_host"], params["served_port"], params["connect_timeout"]
    entry = served_entry(host, port, server_name)
    try:
        der = fetch_leaf(host, port, server_name, timeout)
    except EndpointError as exc:
        return {**entry, "error": str(exc)}
    entry = served_from_der(x509, entry, der, now)
    if params["ca_path"]:
        entry["chain_verified"], entry["verify_error"] = verify_chain(
            host, port, server_name, params["ca_path"], timeout
        )
    return entry


def run(params: dict, x509, now: datetime.datetime) -> dict:
    """Read the certificate on disk and the served one; the module's result data."""
    disk = read_disk(x509, params["path"], now)
    served = None
    if params["served_host"]:  # null arrives as '' (the option has a default)
        server_name = params["server_name"] or (disk["names"][0] if disk["names"] else None)
        served = read_served(x509, params, server_name, now)
    return {"changed": False, "disk": disk, "served": served, **evaluate(disk, served, params)}


def main(clock=utc_now):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problems = param_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        x509 = load_x509()
    except MissingLibraryError as exc:
        module.fail_json(msg=str(exc))

    result = run(params, x509, clock())
    if params["fail_on_problem"] and result["status"] == "fail":
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
