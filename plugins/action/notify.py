# SPDX-License-Identifier: Apache-2.0
"""golive.ops.notify: POST a deploy event to a webhook, and/or Telegram, from the control node.

The body is JSON {event, deployment, sent_at}; the header X-Golive-Signature carries
"sha256=" + HMAC-SHA256(secret, body) in hex, X-Golive-Event the event. A webhook that fails
(refused, timeout, non-2xx) is reported as a warning and never fails the task: a notifier must not
fail a deploy. The secret is never part of the result.

Telegram: sendMessage to the Bot API (telegram_api_url, configurable for tests) with a one-line
text. A 429 answer carries parameters.retry_after (Telegram's flood control): the call waits
that long (at most MAX_RETRY_AFTER_S) and tries again, up to telegram_retries times. The bot token
is part of the URL Telegram wants; it is never part of the result or a message."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from ansible.plugins.action import ActionBase

EVENTS = ("started", "succeeded", "failed", "rolled_back")
MAX_RETRY_AFTER_S = 30.0


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(event: str, deployment: dict, now: datetime.datetime | None = None) -> bytes:
    now = now or datetime.datetime.now(datetime.UTC)
    return json.dumps({"event": event, "deployment": deployment,
                       "sent_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
                      sort_keys=True, default=str).encode()


def post(url: str, secret: str, event: str, body: bytes, timeout: float) -> tuple[bool, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "golive.ops.notify",
        "X-Golive-Event": event, "X-Golive-Signature": signature(secret, body)})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            return True, f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", exc)
        return False, f"{type(reason).__name__}: {reason}"


def telegram_text(event: str, deployment: dict, environment: str = "") -> str:
    """One line per event: 'golive [prod] deploy succeeded: 1.2.0 (20261206-...) on web1, web2'."""
    where = f" [{environment}]" if environment else ""
    version = deployment.get("version") or "?"
    ident = deployment.get("id") or deployment.get("release") or ""
    hosts = ", ".join(deployment.get("hosts") or []) or "-"
    return (f"golive{where} deploy {event.replace('_', ' ')}: {version}"
            + (f" ({ident})" if ident else "") + f" on {hosts}")


def retry_after(body: bytes) -> float | None:
    """Telegram's parameters.retry_after of a 429 answer, in seconds; None when absent."""
    try:
        value = json.loads(body or b"{}").get("parameters", {}).get("retry_after")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def telegram(api_url: str, token: str, chat_id: int, text: str, timeout: float, retries: int,
             sleep=time.sleep, opener=None) -> tuple[bool, str]:
    """sendMessage, honouring 429 retry_after. (delivered, detail); the token never appears in
    the detail."""
    url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
    body = json.dumps({"chat_id": chat_id, "text": text,
                       "disable_web_page_preview": True}).encode()
    opener = opener or urllib.request.build_opener(urllib.request.ProxyHandler({}))
    waited = []
    for attempt in range(retries + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "golive.ops.notify"})
        try:
            with opener.open(request, timeout=timeout) as answer:
                note = f" after waiting {'+'.join(waited)} s (429)" if waited else ""
                return True, f"HTTP {answer.status}{note}"
        except urllib.error.HTTPError as exc:
            wait = retry_after(exc.read()) if exc.code == 429 else None
            if wait is None or attempt == retries:
                return False, f"HTTP {exc.code}" + (" (retries exhausted)" if wait else "")
            wait = min(wait, MAX_RETRY_AFTER_S)
            waited.append(f"{wait:g}")
            sleep(wait)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return False, f"{type(reason).__name__}: {reason}".replace(token, "***")
    return False, "not sent"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        url, secret, event = args.get("url") or "", args.get("secret") or "", args.get("event")
        if event not in EVENTS:
            return {**result, "failed": True,
                    "msg": f"notify: event must be one of {', '.join(EVENTS)} (got {event!r})"}
        token = args.get("telegram_bot_token") or ""
        if not url and not token:
            return {**result, "changed": False, "skipped": True,
                    "msg": "no webhook or Telegram configured"}
        deployment = args.get("deployment") or {}
        timeout = float(args.get("timeout", 5))
        result.update({"changed": False, "event": event})
        if url:
            body = body_of(event, deployment)
            delivered, detail = post(url, secret, event, body, timeout)
            result.update({"delivered": delivered, "detail": detail})
            if not delivered:
                result.setdefault("warnings", []).append(
                    f"webhook {event} not delivered ({detail}); the deploy goes on")
        if token:
            try:
                chat_id = int(args.get("telegram_chat_id"))
            except (TypeError, ValueError):
                chat_id = None
            if chat_id is None:
                delivered, detail = False, "telegram_chat_id is not an integer"
            else:
                delivered, detail = telegram(
                    args.get("telegram_api_url") or "https://api.telegram.org", token, chat_id,
                    telegram_text(event, deployment, args.get("environment") or ""), timeout,
                    int(args.get("telegram_retries", 2)))
            result.update({"telegram_delivered": delivered, "telegram_detail": detail})
            if not delivered:
                result.setdefault("warnings", []).append(
                    f"Telegram {event} not delivered ({detail}); the deploy goes on")
        return result
