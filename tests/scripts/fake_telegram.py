#!/usr/bin/env python3
"""A fake Telegram Bot API and a fake golive webhook, for tests only, on loopback.

Telegram: POST /bot<TOKEN>/sendMessage (JSON or form) is recorded and answered as Telegram
does ({"ok": true, "result": {message}}). With --throttle N, the first N calls are answered
429 {"ok": false, "parameters": {"retry_after": R}} first (Telegram's flood control).
Webhook: POST to any path is recorded with its X-Golive-Event and X-Golive-Signature headers,
and whether the signature is HMAC-SHA256(the key in --webhook-secret-file, body).
GET /messages on either port: everything recorded so far, as a JSON list, each with the time it
arrived (epoch seconds). Stdlib only; it binds 127.0.0.1 and nothing else.
Usage: fake_telegram.py [--telegram-port 18080] [--webhook-port 18081] [--webhook-secret-file F]
                        [--throttle N] [--retry-after R] [--record FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.parse

LOCK = threading.Lock()


class State:
    def __init__(self, throttle: int, retry_after: int, secret: str, record: str | None):
        self.throttle, self.retry_after = throttle, retry_after
        self.secret, self.record = secret, record
        self.messages: list[dict] = []

    def add(self, entry: dict) -> None:
        with LOCK:
            entry["received"] = time.time()
            self.messages.append(entry)
            if self.record:
                with open(self.record, "a") as f:
                    f.write(json.dumps(entry) + "\n")


def make_handler(state: State, kind: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, code: int, payload) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.startswith("/messages"):
                with LOCK:
                    self._answer(200, list(state.messages))
            else:
                self._answer(404, {"ok": False})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if kind == "webhook":
                signature = self.headers.get("X-Golive-Signature", "")
                digest = hmac.new(state.secret.encode(), raw, hashlib.sha256).hexdigest()
                expected = "sha256=" + digest
                state.add({"kind": "webhook", "path": self.path,
                           "event": self.headers.get("X-Golive-Event"),
                           "signature_ok": hmac.compare_digest(signature, expected),
                           "body": json.loads(raw or b"null")})
                self._answer(200, {"ok": True})
                return
            if not self.path.endswith("/sendMessage"):
                self._answer(404, {"ok": False, "description": "Not Found"})
                return
            if "json" in (self.headers.get("Content-Type") or ""):
                fields = json.loads(raw or b"{}")
            else:
                fields = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
            with LOCK:
                throttled = state.throttle > 0
                if throttled:
                    state.throttle -= 1
            state.add({"kind": "telegram", "path": self.path.split("/sendMessage")[0][:4] + "...",
                       "chat_id": fields.get("chat_id"), "text": fields.get("text"),
                       "throttled": throttled})
            if throttled:
                self._answer(429, {"ok": False, "error_code": 429,
                                   "description": "Too Many Requests: retry later",
                                   "parameters": {"retry_after": state.retry_after}})
                return
            self._answer(200, {"ok": True, "result": {
                "message_id": len(state.messages), "date": int(time.time()),
                "chat": {"id": int(fields.get("chat_id") or 0), "type": "group"},
                "text": fields.get("text")}})

        def log_message(self, *args):
            pass

    return Handler


def serve(port: int, handler) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--telegram-port", type=int, default=18080)
    parser.add_argument("--webhook-port", type=int, default=18081)
    parser.add_argument("--webhook-secret-file", default="",
                        help="file holding the webhook's HMAC key (kept off the command line)")
    parser.add_argument("--throttle", type=int, default=0)
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--record")
    parser.add_argument("--seconds", type=float, default=3600, help="stop after this long")
    args = parser.parse_args()
    secret = ""
    if args.webhook_secret_file:
        with open(args.webhook_secret_file) as f:
            secret = f.read().strip()
    state = State(args.throttle, args.retry_after, secret, args.record)
    serve(args.telegram_port, make_handler(state, "telegram"))
    if args.webhook_port:
        serve(args.webhook_port, make_handler(state, "webhook"))
    time.sleep(args.seconds)


if __name__ == "__main__":
    main()
