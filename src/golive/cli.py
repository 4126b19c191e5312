"""The `golive` command line: one small function per command on top of golive.runner."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from golive import __version__, paths
from golive.errors import EXIT_CODE_HELP, ExitCode, GoliveError, InvalidInput, RunFailed, SetupError

# converge --only TIER -> its playbook; site.yml composes the tiers that exist. The backup tier's
# playbook is backup_tier.yml: backup.yml is `golive backup` (take a backup).
TIER_PLAYBOOKS = {"common": "common", "security": "security", "db": "db", "cache": "cache",
                  "edge": "edge", "app": "app", "backup": "backup_tier", "monitoring": "monitoring"}
TIERS = tuple(TIER_PLAYBOOKS)

EXIT_CODES_EPILOG = "Exit codes:\n\n\b\n" + "\n".join(
    f"  {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items())


class GoliveGroup(click.Group):
    """Maps every ending to a documented exit code; Ctrl-C outside a run is 130, not 1."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name or "golive", complete_var,
                              standalone_mode=False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("Error: interrupted", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        sys.exit(rv if isinstance(rv, int) else 0)


def json_errors(func):
    """With --json, an error before or after a run still yields one JSON document on stdout."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GoliveError as exc:
            if kwargs.get("as_json") and not getattr(exc, "json_emitted", False):
                from golive.render import emit_json

                emit_json(exc.as_dict())
            raise

    return wrapper


def run_options(func):
    """The options every playbook command shares."""
    options = [
        click.option("-i", "--inventory", metavar="PATH",
                     help="Inventory file or directory [default: the lab inventory]."),
        click.option("-l", "--limit", metavar="PATTERN", help="Limit to hosts or groups."),
        click.option("--check", is_flag=True, help="Dry run: report what would change."),
        click.option("--diff", is_flag=True, help="Show the changes made to files."),
        click.option("-e", "--extra-vars", "extra_vars", multiple=True, metavar="KEY=VALUE|@FILE",
                     help="Extra variables; @FILE is passed by path, never copied."),
        click.option("--vault-password-file", type=click.Path(exists=True, dir_okay=False),
                     help="File holding the vault password (or set ANSIBLE_VAULT_PASSWORD_FILE)."),
        click.option("-v", "--verbose", count=True, help="More output (repeat for ansible -vvv)."),
        click.option("--json", "as_json", is_flag=True,
                     help="Print one JSON document with the result on stdout, nothing else."),
    ]
    wrapped = json_errors(func)
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def parse_extra_vars(values: tuple[str, ...]) -> tuple[dict[str, Any], list[Path]]:
    extravars: dict[str, Any] = {}
    files: list[Path] = []
    for value in values:
        if value.startswith("@"):
            path = Path(value[1:]).expanduser()
            if not path.is_file():
                raise InvalidInput(f"--extra-vars: file {path} does not exist")
            files.append(path.resolve())
        elif "=" in value:
            key, _, val = value.partition("=")
            if not key.isidentifier():
                raise InvalidInput(f"--extra-vars: {key!r} is not a valid variable name")
            extravars[key] = val
        else:
            raise InvalidInput(f"--extra-vars: {value!r} is neither KEY=VALUE nor @FILE")
    return extravars, files


def run_playbook(playbook: Path, *, inventory: str | None, limit: str | None, check: bool,
                 diff: bool, extra_vars: tuple[str, ...], vault_password_file: str | None,
                 verbose: int, as_json: bool, extravars: dict[str, Any] | None = None,
                 secret_vars: dict[str, Any] | None = None, report=None,
                 always_report: bool = False, tiers: dict[str, str] | None = None) -> None:
    """Run one playbook with progress on stderr, a recap, and --json on stdout.

    With TIERS (playbook stem -> tier name), PLAYBOOK is site.yml and its tiers run as
    separate runs, concurrent where they share no host (golive.converge).

    REPORT, for reporting commands, renders the per-host data the playbook wrote (see
    playbooks/report.yml) and returns a verdict: (exit code, message); the --json document then
    carries the data under "report". With ALWAYS_REPORT it also sees the data of a failed run
    (a deploy that failed still has a result to record and show).
    """
    import json
    import tempfile

    from golive import inventory as inv
    from golive import runner
    from golive.render import Progress, TaskEstimates, emit_json, render_recap

    inventory_path = inv.resolve(inventory)
    inv.check_setup(inventory_path)
    user_vars, var_files = parse_extra_vars(extra_vars)
    extravars = {**(extravars or {})}
    report_file = None
    if report is not None:
        paths.state_dir().mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="report-", suffix=".json", dir=paths.state_dir())
        os.close(fd)
        report_file = Path(name)
        extravars["golive_report_file"] = str(report_file)
    spec = runner.RunSpec(
        playbook=playbook, inventory=inventory_path, limit=limit, check=check, diff=diff,
        verbosity=max(verbose - 1, 0), extravars={**user_vars, **extravars},
        secret_vars=secret_vars or {}, vars_files=var_files,
        vault_password_file=Path(vault_password_file) if vault_password_file else None)
    try:
        if tiers:
            from golive.converge import run_site

            result = run_site(spec, tiers, verbose=verbose)
        else:
            progress = Progress(verbose=verbose, playbook_key=str(playbook),
                                estimates=TaskEstimates(paths.state_dir() / "task-estimates.json"))
            try:
                result = runner.run(spec, on_event=progress)
            finally:
                progress.close()
    finally:
        data = {}
        if report_file is not None:
            try:
                data = json.loads(report_file.read_text() or "{}")
            except ValueError:
                data = {}
            report_file.unlink(missing_ok=True)
    render_recap(result)
    verdict = (ExitCode.OK, "")
    if report is not None and (result.exit_code == ExitCode.OK or (always_report and data)):
        verdict = report(data, as_json)
    if as_json:
        emit_json({**result.as_dict(), **({"report": data} if report is not None else {})})
    if result.exit_code != ExitCode.OK:
        raise failure(result, lab=inv.is_lab(inventory_path))
    if verdict[0] != ExitCode.OK:
        error = RunFailed(verdict[1], exit_code=verdict[0])
        error.json_emitted = True
        raise error


def failure(result, lab: bool) -> RunFailed:
    """The Error/Hint pair for a run that did not succeed."""
    from golive.render import first_line

    code = result.exit_code
    if code == ExitCode.UNREACHABLE:
        hosts = sorted(h for h, s in result.hosts.items() if s.unreachable)
        why = next((f.msg for f in result.failed_tasks if f.status == "unreachable"), "")
        key_line = next((line.strip() for line in why.splitlines()
                         if "host key" in line.lower()), "")
        msg = f"unreachable: {', '.join(hosts)}" + (
            f": {first_line(key_line or why, 300)}" if why else "")
        if key_line:
            hint = ("the host's SSH host key is not the one in known_hosts; find out why, then "
                    + ("`golive lab trust HOST` accepts a lab container's new key" if lab else
                       "replace its known_hosts entry"))
        else:
            hint = ("is the lab running? golive lab status / golive lab up" if lab else
                    "check SSH access (ansible_host, ansible_user, known_hosts) to those hosts")
    elif code == ExitCode.INVALID_INPUT and result.failed_tasks:
        # a role's preflight refused its inputs before any host changed
        hosts = sorted({f.host for f in result.failed_tasks})
        msg = (f"inputs refused on {', '.join(hosts)}, nothing changed: "
               f"{first_line(result.failed_tasks[0].msg, 400)}")
        hint = "fix the variable or option named above and run again"
    elif code == ExitCode.INVALID_INPUT:
        msg = "ansible refused to start: " + (result.error.splitlines()[0] if result.error
                                               else "invalid inventory, variables or playbook")
        hint = f"details in {result.artifact_dir / 'stdout'}"
    elif code in (ExitCode.CANCELED, ExitCode.INTERRUPTED):
        msg = f"run {result.status}; ansible was stopped"
        hint = "hosts may be mid-change: run the same command again to converge"
    else:
        hosts = sorted({f.host for f in result.failed_tasks} or
                       {h for h, s in result.hosts.items() if s.failed})
        msg = f"failed on {len(hosts)} host(s): {', '.join(hosts)}"
        hint = f"see the failed tasks above; full output in {result.artifact_dir / 'stdout'}"
    error = RunFailed(msg, hint=hint, exit_code=code)
    error.json_emitted = True
    return error


def require_playbook(name: str, what: str) -> Path:
    path = paths.playbook(name)
    if not path.is_file():
        raise SetupError(f"{what} needs playbooks/{name}.yml, which is missing from "
                         f"{paths.project_root()}",
                         hint="golive's installation is incomplete: reinstall it, or run it from "
                              "a full checkout")
    return path


@click.group(cls=GoliveGroup, epilog=EXIT_CODES_EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="golive")
def cli():
    """golive: run a go-live plan (data, cache, edge/TLS, app release, backups, checks) as
    tested Ansible automation against an inventory. Without -i, the local podman lab."""


# -- lab ------------------------------------------------------------------------------------
@cli.group()
def lab():
    """The local lab: podman containers running systemd, one per host of inventories/lab."""


def _log(text: str) -> None:
    click.echo(text, err=True)


PLATFORM_HELP = ("debian13 (default; or GOLIVE_LAB_PLATFORM) or debian12; GROUP=PLATFORM "
                 "(repeatable) sets one group's or host's platform, for a mixed lab")


@lab.command("image")
@click.option("--rebuild", is_flag=True, help="Build even if the image exists.")
@click.option("--platform", "platforms", multiple=True, metavar="PLATFORM",
              help="debian13 or debian12 (repeatable); default: GOLIVE_LAB_PLATFORM or debian13.")
@json_errors
def lab_image(rebuild, platforms):
    """Build a platform's systemd base image (debootstrap + podman import) if missing:
    localhost/golive-debian13:1, localhost/golive-debian12:1."""
    from golive import lab as lab_mod

    for platform in platforms or (lab_mod.default_platform(),):
        image = lab_mod.image_for(platform)
        if rebuild or not lab_mod.image_exists(image):
            lab_mod.build_image(platform, log=_log)
            _log(f"built {image}")
        else:
            _log(f"{image} exists")


@lab.command("up")
@click.option("--platform", "platforms", multiple=True, metavar="[GROUP=]PLATFORM",
              help=PLATFORM_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the lab's state as JSON on stdout.")
@json_errors
def lab_up(platforms, as_json):
    """Build the base images when missing, create/start every lab container on its platform,
    wait for systemd. A lab host keeps its platform until `golive lab down`."""
    from golive import lab as lab_mod

    for host, action in lab_mod.up(platforms, log=_log):
        _log(f"{host.container:<22} {action}")
    _show_status(lab_mod.status(), as_json)


@lab.command("down")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@json_errors
def lab_down(as_json):
    """Remove the lab's containers and network (only what golive created)."""
    from golive import lab as lab_mod
    from golive.render import emit_json

    removed = lab_mod.down()
    _log(f"removed {len(removed)} container(s) and network {lab_mod.NETWORK}")
    if as_json:
        emit_json({"status": "successful", "rc": 0, "removed": removed})


@lab.command("trust")
@click.argument("hosts", nargs=-1)
@json_errors
def lab_trust(hosts):
    """Accept the SSH host keys the lab containers have now (all, or HOSTS): rewrites their
    entries in the lab's known_hosts from the keys read inside the containers. Runs refuse a
    lab host whose key changed until this is done on purpose."""
    from golive import lab as lab_mod

    updated = lab_mod.trust(hosts)
    _log(f"known_hosts: {len(updated)} entr{'y' if len(updated) == 1 else 'ies'} updated"
         + (f" ({', '.join(updated)})" if updated else ""))


@lab.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the lab's state as JSON on stdout.")
@json_errors
def lab_status(as_json):
    """List the lab's containers: state, systemd state, platform, address."""
    from golive import lab as lab_mod

    _show_status(lab_mod.status(), as_json)


def _show_status(rows, as_json: bool) -> None:
    from dataclasses import asdict

    from golive.render import emit_json

    if as_json:
        emit_json({"status": "successful", "rc": 0, "hosts": [asdict(r) for r in rows]})
        return
    _log(f"{'host':<8} {'container':<22} {'state':<9} {'systemd':<10} {'platform':<9} address")
    for r in rows:
        _log(f"{r.host:<8} {r.container:<22} {r.state:<9} {r.systemd:<10} {r.platform:<9} "
             f"{r.address}")


# -- playbook commands ----------------------------------------------------------------------
@cli.command()
@click.option("--only", type=click.Choice(TIERS), help="Converge one tier instead of the site.")
@run_options
def converge(only, **opts):
    """Bring every host (or one tier) to the state the inventory describes."""
    if only:
        run_playbook(require_playbook(TIER_PLAYBOOKS[only], f"tier {only!r}"), **opts)
    else:
        run_playbook(require_playbook("site", "site"), **opts,
                     tiers={stem: tier for tier, stem in TIER_PLAYBOOKS.items()})


@cli.command("run")
@click.argument("playbook")
@run_options
def run_cmd(playbook, **opts):
    """Run PLAYBOOK: a path, or the name of one of golive's playbooks (e.g. `site`)."""
    path = Path(playbook).expanduser()
    if not path.is_file():
        path = paths.playbook(playbook.removesuffix(".yml"))
    if not path.is_file():
        raise InvalidInput(f"playbook {playbook!r} not found (neither a file nor in "
                           f"{paths.project_root() / 'playbooks'})",
                           hint="give a path to a playbook file, or one of: " + ", ".join(
                               sorted(p.stem for p in (paths.project_root() / "playbooks")
                                      .glob("*.yml"))))
    run_playbook(path.resolve(), **opts)


def parse_serial(text: str) -> list[Any]:
    """--serial '1,50%,100%' -> [1, "50%", "100%"] (Ansible's serial list)."""
    batches: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        if part.isdigit() and int(part) > 0:
            batches.append(int(part))
        elif part.endswith("%") and part[:-1].isdigit() and 0 < int(part[:-1]) <= 100:
            batches.append(part)
        else:
            raise click.BadParameter(f"{part!r}: a host count (1, 2 ...) or a share (25%, "
                                     f"100%), comma-separated, canary first: '1,100%'",
                                     param_hint="--serial")
    return batches


def release_run(kind: str, playbook: str, extravars: dict[str, Any], opts: dict[str, Any]):
    """Run deploy.yml or rollback.yml under one new deployment id, record the result in the
    control node's history (also when it failed), print it."""
    import getpass
    import socket
    import time

    from golive import history
    from golive import inventory as inv
    from golive.render import release_verdict

    deploy_id = history.new_id()
    extravars = {**extravars, "golive_deploy_id": deploy_id, "golive_actor": getpass.getuser(),
                 "golive_pid": os.getpid(), "golive_controller": socket.gethostname()}
    started = time.monotonic()
    path = history.history_file(inv.resolve(opts.get("inventory")))

    def report(data, as_json):
        result = data.get("localhost") or {}
        if result and not opts.get("check"):
            history.append(path, history.summary(result, time.monotonic() - started))
        return release_verdict(data, as_json, wall_s=time.monotonic() - started)

    click.echo(f"{kind} {deploy_id}", err=True)
    run_playbook(require_playbook(playbook, f"`golive {kind}`"), report=report,
                 always_report=True, extravars=extravars, **opts)


@cli.command("deploy")
@click.option("--artifact", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Release artifact (.tar.gz with release.json and wheels/).")
@click.option("--serial", help="Batches, canary first, e.g. '1,100%' [default: app_serial].")
@click.option("-m", "--message", default="", help="Why: kept in the lock and the history.")
@click.option("--force-unlock", is_flag=True,
              help="Take over a stale deploy lock (its holder's process is gone).")
@run_options
def deploy_cmd(artifact, serial, message, force_unlock, **opts):
    """Release the app: lock, pre-deploy checks, prepare on every web host, pre-deploy backup
    and migrations when some are pending, then per batch start the new color, gate on its
    health, switch nginx, watch; finalize, or revert every switched host.

    Exit 1 when the deploy failed or was rolled back (the phase and host are named; the
    history says which).
    """
    extravars: dict[str, Any] = {"app_artifact": str(Path(artifact).resolve()),
                                 "golive_force_unlock": force_unlock, "golive_message": message}
    if serial:
        extravars["app_serial"] = parse_serial(serial)
    release_run("deploy", "deploy", extravars, opts)


@cli.command("rollback")
@click.option("--to", "to_id", metavar="ID", help="Deployment id to go back to "
              "[default: the last good release before the current one].")
@click.option("--db-restore", is_flag=True,
              help="Also restore the database to the pre-deploy restore point (loses writes).")
@click.option("--yes", is_flag=True, help="Confirm --db-restore.")
@click.option("-m", "--message", default="", help="Why: kept in the lock and the history.")
@click.option("--force-unlock", is_flag=True,
              help="Take over a stale deploy lock (its holder's process is gone).")
@run_options
def rollback_cmd(to_id, db_restore, yes, message, force_unlock, **opts):
    """Switch back to the previous good release (the history decides, never file times),
    through the same health gate, on every web host.

    Refused when a breaking migration ran since the target, unless --db-restore --yes:
    PgBouncer PAUSE, a maintenance answer, the database restored from the pre-deploy dump,
    RESUME; the window of writes lost is reported.
    """
    if db_restore and not yes:
        raise click.UsageError("--db-restore loses every write since the pre-deploy backup; "
                               "add --yes to confirm")
    extravars: dict[str, Any] = {"golive_force_unlock": force_unlock, "golive_message": message,
                                 "golive_db_restore": db_restore}
    if to_id:
        extravars["golive_rollback_to"] = to_id
    release_run("rollback", "rollback", extravars, opts)


@cli.command("maintenance")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("-m", "--message", default="", help="What the 503 answer says (at most 500 "
              "characters) [default: down for maintenance].")
@click.option("--drain", "drain_s", type=click.IntRange(0, 3600), default=30, show_default=True,
              help="Seconds to wait, after `on`, for requests in flight to finish.")
@run_options
def maintenance_cmd(state, message, drain_s, **opts):
    """Put the app's locations in maintenance on every web host at once (`on`: 503 with
    Retry-After and the message, then drain the requests in flight) or back (`off`). nginx's
    /edge-health and the app's health path keep answering; nothing is reloaded."""
    from golive.render import maintenance_verdict

    if len(message) > 500:
        raise click.BadParameter(f"{len(message)} characters, at most 500", param_hint="--message")
    run_playbook(require_playbook("maintenance", "`golive maintenance`"),
                 report=maintenance_verdict,
                 extravars={"golive_maintenance": state, "golive_maintenance_message": message,
                            "golive_maintenance_drain_s": drain_s}, **opts)


@cli.command("history")
@click.option("-n", "--limit-records", "count", type=click.IntRange(1, 10000), default=20,
              show_default=True, help="Newest records shown.")
@click.option("-i", "--inventory", metavar="PATH",
              help="Inventory file or directory [default: the lab inventory].")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON on stdout.")
@json_errors
def history_cmd(count, inventory, as_json):
    """Deploys and rollbacks run from this control node against the inventory, newest last:
    id, kind, version, outcome, actor, wall time, per-phase timings, migrations, restore point,
    rollback link. (Each web host keeps its own history in <app_root>/.deploy/history.jsonl.)"""
    from golive import history
    from golive import inventory as inv
    from golive.render import emit_json, history_table

    records = history.read(history.history_file(inv.resolve(inventory)))[-count:]
    if as_json:
        emit_json({"records": records})
    else:
        click.echo(history_table(records))


@cli.command("check")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on failures.")
@run_options
def check_cmd(strict, **opts):
    """Run every host's checks (disk, memory, load, clock, services, DB, Redis, HTTP, TLS ...)
    in parallel and print host x check with the value against its threshold.

    Exit 1 when a check fails (or warns, with --strict); 5 when a check definition is invalid,
    before any host is checked. The checks come from the inventory (see roles/checks).
    """
    import functools

    from golive.render import check_verdict

    run_playbook(require_playbook("check", "`golive check`"),
                 report=functools.partial(check_verdict, strict=strict), **opts)


@cli.command("status")
@run_options
def status_cmd(**opts):
    """One screen of the inventory's state: PostgreSQL roles and lag, PgBouncer pools, Redis
    master and links, Sentinel quorum, nginx, certificate days, app release, last backup.

    Read-only. --json carries each host's document under "report" (docs/status-schema.json).
    """
    from golive.render import status_verdict

    run_playbook(require_playbook("status", "`golive status`"), report=status_verdict, **opts)


@cli.command("alerts")
@run_options
def alerts_cmd(**opts):
    """What fires (and what is pending) in Prometheus on the mon hosts: alert, severity, host,
    since when.

    Read-only. Exit 1 when no mon host's Prometheus answered. --json carries each mon host's
    {reachable, error, alerts} under "report".
    """
    from golive.render import alerts_verdict

    run_playbook(require_playbook("alerts", "`golive alerts`"), report=alerts_verdict, **opts)


@cli.command("audit")
@run_options
def audit_cmd(**opts):
    """Per host: the TCP ports it listens on and which of them another host reaches (probed from
    outside), against what the inventory's firewall allows; changes to golive's firewall table
    by hand; pending security updates and a required reboot; sshd's effective settings; files
    readable by every local user that hold a secret of the inventory or a private key.

    Read-only. Exit 1 on a finding of severity high (a port open to a host the inventory does
    not allow, a changed firewall, a readable secret, root or password login). --json carries
    each host's {ports, findings, firewall, sshd, updates, secret_files} under "report".
    """
    from golive.render import audit_verdict

    run_playbook(require_playbook("audit", "`golive audit`"), report=audit_verdict, **opts)


@cli.group("backup", invoke_without_command=True)
@click.option("--type", "backup_type", type=click.Choice(["full", "diff", "incr"]),
              default="full", show_default=True, help="pgBackRest backup type.")
@run_options
@click.pass_context
def backup_cmd(ctx, backup_type, **opts):
    """Take a pgBackRest backup now on the repo host (the unit its timers start), then list the
    repository. `golive backup list` only lists."""
    if ctx.invoked_subcommand is not None:
        return
    from golive.render import backup_list_verdict

    run_playbook(require_playbook("backup", "`golive backup`"), report=backup_list_verdict,
                 extravars={"golive_backup_type": backup_type}, **opts)


@backup_cmd.command("list")
@run_options
def backup_list(**opts):
    """The repository's backups: label, type, finished, age, size, error flag; the WAL range."""
    from golive.render import backup_list_verdict

    run_playbook(require_playbook("backup_list", "`golive backup list`"),
                 report=backup_list_verdict, **opts)


@cli.command("restore-test")
@click.option("--target-time", help="Recover to this time (PITR), e.g. '2026-11-22 10:15:00+00'.")
@click.option("--target-name", help="Recover to this named restore point.")
@run_options
def restore_test_cmd(target_time, target_name, **opts):
    """Prove the newest backup: restore it into a scratch instance on the repo host, recover,
    check integrity (pg_amcheck, pg_checksums) and data (canary, row counts), measure RTO and
    RPO, write the JSON result and Prometheus metrics, clean up.

    Exit 1 when a stage fails (the stage is named), 5 when the scratch directory or port would
    collide with production. Production data, ports and the repository's timeline are never
    touched.
    """
    from golive.render import restore_test_verdict

    if target_time and target_name:
        raise click.UsageError("give --target-time or --target-name, not both")
    extravars = {}
    if target_time:
        extravars = {"golive_restore_test_target": "time",
                     "golive_restore_test_target_value": target_time}
    elif target_name:
        extravars = {"golive_restore_test_target": "name",
                     "golive_restore_test_target_value": target_name}
    run_playbook(require_playbook("restore_test", "`golive restore-test`"),
                 report=restore_test_verdict, extravars=extravars, **opts)


@cli.group()
def tls():
    """Certificates: days left, served serial, renewal."""


@tls.command("status")
@run_options
def tls_status(**opts):
    """Certificates on disk and served on :443, days left, next renewal.

    Exit 1 when a certificate is under its fail threshold, the served certificate is not the one
    on disk, its chain does not verify, or the last renewal failed.
    """
    from golive.render import tls_status_verdict

    run_playbook(require_playbook("tls_status", "`golive tls status`"),
                 report=tls_status_verdict, **opts)


@tls.command("renew")
@click.option("--force", is_flag=True,
              help="Renew every certificate now, not only those due (certbot --force-renewal).")
@run_options
def tls_renew(force, **opts):
    """Renew certificates due for renewal now, as certbot.timer would; nginx reloads after."""
    from golive.render import tls_renew_verdict

    run_playbook(require_playbook("tls_renew", "`golive tls renew`"), report=tls_renew_verdict,
                 extravars={"tls_force_renewal": force}, **opts)


@cli.command("env")
def env_cmd():
    """Print shell exports so plain ansible-playbook/molecule use golive's configuration."""
    from golive.runner import run_env

    for key, value in sorted(run_env().items()):
        click.echo(f"export {key}={shlex.quote(value)}")


def main() -> None:
    cli.main()
