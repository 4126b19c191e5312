# SPDX-License-Identifier: Apache-2.0
"""HTTP GET for golive's modules: no proxy, redirects reported rather than followed, TLS
verification optional, the answer returned whatever its status (checks, health gates, the
deploy watch window)."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from ansible_collections.golive.ops.plugins.module_utils.certificate import verify_flags

BODY_LIMIT = 1024**2


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to report, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


class CALoadError(Exception):
    """The CA bundle given for verification cannot be loaded."""


def get(url: str, timeout: float, ca_path: str | None = None, validate_certs: bool = True,
        headers: dict | None = None, agent: str = "golive.ops", method: str = "GET",
        body: bytes | None = None):
    """(status code, response headers, body up to BODY_LIMIT + 1 bytes) of a GET (or METHOD
    with BODY, for the deploy's smoke tests).

    Raises CALoadError for an unusable CA bundle and the urllib/socket errors of a request that
    got no answer (see error_text)."""
    handlers = [urllib.request.ProxyHandler({}), _NoRedirect()]
    if url.lower().startswith("https:"):
        if validate_certs:
            try:
                context = ssl.create_default_context(cafile=ca_path)
                context.verify_flags = verify_flags(context.verify_flags)
            except (OSError, ValueError) as exc:
                raise CALoadError(f"cannot load the CA bundle {ca_path}: {exc}") from None
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        url, data=body, method=method,
        headers={"Accept": "application/json", "User-Agent": agent,
                 **({"Content-Type": "application/json"} if body is not None else {}),
                 **(headers or {})})
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:  # 3xx, 4xx, 5xx: still an answer
        response = exc
    with response:
        return response.code, dict(response.headers.items()), response.read(BODY_LIMIT + 1)


def error_text(exc: BaseException, url: str, timeout: float, method: str = "GET") -> str:
    """One line saying why a request (a GET unless METHOD) got no answer."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"no answer from {url} within {timeout:g} s"
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return f"{method} {url} failed: {text}"
