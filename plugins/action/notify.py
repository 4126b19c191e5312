# SPDX-License-Identifier: Apache-2.0
"""golive.ops.notify: POST a deploy event to a webhook from the control node.

The body is JSON {event, deployment, sent_at}; the header X-Golive-Signature carries
"sha256=" + HMAC-SHA256(secret, body) in hex, X-Golive-Event the event. A webhook that fails
(refused, timeout, non-2xx) is reported as a warning and never fails the task: a notifier must not
fail a deploy. The secret is never part of the result."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import urllib.error
import urllib.request

from ansible.plugins.action import ActionBase

EVENTS = ("started", "succeeded", "failed", "rolled_back")


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
        if not url:
            return {**result, "changed": False, "skipped": True, "msg": "no webhook configured"}
        body = body_of(event, args.get("deployment") or {})
        delivered, detail = post(url, secret, event, body, float(args.get("timeout", 5)))
        result.update({"changed": False, "delivered": delivered, "event": event,
                       "detail": detail})
        if not delivered:
            result.setdefault("warnings", []).append(
                f"webhook {event} not delivered ({detail}); the deploy goes on")
        return result
