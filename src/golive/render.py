"""Human output on stderr (live progress, recap) and the single --json document on stdout."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import IO, Any

import click

from golive.events import Event, HostResult, HostStats, PlayStarted, TaskStarted

BAR_MIN_TASKS = 10  # plays with at least this many tasks get a progress bar
BAR_WIDTH = 24


def use_color(stream: IO[str]) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


class TaskEstimates:
    """Tasks per play seen in the previous run of the same playbook, so a bar can show progress.

    ansible does not announce how many tasks a play has; counting them up front would cost a
    second ansible-playbook --list-tasks. The last run's count is a good estimate.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict[str, int] = {}
        if path and path.is_file():
            try:
                self.data = {k: int(v) for k, v in json.loads(path.read_text()).items()}
            except (ValueError, OSError, AttributeError):
                self.data = {}

    def get(self, key: str) -> int | None:
        return self.data.get(key)

    def save(self, counts: dict[str, int]) -> None:
        if not self.path or not counts:
            return
        self.data.update(counts)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True))
        os.replace(tmp, self.path)


class Progress:
    """Consumes events; on a tty redraws one status line, otherwise prints only what matters
    (failures, unreachable hosts; every task result with -v)."""

    def __init__(self, stream: IO[str] | None = None, verbose: int = 0,
                 estimates: TaskEstimates | None = None, playbook_key: str = ""):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.color = use_color(self.stream)
        self.verbose = verbose
        self.estimates = estimates or TaskEstimates(None)
        self.playbook_key = playbook_key
        self.play = ""
        self.task = ""
        self.tasks_in_play = 0
        self.task_counts: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self._line_open = False

    # -- event intake ---------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if isinstance(event, PlayStarted):
            self._finish_play()
            self.play = event.name
            self.tasks_in_play = 0
            self.counts = Counter()
            self._say(f"PLAY {event.name}", style={"bold": True})
        elif isinstance(event, TaskStarted):
            self.task = event.name
            if not event.handler:
                self.tasks_in_play += 1
            if self.verbose:
                self._say(f"  TASK {event.name}")
        elif isinstance(event, HostResult):
            self.counts[event.status] += 1
            if event.status in ("failed", "unreachable") and not event.ignored:
                self._say(f"  {event.status.upper()} {event.host} | {event.task}: "
                          f"{first_line(event.msg)}", style={"fg": "red"})
            elif self.verbose:
                self._say(f"    {event.status} {event.host}")
        self._draw()

    def close(self) -> None:
        self._finish_play()
        self._clear()
        self.estimates.save(self.task_counts)

    # -- drawing --------------------------------------------------------------------------
    def status_line(self) -> str:
        counts = " ".join(f"{k}={self.counts[k]}" for k in ("ok", "changed", "failed",
                                                             "unreachable") if self.counts[k])
        expected = self.estimates.get(self._play_key())
        bar = ""
        if expected and expected >= BAR_MIN_TASKS:
            done = min(self.tasks_in_play, expected)
            filled = int(BAR_WIDTH * done / expected)
            bar = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{expected} "
        else:
            bar = f"task {self.tasks_in_play} "
        return f"{bar}{self.task} {counts}".strip()

    def _play_key(self) -> str:
        return f"{self.playbook_key}::{self.play}"

    def _finish_play(self) -> None:
        if self.play:
            self.task_counts[self._play_key()] = self.tasks_in_play

    def _draw(self) -> None:
        if not self.tty:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        line = self.status_line()[: width - 1]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._line_open = True

    def _clear(self) -> None:
        if self._line_open:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._line_open = False

    def _say(self, text: str, style: dict[str, Any] | None = None) -> None:
        if not self.tty and not self.verbose:
            return  # quiet off a tty: the recap says what failed
        self._clear()
        if self.color and style:
            text = click.style(text, **style)
        self.stream.write(text + "\n")
        self.stream.flush()


def first_line(text: str, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


RECAP_COLUMNS = ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")


def recap_table(hosts: dict[str, HostStats]) -> str:
    """A fixed-width recap: one row per host, one column per counter."""
    if not hosts:
        return "no host was played"
    width = max(4, *(len(h) for h in hosts))
    header = f"{'host':<{width}}  " + "  ".join(f"{c:>{max(len(c), 3)}}" for c in RECAP_COLUMNS)
    rows = [header, "-" * len(header)]
    for host, stats in hosts.items():
        values = stats.as_dict()
        rows.append(f"{host:<{width}}  " + "  ".join(
            f"{values[c]:>{max(len(c), 3)}}" for c in RECAP_COLUMNS))
    return "\n".join(rows)


def render_recap(result, stream: IO[str] | None = None) -> None:
    """The end-of-run summary on stderr."""
    stream = stream or sys.stderr
    color = use_color(stream)
    out = [recap_table(result.hosts)]
    for warning in getattr(result, "warnings", ()):
        out.append(f"WARNING: {warning.host} | {warning.task}: {first_line(warning.msg, 400)}")
    for failed in result.failed_tasks:
        out.append(f"{failed.status.upper()}: {failed.host} | {failed.task}: "
                   f"{first_line(failed.msg, 400)}")
    if result.error:
        out.append(f"ansible: {result.error}")
    for name, part in getattr(result, "parts", {}).items():
        out.append(f"  {name}: {part}" if isinstance(part, str) else
                   f"  {name}: {part.status} in {part.duration:.1f}s; artifacts: "
                   f"{part.artifact_dir}")
    where = "one run per tier, above" if getattr(result, "parts", None) else result.artifact_dir
    verdict = f"{result.status} in {result.duration:.1f}s; artifacts: {where}"
    if color:
        verdict = click.style(verdict, fg="green" if result.exit_code == 0 else "red")
    out.append(verdict)
    stream.write("\n".join(out) + "\n")
    stream.flush()


def emit_json(document: dict[str, Any]) -> None:
    """The one JSON document --json promises on stdout."""
    click.echo(json.dumps(document, indent=2, sort_keys=True))


# -- reports ----------------------------------------------------------------------------------
SCREEN_WIDTH = 120  # the human output of reports fits this many columns


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def table(header: tuple[str, ...], rows: list[tuple], width: int = SCREEN_WIDTH,
          squeeze: int = -1) -> str:
    """Columns separated by two spaces, no line longer than WIDTH: when it would be, the column
    SQUEEZE (default the last) is clipped with "..."."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    if excess > 0:
        widths[squeeze] = max(widths[squeeze] - excess, 3)
    lines = ["  ".join(clip(c, w).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(line[:width] for line in lines)


def _value(entry: dict[str, Any]) -> str:
    value, unit = entry.get("value"), entry.get("unit") or ""
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value} {unit}".strip()


def mixed_releases(served: dict[str, str | None]) -> str | None:
    """"web fleet on mixed releases: web1 2.3.0, web2 2.0.0" when the web hosts serve more than
    one version (a host serving nothing counts as its own release), else None."""
    if len(set(served.values())) < 2:
        return None
    return "web fleet on mixed releases: " + ", ".join(
        f"{host} {version or 'nothing'}" for host, version in sorted(served.items()))


def _served_by_check(report: dict[str, Any]) -> dict[str, str | None]:
    """What each host's app_health check saw served (hosts with a release deployed only)."""
    served = {}
    for host, result in report.items():
        for entry in (result or {}).get("checks", []):
            if entry.get("type") == "app_health" and "no release deployed" not in str(
                    entry.get("message", "")):
                served[host] = entry.get("served")
    return served


def check_verdict(report: dict[str, Any], as_json: bool, strict: bool = False,
                  stream: IO[str] | None = None) -> tuple[int, str]:
    """The `golive check` table (host x check, value against threshold) unless --json, and the
    verdict: 1 when a check failed (or, with STRICT, warned) or a host has no results."""
    rows, notes, failed, warned, missing = [], [], [], [], []
    for host in sorted(report):
        result = report[host]
        if not result:
            missing.append(host)
            rows.append((host, "-", "no data", "-", "-"))
            continue
        for entry in result.get("checks", []):
            status = entry.get("status", "fail")
            rows.append((host, entry.get("name", "?"), status, _value(entry),
                         entry.get("threshold") or "-"))
            if status != "ok":
                notes.append(f"{status.upper()} {host} {entry.get('name')}: "
                             f"{entry.get('message', '')}")
            if status == "fail":
                failed.append(f"{host}/{entry.get('name')}")
            elif status == "warn":
                warned.append(f"{host}/{entry.get('name')}")
    mixed = mixed_releases(_served_by_check(report))
    if mixed:
        rows.append(("fleet", "releases", "fail", "-", "one release on every web host"))
        notes.append(f"FAIL fleet releases: {mixed}; the next `golive deploy` or `golive "
                     "rollback` reconciles it")
        failed.append("fleet/releases")
    if not as_json:
        stream = stream or sys.stdout
        click.echo(table(("host", "check", "status", "value", "threshold"), rows), file=stream)
        for note in notes:
            click.echo(clip(note, SCREEN_WIDTH), file=stream)
        total = len(rows) - len(missing)
        click.echo(f"{total} checks on {len(report) - len(missing)} host(s): "
                   f"{total - len(failed) - len(warned)} ok, {len(warned)} warn, "
                   f"{len(failed)} fail", file=stream)
    if missing:
        return 1, f"no check results from {', '.join(missing)}"
    if failed:
        return 1, f"{len(failed)} check(s) failed: {', '.join(failed)}"
    if strict and warned:
        return 1, f"{len(warned)} check(s) warned (--strict): {', '.join(warned)}"
    return 0, ""


def _ports_phrase(ports: list[dict[str, Any]]) -> str:
    """'exposed 22,5432; filtered 9187; loopback 6379' of an audit's ports."""
    groups: dict[str, list[str]] = {"exposed": [], "filtered": [], "unprobed": [], "loopback": []}
    for port in ports:
        key = ("loopback" if port.get("loopback_only") else "unprobed"
               if port.get("exposed") is None else "exposed" if port["exposed"] else "filtered")
        groups[key].append(str(port["port"]))
    return "; ".join(f"{k} {','.join(v)}" for k, v in groups.items() if v) or "nothing listens"


def audit_verdict(report: dict[str, Any], as_json: bool,
                  stream: IO[str] | None = None) -> tuple[int, str]:
    """`golive audit`: per host, the TCP ports (exposed to the probing host, filtered, loopback
    only) and each finding with its severity. Exit 1 on a finding of severity high, or when a
    host returned nothing."""
    missing = [h for h in sorted(report) if not report[h]]
    high = [f"{h}: {f['what']}" for h, doc in sorted(report.items()) if doc
            for f in doc.get("findings") or [] if f.get("severity") == "high"]
    if not as_json:
        stream = stream or sys.stdout
        rows = []
        for host in sorted(report):
            doc = report[host]
            if not doc:
                rows.append((host, "-", "-", "no data"))
                continue
            rows.append((host, "info", "ports",
                         f"{_ports_phrase(doc.get('ports') or [])} (probed from "
                         f"{doc.get('prober') or 'nowhere'})"))
            rows += [(host, f["severity"], f["kind"], f["what"])
                     for f in doc.get("findings") or []]
        click.echo(table(("host", "severity", "kind", "finding"), rows), file=stream)
        counts = {s: sum(1 for r in rows if r[1] == s) for s in ("high", "medium")}
        click.echo(f"{len(report) - len(missing)} host(s) audited: {counts['high']} high, "
                   f"{counts['medium']} medium finding(s)", file=stream)
    if missing:
        return 1, f"no audit from {', '.join(missing)}"
    if high:
        return 1, f"{len(high)} high finding(s): {'; '.join(high)}"
    return 0, ""


def _days(value) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def tls_status_verdict(report: dict[str, Any], as_json: bool,
                       stream: IO[str] | None = None) -> tuple[int, str]:
    """The `golive tls status` table (unless --json) and its verdict: 1 if any host fails."""
    rows, problems, failing = [], [], []
    for host in sorted(report):
        tls = (report[host] or {}).get("tls")
        if not tls:
            rows.append((host, "-", "-", "-", "-", "-", "no data"))
            failing.append(host)
            continue
        disk, served = tls.get("disk") or {}, tls.get("served") or {}
        rows.append((host, tls.get("cert_name", "-"), disk.get("serial") or "-",
                     served.get("serial") or "-",
                     _days(served.get("days_left", disk.get("days_left"))),
                     (tls.get("next_renewal_attempt") or "-")[:25], tls.get("status", "?")))
        problems += [f"{host}: {p}" for p in tls.get("problems", [])]
        rereg = tls.get("account_reregistered") or {}
        if rereg:
            problems.append(f"{host}: ACME account registered again at {rereg.get('time')} "
                            f"({rereg.get('reason')})")
        if tls.get("status") == "fail":
            failing.append(host)
    if not as_json:
        stream = stream or sys.stdout
        header = ("host", "certificate", "serial on disk", "serial served", "days left",
                  "next renewal run", "status")
        click.echo(table(header, rows), file=stream)
        for line in problems:
            click.echo(f"- {line}", file=stream)
    if failing:
        return 1, f"certificates need attention on {', '.join(failing)}"
    return 0, ""


def tls_renew_verdict(report: dict[str, Any], as_json: bool,
                      stream: IO[str] | None = None) -> tuple[int, str]:
    if not as_json:
        stream = stream or sys.stdout
        for host in sorted(report):
            renew = (report[host] or {}).get("tls_renew") or {}
            what = (f"renewed, serial {renew.get('serial_before')} -> {renew.get('serial_after')}"
                    if renew.get("renewed") else
                    f"not due, serial {renew.get('serial_after', '-')} kept")
            click.echo(f"{host}: {renew.get('cert_name', '-')}: {what}", file=stream)
    return 0, ""


def maintenance_verdict(report: dict[str, Any], as_json: bool,
                        stream: IO[str] | None = None) -> tuple[int, str]:
    """`golive maintenance on|off`: one line per web host. Exit 1 when a host has no report."""
    missing = sorted(host for host, doc in report.items() if not doc)
    if not as_json:
        stream = stream or sys.stdout
        for host in sorted(report):
            doc = report[host] or {}
            if not doc:
                what = "no answer"
            elif doc.get("maintenance"):
                left = int(doc.get("in_flight") or 0)
                what = ("maintenance on, drained" if left <= 0 else
                        f"maintenance on, {left} request(s) still in flight after the drain")
            else:
                what = "maintenance off, serving"
            click.echo(f"{host}: {what}", file=stream)
    if missing or not report:
        return 1, f"no report from {', '.join(missing) or 'any web host'}"
    return 0, ""


def _status_segments(doc: dict[str, Any]) -> list[str]:
    """One host's status_report as short phrases, for `golive status`."""
    out = []
    pg = doc.get("postgresql")
    if pg:
        if pg.get("error"):
            out.append(f"postgresql: {pg['error']}")
        elif pg.get("role") == "primary":
            standbys = pg.get("standbys") or []
            streaming = sum(1 for s in standbys if s.get("state") == "streaming")
            lag = pg.get("lag_bytes")
            out.append(f"postgresql primary, {streaming}/{len(standbys)} standby streaming"
                       + ("" if lag is None else f", max lag {lag} B"))
        else:
            gap = pg.get("lag_bytes")
            out.append(f"postgresql standby, receiver {pg.get('receiver') or 'down'}"
                       + ("" if gap is None else f", replay gap {gap} B"))
    bouncer = doc.get("pgbouncer")
    if bouncer:
        if bouncer.get("error"):
            out.append(f"pgbouncer {bouncer.get('state', '?')}: {bouncer['error']}")
        else:
            pools = bouncer.get("pools") or []
            out.append(f"pgbouncer {bouncer.get('state', '?')}, {len(pools)} pools, "
                       f"{sum(p.get('cl_active', 0) for p in pools)} clients active, "
                       f"{sum(p.get('cl_waiting', 0) for p in pools)} waiting, "
                       f"{sum(p.get('sv_active', 0) + p.get('sv_idle', 0) for p in pools)} "
                       "server conns")
    redis = doc.get("redis")
    if redis:
        if redis.get("error"):
            out.append(f"redis: {redis['error']}")
        elif redis.get("role") == "master":
            out.append(f"redis master, {redis.get('replicas_online', 0)} replicas online")
        else:
            out.append(f"redis replica of {redis.get('master')}, link {redis.get('link')}")
    sentinel = doc.get("sentinel")
    if sentinel:
        out.append(f"sentinel: {sentinel['error']}" if sentinel.get("error") else
                   f"sentinel quorum {'ok' if sentinel.get('quorum_ok') else 'NOT ok'}, "
                   f"master {sentinel.get('master')}")
    if doc.get("nginx"):
        out.append(f"nginx {doc['nginx'].get('state')}")
    cert = doc.get("certificate")
    if cert:
        out.append(f"certificate {cert.get('name')} {_days(cert.get('days_left'))} days "
                   f"({cert.get('status')}"
                   + (", not served" if cert.get("serial_match") is False else "")
                   + (", last renewal failed" if cert.get("renewal_failed") else "") + ")")
    app = doc.get("app")
    if app:
        served = app.get("served")
        if app.get("version"):
            out.append(f"app {app.get('version', '?')} ({app.get('color', '?')}), "
                       f"deployed {app.get('deployed_at', '?')}"
                       + (f", but serves {served or 'nothing'}"
                          if "served" in app and served != app.get("version") else ""))
        elif "served" in app:
            out.append(f"app serves {served or 'nothing'}")
    backup = doc.get("backup")
    if backup:
        out.append(f"last backup {backup.get('finished_at', '?')} ({backup.get('type', '?')})")
    restore = doc.get("restore_test")
    if restore:
        out.append(f"restore test {restore.get('result', '?')} "
                   f"at {restore.get('finished_at', '?')}")
    alerts = doc.get("alerts")
    if alerts:
        out.append(_alerts_phrase(alerts))
    return out


def _alerts_phrase(alerts: dict[str, Any]) -> str:
    """'alerts: prometheus unreachable (...)' or 'alerts: 2 firing: APIDown web1 (critical) ...'."""
    if not alerts.get("reachable"):
        return f"alerts: prometheus unreachable ({alerts.get('error') or 'no answer'})"
    firing = [a for a in alerts.get("firing") or [] if a.get("severity") != "none"]
    if not firing:
        return "alerts: none firing"
    named = ", ".join(f"{a.get('alertname')} {a.get('instance') or '-'} ({a.get('severity')})"
                      for a in firing)
    return f"alerts: {len(firing)} firing: {named}"


def alerts_verdict(report: dict[str, Any], as_json: bool,
                   stream: IO[str] | None = None) -> tuple[int, str]:
    """`golive alerts`: one row per alert Prometheus evaluates on the mon hosts (firing first,
    then pending), with its severity, host and since when. Exit 1 when no mon host's
    Prometheus answered; the alerts themselves are information (`golive check` judges)."""
    answered = {h: d for h, d in sorted(report.items()) if d and d.get("reachable")}
    if not as_json:
        stream = stream or sys.stdout
        rows = [(a.get("state", "?"), a.get("severity", "?"), a.get("alertname", "?"),
                 a.get("instance") or "-", a.get("since") or "-", mon)
                for mon, doc in answered.items() for a in doc.get("alerts") or []]
        rows.sort(key=lambda r: (r[0] != "firing", r[1] != "critical", r[2], r[3]))
        head = ("state", "severity", "alert", "host", "since", "from")
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
        for row in (head, *rows):
            click.echo("  ".join(f"{c!s:<{w}}" for c, w in zip(row, widths, strict=True))
                       .rstrip(), file=stream)
        if not rows:
            click.echo("no alert fires or is pending", file=stream)
    if not answered:
        errors = "; ".join(f"{h}: {(d or {}).get('error') or 'no answer'}"
                           for h, d in sorted(report.items())) or "no mon host in the inventory"
        return 1, f"Prometheus did not answer ({errors})"
    return 0, ""


def wrap_segments(segments: list[str], width: int) -> list[str]:
    """Phrases joined by "; " into lines of at most WIDTH (a longer phrase is clipped)."""
    lines, line = [], ""
    for seg in segments:
        candidate = f"{line}; {seg}" if line else seg
        if line and len(candidate) > width:
            lines.append(line)
            candidate = seg
        line = clip(candidate, width)
    return [*lines, line] if line else ["-"]


def status_verdict(report: dict[str, Any], as_json: bool,
                   stream: IO[str] | None = None) -> tuple[int, str]:
    """The `golive status` screen (unless --json): one block per host, within SCREEN_WIDTH.
    Informational: exit 1 only when a host returned no status (`golive check` judges)."""
    missing = [h for h in sorted(report) if not report[h]]
    mixed = mixed_releases({h: ((d or {}).get("app") or {}).get("served")
                            for h, d in report.items()
                            if "served" in ((d or {}).get("app") or {})
                            and ((d or {}).get("app") or {}).get("version")})
    if not as_json:
        stream = stream or sys.stdout
        if mixed:
            click.echo(clip(f"MIXED {mixed}", SCREEN_WIDTH), file=stream)
        hosts = sorted(report)
        host_w = max([4, *(len(h) for h in hosts)])
        groups = {h: ",".join((report[h] or {}).get("groups") or []) or "-" for h in hosts}
        group_w = min(max([6, *(len(g) for g in groups.values())]), 24)
        state_w = SCREEN_WIDTH - host_w - group_w - 4
        click.echo(f"{'host':<{host_w}}  {'groups':<{group_w}}  state", file=stream)
        for host in hosts:
            lines = (wrap_segments(_status_segments(report[host]), state_w) if report[host]
                     else ["no data"])
            for i, line in enumerate(lines):
                left = (f"{host:<{host_w}}  {clip(groups[host], group_w):<{group_w}}" if i == 0
                        else " " * (host_w + 2 + group_w))
                click.echo(f"{left}  {line}".rstrip(), file=stream)
    if missing:
        return 1, f"no status from {', '.join(missing)}"
    return 0, ""


def _size(value) -> str:
    if value is None:
        return "-"
    if value < 1024:
        return f"{value:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def _age(seconds) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _repo_host(report: dict[str, Any]) -> tuple[str | None, dict | None]:
    """(host, document) of the backup repo host: the one host of the report with data."""
    return next(((h, d) for h, d in sorted(report.items()) if d), (None, None))


def backup_list_verdict(report: dict[str, Any], as_json: bool,
                        stream: IO[str] | None = None) -> tuple[int, str]:
    """`golive backup list`: one row per backup of the repo host's stanza. Exit 1 when the
    repository could not be read, has no backup, or its newest backup carries an error flag."""
    host, doc = _repo_host(report)
    if doc is None:
        return 1, "no backup repository answered (is the backup tier converged?)"
    backups = doc.get("backups") or []
    if not as_json:
        stream = stream or sys.stdout
        rows = [(b.get("label"), b.get("type"), b.get("finished_at") or "-",
                 _size(b.get("size")), _size(b.get("repo_size")),
                 "ERROR" if b.get("error") else "ok") for b in backups]
        click.echo(f"stanza {doc.get('stanza')} on {host}: {doc.get('status')}; WAL "
                   f"{doc.get('wal_min') or '-'} .. {doc.get('wal_max') or '-'}; newest "
                   f"{_age(doc.get('age_seconds'))} old", file=stream)
        click.echo(table(("label", "type", "finished", "size", "in repo", "status"), rows),
                   file=stream)
    if not backups:
        return 1, f"no backup in stanza {doc.get('stanza')} on {host}"
    if backups[-1].get("error"):
        return 1, f"the newest backup {backups[-1].get('label')} has errors (pgbackrest info)"
    return 0, ""


def restore_test_verdict(report: dict[str, Any], as_json: bool,
                         stream: IO[str] | None = None) -> tuple[int, str]:
    """`golive restore-test`: one row per stage, then RTO, RPO, size and throughput. Exit 1 when
    a stage failed (it is named). (A scratch directory or port that collides with production is
    refused earlier, by the playbook's preflight: exit 5.)"""
    host, doc = _repo_host(report)
    if doc is None:
        return 1, "the repo host returned no restore test result"
    stages = doc.get("stages") or []
    if not as_json:
        stream = stream or sys.stdout
        rows = [(s.get("name"), s.get("status"), f"{s.get('seconds', 0):.1f} s",
                 s.get("message") or "") for s in stages]
        click.echo(table(("stage", "status", "time", "message"), rows), file=stream)
        throughput = doc.get("throughput_bytes_per_second")

        def seconds(key):
            return "-" if doc.get(key) is None else f"{doc[key]:.1f}"

        click.echo(f"{host}: RTO {seconds('rto_seconds')} s, measured RPO "
                   f"{seconds('rpo_seconds')} s, restored {_size(doc.get('restore_bytes'))} at "
                   f"{_size(throughput) + '/s' if throughput else '-'}", file=stream)
    if not doc.get("ok"):
        failed = next((s for s in stages if s.get("status") == "fail"), {})
        return 1, f"restore test failed at stage {failed.get('name', '?')}: " \
                  f"{failed.get('message', doc.get('msg', ''))}"
    return 0, ""


PHASE_ORDER = ("lock", "plan", "checks", "prepare", "migrate", "db_restore", "start", "switch",
               "watch", "finalize", "revert")


def _phases(phases: dict[str, Any]) -> str:
    order = {name: i for i, name in enumerate(PHASE_ORDER)}
    names = sorted(phases, key=lambda n: (order.get(n, len(order)), n))
    return " ".join(f"{name} {float(phases[name]):.1f}" for name in names) if phases else "-"


def _warmth(hosts: dict[str, Any]) -> str:
    """How a rollback reached its target: one switch to a warm color, or the cold path."""
    cold = sorted(host for host, record in hosts.items() if not (record or {}).get("warm"))
    if not cold:
        return "warm rollback: the previous release was still running; one switch on every host"
    return (f"cold rollback on {', '.join(cold)}: the previous release was not running there "
            "(app_previous_warm off, a reboot, or an older target), so it was started and gated")


def _reconciled(kind: str, reconciled: dict[str, Any], version: str | None) -> str:
    """Which way a run ended a fleet left on mixed releases, and why it was mixed."""
    before = reconciled.get("before") or {}
    was = ", ".join(f"{host} {v or 'nothing'}" for host, v in sorted(before.items()))
    why = (f"left by the interrupted run {reconciled['interrupted']}"
           if reconciled.get("interrupted") else "left by an interrupted run")
    return (f"the fleet was on mixed releases ({was}), {why}; this {kind} reconciled it: every "
            f"web host is on {version} now")


def release_verdict(report: dict[str, Any], as_json: bool, wall_s: float | None = None,
                    stream: IO[str] | None = None) -> tuple[int, str]:
    """`golive deploy` / `golive rollback`: one row per web host (color, from, phases in
    seconds), then the outcome, migrations, restore point. Exit 1 unless it succeeded."""
    result = report.get("localhost") or {}
    if not result:
        return 1, "the run left no result (it stopped before its record play)"
    kind, outcome = result.get("kind", "deploy"), result.get("outcome", "?")
    if not as_json:
        stream = stream or sys.stdout
        rows = []
        for host, record in sorted((result.get("hosts") or {}).items()):
            record = record or {}
            rows.append((host, record.get("color") or "-",
                         f"{record.get('from_version') or '-'} -> {record.get('version') or '-'}",
                         _phases(record.get("phases_s") or {})))
        click.echo(table(("host", "color", "release", "phases (s)"), rows), file=stream)
        for failure in result.get("failures") or []:
            click.echo(clip(f"FAIL {failure.get('host')} in {failure.get('phase')}: "
                            f"{failure.get('msg')}", SCREEN_WIDTH), file=stream)
        migrations = ", ".join(m.get("id", "?") + (" (breaking)" if m.get("breaking") else "")
                               for m in result.get("migrations") or []) or "none"
        point = result.get("restore_point") or {}
        lines = [f"{kind} {result.get('id')}: {outcome}, version {result.get('version')}"
                 + (f", {wall_s:.1f} s" if wall_s is not None else ""),
                 f"migrations applied: {migrations}"]
        if point:
            lines.append(f"restore point: {point.get('name')} at {point.get('taken_at')} "
                         f"(dump {point.get('dump')} on {point.get('host')})")
        if result.get("db_restore"):
            restore = result["db_restore"]
            lines.append(f"database restored to {restore.get('restore_point')}: writes from "
                         f"{restore.get('lost_from')} to {restore.get('lost_to')} "
                         f"({restore.get('lost_window_s')} s) are gone")
        if result.get("broken_lock"):
            lines.append(f"broke the stale lock of {result['broken_lock'].get('id')}")
        if kind == "rollback" and outcome == "succeeded":
            lines.append(_warmth(result.get("hosts") or {}))
        for line in lines:
            click.echo(clip(line, SCREEN_WIDTH), file=stream)
        if result.get("reconciled"):  # whole: it names every host
            click.echo(textwrap.fill(_reconciled(kind, result["reconciled"], result.get(
                "version")), SCREEN_WIDTH), file=stream)
    if outcome != "succeeded":
        first = (result.get("failures") or [{}])[0]
        return 1, (f"{kind} {result.get('id')} {outcome}: {first.get('host', '?')} failed in "
                   f"{first.get('phase', '?')}: {first_line(str(first.get('msg', '')), 300)}")
    return 0, ""


def history_table(records: list[dict[str, Any]]) -> str:
    """`golive history`: one line per deploy or rollback, newest last."""
    if not records:
        return "no deploys recorded for this inventory on this control node"
    rows = []
    for record in records:
        migrations = ",".join(m.get("id", "?").split("_")[0] + ("!" if m.get("breaking") else "")
                              for m in record.get("migrations") or []) or "-"
        link = record.get("rollback_of") or "-"
        wall = record.get("wall_s")
        rows.append((record.get("id", "?"), record.get("kind", "?"), record.get("version") or "-",
                     record.get("outcome", "?"), record.get("actor") or "-",
                     f"{wall:.1f}" if isinstance(wall, (int, float)) else "-", migrations, link))
    return table(("id", "kind", "version", "outcome", "actor", "wall s", "migrations",
                  "rollback of"), rows)
