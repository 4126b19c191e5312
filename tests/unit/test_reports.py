"""The per-host reports that reporting playbooks hand to the CLI (playbooks/report.yml) and
their verdicts, without a run."""

import io

from golive import render


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
