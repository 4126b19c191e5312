#!/usr/bin/env python3
"""The cost curve of a fleet: `golive converge --only common` and `golive check` on 9, 27 and
54 lab hosts (by default), over SSH as the lab connects, with the forks ansible.cfg sets.

For each size the bench adds containers (golive-scale-NN on the lab network, addresses
10.213.7.101 and up) to reach it, converges the new ones (reported as "first converge", it
includes apt), then times a no-op converge (changed must be 0) and `golive check`. At the
largest size it repeats the no-op converge with forks equal to the number of hosts and with the
free strategy, to choose both from figures. Prints wall time per size, the per-host marginal
cost between sizes and the growth (time ratio against host ratio), and what 200 hosts would cost
at the measured marginal rate. Uses its own state dir (key pair, known_hosts, runs) and removes
every container it created, also on failure. The lab itself may run beside it.
Usage:
    .venv/bin/python tests/bench/scale.py [--sizes 9,27,54]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from golive import lab  # noqa: E402

FIRST_ADDRESS = 101
PREFIX = "golive-scale-"


def write_inventory(directory: Path, size: int) -> Path:
    """SIZE hosts in a group of their own, reached as the lab's hosts are (its all.vars and
    group_vars/all)."""
    hosts = {f"s{i:02d}": {"lab_container": f"{PREFIX}{i:02d}",
                           "lab_address": f"10.213.7.{FIRST_ADDRESS + i - 1}"}
             for i in range(1, size + 1)}
    inventory = directory / f"scale-{size}"
    (inventory / "group_vars").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "inventories" / "lab" / "group_vars" / "all.yml",
                inventory / "group_vars" / "all.yml")
    lab_vars = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "vars": lab_vars["all"]["vars"], "children": {"scale": {"hosts": hosts}}}}))
    return inventory


def golive(inventory: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "golive", *args, "-i", str(inventory), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"golive {' '.join(args)} on {inventory.name} failed ({proc.returncode}):\n"
                 f"{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


def changed(document: dict) -> int:
    return sum(s["changed"] for s in document["hosts"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="9,27,54")
    sizes = sorted(int(s) for s in parser.parse_args().sizes.split(","))
    if sizes[-1] > 150:
        sys.exit("--sizes: at most 150 hosts (addresses 10.213.7.101-250)")
    work = Path(tempfile.mkdtemp(prefix="golive-scale-"))
    os.environ["GOLIVE_STATE_DIR"] = str(work / "state")  # its own keys, known_hosts, runs
    forks = subprocess.run([sys.executable, "-c", "import configparser,sys; c=configparser."
                            "ConfigParser(); c.read(sys.argv[1]); print(c['defaults']['forks'])",
                            str(ROOT / "ansible.cfg")], capture_output=True, text=True,
                           check=True).stdout.strip()
    rows = []
    try:
        for size in sizes:
            inventory = write_inventory(work, size)
            started = time.perf_counter()
            lab.up(inventory=inventory)
            boot = time.perf_counter() - started
            first, _ = golive(inventory, "converge", "--only", "common")
            noop, document = golive(inventory, "converge", "--only", "common")
            if changed(document):
                sys.exit(f"the second converge on {size} hosts changed {changed(document)}")
            check, _ = golive(inventory, "check")
            rows.append((size, boot, first, noop, check))
            print(f"{size:3d} hosts (forks {forks}): up {boot:5.1f} s, first converge "
                  f"{first:6.1f} s, no-op converge {noop:6.1f} s, golive check {check:5.1f} s",
                  flush=True)
        size, inventory = sizes[-1], work / f"scale-{sizes[-1]}"
        for label, env in ((f"forks {size}", {"ANSIBLE_FORKS": str(size)}),
                           ("strategy free", {"ANSIBLE_STRATEGY": "free"})):
            wall, document = golive(inventory, "converge", "--only", "common", env=env)
            print(f"{size:3d} hosts, {label}: no-op converge {wall:6.1f} s "
                  f"(changed {changed(document)})", flush=True)
    finally:
        containers = lab.lab_containers()
        mine = [c for c in containers if c.startswith(PREFIX)]
        if mine:
            lab.remove(*mine)
        shutil.rmtree(work, ignore_errors=True)
    for (n0, _, _, noop0, check0), (n1, _, _, noop1, check1) in itertools.pairwise(rows):
        print(f"{n0} -> {n1} hosts (x{n1 / n0:.1f}): no-op converge x{noop1 / noop0:.2f}, "
              f"{(noop1 - noop0) / (n1 - n0):.2f} s per added host; golive check "
              f"x{check1 / check0:.2f}, {(check1 - check0) / (n1 - n0):.2f} s per added host")
    if len(rows) >= 2:
        (n0, _, _, noop0, check0), (n1, _, _, noop1, check1) = rows[0], rows[-1]
        at_200 = [end + (end - start) / (n1 - n0) * (200 - n1)
                  for start, end in ((noop0, noop1), (check0, check1))]
        print(f"at that rate 200 hosts: no-op converge of common ~{at_200[0]:.0f} s, "
              f"golive check ~{at_200[1]:.0f} s")


if __name__ == "__main__":
    main()
