#!/usr/bin/python3
"""A bounded HTTPS request loop, run inside a lab host: URL SECONDS RATE.

One new connection per request (as separate clients make them), certificate not verified (the
loop also runs while a placeholder is served), RATE requests per second at most, for SECONDS at
most, or until SIGTERM. Prints one JSON object: ok, failed, failed_after_first_ok, rate, and the
first failures after the first success.
"""

import json
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request


def main(url: str, seconds: float, rate: float) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    start = time.monotonic()
    ok = failed = failed_after = 0
    first_ok = None
    errors = []
    n = 0
    while not stop and time.monotonic() - start < seconds:
        n += 1
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as answer:
                good = 200 <= answer.status < 500
        except urllib.error.HTTPError as exc:
            good, detail = exc.code < 500, f"HTTP {exc.code}"
        except (OSError, urllib.error.URLError) as exc:
            good, detail = False, type(exc).__name__ + ": " + str(exc)[:120]
        now = time.monotonic() - start
        if good:
            ok += 1
            first_ok = now if first_ok is None else first_ok
        else:
            failed += 1
            if first_ok is not None:
                failed_after += 1
                if len(errors) < 5:
                    errors.append({"t": round(now, 3), "error": detail})
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    print(json.dumps({"ok": ok, "failed": failed, "failed_after_first_ok": failed_after,
                      "first_ok_s": None if first_ok is None else round(first_ok, 3),
                      "seconds": round(elapsed, 3), "rate": round((ok + failed) / elapsed, 1),
                      "errors_after_first_ok": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
