"""The per-host reports that reporting playbooks hand to the CLI (playbooks/report.yml) and
their verdicts, without a run."""

import io
import json
from pathlib import Path

import jsonschema
import pytest

from golive import render

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SCHEMA = json.loads((ROOT / "docs" / "status-schema.json").read_text())


def tls(status="ok", problems=(), renewal_failed=False, serial="0A", served="0A", days=19.5):
    return {"tls": {"cert_name": "web1", "status": status, "problems": list(problems),
                    "renewal_failed": renewal_failed, "next_renewal_attempt": "Mon 2026-11-23",
                    "disk": {"serial": serial, "days_left": days},
                    "served": {"serial": served, "days_left": days}}}


def test_tls_status_ok_and_warn_exit_0_with_a_table():
    out = io.StringIO()
    code, message = render.tls_status_verdict(
        {"web1": tls(), "web2": tls("warn", ["served certificate ... under warn_days 30"])},
        as_json=False, stream=out)
    assert (code, message) == (0, "")
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["host", "certificate", "serial", "on", "disk", "serial", "served",
                                "days", "left", "next", "renewal", "run", "status"]
    assert lines[1].split()[:5] == ["web1", "web1", "0A", "0A", "19.5"]
    assert lines[-1] == "- web2: served certificate ... under warn_days 30"


def test_tls_status_fails_on_a_failing_host_or_a_host_without_data():
    out = io.StringIO()
    code, message = render.tls_status_verdict(
        {"web1": tls("fail", ["the served serial 0A differs from the serial on disk 0B"],
                     serial="0B"),
         "web2": None}, as_json=False, stream=out)
    assert code == 1 and message == "certificates need attention on web1, web2"
    assert "no data" in out.getvalue()


def test_tls_status_names_a_re_registered_acme_account_under_the_table():
    out = io.StringIO()
    report = tls()
    report["tls"]["account_reregistered"] = {"time": "2026-12-06T23:55:20Z",
                                             "reason": "accountDoesNotExist: Account ... not found"}
    assert render.tls_status_verdict({"web1": report}, as_json=False, stream=out) == (0, "")
    assert out.getvalue().splitlines()[-1] == (
        "- web1: ACME account registered again at 2026-12-06T23:55:20Z "
        "(accountDoesNotExist: Account ... not found)")


def test_tls_status_json_prints_no_table():
    out = io.StringIO()
    assert render.tls_status_verdict({"web1": tls()}, as_json=True, stream=out) == (0, "")
    assert out.getvalue() == ""


def test_tls_renew_lines():
    out = io.StringIO()
    report = {"web1": {"tls_renew": {"cert_name": "web1", "renewed": True, "serial_before": "0A",
                                     "serial_after": "0B"}},
              "web2": {"tls_renew": {"cert_name": "web2", "renewed": False,
                                     "serial_after": "0C"}}}
    assert render.tls_renew_verdict(report, as_json=False, stream=out) == (0, "")
    assert out.getvalue().splitlines() == ["web1: web1: renewed, serial 0A -> 0B",
                                           "web2: web2: not due, serial 0C kept"]


# -- golive check ---------------------------------------------------------------------------
def result(name, status="ok", value=12.0, unit="GB", threshold=">= 10 GB (fail)", message=""):
    return {"name": name, "type": "disk", "status": status, "value": value, "unit": unit,
            "threshold": threshold, "message": message or f"{name}: {value} {unit}",
            "duration_ms": 1.0}


def checks(*entries):
    worst = max((e["status"] for e in entries), key=["ok", "warn", "fail"].index, default="ok")
    return {"status": worst, "summary": {}, "checks": list(entries)}


def test_check_table_shows_host_check_value_and_threshold():
    out = io.StringIO()
    report = {"db1": checks(result("disk_root", value=41.256)),
              "cache1": checks(result("memory", "warn", 1.5, message="memory: 1.5 GB < 2 GB"))}
    assert render.check_verdict(report, as_json=False, stream=out) == (0, "")
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["host", "check", "status", "value", "threshold"]
    assert lines[1].split() == ["cache1", "memory", "warn", "1.5", "GB", ">=", "10", "GB",
                                "(fail)"]
    assert lines[2].split()[:5] == ["db1", "disk_root", "ok", "41.26", "GB"]
    assert "WARN cache1 memory: memory: 1.5 GB < 2 GB" in lines
    assert lines[-1] == "2 checks on 2 host(s): 1 ok, 1 warn, 0 fail"


def test_check_fails_naming_host_and_check():
    report = {"cache1": checks(result("redis_ping", "fail", None, "ms", "PONG",
                                      "redis_ping: Connection refused")),
              "db1": checks(result("disk_root"))}
    code, message = render.check_verdict(report, as_json=True)
    assert (code, message) == (1, "1 check(s) failed: cache1/redis_ping")


def test_check_strict_fails_on_warnings_only_when_asked():
    report = {"db1": checks(result("load", "warn"))}
    assert render.check_verdict(report, as_json=True) == (0, "")
    assert render.check_verdict(report, as_json=True, strict=True) == (
        1, "1 check(s) warned (--strict): db1/load")


def test_check_host_without_results_fails():
    code, message = render.check_verdict({"db1": None}, as_json=True)
    assert (code, message) == (1, "no check results from db1")


def test_check_table_fits_120_columns():
    out = io.StringIO()
    long = 'HTTP 200, status == "healthy", services.* == "healthy", <= 100 ms (warn)' * 3
    render.check_verdict({"web1": checks(result("health", "fail", 131.4, "ms", long, "x" * 300))},
                         as_json=False, stream=out)
    assert max(len(line) for line in out.getvalue().splitlines()) <= 120
    assert "..." in out.getvalue()


def test_table_clips_the_squeezed_column():
    text = render.table(("a", "b"), [("x" * 10, "y" * 50)], width=30)
    assert text.splitlines()[1] == "x" * 10 + "  " + "y" * 15 + "..."


# -- golive status --------------------------------------------------------------------------
def status_document():
    """A `golive status --json` document recorded on the converged lab."""
    return json.loads((FIXTURES / "status-lab.json").read_text())


def test_recorded_status_matches_the_schema():
    jsonschema.validate(status_document(), SCHEMA)


@pytest.mark.parametrize("mutate", [
    lambda d: d["report"]["db1"]["postgresql"].update(role="leader"),
    lambda d: d["report"]["cache1"].pop("sentinel"),
    lambda d: d["report"]["web1"]["certificate"].update(days_left="20"),
    lambda d: d["report"]["db1"]["pgbouncer"]["pools"][0].update(cl_waiting=-1),
    lambda d: d["report"]["db2"].update(surprise=1),
])
def test_the_schema_refuses_documents_that_break_it(mutate):
    document = status_document()
    mutate(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


def test_status_screen_fits_120_columns_and_says_what_runs():
    out = io.StringIO()
    report = status_document()["report"]
    report["db2"]["postgresql"].update(error="x" * 300, role=None)
    report["web2"]["app"] = {"version": "v" * 150, "color": "blue", "deployed_at": "2026-11-22"}
    assert render.status_verdict(report, as_json=False, stream=out) == (0, "")
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 120
    assert lines[0].split() == ["host", "groups", "state"]
    db1 = next(line for line in lines if line.startswith("db1 "))
    assert "postgresql primary, 1/1 standby streaming, max lag 0 B" in db1
    assert any("pgbouncer active, 2 pools" in line for line in lines)
    assert any(line.startswith("db2 ") and "postgresql: xxx" in line for line in lines)


def test_status_fails_for_a_host_without_data():
    report = status_document()["report"]
    report["db2"] = None
    assert render.status_verdict(report, as_json=True) == (1, "no status from db2")


def test_wrap_segments_keeps_phrases_whole():
    assert render.wrap_segments(["a" * 5, "b" * 5, "c" * 5], 12) == ["aaaaa; bbbbb", "ccccc"]
    assert render.wrap_segments([], 10) == ["-"]


# -- golive backup list / restore-test ------------------------------------------------------
def backups_doc(error=False):
    return {"stanza": "main", "status": "ok", "wal_min": "000000010000000000000001",
            "wal_max": "000000010000000000000009", "age_seconds": 5400.0,
            "label": "20261122-020000F_20261122-030000D",
            "backups": [
                {"label": "20261122-020000F", "type": "full", "finished_at": "2026-11-22T02:01:00Z",
                 "size": 31457280, "repo_size": 3774873, "error": False},
                {"label": "20261122-020000F_20261122-030000D", "type": "diff",
                 "finished_at": "2026-11-22T03:00:30Z", "size": 31457280, "repo_size": 801,
                 "error": error}]}


def test_backup_list_rows_and_verdict():
    out = io.StringIO()
    assert render.backup_list_verdict({"backup1": backups_doc()}, as_json=False,
                                      stream=out) == (0, "")
    lines = out.getvalue().splitlines()
    assert lines[0] == ("stanza main on backup1: ok; WAL 000000010000000000000001 .. "
                        "000000010000000000000009; newest 1.5 h old")
    assert lines[1].split() == ["label", "type", "finished", "size", "in", "repo", "status"]
    assert lines[2].split() == ["20261122-020000F", "full", "2026-11-22T02:01:00Z", "30.0", "MiB",
                                "3.6", "MiB", "ok"]
    assert lines[3].split()[-3:] == ["801", "B", "ok"]


def test_backup_list_fails_without_backups_or_on_an_errored_newest():
    assert render.backup_list_verdict({"backup1": None}, as_json=True)[0] == 1
    empty = {**backups_doc(), "backups": []}
    assert render.backup_list_verdict({"backup1": empty}, as_json=True) == (
        1, "no backup in stanza main on backup1")
    assert render.backup_list_verdict({"backup1": backups_doc(error=True)}, as_json=True) == (
        1, "the newest backup 20261122-020000F_20261122-030000D has errors (pgbackrest info)")


def restore_doc(failed=None):
    names = ["info", "verify", "archive", "restore", "recover", "data", "integrity", "cleanup"]
    stages = []
    for name in names:
        status = "fail" if name == failed else "ok"
        stages.append({"name": name, "status": status, "seconds": 1.25,
                       "message": f"{name} says {'no' if status == 'fail' else 'yes'}"})
        if name == failed:
            stages.append({"name": "cleanup", "status": "ok", "seconds": 0.1, "message": "gone"})
            break
    return {"ok": failed is None, "stages": stages, "rto_seconds": None if failed else 2.5,
            "rpo_seconds": 31.04, "restore_bytes": 62434459,
            "throughput_bytes_per_second": None if failed else 24971783.6}


def test_restore_test_screen_and_verdict():
    out = io.StringIO()
    assert render.restore_test_verdict({"backup1": restore_doc()}, as_json=False,
                                       stream=out) == (0, "")
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["stage", "status", "time", "message"]
    assert lines[1].split() == ["info", "ok", "1.2", "s", "info", "says", "yes"]
    assert lines[-1] == ("backup1: RTO 2.5 s, measured RPO 31.0 s, restored 59.5 MiB at "
                         "23.8 MiB/s")


def test_restore_test_names_the_failed_stage():
    code, message = render.restore_test_verdict({"backup1": restore_doc("verify")}, as_json=True)
    assert (code, message) == (1, "restore test failed at stage verify: verify says no")
    assert render.restore_test_verdict({"backup1": None}, as_json=True)[0] == 1


def rollback_report(warm_by_host: dict) -> dict:
    hosts = {host: {"color": "blue", "version": "1.0.0", "from_version": "2.0.0", "warm": warm,
                    "phases_s": {"start": 0.4, "switch": 0.6}}
             for host, warm in warm_by_host.items()}
    return {"localhost": {"id": "20261206T180000Z-abc123", "kind": "rollback",
                          "outcome": "succeeded", "version": "1.0.0", "hosts": hosts}}


def test_a_warm_rollback_says_it_was_one_switch():
    out = io.StringIO()
    code, _ = render.release_verdict(rollback_report({"web1": True, "web2": True}), False,
                                     stream=out)
    assert code == 0 and "warm rollback: the previous release was still running" in out.getvalue()


def test_a_cold_rollback_names_the_hosts_that_took_the_slow_path():
    out = io.StringIO()
    render.release_verdict(rollback_report({"web1": True, "web2": False}), False, stream=out)
    assert "cold rollback on web2: the previous release was not running there" in out.getvalue()


def test_the_control_nodes_history_keeps_how_each_host_was_reached():
    from golive import history

    record = history.summary(rollback_report({"web1": True, "web2": False})["localhost"], 3.2)
    assert record["hosts"]["web1"]["warm"] is True and record["hosts"]["web2"]["warm"] is False
    assert record["wall_s"] == 3.2


def app_health(served, message="app_health: HTTP 200, status healthy"):
    return {**result("app_health", value=3.0, unit="ms", message=message),
            "type": "app_health", "served": served}


def test_check_fails_a_web_fleet_on_mixed_releases():
    out = io.StringIO()
    report = {"web1": checks(app_health("2.3.0")), "web2": checks(app_health("2.0.0"))}
    code, message = render.check_verdict(report, as_json=False, stream=out)
    assert (code, message) == (1, "1 check(s) failed: fleet/releases")
    assert ("FAIL fleet releases: web fleet on mixed releases: web1 2.3.0, web2 2.0.0"
            in out.getvalue())


def test_check_passes_one_release_and_a_fleet_before_its_first_deploy():
    same = {"web1": checks(app_health("2.0.0")), "web2": checks(app_health("2.0.0"))}
    assert render.check_verdict(same, as_json=True) == (0, "")
    fresh = {"web1": checks(app_health(None, "app_health: no release deployed (x absent)")),
             "web2": checks(app_health(None, "app_health: no release deployed (x absent)"))}
    assert render.check_verdict(fresh, as_json=True) == (0, "")


def test_status_shows_the_mixed_fleet_and_what_a_host_really_serves():
    out = io.StringIO()
    report = status_document()["report"]
    report["web1"]["app"] = {"version": "2.0.0", "color": "green", "deployed_at": "x",
                             "served": "2.3.0", "served_status": 200}
    report["web2"]["app"] = {"version": "2.0.0", "color": "blue", "deployed_at": "x",
                             "served": "2.0.0", "served_status": 200}
    jsonschema.validate({**status_document(), "report": report}, SCHEMA)
    assert render.status_verdict(report, as_json=False, stream=out) == (0, "")
    text = out.getvalue()
    assert text.splitlines()[0] == "MIXED web fleet on mixed releases: web1 2.3.0, web2 2.0.0"
    assert "app 2.0.0 (green), deployed x, but serves 2.3.0" in text


def test_a_run_that_reconciled_a_mixed_fleet_says_which_way_and_why():
    out = io.StringIO()
    report = rollback_report({"web1": True, "web2": True})
    report["localhost"]["reconciled"] = {"before": {"web1": "2.3.0", "web2": "2.0.0"},
                                         "by": "rollback", "interrupted": "20261206T170000Z-dead"}
    render.release_verdict(report, False, stream=out)
    assert ("the fleet was on mixed releases (web1 2.3.0, web2 2.0.0), left by the interrupted "
            "run 20261206T170000Z-dead; this rollback reconciled it: every web host is on 1.0.0 "
            "now") in " ".join(out.getvalue().split())
