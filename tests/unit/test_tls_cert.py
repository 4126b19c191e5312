"""golive.ops.tls_cert against a real TLS server on 127.0.0.1, without containers.

The module is imported the way Ansible ships it (ansible_collections.golive.ops...). A test CA
and its leaf certificates are made with cryptography from fixed keys and serials, valid around
the moment the tests start (OpenSSL checks the real time when it verifies a chain). A TLSServer
thread serves one of them, with its chain, on an ephemeral loopback port. main() runs with a
real AnsibleModule whose exit_json/fail_json raise, and a clock set to that moment, so that days
left are exact.
"""

import datetime
import socket
import ssl
import sys
import threading
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .conftest import collection_modules
from .conftest import run_main as run_module

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
NAME = "web1.golive.test"
NAMES = [NAME, "www.golive.test"]
CURRENT_SERIAL = 0x0C2D3E4F  # the renewed certificate, on disk
OLD_SERIAL = 0x0A1B  # the one it replaced
CA_SUBJECT = "CN=golive test CA,O=golive"


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    with collection_modules(
        tmp_path_factory, module="modules.tls_cert", utils="module_utils.certificate",
        http="module_utils.http",
    ) as modules:
        yield modules


@pytest.fixture(scope="module")
def tls_cert(collection):
    return collection.module


@pytest.fixture(scope="module")
def cert_utils(collection):
    """module_utils/certificate.py: reading a certificate, shared with golive.ops.checks."""
    return collection.utils


# --- certificates -----------------------------------------------------------------------------


def name(common_name, organization=None):
    """O then CN, as CAs order them (RFC 4514 strings list them the other way round)."""
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def certificate(subject, key, serial, not_before, not_after, issuer=None, names=(), ca=False):
    """A certificate for `key`, signed by issuer (cert, key), or self-signed without one."""
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(item) for item in names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*certs):
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, an unrelated CA, and leaf certificates, written as PEM files."""
    base = tmp_path_factory.mktemp("pki")
    ca_key = ec.derive_private_key(101, ec.SECP256R1())
    ca = certificate(
        name("golive test CA", "golive"), ca_key, 1, NOW - 400 * DAY, NOW + 400 * DAY, ca=True
    )
    other_key = ec.derive_private_key(202, ec.SECP256R1())
    other_ca = certificate(name("some other CA"), other_key, 2, NOW - DAY, NOW + 400 * DAY, ca=True)
    key = ec.derive_private_key(303, ec.SECP256R1())
    inter_key = ec.derive_private_key(404, ec.SECP256R1())
    inter = certificate(
        name("golive test intermediate", "golive"),
        inter_key,
        3,
        NOW - DAY,
        NOW + 300 * DAY,
        (ca, ca_key),
        ca=True,
    )
    leaf = {
        "via_intermediate": certificate(
            name(NAME), key, 0x1234, NOW - DAY, NOW + 60 * DAY, (inter, inter_key), NAMES
        ),
        "current": certificate(
            name(NAME), key, CURRENT_SERIAL, NOW - DAY, NOW + 90 * DAY, (ca, ca_key), NAMES
        ),
        "old": certificate(
            name(NAME), key, OLD_SERIAL, NOW - 80 * DAY, NOW + 9.5 * DAY, (ca, ca_key), NAMES
        ),
        "expired": certificate(
            name(NAME), key, 0x0E0F, NOW - 93 * DAY, NOW - 3 * DAY, (ca, ca_key), NAMES
        ),
        "cn_only": certificate(
            name("db1.golive.test"), key, 0x77, NOW - DAY, NOW + 60 * DAY, (ca, ca_key)
        ),
    }
    paths = SimpleNamespace(
        base=base, key=base / "privkey.pem", ca=base / "ca.pem", other_ca=base / "other-ca.pem"
    )
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.ca.write_bytes(pem(ca))
    paths.intermediate = base / "intermediate.pem"
    paths.intermediate.write_bytes(pem(inter))
    paths.other_ca.write_bytes(pem(other_ca))
    for label, cert in leaf.items():
        (base / f"{label}.pem").write_bytes(pem(cert))
        chain = (inter,) if label == "via_intermediate" else (ca,)
        (base / f"{label}-fullchain.pem").write_bytes(pem(cert, *chain))
    paths.leaf = leaf
    return paths


# --- a TLS server on 127.0.0.1 ----------------------------------------------------------------


class TLSServer:
    """Serves the chain set with serve() on an ephemeral loopback port, one connection at a time.

    With no chain set, it accepts and closes without a TLS handshake. `sni` records the server
    name of each handshake (None when the client sent none).
    """

    MAX_CONNECTIONS = 500

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.context = None
        self.sni = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def serve(self, chain_path, key_path):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain_path, key_path)
        context.sni_callback = lambda _sock, server_name, _context: self.sni.append(server_name)
        self.context = context

    def accept_loop(self):
        accepted = 0
        while not self.stop.is_set() and accepted < self.MAX_CONNECTIONS:
            try:
                conn, _peer = self.listener.accept()
            except TimeoutError:
                continue
            accepted += 1
            with conn:
                conn.settimeout(2)
                context = self.context
                if context is None:
                    continue
                try:
                    with context.wrap_socket(conn, server_side=True):
                        pass
                except OSError:
                    pass  # the client refused our chain, or hung up first

    def close(self):
        self.stop.set()
        self.thread.join(timeout=2)
        self.listener.close()


@pytest.fixture(scope="module")
def tls_server():
    server = TLSServer()
    yield server
    server.close()


@pytest.fixture
def server(tls_server, pki):
    """The loopback TLS server, serving the current certificate with its chain."""
    tls_server.serve(pki.base / "current-fullchain.pem", pki.key)
    tls_server.sni.clear()
    return tls_server


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


# --- running main() ---------------------------------------------------------------------------


def run_main(module, args, now=NOW):
    """main() of `module` with these task args and clock; returns (failed, result)."""
    return run_module(module, args, clock=lambda: now)


def check(tls_cert, server, path, now=NOW, **args):
    """main() checking `path` and the server's certificate; asserts the task did not fail."""
    failed, result = run_main(
        tls_cert, {"path": str(path), "served_port": server.port, **args}, now
    )
    assert not failed, result
    assert result["changed"] is False
    return result


def iso(moment):
    return moment.isoformat()


# --- pure functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0, "00"),
        (10, "0A"),
        (0x0A1B, "0A1B"),
        (0xABC, "0ABC"),
        (0x1F2E3D, "1F2E3D"),
        (2**159 - 1, "7F" + "FF" * 19),  # the largest serial RFC 5280 allows
        (-0x1A, "-1A"),
    ],
)
def test_serial_hex_prints_like_openssl(cert_utils, number, expected):
    assert cert_utils.serial_hex(number) == expected


@pytest.mark.parametrize(
    ("days", "text"), [(9.5, "9.5"), (14.0, "14"), (0.25, "0.25"), (0.0, "0"), (365.1, "365.1")]
)
def test_format_days(cert_utils, days, text):
    assert cert_utils.format_days(days) == text


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1:443"), ("::1", "[::1]:443"), ("web1", "web1:443")],
)
def test_format_address(tls_cert, host, address):
    assert tls_cert.format_address(host, 443) == address


def test_validity_of_cryptography_38_is_naive_utc(cert_utils):
    """cryptography 38 (Debian 12) has no *_utc properties; naive values are UTC."""
    old_style = SimpleNamespace(
        not_valid_before=datetime.datetime(2024, 5, 1, 8, 0),
        not_valid_after=datetime.datetime(2024, 7, 30, 8, 0),
    )
    assert cert_utils.validity(old_style) == (
        datetime.datetime(2024, 5, 1, 8, 0, tzinfo=datetime.UTC),
        datetime.datetime(2024, 7, 30, 8, 0, tzinfo=datetime.UTC),
    )


def test_first_pem_certificate_skips_a_key_and_keeps_the_leaf(cert_utils, pki):
    leaf = pki.leaf["current"]
    data = pki.key.read_bytes() + b"junk\n" + pem(leaf) + pki.ca.read_bytes()
    assert cert_utils.first_pem_certificate(data) == pem(leaf).strip()
    assert cert_utils.first_pem_certificate(pki.key.read_bytes()) is None


def test_names_fall_back_to_the_common_name(cert_utils, pki):
    described = cert_utils.describe(x509, pki.leaf["cn_only"], NOW)
    assert described["names"] == ["db1.golive.test"]
    assert cert_utils.describe(x509, pki.leaf["current"], NOW)["names"] == NAMES


# --- main() against the TLS server ------------------------------------------------------------


def test_ok_when_the_served_certificate_is_the_one_on_disk(tls_cert, pki, server, ansible_module):
    path = pki.base / "current-fullchain.pem"
    result = check(tls_cert, server, path, ca_path=str(pki.ca))
    serial = "0C2D3E4F"
    assert result["disk"] == {
        "path": str(path),
        "exists": True,
        "error": None,
        "serial": serial,
        "subject": f"CN={NAME}",
        "issuer": CA_SUBJECT,
        "names": NAMES,
        "not_before": iso(NOW - DAY),
        "not_after": iso(NOW + 90 * DAY),
        "days_left": 90.0,
    }
    assert result["served"] == {
        "address": f"127.0.0.1:{server.port}",
        "server_name": NAME,
        "reachable": True,
        "error": None,
        "serial": serial,
        "issuer": CA_SUBJECT,
        "names": NAMES,
        "not_after": iso(NOW + 90 * DAY),
        "days_left": 90.0,
        "chain_verified": True,
        "verify_error": None,
    }
    assert result["serial_match"] is True
    assert (result["status"], result["problems"]) == ("ok", [])
    assert result["msg"] == (
        f"certificate for {NAME} (serial {serial}) has 90 days left, served on "
        f"127.0.0.1:{server.port}, chain verified against {pki.ca}"
    )
    assert server.sni == [NAME, NAME]  # both connections sent the disk certificate's name


def test_without_ca_path_the_chain_is_not_verified(tls_cert, pki, server, ansible_module):
    result = check(tls_cert, server, pki.base / "current.pem")
    assert result["served"]["chain_verified"] is None
    assert result["served"]["verify_error"] is None
    assert result["status"] == "ok"
    assert server.sni == [NAME]  # one connection only


def test_old_certificate_served_is_a_failure_with_the_reload_hint(
    tls_cert, pki, server, ansible_module
):
    server.serve(pki.base / "old-fullchain.pem", pki.key)
    result = check(tls_cert, server, pki.base / "current-fullchain.pem", ca_path=str(pki.ca))
    assert result["served"]["serial"] == "0A1B"
    assert result["served"]["chain_verified"] is True
    assert result["serial_match"] is False
    assert result["status"] == "fail"
    # Days left are those of the served certificate.
    assert result["problems"] == [
        "the served serial 0A1B differs from the serial on disk 0C2D3E4F: the renewed "
        "certificate is not loaded (reload nginx)",
        f"served certificate for {NAME} (serial 0A1B) expires in 9.5 days, under fail_days 14",
    ]
    assert result["msg"] == "; ".join(result["problems"])


@pytest.mark.parametrize(
    ("chain", "reason"),
    [
        ("current-fullchain.pem", "self-signed certificate in certificate chain"),  # root sent
        ("current.pem", "unable to get local issuer certificate"),  # leaf only
    ],
)
def test_chain_from_another_ca_does_not_verify(
    tls_cert, pki, server, ansible_module, chain, reason
):
    server.serve(pki.base / chain, pki.key)
    result = check(tls_cert, server, pki.base / "current.pem", ca_path=str(pki.other_ca))
    served = result["served"]
    assert served["chain_verified"] is False
    assert served["verify_error"] == (
        f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason}"
    )
    assert result["serial_match"] is True
    assert result["status"] == "fail"
    assert result["problems"] == [
        f"served chain does not verify against {pki.other_ca}: {served['verify_error']}"
    ]


def test_a_bundle_holding_only_the_intermediate_verifies(tls_cert, pki, server, ansible_module):
    server.serve(pki.base / "via_intermediate-fullchain.pem", pki.key)
    result = check(
        tls_cert, server, pki.base / "via_intermediate-fullchain.pem", ca_path=str(pki.intermediate)
    )
    assert result["served"]["issuer"] == "CN=golive test intermediate,O=golive"
    assert result["served"]["chain_verified"] is True
    assert (result["status"], result["problems"]) == ("ok", [])


def test_hostname_mismatch_through_server_name(tls_cert, pki, server, ansible_module):
    result = check(
        tls_cert,
        server,
        pki.base / "current.pem",
        ca_path=str(pki.ca),
        server_name="shop.golive.test",
    )
    served = result["served"]
    assert served["server_name"] == "shop.golive.test"
    assert server.sni == ["shop.golive.test", "shop.golive.test"]
    assert served["chain_verified"] is False
    mismatch = "Hostname mismatch, certificate is not valid for 'shop.golive.test'"
    assert mismatch in served["verify_error"]
    assert result["status"] == "fail"
    assert result["problems"][0].startswith(f"served chain does not verify against {pki.ca}: ")


def test_unreadable_ca_bundle_is_a_failure(tls_cert, pki, server, ansible_module):
    missing = pki.base / "no-ca.pem"
    result = check(tls_cert, server, pki.base / "current.pem", ca_path=str(missing))
    assert result["served"]["chain_verified"] is None
    assert result["served"]["verify_error"].startswith(f"cannot load the CA bundle {missing}: ")
    assert result["status"] == "fail"
    assert result["problems"][0].startswith(f"cannot verify the served chain against {missing}: ")


@pytest.mark.parametrize(
    ("days_left", "status", "problem"),
    [
        (30.0, "ok", None),
        (29.99, "warn", "expires in 29.99 days, under warn_days 30"),
        (20.0, "warn", "expires in 20 days, under warn_days 30"),
        (14.0, "warn", "expires in 14 days, under warn_days 30"),  # exactly fail_days
        (13.99, "fail", "expires in 13.99 days, under fail_days 14"),
        (0.5, "fail", "expires in 0.5 days, under fail_days 14"),
    ],
)
def test_thresholds_on_the_served_certificate(
    tls_cert, pki, server, ansible_module, days_left, status, problem
):
    now = NOW + 90 * DAY - datetime.timedelta(days=days_left)
    result = check(tls_cert, server, pki.base / "current.pem", now=now)
    assert result["served"]["days_left"] == days_left
    assert result["status"] == status
    expected = (
        [] if problem is None else [f"served certificate for {NAME} (serial 0C2D3E4F) {problem}"]
    )
    assert result["problems"] == expected


def test_expired_certificate(tls_cert, pki, server, ansible_module):
    server.serve(pki.base / "expired-fullchain.pem", pki.key)
    result = check(tls_cert, server, pki.base / "expired-fullchain.pem", ca_path=str(pki.ca))
    assert result["served"]["days_left"] == -3.0
    assert result["served"]["chain_verified"] is False
    assert "certificate has expired" in result["served"]["verify_error"]
    assert result["serial_match"] is True
    assert result["status"] == "fail"
    assert result["problems"][1] == (
        f"served certificate for {NAME} (serial 0E0F) expired 3 days ago, on {iso(NOW - 3 * DAY)}"
    )


def test_missing_file_still_reports_what_is_served(
    tls_cert, cert_utils, pki, server, ansible_module
):
    missing = pki.base / "gone" / "fullchain.pem"
    result = check(tls_cert, server, missing)
    assert result["disk"] == {
        **cert_utils.disk_entry(str(missing)),
        "error": f"no certificate at {missing}",
    }
    assert result["disk"]["exists"] is False
    # No name to send: the server picks its default certificate.
    assert result["served"]["server_name"] is None
    assert result["served"]["serial"] == "0C2D3E4F"
    assert result["serial_match"] is None
    assert result["status"] == "fail"
    assert result["problems"] == [f"no certificate at {missing}"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not a certificate\n", "no PEM certificate in {path}"),
        (b"", "no PEM certificate in {path}"),
        (
            b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
            "cannot parse the certificate in {path}: ",
        ),
    ],
    ids=["text", "empty", "bad-der"],
)
def test_garbage_file_is_a_failure(
    tls_cert, pki, server, ansible_module, tmp_path, content, problem
):
    path = tmp_path / "fullchain.pem"
    path.write_bytes(content)
    result = check(tls_cert, server, path)
    disk = result["disk"]
    assert disk["exists"] is True
    assert disk["serial"] is None and disk["days_left"] is None
    assert disk["error"].startswith(problem.format(path=path))
    assert result["status"] == "fail"
    assert result["problems"] == [disk["error"]]


# certbot 4.0 (Debian 13) writes private keys as PKCS#8 (BEGIN PRIVATE KEY); certbot 2.1
# (Debian 12) wrote them in OpenSSL's traditional format (BEGIN EC/RSA PRIVATE KEY).
KEY_FORMATS = {
    "pkcs8": serialization.PrivateFormat.PKCS8,
    "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
}
KEY_LABELS = {
    ("ecdsa", "pkcs8"): "PRIVATE KEY",
    ("ecdsa", "traditional"): "EC PRIVATE KEY",
    ("rsa", "pkcs8"): "PRIVATE KEY",
    ("rsa", "traditional"): "RSA PRIVATE KEY",
}


def key_pem(key, key_format):
    return key.private_bytes(
        serialization.Encoding.PEM, KEY_FORMATS[key_format], serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(("kind", "key_format"), sorted(KEY_LABELS))
def test_first_pem_certificate_skips_a_key_of_either_format(
    cert_utils, pki, rsa_key, kind, key_format
):
    key = ec.derive_private_key(303, ec.SECP256R1()) if kind == "ecdsa" else rsa_key
    data = key_pem(key, key_format)
    assert data.startswith(f"-----BEGIN {KEY_LABELS[kind, key_format]}-----".encode())
    leaf = pem(pki.leaf["current"])
    assert cert_utils.first_pem_certificate(data + leaf) == leaf.strip()
    assert cert_utils.first_pem_certificate(data) is None


@pytest.mark.parametrize("key_format", sorted(KEY_FORMATS))
def test_key_of_either_format_served_and_before_the_certificate_in_the_file(
    tls_cert, pki, server, ansible_module, tmp_path, key_format
):
    key = tmp_path / "privkey.pem"
    key.write_bytes(key_pem(ec.derive_private_key(303, ec.SECP256R1()), key_format))
    server.serve(pki.base / "current-fullchain.pem", key)
    path = tmp_path / "combined.pem"
    path.write_bytes(key.read_bytes() + (pki.base / "current-fullchain.pem").read_bytes())
    result = check(tls_cert, server, path, ca_path=str(pki.ca))
    assert result["disk"]["serial"] == result["served"]["serial"] == "0C2D3E4F"
    assert result["serial_match"] is True and result["served"]["chain_verified"] is True
    assert (result["status"], result["problems"]) == ("ok", [])


def test_verify_flags_drop_strict_and_keep_partial_chain(tls_cert):
    flags = tls_cert.verify_flags(ssl.VERIFY_X509_TRUSTED_FIRST | ssl.VERIFY_X509_STRICT)
    assert flags & ssl.VERIFY_X509_TRUSTED_FIRST
    assert flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert not flags & ssl.VERIFY_X509_STRICT


def test_chain_verifies_with_python_3_13_defaults(
    tls_cert, pki, server, ansible_module, monkeypatch
):
    """Python 3.13 (Debian 13's) turns X509_STRICT on in create_default_context, 3.11 (Debian
    12's) does not. The test CA has no keyUsage, which strict mode refuses and nginx's clients
    accept: the module must give the same answer on both releases."""
    default = ssl.create_default_context

    def like_python_3_13(*args, **kwargs):
        context = default(*args, **kwargs)
        context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
        return context

    strict = like_python_3_13(cafile=str(pki.ca))
    with pytest.raises(ssl.SSLCertVerificationError, match="key usage"):
        tls_cert.handshake("127.0.0.1", server.port, strict, NAME, 5)
    monkeypatch.setattr(ssl, "create_default_context", like_python_3_13)
    result = check(tls_cert, server, pki.base / "current-fullchain.pem", ca_path=str(pki.ca))
    assert result["served"]["chain_verified"] is True, result["served"]["verify_error"]
    assert (result["status"], result["problems"]) == ("ok", [])


def test_https_checks_verify_the_same_on_python_3_13(collection, pki, monkeypatch):
    """module_utils/http.py (health gates, checks) builds its context like tls_cert: no
    X509_STRICT, which Python 3.13 would add, so a chain passes on both releases alike."""
    default = ssl.create_default_context

    def like_python_3_13(*args, **kwargs):
        context = default(*args, **kwargs)
        context.verify_flags |= ssl.VERIFY_X509_STRICT
        return context

    seen = []

    def opener(*handlers):
        seen.extend(h._context for h in handlers if hasattr(h, "_context"))
        raise RuntimeError("stop before the request")

    monkeypatch.setattr(ssl, "create_default_context", like_python_3_13)
    monkeypatch.setattr(collection.http.urllib.request, "build_opener", opener)
    with pytest.raises(RuntimeError):
        collection.http.get("https://web1.golive.test/health", 1, ca_path=str(pki.ca))
    assert len(seen) == 1 and not seen[0].verify_flags & ssl.VERIFY_X509_STRICT


def test_unreachable_endpoint_fails_and_thresholds_use_the_disk(
    tls_cert, pki, closed_port, ansible_module
):
    path = pki.base / "current.pem"
    now = NOW + 70 * DAY  # 20 days left
    failed, result = run_main(
        tls_cert, {"path": str(path), "served_port": closed_port, "ca_path": str(pki.ca)}, now
    )
    assert not failed
    address = f"127.0.0.1:{closed_port}"
    served = result["served"]
    assert served["reachable"] is False
    assert served["error"] == f"cannot connect to {address}: [Errno 111] Connection refused"
    assert served["chain_verified"] is None and served["serial"] is None
    assert result["serial_match"] is None
    assert result["status"] == "fail"
    assert result["problems"] == [
        served["error"],
        f"certificate at {path} for {NAME} (serial 0C2D3E4F) expires in 20 days, under "
        "warn_days 30",
    ]


def test_endpoint_without_tls_fails_the_handshake(tls_cert, pki, server, ansible_module):
    server.context = None  # accept, then close without a word
    result = check(tls_cert, server, pki.base / "current.pem")
    served = result["served"]
    assert served["reachable"] is False
    assert served["error"].startswith(f"TLS handshake with 127.0.0.1:{server.port} failed: ")
    assert "_ssl.c" not in served["error"]
    assert result["status"] == "fail"


@pytest.mark.parametrize("served_host", [None, ""])
def test_served_check_disabled(tls_cert, pki, ansible_module, served_host):
    path = pki.base / "current.pem"
    now = NOW + 80 * DAY  # 10 days left
    failed, result = run_main(
        tls_cert, {"path": str(path), "served_host": served_host, "ca_path": str(pki.ca)}, now
    )
    assert not failed
    assert result["served"] is None
    assert result["serial_match"] is None
    assert result["disk"]["days_left"] == 10.0
    assert result["status"] == "fail"
    assert result["problems"] == [
        f"certificate at {path} for {NAME} (serial 0C2D3E4F) expires in 10 days, under fail_days 14"
    ]


def test_fail_on_problem_fails_the_task_with_the_whole_result(
    tls_cert, pki, ansible_module, tmp_path
):
    missing = tmp_path / "cert.pem"
    args = {"path": str(missing), "served_host": None}
    failed, result = run_main(tls_cert, {**args, "fail_on_problem": True})
    assert failed
    assert result["msg"] == f"no certificate at {missing}"
    assert result["status"] == "fail" and result["changed"] is False
    assert result["disk"]["exists"] is False

    failed, reported = run_main(tls_cert, args)
    assert not failed
    assert reported == {key: value for key, value in result.items() if key != "failed"}


def test_fail_on_problem_does_not_fail_a_warning(tls_cert, pki, ansible_module):
    args = {"path": str(pki.base / "current.pem"), "served_host": None, "fail_on_problem": True}
    failed, result = run_main(tls_cert, args, NOW + 70 * DAY)
    assert not failed
    assert result["status"] == "warn"


def test_check_mode_runs_the_checks(tls_cert, pki, server, ansible_module):
    result = check(tls_cert, server, pki.base / "current.pem", _ansible_check_mode=True)
    assert result["served"]["serial"] == "0C2D3E4F"
    assert result["status"] == "ok"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"fail_days": 30, "warn_days": 14}, "fail_days (30) must be at most warn_days (14)"),
        ({"fail_days": 31}, "fail_days (31) must be at most warn_days (30)"),
        ({"fail_days": -1}, "fail_days must be 0 or more, not -1"),
        ({"served_port": 0}, "served_port must be 1 to 65535, not 0"),
        ({"connect_timeout": 0}, "connect_timeout must be more than 0, not 0.0"),
    ],
)
def test_bad_parameters_are_refused(tls_cert, pki, ansible_module, args, message):
    failed, result = run_main(tls_cert, {"path": str(pki.base / "current.pem"), **args})
    assert failed
    assert result == {"failed": True, "msg": message}


def test_missing_cryptography_is_a_clear_failure(tls_cert, pki, ansible_module, monkeypatch):
    for module_name in ("cryptography", "cryptography.x509"):
        monkeypatch.setitem(sys.modules, module_name, None)
    failed, result = run_main(tls_cert, {"path": str(pki.base / "current.pem")})
    assert failed
    assert "cryptography" in result["msg"]
    assert "apt install python3-cryptography" in result["msg"]
