"""Helpers of the app deploy drills (tests/e2e/test_app.py and tests/bench/deploy.py): build the
sample app's artifacts, run a bounded load through both web hosts' nginx from the control node,
and read what each web host runs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ("web1", "web2")
ADDRESSES = {"web1": "10.213.7.31", "web2": "10.213.7.32"}
APP = "golive-sample-app"
APP_ROOT = f"/srv/{APP}"
LOAD = ROOT / "tests" / "scripts" / "http_load.py"

# name -> build.py arguments
RELEASES = {
    "v1": ["--version", "1.0.0"],
    "v2": ["--version", "2.0.0"],
    "v2-degraded": ["--version", "2.4.0", "--schema", "2", "--fault", "degraded"],
    "v2-api5xx": ["--version", "2.2.0", "--schema", "2", "--fault", "api5xx"],
    "v2-web2-health": ["--version", "2.3.0", "--schema", "2", "--fault", "health",
                       "--fault-hosts", "web2"],
    "v3": ["--version", "3.0.0"],
}


def build(name: str, out: Path) -> Path:
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "app" / "build.py"),
                           *RELEASES[name], "--out", str(out)], capture_output=True, text=True,
                          check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"build {name} failed: {proc.stderr[-2000:]}")
    return Path(json.loads(proc.stdout.strip().splitlines()[-1])["artifact"])


def sh(host: str, script: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "exec", f"golive-lab-{host}", "bash", "-c", script],
                          capture_output=True, text=True, timeout=timeout, check=False)


def served(host: str) -> dict:
    """What HOST's nginx serves: {version, upstream port, current release, active colors,
    colors enabled at boot}."""
    out = sh(host, f"""
        curl -sk -o /dev/null -w '%{{http_code}} ' -D - https://127.0.0.1/health \
          | tr -d '\\r' | awk -F': ' 'tolower($1)=="x-app-version"{{print "version=" $2}}'
        grep -o 'server [^;]*' /etc/nginx/golive/upstream/active.conf | sed 's/server /upstream=/'
        echo "current=$(basename "$(readlink {APP_ROOT}/current)")"
        for c in blue green; do echo "$c=$(systemctl is-active {APP}@$c)"; done
        for c in blue green; do echo "boot_$c=$(systemctl is-enabled {APP}@$c)"; done
    """)
    state = dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)
    return {"version": state.get("version"), "upstream": state.get("upstream"),
            "current": state.get("current"),
            "active": sorted(c for c in ("blue", "green") if state.get(c) == "active"),
            "enabled": sorted(c for c in ("blue", "green")
                              if state.get(f"boot_{c}") == "enabled")}


def main_pids(host: str) -> set[int]:
    """The main PIDs of HOST's running app colors: a color (re)started since shows a new one."""
    out = sh(host, f"systemctl show -p MainPID --value {APP}@blue {APP}@green")
    return {int(pid) for pid in out.stdout.split() if pid.strip() not in ("", "0")}


def banner(host: str) -> str:
    """APP_BANNER as the release HOST's nginx serves answers it (GET /)."""
    out = sh(host, "curl -sk https://127.0.0.1/")
    return json.loads(out.stdout)["banner"]


def history(host: str = "web1") -> list[dict]:
    out = sh(host, f"cat {APP_ROOT}/.deploy/history.jsonl 2>/dev/null")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


class Load:
    """tests/scripts/http_load.py in the background against both web hosts; stop() returns
    its report. Bounded by SECONDS even if never stopped."""

    def __init__(self, rate: float = 60, seconds: float = 300, api_every: int = 64):
        self.stop_file = Path(tempfile.mkdtemp(prefix="golive-load-")) / "stop"
        targets = ",".join(f"https://{ADDRESSES[h]}" for h in WEB)
        self.proc = subprocess.Popen(
            [sys.executable, str(LOAD), "--targets", targets, "--rate", str(rate),
             "--seconds", str(seconds), "--api-every", str(api_every),
             "--stop-file", str(self.stop_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.started = time.monotonic()

    def stop(self) -> dict:
        self.stop_file.touch()
        try:
            out, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            out, err = self.proc.communicate(timeout=30)
        if self.proc.returncode != 0:
            raise RuntimeError(f"load generator failed: {err[-2000:]}")
        return json.loads(out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.stop_file.parent, ignore_errors=True)
