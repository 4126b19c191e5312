"""golive.ops.backup_verify's logic without a repository: refusals, the repository's options
for the scratch configuration, info and verify verdicts, WAL positions, metrics. The real
restores, with their fault drills, are in tests/e2e/test_backup.py."""

import json

import pytest

from .conftest import collection_modules, run_main

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def bv(tmp_path_factory):
    with collection_modules(tmp_path_factory, bv="modules.backup_verify") as modules:
        yield modules.bv


def never_used(port):
    return False


def backup(label, kind, stop, error=False):
    return {"label": label, "type": kind, "error": error,
            "timestamp": {"start": stop - 60, "stop": stop}, "info": {"size": 1000}}


@pytest.mark.parametrize(("scratch", "port", "expected"), [
    ("/var/lib/postgresql/15/main", 54329, "collides with the production data directory"),
    ("/var/lib/postgresql/15/main/scratch", 54329, "collides with the production data"),
    ("/var/lib/postgresql", 54329, "collides with the production data directory"),
    ("/var/lib/pgbackrest/scratch", 54329, "collides with the repository /var/lib/pgbackrest"),
    ("/", 54329, "is a system directory"),
    ("/var/lib/golive-restore-test/data", 5432, "scratch_port 5432 is a production port"),
    ("/var/lib/golive-restore-test/data", 80, "scratch_port 80 must be 1024-65535"),
])
def test_scratch_collisions_are_refused(bv, scratch, port, expected):
    problems = bv.scratch_problems(scratch, port, ["/var/lib/postgresql/15/main"], [5432],
                                   "/var/lib/pgbackrest", never_used)
    assert any(expected in p for p in problems), problems


def test_a_port_in_use_is_refused(bv):
    problems = bv.scratch_problems("/srv/scratch/data", 54329, [], [5432], None,
                                   lambda port: port == 54329)
    assert problems == ["scratch_port 54329 is already in use on this host"]


def test_a_clear_scratch_passes(bv):
    assert bv.scratch_problems("/var/lib/golive-restore-test/data", 54329,
                               ["/var/lib/postgresql/15/main"], [5432], "/var/lib/pgbackrest",
                               never_used) == []


def test_port_in_use_sees_a_listener(bv):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert bv.port_in_use(sock.getsockname()[1])


def test_only_repository_options_reach_the_scratch_configuration(bv):
    conf = """
[global]
repo1-path=/var/lib/pgbackrest
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=s3cret
tls-server-address=*
process-max=2
[main]
pg1-host=db1
repo1-path=/elsewhere
"""
    lines = bv.repo_options(conf)
    assert lines == ["repo1-path=/var/lib/pgbackrest", "repo1-cipher-type=aes-256-cbc",
                     "repo1-cipher-pass=s3cret"]
    text = bv.scratch_config(lines, "main", "/x/data", 54329, "/x/socket", "/x/pgbackrest")
    assert "pg1-host" not in text and "tls-server" not in text
    assert "[main]\npg1-path=/x/data\npg1-port=54329\npg1-socket-path=/x/socket" in text
    assert bv.repo_path_of(conf) == "/var/lib/pgbackrest"


def test_info_reports_the_newest_of_each_type(bv):
    info = [{"name": "main", "status": {"code": 0, "message": "ok"},
             "backup": [backup("F1", "full", NOW - 7200), backup("D1", "diff", NOW - 3600)]}]
    entry, newest = bv.newest_backups(info, "main")
    message = bv.info_verdict(entry, newest, NOW, 26)
    assert message == "newest: diff D1 (1.0 h old), full F1 (2.0 h old)"


@pytest.mark.parametrize(("backups", "expected"), [
    ([], "no backup in the repository"),
    ([backup("F1", "full", NOW - 100, error=True)], "the newest backup F1 has errors"),
    ([backup("F1", "full", NOW - 27 * 3600)],
     "F1 is 27.0 h old, older than max_backup_age_hours 26: backups have stopped"),
])
def test_info_fails_on_no_errored_or_stale_backups(bv, backups, expected):
    info = [{"name": "main", "status": {"code": 0, "message": "ok"}, "backup": backups}]
    entry, newest = bv.newest_backups(info, "main")
    with pytest.raises(bv.StageFailed, match=expected):
        bv.info_verdict(entry, newest, NOW, 26)


def test_info_at_the_age_boundary_passes(bv):
    info = [{"name": "main", "backup": [backup("F1", "full", NOW - 26 * 3600)]}]
    entry, newest = bv.newest_backups(info, "main")
    assert bv.info_verdict(entry, newest, NOW, 26).startswith("newest: full F1")


def test_a_missing_stanza_fails(bv):
    with pytest.raises(bv.StageFailed, match="not in the repository"):
        bv.info_verdict(*bv.newest_backups([], "main"), NOW, 26)


def test_verify_catches_what_pgbackrest_verify_misses(bv):
    problems = bv.verify_problems(0, "stanza: main\nstatus: ok", ["F1", "F2", "F3"],
                                  {"F1", "F3"}, {"F1": True, "F3": False})
    assert problems == [
        "backup F2 is in the backup list but its directory is missing from the repository",
        "backup F3 has no backup.manifest in the repository"]


def test_verify_failures_and_counts_are_reported(bv):
    assert bv.verify_problems(1, "ERROR: [028]: backup is missing\n", [], set(), {}) == [
        "pgbackrest verify failed: ERROR: [028]: backup is missing"]
    out = "  backup: 20261122-010101F, status: invalid, checksum invalid: 1, size invalid: 0"
    assert bv.verify_problems(0, out, [], set(), {}) == [f"pgbackrest verify: {out.strip()}"]
    assert bv.verify_problems(0, "checksum invalid: 0, missing: 0", [], set(), {}) == []


@pytest.mark.parametrize(("lsn", "segment"), [
    ("0/3000148", "000000010000000000000003"),
    ("0/FFFFFFF", "00000001000000000000000F"),
    ("1/A0000000", "0000000100000001000000A0"),
])
def test_the_segment_of_an_lsn(bv, lsn, segment):
    assert bv.segment_of(lsn, 1) == segment


@pytest.mark.parametrize(("wal_max", "covered"), [
    ("000000010000000000000004", True),
    ("000000010000000000000003", True),
    ("000000010000000000000002", False),
    (None, False),
    ("000000020000000000000003", True),
])
def test_archive_covers_the_segment(bv, wal_max, covered):
    assert bv.wal_max_covers(wal_max, "000000010000000000000003") is covered


def test_controldata_settings_for_recovery(bv):
    text = """pg_control version number:            1300
max_connections setting:              100
max_worker_processes setting:         8
max_wal_senders setting:              10
max_prepared_xacts setting:           0
max_locks_per_xact setting:           64
"""
    settings = bv.controldata_settings(text)
    assert settings == {"max_connections": "100", "max_worker_processes": "8",
                        "max_wal_senders": "10", "max_prepared_transactions": "0",
                        "max_locks_per_transaction": "64"}
    conf = bv.scratch_postgresql_conf(54329, "/x/socket", settings)
    assert "listen_addresses = ''" in conf and "archive_mode = off" in conf
    assert "max_connections = 100" in conf and "port = 54329" in conf


def test_amcheck_errors_are_counted(bv):
    out = """btree index "app.public.pgbench_accounts_pkey":
    ERROR:  item order invariant violated for index "pgbench_accounts_pkey"
heap table "app.public.t", block 3, offset 2:
    line pointer redirection to item at offset 9 exceeds maximum offset 8
"""
    assert bv.amcheck_errors(out) == 2
    assert bv.amcheck_errors("") == 0


def result(ok=True):
    stages = [{"name": "info", "status": "ok", "seconds": 0.2, "message": ""},
              {"name": "verify", "status": "ok" if ok else "fail", "seconds": 1.5,
               "message": ""}]
    return {"ok": ok, "stages": stages, "rto_seconds": 12.5 if ok else None,
            "rpo_seconds": 31.0, "restore_bytes": 200, "throughput_bytes_per_second": 40.0,
            "amcheck_errors": 0, "backup": {"type": "full", "age_seconds": 60.0}}


def parse_metrics(text):
    """name{labels} value lines, with every family declared by HELP and TYPE first."""
    samples, declared = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            assert key.split("{")[0] in declared, line
            samples[key] = float(value)
    return samples


def test_metrics_parse_and_say_what_happened(bv):
    samples = parse_metrics(bv.metrics_text("main", result(), NOW))
    assert samples['golive_backup_verify_success{stanza="main"}'] == 1
    assert samples['golive_backup_verify_stage_duration_seconds{stanza="main",stage="verify"}'] \
        == 1.5
    assert samples['golive_backup_verify_rto_seconds{stanza="main"}'] == 12.5
    assert samples['golive_backup_age_seconds{stanza="main",type="full"}'] == 60.0
    failed = parse_metrics(bv.metrics_text("main", result(ok=False), NOW))
    assert failed['golive_backup_verify_success{stanza="main"}'] == 0
    assert failed['golive_backup_verify_stage_ok{stanza="main",stage="verify"}'] == 0
    assert not any(k.startswith("golive_backup_verify_rto_seconds") for k in failed)


def test_write_atomic_leaves_no_partial_file(bv, tmp_path):
    target = tmp_path / "m" / "x.prom"
    bv.write_atomic(str(target), "a 1\n")
    assert target.read_text() == "a 1\n" and oct(target.stat().st_mode)[-3:] == "644"
    assert [p.name for p in target.parent.iterdir()] == ["x.prom"]


def test_quote_table(bv):
    assert bv.quote_table("golive.restore_canary") == '"golive"."restore_canary"'
    assert bv.quote_table('we"ird') == '"we""ird"'


def test_main_refuses_before_anything_runs(bv, ansible_module, tmp_path, monkeypatch):
    conf = tmp_path / "pgbackrest.conf"
    conf.write_text("[global]\nrepo1-path=/var/lib/pgbackrest\n")
    ran = []
    monkeypatch.setattr(bv.subprocess, "run", lambda *a, **k: ran.append(a))
    failed, out = run_main(bv, {"config": str(conf), "scratch_dir": "/var/lib/postgresql/15/main",
                                "production_data_dirs": ["/var/lib/postgresql/15/main"],
                                "scratch_port": 5432})
    assert failed and out["msg"].startswith("refused before anything ran: ")
    assert "production data directory" in out["msg"] and "production port" in out["msg"]
    assert ran == []


def test_check_mode_only_plans(bv, ansible_module, tmp_path, monkeypatch):
    conf = tmp_path / "pgbackrest.conf"
    conf.write_text("[global]\nrepo1-path=/var/lib/pgbackrest\n")
    ran = []
    monkeypatch.setattr(bv.subprocess, "run", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(bv, "port_in_use", never_used)
    failed, out = run_main(bv, {"config": str(conf), "_ansible_check_mode": True,
                                "scratch_dir": str(tmp_path / "scratch" / "data")})
    assert not failed and ran == []
    assert any("--archive-mode=off" in step for step in out["plan"])
    assert json.dumps(out)


@pytest.mark.parametrize(("target", "replayed", "wal_max", "gap"), [
    ("latest", "0/1B015D20", "00000001000000000000001C", True),
    ("latest", "0/1C0000F8", "00000001000000000000001C", False),
    ("latest", "0/1D000028", "00000001000000000000001C", False),
    ("time", "0/1B015D20", "00000001000000000000001C", False),
    ("latest", "0/1B015D20", None, False),
])
def test_a_recovery_that_stops_short_of_the_archive_is_a_gap(bv, target, replayed, wal_max, gap):
    message = bv.replay_gap(target, replayed, wal_max)
    assert bool(message) is gap
    if gap:
        assert message.startswith("recovery ended at 0/1B015D20 (segment "
                                  "00000001000000000000001B), but the archive reaches")
