"""End-to-end: the real `golive` CLI against the podman lab.

The lab is brought up if needed; if this session created it, it is removed at the end, also on
failure. A lab that was already running (e.g. from `make demo`) is left as it was found.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLIVE = [sys.executable, "-m", "golive"]


def golive(*args, check=False, timeout=1800, cwd=ROOT, cmd=None):
    proc = subprocess.run([*(cmd or GOLIVE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy(), check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"golive {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


def as_json(proc):
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def lab():
    from golive import lab as lab_mod

    existed = bool(lab_mod.lab_containers())
    try:
        golive("lab", "up", check=True)
        yield lab_mod
    finally:
        if not existed:
            golive("lab", "down")
