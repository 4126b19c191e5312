"""The cache tier's failover drill against the lab, shared by tests/e2e/test_cache.py and
tests/bench/cache_failover.py.

A drill: a bounded writer (tests/scripts/redis_probe.py) runs on a cache host that is not the
primary and asks the sentinels where to write, as an application does; the primary's container
is killed (SIGKILL to everything in it: a lost host, its Sentinel included); the sentinels elect
a new primary; the old host is started again and must come back as a replica. Every timestamp is
taken on this machine's clock, which the containers share.

The lab runs Valkey on Debian 13 hosts and Redis on Debian 12 ones (redis_flavor): the CLI, units
and files are read from what golive.ops.redis published on each host (flavor()), never named.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import yaml

from golive import lab

from .conftest import container, podman

ROOT = Path(__file__).resolve().parents[2]
CACHE = ("cache1", "cache2", "cache3")
PROBE = "/usr/local/bin/golive-redis-probe"
MASTER_NAME = "golive"
FLAVOR_FACT = "/etc/ansible/facts.d/golive_redis.fact"


def lab_var(name: str):
    return yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "cache.yml")
                          .read_text())[name]


def app_password() -> str:
    return next(u["password"] for u in lab_var("redis_users") if u["name"] == "app")


def addresses() -> dict[str, str]:
    return {h.name: h.address for h in lab.lab_hosts() if h.name in CACHE}


def sentinels() -> str:
    return ",".join(f"{a}:26379" for a in addresses().values())


def app_env() -> dict[str, str]:
    return {"REDIS_USER": "app", "REDIS_PASSWORD": app_password(),
            "SENTINEL_PASSWORD": lab_var("redis_sentinel_password")}


def install_probe() -> None:
    for host in CACHE:
        proc = podman("cp", str(ROOT / "tests" / "scripts" / "redis_probe.py"),
                      f"{container(host)}:{PROBE}")
        assert proc.returncode == 0, proc.stderr


@functools.cache
def flavor(host: str) -> dict:
    """What golive.ops.redis installed on HOST (its local fact ansible_local.golive_redis):
    flavor, server_unit, sentinel_unit, cli, conf, sentinel_conf, port, sentinel_port."""
    proc = podman("exec", container(host), "cat", FLAVOR_FACT, timeout=15)
    assert proc.returncode == 0, f"{host} has no {FLAVOR_FACT} (converge the cache tier first)"
    return json.loads(proc.stdout)


def cli(host: str, *args: str, port: int = 6379) -> str:
    """The flavor's CLI (redis-cli or valkey-cli) in HOST against its own server (admin) or
    Sentinel (port 26379). valkey-cli reads REDISCLI_AUTH too."""
    if port == 26379:
        env, user = {"REDISCLI_AUTH": lab_var("redis_sentinel_password")}, []
    else:
        env, user = {"REDISCLI_AUTH": lab_var("redis_admin_password")}, ["--user", "golive-admin"]
    proc = podman("exec", container(host), flavor(host)["cli"], "--no-auth-warning", "-p",
                  str(port), *user, *args, env=env, timeout=15)
    return proc.stdout.strip() if proc.returncode == 0 else f"ERROR {proc.stderr.strip()}"


def master_seen_by(host: str) -> str | None:
    """The inventory name of the master HOST's sentinel names, or None."""
    answer = cli(host, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME, port=26379)
    lines = answer.splitlines()
    by_address = {a: h for h, a in addresses().items()}
    return by_address.get(lines[0]) if lines else None


def current_master() -> str:
    seen = {h: master_seen_by(h) for h in CACHE}
    named = {m for m in seen.values() if m}
    assert len(named) == 1, f"the sentinels do not agree: {seen}"
    return named.pop()


def replication(host: str) -> dict[str, str]:
    text = cli(host, "INFO", "replication")
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def main_pids(host: str) -> dict[str, str]:
    """{server_unit: pid, sentinel_unit: pid} of HOST's flavor."""
    units = [flavor(host)["server_unit"], flavor(host)["sentinel_unit"]]
    out = podman("exec", container(host), "systemctl", "show", "-p", "MainPID",
                 "--value", *units).stdout.split()
    return dict(zip(units, out, strict=True))


def wait_healthy(timeout: float = 90) -> str:
    """Until the sentinels agree, every sentinel sees 2 others and the master 2 online replicas
    with their links up; returns the master. Bounded by TIMEOUT."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            master = current_master()
            info = replication(master)
            replicas = [h for h in CACHE if h != master]
            links = [replication(h).get("master_link_status") for h in replicas]
            quorum = [cli(h, "SENTINEL", "CKQUORUM", MASTER_NAME, port=26379) for h in CACHE]
            last = (master, info.get("connected_slaves"), links, quorum)
            if (info.get("role") == "master" and info.get("connected_slaves") == "2"
                    and links == ["up", "up"] and all(q.startswith("OK 3 usable") for q in quorum)):
                return master
        except AssertionError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise AssertionError(f"the cache tier did not settle in {timeout} s: {last}")


def drill(prefix: str, writer_seconds: float = 45, before_kill: float = 3) -> dict:
    """One failover drill; returns its figures. The killed host is always started again."""
    old = wait_healthy()
    writer_host = next(h for h in CACHE if h != old)
    acked_file = f"/tmp/{prefix}.acked"
    writer = podman("exec", container(writer_host), "python3", PROBE, "--sentinels", sentinels(),
                    "writer", "--seconds", str(writer_seconds), "--prefix", prefix,
                    "--acked", acked_file, env=app_env(), popen=True)
    result: dict = {"old_master": old, "writer_host": writer_host}
    try:
        time.sleep(before_kill)
        t_kill = time.time()
        killed = podman("kill", container(old))
        assert killed.returncode == 0, killed.stderr
        deadline = time.monotonic() + 30
        new = None
        while time.monotonic() < deadline:
            new = master_seen_by(writer_host)
            if new and new != old:
                break
            time.sleep(0.1)
        result["sentinels_switched_s"] = round(time.time() - t_kill, 3)
        result["new_master"] = new
    finally:
        podman("start", container(old))
    t_start = time.time()
    lab.wait_booted([h for h in lab.lab_hosts() if h.name == old])
    deadline = time.monotonic() + 60
    info: dict[str, str] = {}
    while time.monotonic() < deadline:
        info = replication(old)
        if info.get("role") == "slave" and info.get("master_link_status") == "up":
            break
        time.sleep(0.2)
    result["old_master_rejoined_s"] = round(time.time() - t_start, 3)
    result["old_master_role"] = info.get("role")
    result["old_master_link"] = info.get("master_link_status")
    out, err = writer.communicate(timeout=writer_seconds + 60)
    assert writer.returncode == 0, err
    summary = json.loads(out)
    new_address = addresses().get(result.get("new_master") or "", "")
    first_ok = (summary["masters"].get(f"{new_address}:6379") or {}).get("first_ok")
    result["kill_to_first_write_s"] = round(first_ok - t_kill, 3) if first_ok else None
    result.update(writes=summary["attempts"], acked=summary["acked"], errors=summary["errors"],
                  longest_gap_s=summary["longest_gap_s"])
    check = podman("exec", container(writer_host), "python3", PROBE, "--sentinels", sentinels(),
                   "check", "--acked", acked_file, env=app_env())
    assert check.returncode == 0, check.stderr
    checked = json.loads(check.stdout)
    result.update(acked_checked=checked["acked"], acked_missing=checked["missing"],
                  checked_on=checked["master"])
    return result
