#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Ansible modules open with DOCUMENTATION, EXAMPLES and RETURN; the imports follow them.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: backup_verify
short_description: Prove a pgBackRest backup by restoring it into a scratch instance and measuring
description:
  - Runs on the pgBackRest repo host, as root, in timed stages, each reported with its status,
    duration and message, and stops at the first failed stage (cleanup always runs).
  - "C(info): C(pgbackrest info): the newest backup of each type, its age and error flag. Fails
    when there is no backup, the newest has an error flag, or it is older than
    O(max_backup_age_hours)."
  - "C(verify): C(pgbackrest verify) (checksums of backup files and WAL), cross-checked against
    the repository listing (C(pgbackrest repo-ls)): every backup C(info) knows must have its
    directory and manifest, which C(verify) of 2.45 does not check (pgbackrest#2723)."
  - "C(archive): with O(canary), waits until the WAL holding the canary (written on the primary
    just before) is in the repository. The wait from the canary's commit is the measured RPO:
    what a restore made now would lose at most."
  - "C(restore): C(pgbackrest restore) into O(scratch_dir) with C(--archive-mode=off) (the
    scratch instance never archives into the repository or creates a timeline there), from a
    configuration of its own that has only the repository's options, so the production hosts
    are never contacted. Targets: the end of the archived WAL (V(latest)), a time (PITR) or a
    named restore point."
  - "C(recover): starts the scratch instance on O(scratch_port), listening on a private unix
    socket only, and waits until recovery ends and it is promoted. C(restore) + C(recover) is
    the measured RTO."
  - "C(data): the canary row (O(canary)) is present (for target V(latest)); O(row_counts) match
    exactly."
  - "C(integrity): C(pg_amcheck --all --heapallindexed --install-missing) on every database,
    then a clean stop and C(pg_checksums --check)."
  - "C(cleanup): stops the scratch instance and removes O(scratch_dir), always."
  - Writes the result as JSON to O(result_file) and Prometheus textfile metrics to
    O(metrics_file), each atomically (a temporary file renamed).
  - Before anything runs it refuses a scratch directory that is, contains or lies inside a
    production data directory (O(production_data_dirs)) or the repository, and a scratch port
    that is a production port or already in use.
  - In check mode nothing runs; the plan (stages and commands) is returned.
version_added: 0.1.0
author: golive maintainers
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only plans; nothing is restored.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - pgBackRest and the PostgreSQL server binaries (of the backed-up major version) on the host.
options:
  stanza:
    description: The stanza to verify.
    type: str
    default: main
  config:
    description: pgBackRest configuration of the repo host; only its C(repo*) options are used.
    type: path
    default: /etc/pgbackrest/pgbackrest.conf
  pg_version:
    description:
      - PostgreSQL major version of the backed-up cluster (selects the binaries in
        C(/usr/lib/postgresql/MAJOR/bin)).
      - Empty (the default) reads it from the restored copy's C(PG_VERSION), so the major always
        matches the backup.
    type: str
    default: ""
  target:
    description:
      - V(latest) recovers to the end of the archived WAL; V(time) to O(target_value), a
        timestamp with time zone; V(name) to the restore point named O(target_value).
    type: str
    choices: [latest, time, name]
    default: latest
  target_value:
    description: The time or restore point name for O(target=time) or O(target=name).
    type: str
  scratch_dir:
    description: Data directory of the scratch instance; must not exist or be empty.
    type: path
    default: /var/lib/golive-restore-test/data
  scratch_port:
    description: Port of the scratch instance (unix socket only, never TCP).
    type: int
    default: 54329
  production_data_dirs:
    description: Data directories of the production clusters the scratch directory must stay
      clear of.
    type: list
    elements: path
    default: []
  production_ports:
    description: Ports of the production clusters the scratch port must differ from.
    type: list
    elements: int
    default: [5432]
  max_backup_age_hours:
    description: The C(info) stage fails when the newest backup is older.
    type: float
    default: 26
  canary:
    description:
      - The canary written on the primary just before the test, as returned by the playbook,
        with keys C(id), C(database), C(table), C(lsn) (of the commit) and C(written_at) (epoch
        seconds).
    type: dict
  canary_wait_s:
    description: How long the C(archive) stage waits for the canary's WAL (archive_timeout + 30).
    type: float
    default: 90
  row_counts:
    description: "Exact row counts expected in the restored copy, as C({database: {table: count}})."
    type: dict
    default: {}
  recovery_timeout_s:
    description: The longest the C(recover) stage waits for recovery to end.
    type: float
    default: 900
  after_restore_command:
    description:
      - A test hook, run as postgres (C(sh -c)) after recovery and before the data and
        integrity stages, with E(SCRATCH_DIR), E(SCRATCH_PORT), E(SCRATCH_SOCKET),
        E(SCRATCH_LOGDIR) (a directory it may write to) and E(PG_BIN) set; the fault drills use
        it to corrupt the restored copy. Never set in production.
    type: str
  result_file:
    description: Where the JSON result is written (also read by C(golive status)); empty for none.
    type: path
    default: /var/lib/golive/status/restore_test.json
  metrics_file:
    description: Prometheus textfile (node exporter textfile collector); empty for none.
    type: path
    default: /var/lib/golive/metrics/golive_backup_verify.prom
notes:
  - The stages C(restore) to C(integrity) run as the C(postgres) user (C(runuser)).
  - RPO is measured, not assumed; it does not include a host failure's detection time.
seealso:
  - name: pgBackRest user guide, restore
    description: Restore options, C(--archive-mode=off).
    link: https://pgbackrest.org/command.html#command-restore
"""

EXAMPLES = r"""
- name: Restore test of the newest backup
  golive.ops.backup_verify:
    stanza: main
    production_data_dirs: [/var/lib/postgresql/15/main]
    canary: "{{ canary }}"
    row_counts: {app: {pgbench_accounts: 1000000}}
  register: restore_test

- name: Point-in-time, the state before a deletion
  golive.ops.backup_verify:
    target: time
    target_value: "2026-11-22 10:15:00+00"
"""

RETURN = r"""
ok:
  description: True when every stage passed.
  returned: always
  type: bool
failed_stage:
  description: The first stage that failed; null when all passed.
  returned: always
  type: str
  sample: verify
stages:
  description: Each stage that ran, in order, with C(name), C(status) (V(ok) or V(fail)),
    C(seconds) and C(message).
  returned: always
  type: list
  elements: dict
backup:
  description: The newest backup (C(label), C(type), C(stop) epoch, C(age_seconds), C(size)).
  returned: always
  type: dict
rto_seconds:
  description: restore + recover durations; null when they did not both pass.
  returned: always
  type: float
rpo_seconds:
  description: Measured RPO (canary commit to its WAL in the repository); null without a canary.
  returned: always
  type: float
restore_bytes:
  description: Size of the restored data directory.
  returned: always
  type: int
throughput_bytes_per_second:
  description: restore_bytes / restore duration.
  returned: always
  type: float
amcheck_errors:
  description: Lines of corruption pg_amcheck reported (0 when clean).
  returned: always
  type: int
plan:
  description: In check mode, the stages and commands that would run.
  returned: check mode
  type: list
  elements: str
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

STAGES = ("info", "verify", "archive", "restore", "recover", "data", "integrity", "cleanup")
SEGMENT_BYTES = 16 * 1024 * 1024


class StageFailed(Exception):
    """The stage failed with this message (and, optionally, figures for the result)."""


# --- pure functions ------------------------------------------------------------------------
def inside(path: str, other: str) -> bool:
    """PATH is OTHER or lies inside it (both normalised, symbolic links resolved)."""
    a, b = os.path.realpath(path), os.path.realpath(other)
    return a == b or a.startswith(b.rstrip("/") + "/")


def scratch_problems(scratch_dir: str, port: int, production_dirs: list, production_ports: list,
                     repo_path: str | None, port_in_use) -> list[str]:
    """Why the scratch directory or port would touch production; [] when they do not."""
    problems = []
    if os.path.realpath(scratch_dir) in ("/", "/var", "/var/lib", "/srv", "/home", "/tmp"):
        problems.append(f"scratch_dir {scratch_dir} is a system directory")
    for prod in production_dirs:
        if inside(scratch_dir, prod) or inside(prod, scratch_dir):
            problems.append(f"scratch_dir {scratch_dir} collides with the production data "
                            f"directory {prod}")
    if repo_path and (inside(scratch_dir, repo_path) or inside(repo_path, scratch_dir)):
        problems.append(f"scratch_dir {scratch_dir} collides with the repository {repo_path}")
    if not 1024 <= port <= 65535:
        problems.append(f"scratch_port {port} must be 1024-65535")
    elif port in production_ports:
        problems.append(f"scratch_port {port} is a production port")
    elif port_in_use(port):
        problems.append(f"scratch_port {port} is already in use on this host")
    return problems


def repo_options(config_text: str) -> list[str]:
    """The repo*/cipher lines of the [global] section of a pgbackrest.conf, for a scratch
    configuration that knows the repository and nothing else."""
    lines, section = [], None
    for raw in config_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "global" and "=" in line:
            key = line.split("=", 1)[0].strip()
            if key.startswith("repo"):
                lines.append(line)
    return lines


def scratch_config(repo_lines: list[str], stanza: str, scratch_dir: str, port: int,
                   socket_dir: str, log_dir: str) -> str:
    return "\n".join([
        "[global]", *repo_lines, "log-level-console=warn", "log-level-file=info",
        f"log-path={log_dir}", f"lock-path={log_dir}", "",
        f"[{stanza}]", f"pg1-path={scratch_dir}", f"pg1-port={port}",
        f"pg1-socket-path={socket_dir}", "",
    ])


def newest_backups(info: list, stanza: str) -> tuple[dict | None, dict]:
    """(the stanza's info entry, {type: newest backup}) from `pgbackrest info --output=json`."""
    entry = next((s for s in info if s.get("name") == stanza), None)
    newest = {}
    for backup in (entry or {}).get("backup", []):
        newest[backup.get("type")] = backup
    return entry, newest


def info_verdict(entry: dict | None, newest: dict, now: float, max_age_h: float) -> str:
    """The info stage's message; raises StageFailed when it fails."""
    if entry is None:
        raise StageFailed("the stanza is not in the repository")
    backups = entry.get("backup", [])
    if not backups:
        raise StageFailed(f"no backup in the repository ({entry.get('status', {}).get('message')})")
    last = backups[-1]
    age_h = (now - last["timestamp"]["stop"]) / 3600
    parts = [f"{t} {b['label']} ({(now - b['timestamp']['stop']) / 3600:.1f} h old)"
             for t, b in sorted(newest.items())]
    if last.get("error"):
        raise StageFailed(f"the newest backup {last['label']} has errors (page checksums)")
    if age_h > max_age_h:
        raise StageFailed(f"the newest backup {last['label']} is {age_h:.1f} h old, older than "
                          f"max_backup_age_hours {max_age_h:g}: backups have stopped")
    return "newest: " + ", ".join(parts)


def verify_problems(verify_rc: int, verify_out: str, labels: list[str], listed: set[str],
                    manifests: dict[str, bool]) -> list[str]:
    """What verify and the repository listing say is wrong."""
    problems = []
    if verify_rc != 0:
        problems.append("pgbackrest verify failed: " + " | ".join(
            line.strip() for line in verify_out.splitlines() if line.strip())[:600])
    else:
        for line in verify_out.splitlines():
            match = re.search(r"(checksum invalid|missing|size invalid|other):\s*([1-9][0-9]*)",
                              line)
            if match and f"pgbackrest verify: {line.strip()}" not in problems:
                problems.append(f"pgbackrest verify: {line.strip()}")
    for label in labels:
        if label not in listed:
            problems.append(f"backup {label} is in the backup list but its directory is "
                            "missing from the repository")
        elif not manifests.get(label, False):
            problems.append(f"backup {label} has no backup.manifest in the repository")
    return problems


def lsn_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def segment_of(lsn: str, timeline: int) -> str:
    """The WAL segment file holding LSN (16 MiB segments)."""
    value = lsn_int(lsn)
    seg = value // SEGMENT_BYTES
    return f"{timeline:08X}{seg // 0x100:08X}{seg % 0x100:08X}"


def wal_max_covers(wal_max: str | None, segment: str) -> bool:
    """The repository's newest archived segment is at or past SEGMENT (same timeline)."""
    return bool(wal_max) and len(wal_max) == 24 and wal_max[8:] >= segment[8:] \
        and wal_max[:8] >= segment[:8]


def replay_gap(target: str, replayed: str, wal_max: str | None) -> str | None:
    """Why recovery to the end of the archive (target latest) stopped short of it: a WAL
    segment in between is missing or unreadable. None when it did not, or for other targets."""
    if target != "latest" or not wal_max or not replayed:
        return None
    segment = segment_of(replayed, int(wal_max[:8], 16))
    if wal_max[8:] > segment[8:]:
        return (f"recovery ended at {replayed} (segment {segment}), but the archive reaches "
                f"{wal_max}: a WAL segment in between is missing or unreadable")
    return None


def controldata_settings(text: str) -> dict[str, str]:
    """The settings a hot standby / recovering copy must match, from pg_controldata."""
    wanted = {
        "max_connections setting": "max_connections",
        "max_worker_processes setting": "max_worker_processes",
        "max_wal_senders setting": "max_wal_senders",
        "max_prepared_xacts setting": "max_prepared_transactions",
        "max_locks_per_xact setting": "max_locks_per_transaction",
    }
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in wanted and value.strip():
            out[wanted[key.strip()]] = value.strip()
    return out


def scratch_postgresql_conf(port: int, socket_dir: str, settings: dict[str, str]) -> str:
    lines = [
        "# golive restore test: a scratch instance, unix socket only, never archives",
        f"port = {port}",
        "listen_addresses = ''",
        f"unix_socket_directories = '{socket_dir}'",
        "archive_mode = off",
        "hot_standby = on",
        "shared_buffers = 128MB",
        "max_wal_size = 1GB",
        "logging_collector = off",
        "log_min_messages = warning",
    ]
    lines += [f"{name} = {value}" for name, value in sorted(settings.items())]
    return "\n".join(lines) + "\n"


def amcheck_errors(output: str) -> int:
    """Corruption lines in pg_amcheck's output (it prints one block per problem)."""
    return sum(1 for line in output.splitlines()
               if re.match(r"^(heap table|btree index|index)\s", line.strip()) or
               "corrupt" in line.lower() or line.startswith("pg_amcheck: error"))


def metrics_text(stanza: str, result: dict, now: float) -> str:
    """Prometheus textfile exposition of a result."""
    label = f'stanza="{stanza}"'
    rows = [
        ("golive_backup_verify_success", "gauge", "1 when every stage passed",
         [(label, 1 if result["ok"] else 0)]),
        ("golive_backup_verify_last_run_timestamp_seconds", "gauge", "when the test ended",
         [(label, round(now, 3))]),
        ("golive_backup_verify_stage_ok", "gauge", "1 when the stage passed",
         [(f'{label},stage="{s["name"]}"', 1 if s["status"] == "ok" else 0)
          for s in result["stages"]]),
        ("golive_backup_verify_stage_duration_seconds", "gauge", "duration of each stage",
         [(f'{label},stage="{s["name"]}"', s["seconds"]) for s in result["stages"]]),
    ]
    for name, help_text, value in (
        ("golive_backup_verify_rto_seconds", "restore + recovery time", result["rto_seconds"]),
        ("golive_backup_verify_rpo_seconds", "measured RPO: canary commit to its WAL archived",
         result["rpo_seconds"]),
        ("golive_backup_verify_restore_bytes", "bytes restored", result["restore_bytes"]),
        ("golive_backup_verify_restore_throughput_bytes_per_second", "restore throughput",
         result["throughput_bytes_per_second"]),
        ("golive_backup_verify_amcheck_errors", "corruption reported by pg_amcheck",
         result["amcheck_errors"]),
    ):
        if value is not None:
            rows.append((name, "gauge", help_text, [(label, value)]))
    backup = result.get("backup") or {}
    if backup.get("age_seconds") is not None:
        rows.append(("golive_backup_age_seconds", "gauge", "age of the newest backup",
                     [(f'{label},type="{backup.get("type")}"', backup["age_seconds"])]))
    out = []
    for name, kind, help_text, samples in rows:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out += [f"{name}{{{labels}}} {value}" for labels, value in samples]
    return "\n".join(out) + "\n"


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".golive-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def port_in_use(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno == 98:  # EADDRINUSE
                    return True
    return os.path.exists(f"/var/run/postgresql/.s.PGSQL.{port}")


def dir_bytes(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


# --- the run ---------------------------------------------------------------------------------
class Run:
    """One restore test: the stages, their timings, and the scratch instance's state."""

    def __init__(self, module, params):
        self.module = module
        self.p = params
        self.stages: list[dict] = []
        self.figures = {"rto_seconds": None, "rpo_seconds": None, "restore_bytes": None,
                        "throughput_bytes_per_second": None, "amcheck_errors": None}
        self.backup: dict = {}
        self.entry: dict | None = None  # the stanza in `pgbackrest info`, read by the info stage
        self.work = os.path.dirname(params["scratch_dir"].rstrip("/")) or "/"
        self.socket_dir = os.path.join(self.work, "socket")
        self.conf_dir = os.path.join(self.work, "pgbackrest")
        self.started = False
        self.wal_max: str | None = None  # the archive's newest segment when the restore began

    @property
    def bin(self) -> str:
        """The server binaries of the backup's major: pg_version, else the restored PG_VERSION."""
        major = self.p["pg_version"]
        if not major:
            try:
                with open(os.path.join(self.p["scratch_dir"], "PG_VERSION")) as handle:
                    major = handle.read().strip()
            except OSError as exc:
                raise StageFailed(f"no PG_VERSION in {self.p['scratch_dir']}: {exc}") from exc
        path = f"/usr/lib/postgresql/{major}/bin"
        if not os.path.isdir(path):
            raise StageFailed(f"the backup is of PostgreSQL {major}, but {path} is missing on "
                              f"this host: install postgresql-{major} (a converge of the backup "
                              "tier does)")
        return path

    # commands -------------------------------------------------------------------------------
    def run(self, argv, as_postgres=True, env=None, timeout=None, check=False):
        cmd = (["runuser", "-u", "postgres", "--"] if as_postgres and os.geteuid() == 0
               else []) + list(argv)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                                  **(env or {})}, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise StageFailed(f"{shlex.join(argv)} did not finish in {timeout:g} s") from exc
        if check and proc.returncode != 0:
            raise StageFailed(f"{shlex.join(argv[:3])}... failed ({proc.returncode}): "
                              + tail(proc.stderr or proc.stdout))
        return proc

    def pgbackrest(self, *args, scratch=False, **kw):
        config = ([f"--config={self.conf_dir}/pgbackrest.conf",
                   f"--config-include-path={self.conf_dir}/conf.d"] if scratch
                  else [f"--config={self.p['config']}"])
        return self.run(["pgbackrest", *config, f"--stanza={self.p['stanza']}", *args], **kw)

    def psql(self, sql, database="postgres", check=True):
        return self.run([f"{self.bin}/psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                         "-h", self.socket_dir, "-p", str(self.p["scratch_port"]),
                         "-d", database, "-c", sql], check=check, timeout=300)

    def info(self):
        proc = self.pgbackrest("--output=json", "info", check=True, timeout=120)
        return json.loads(proc.stdout)

    # stages -----------------------------------------------------------------------------------
    def stage(self, name, function):
        start = time.monotonic()
        try:
            message = function()
            status = "ok"
        except StageFailed as exc:
            message, status = str(exc), "fail"
        seconds = round(time.monotonic() - start, 3)
        self.stages.append({"name": name, "status": status, "seconds": seconds,
                            "message": message})
        return status == "ok"

    def do_info(self):
        entry, newest = newest_backups(self.info(), self.p["stanza"])
        self.entry = entry
        now = time.time()
        if entry and entry.get("backup"):
            last = entry["backup"][-1]
            self.backup = {"label": last["label"], "type": last["type"],
                           "stop": last["timestamp"]["stop"],
                           "age_seconds": round(now - last["timestamp"]["stop"], 1),
                           "size": last.get("info", {}).get("size"),
                           "error": bool(last.get("error"))}
        return info_verdict(entry, newest, now, self.p["max_backup_age_hours"])

    def do_verify(self):
        labels = [b["label"] for b in (self.entry or {}).get("backup", [])]
        proc = self.pgbackrest("--output=text", "--log-level-console=info", "verify",
                               timeout=3600)
        out = proc.stdout + proc.stderr
        listing = self.pgbackrest("--output=json", "repo-ls",
                                  f"backup/{self.p['stanza']}", check=True, timeout=120)
        listed = {name for name, item in json.loads(listing.stdout).items()
                  if item.get("type") == "path"}
        manifests = {}
        for label in labels:
            if label in listed:
                files = self.pgbackrest("--output=json", "repo-ls",
                                        f"backup/{self.p['stanza']}/{label}", timeout=120)
                manifests[label] = files.returncode == 0 and "backup.manifest" in json.loads(
                    files.stdout or "{}")
        problems = verify_problems(proc.returncode, out, labels, listed, manifests)
        if problems:
            raise StageFailed("; ".join(problems))
        return f"{len(labels)} backup(s) and their WAL verified; every backup directory present"

    def do_archive(self):
        canary = self.p["canary"]
        started = time.time()
        deadline = time.monotonic() + self.p["canary_wait_s"]
        segment = None
        while True:
            entry, _ = newest_backups(self.info(), self.p["stanza"])
            archive = ((entry or {}).get("archive") or [{}])[-1]
            wal_max = archive.get("max")
            if segment is None:
                timeline = int((wal_max or "00000001")[:8], 16)
                segment = segment_of(canary["lsn"], timeline)
            if wal_max_covers(wal_max, segment):
                rpo = round(time.time() - float(canary["written_at"]), 1)
                self.figures["rpo_seconds"] = rpo
                return (f"canary {canary['id']} (LSN {canary['lsn']}, segment {segment}) "
                        f"archived {rpo} s after its commit")
            if time.monotonic() > deadline:
                raise StageFailed(
                    f"the WAL segment {segment} holding canary {canary['id']} was not archived "
                    f"within {self.p['canary_wait_s']:g} s (newest archived: {wal_max}); "
                    f"waited {time.time() - started:.0f} s")
            time.sleep(0.5)

    def prepare_scratch(self):
        scratch = self.p["scratch_dir"]
        if os.path.isdir(scratch) and os.listdir(scratch):
            raise StageFailed(f"scratch_dir {scratch} is not empty (an earlier test left it?)")
        for path, mode in ((self.work, 0o755), (scratch, 0o700), (self.socket_dir, 0o700),
                           (self.conf_dir, 0o700), (os.path.join(self.conf_dir, "conf.d"), 0o700)):
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)
            if path != self.work:
                shutil.chown(path, "postgres", "postgres")
        with open(self.p["config"]) as handle:
            repo_lines = repo_options(handle.read())
        conf = os.path.join(self.conf_dir, "pgbackrest.conf")
        write_atomic(conf, scratch_config(repo_lines, self.p["stanza"], scratch,
                                          self.p["scratch_port"], self.socket_dir,
                                          self.conf_dir), mode=0o600)
        shutil.chown(conf, "postgres", "postgres")

    def do_restore(self):
        self.prepare_scratch()
        entry, _ = newest_backups(self.info(), self.p["stanza"])
        self.wal_max = (((entry or {}).get("archive") or [{}])[-1]).get("max")
        args = ["--archive-mode=off", "--log-level-console=warn"]
        if self.p["target"] == "time":
            args += ["--type=time", f"--target={self.p['target_value']}",
                     "--target-action=promote"]
        elif self.p["target"] == "name":
            args += ["--type=name", f"--target={self.p['target_value']}",
                     "--target-action=promote"]
        self.pgbackrest(*args, "restore", scratch=True, check=True, timeout=6 * 3600)
        restored = dir_bytes(self.p["scratch_dir"])
        self.figures["restore_bytes"] = restored
        control = self.run([f"{self.bin}/pg_controldata", self.p["scratch_dir"]], check=True)
        conf = scratch_postgresql_conf(self.p["scratch_port"], self.socket_dir,
                                       controldata_settings(control.stdout))
        path = os.path.join(self.p["scratch_dir"], "postgresql.conf")
        write_atomic(path, conf, mode=0o600)
        shutil.chown(path, "postgres", "postgres")
        hba = os.path.join(self.p["scratch_dir"], "pg_hba.conf")
        write_atomic(hba, "local all postgres peer\n", mode=0o600)
        shutil.chown(hba, "postgres", "postgres")
        return f"{restored} bytes restored into {self.p['scratch_dir']}"

    def do_recover(self):
        log = os.path.join(self.conf_dir, "scratch.log")
        self.started = True
        start = self.run([f"{self.bin}/pg_ctl", "-D", self.p["scratch_dir"], "-l", log, "-w",
                          "-t", str(int(self.p["recovery_timeout_s"])), "start"],
                         timeout=self.p["recovery_timeout_s"] + 30)
        if start.returncode != 0:
            raise StageFailed("the scratch instance did not start: "
                              + tail(read(log) or start.stderr or start.stdout))
        deadline = time.monotonic() + self.p["recovery_timeout_s"]
        while True:
            proc = self.psql("SELECT pg_is_in_recovery()", check=False)
            if proc.returncode == 0 and proc.stdout.strip() == "f":
                break
            if proc.returncode != 0 and not self.alive():
                raise StageFailed("recovery stopped: " + tail(read(log)))
            if time.monotonic() > deadline:
                raise StageFailed(f"still recovering after {self.p['recovery_timeout_s']:g} s")
            time.sleep(0.5)
        timeline = self.psql("SELECT timeline_id FROM pg_control_checkpoint()").stdout.strip()
        replayed = self.psql("SELECT pg_last_wal_replay_lsn()").stdout.strip()
        gap = replay_gap(self.p["target"], replayed, self.wal_max)
        if gap:
            raise StageFailed(gap)
        return (f"recovered to {replayed} and promoted (timeline {timeline} in the scratch copy "
                "only)")

    def alive(self):
        return self.run([f"{self.bin}/pg_ctl", "-D", self.p["scratch_dir"], "status"]) \
            .returncode == 0

    def do_hook(self):
        proc = self.run(["sh", "-c", self.p["after_restore_command"]], timeout=600, env={
            "SCRATCH_DIR": self.p["scratch_dir"], "SCRATCH_PORT": str(self.p["scratch_port"]),
            "SCRATCH_SOCKET": self.socket_dir, "SCRATCH_LOGDIR": self.conf_dir,
            "PG_BIN": self.bin})
        if proc.returncode != 0:
            raise StageFailed("after_restore_command failed: " + tail(proc.stderr))
        return "after_restore_command ran"

    def do_data(self):
        found = []
        canary = self.p["canary"]
        if canary and self.p["target"] == "latest":
            sql = (f"SELECT count(*) FROM {quote_table(canary['table'])} "
                   f"WHERE id = '{canary['id']}'")
            proc = self.psql(sql, database=canary["database"], check=False)
            if proc.returncode != 0 or proc.stdout.strip() != "1":
                raise StageFailed(f"canary {canary['id']} not found in the restored copy "
                                  f"({tail(proc.stderr) or proc.stdout.strip()})")
            found.append(f"canary {canary['id']} found")
        wrong = []
        for database, tables in sorted(self.p["row_counts"].items()):
            for table, expected in sorted(tables.items()):
                proc = self.psql(f"SELECT count(*) FROM {quote_table(table)}",
                                 database=database, check=False)
                got = proc.stdout.strip() if proc.returncode == 0 else tail(proc.stderr)
                if got != str(expected):
                    wrong.append(f"{database}.{table}: {got}, expected {expected}")
                else:
                    found.append(f"{database}.{table} = {expected} rows")
        if wrong:
            raise StageFailed("row counts differ: " + "; ".join(wrong))
        return "; ".join(found) or "nothing to compare"

    def do_integrity(self):
        amcheck = self.run([f"{self.bin}/pg_amcheck", "--all", "--heapallindexed",
                            "--install-missing", "-h", self.socket_dir,
                            "-p", str(self.p["scratch_port"])], timeout=6 * 3600)
        errors = amcheck_errors(amcheck.stdout + amcheck.stderr)
        if amcheck.returncode != 0 and errors == 0:
            errors = 1
        self.figures["amcheck_errors"] = errors
        self.stop("fast")  # pg_checksums needs a cleanly stopped cluster
        checksums = self.run([f"{self.bin}/pg_checksums", "--check", "-D",
                              self.p["scratch_dir"]], timeout=6 * 3600)
        problems = []
        if errors:
            problems.append(f"pg_amcheck reported {errors} problem(s): "
                            + tail(amcheck.stdout + amcheck.stderr))
        if checksums.returncode != 0:
            problems.append("pg_checksums --check failed: "
                            + tail(checksums.stdout + checksums.stderr))
        if problems:
            raise StageFailed("; ".join(problems))
        return "pg_amcheck --heapallindexed: no corruption; pg_checksums --check: ok"

    def stop(self, mode: str):
        if self.started and self.alive():
            self.run([f"{self.bin}/pg_ctl", "-D", self.p["scratch_dir"], "-m", mode, "-w",
                      "stop"], timeout=120)
        self.started = False

    def do_cleanup(self):
        self.stop("immediate")
        for path in (self.p["scratch_dir"], self.socket_dir, self.conf_dir):
            shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(self.p["scratch_dir"]):
            raise StageFailed(f"could not remove {self.p['scratch_dir']}")
        with contextlib.suppress(OSError):
            os.rmdir(self.work)  # only when empty: never more than the test made
        return f"scratch instance stopped, {self.p['scratch_dir']} removed"

    # the whole test ---------------------------------------------------------------------------
    def execute(self) -> dict:
        plan = [("info", self.do_info), ("verify", self.do_verify)]
        if self.p["canary"] and self.p["target"] == "latest":
            plan.append(("archive", self.do_archive))
        plan += [("restore", self.do_restore), ("recover", self.do_recover)]
        if self.p["after_restore_command"]:
            plan.append(("hook", self.do_hook))
        plan += [("data", self.do_data), ("integrity", self.do_integrity)]
        failed = None
        try:
            for name, function in plan:
                if not self.stage(name, function):
                    failed = name
                    break
        finally:
            if not self.stage("cleanup", self.do_cleanup) and failed is None:
                failed = "cleanup"
        seconds = {s["name"]: s["seconds"] for s in self.stages}
        if "restore" in seconds and "recover" in seconds and failed not in ("restore", "recover"):
            self.figures["rto_seconds"] = round(seconds["restore"] + seconds["recover"], 3)
            if self.figures["restore_bytes"] and seconds["restore"] > 0:
                self.figures["throughput_bytes_per_second"] = round(
                    self.figures["restore_bytes"] / seconds["restore"], 1)
        return {"ok": failed is None, "failed_stage": failed, "stages": self.stages,
                "backup": self.backup, "stanza": self.p["stanza"], "target": self.p["target"],
                "target_value": self.p["target_value"], **self.figures}


def read(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in (text or "").strip().splitlines()[-lines:])


def quote_table(name: str) -> str:
    """schema.table or table, each part double-quoted (names come from the inventory)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def argument_spec() -> dict:
    return {
        "stanza": {"type": "str", "default": "main"},
        "config": {"type": "path", "default": "/etc/pgbackrest/pgbackrest.conf"},
        "pg_version": {"type": "str", "default": ""},
        "target": {"type": "str", "default": "latest", "choices": ["latest", "time", "name"]},
        "target_value": {"type": "str"},
        "scratch_dir": {"type": "path", "default": "/var/lib/golive-restore-test/data"},
        "scratch_port": {"type": "int", "default": 54329},
        "production_data_dirs": {"type": "list", "elements": "path", "default": []},
        "production_ports": {"type": "list", "elements": "int", "default": [5432]},
        "max_backup_age_hours": {"type": "float", "default": 26},
        "canary": {"type": "dict"},
        "canary_wait_s": {"type": "float", "default": 90},
        "row_counts": {"type": "dict", "default": {}},
        "recovery_timeout_s": {"type": "float", "default": 900},
        "after_restore_command": {"type": "str"},
        "result_file": {"type": "path", "default": "/var/lib/golive/status/restore_test.json"},
        "metrics_file": {"type": "path",
                         "default": "/var/lib/golive/metrics/golive_backup_verify.prom"},
    }


def repo_path_of(config_text: str) -> str | None:
    for line in repo_options(config_text):
        key, _, value = line.partition("=")
        if key.strip() == "repo1-path":
            return value.strip()
    return None


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("target", "time", ["target_value"]), ("target", "name", ["target_value"])],
        supports_check_mode=True,
    )
    p = module.params
    if p["canary"]:
        missing = [k for k in ("id", "database", "table", "lsn", "written_at")
                   if k not in p["canary"]]
        if missing:
            module.fail_json(msg=f"canary is missing {', '.join(missing)}")
    try:
        config_text = read(p["config"]) if os.path.exists(p["config"]) else None
    except OSError:
        config_text = None
    if config_text is None:
        module.fail_json(msg=f"config {p['config']} cannot be read: is this the repo host?")
    problems = scratch_problems(p["scratch_dir"], p["scratch_port"], p["production_data_dirs"],
                                p["production_ports"], repo_path_of(config_text), port_in_use)
    if problems:
        module.fail_json(msg="refused before anything ran: " + "; ".join(problems),
                         problems=problems, ok=False, failed_stage=None, stages=[])
    if module.check_mode:
        module.exit_json(changed=False, ok=True, failed_stage=None, stages=[], plan=[
            f"info, verify of stanza {p['stanza']}",
            *(["archive: wait for the canary's WAL"] if p["canary"] else []),
            f"restore ({p['target']}{' ' + p['target_value'] if p['target_value'] else ''}) "
            f"into {p['scratch_dir']} with --archive-mode=off",
            f"recover on port {p['scratch_port']} (unix socket only)",
            "data, integrity (pg_amcheck --heapallindexed, pg_checksums), cleanup"])
    run = Run(module, p)
    result = run.execute()
    now = time.time()
    result["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    result["result"] = "ok" if result["ok"] else f"failed at {result['failed_stage']}"
    if p["result_file"]:
        write_atomic(p["result_file"], json.dumps(result, sort_keys=True) + "\n")
    if p["metrics_file"]:
        write_atomic(p["metrics_file"], metrics_text(p["stanza"], result, now))
    failed = next((s for s in result["stages"] if s["status"] == "fail"), None)
    msg = (f"restore test ok: RTO {result['rto_seconds']} s, RPO {result['rpo_seconds']} s"
           if result["ok"] else f"restore test failed at {failed['name']}: {failed['message']}")
    # cleanup removes what the test made; nothing in production changes
    if result["ok"]:
        module.exit_json(changed=False, msg=msg, **result)
    module.fail_json(changed=False, msg=msg, **result)


if __name__ == "__main__":
    main()
