# SPDX-License-Identifier: Apache-2.0
"""Filters over the deploy history (one JSON object per line in .deploy/history.jsonl).

Records (read by golive.ops.app_state): {id, kind: deploy|rollback, release, version, outcome,
from_release, ...}.
- A release is good once a deploy of it succeeded, until a rollback moves away from it (it is
  then bad: a rollback says the release was wrong).
- The rollback target is the newest good release that went live before the current one first
  did (never chosen by directory times).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.golive.ops.plugins.module_utils.smoke import definition_problems


def succeeded_deploy(record: dict, release: str | None = None) -> bool:
    """A deploy that succeeded (of RELEASE, when given)."""
    return record.get("kind") == "deploy" and record.get("outcome") == "succeeded" \
        and (release is None or record.get("release") == release)


def bad_releases(history: list[dict]) -> set[str]:
    return {r.get("from_release") for r in history
            if r.get("kind") == "rollback" and r.get("outcome") == "succeeded"
            and r.get("from_release")}


def good_releases(history: list[dict]) -> list[str]:
    """Releases whose deploy succeeded, oldest first, bad ones left out."""
    bad = bad_releases(history)
    seen: list[str] = []
    for record in history:
        release = record.get("release")
        if succeeded_deploy(record) and release and release not in bad and release not in seen:
            seen.append(release)
    return seen


def current_release(history: list[dict]) -> str | None:
    """The release the last successful deploy or rollback made live."""
    for record in reversed(history):
        if record.get("outcome") == "succeeded" and record.get("kind") in ("deploy", "rollback"):
            return record.get("release")
    return None


def rollback_target(history: list[dict], current: str | None = None) -> dict | None:
    """The record of the deploy to roll back to, or None."""
    if not isinstance(history, list):
        raise AnsibleFilterError("rollback_target: the history must be a list of records")
    current = current or current_release(history)
    good = good_releases(history)
    first_live = {}
    for index, record in enumerate(history):
        if record.get("outcome") == "succeeded" and record.get("release") not in first_live:
            first_live[record.get("release")] = index
    limit = first_live.get(current, len(history))
    candidates = [r for r in good if r != current and first_live.get(r, len(history)) < limit]
    if not candidates:
        return None
    target = candidates[-1]
    for record in reversed(history):
        if succeeded_deploy(record, target):
            return record
    return None


def breaking_since(history: list[dict], target: str) -> list[dict]:
    """Breaking migrations applied by deploys after TARGET's deploy and still in the database
    (what a code-only rollback to TARGET would run against). A rollback with --db-restore put
    the database back to a deploy's restore point: that deploy's migrations, and later ones, are
    gone."""
    after = False
    found = []  # (index of the deploy in the history, migration)
    point_taken_at = {}  # restore point name -> index of the deploy that took it
    for index, record in enumerate(history):
        kind, succeeded = record.get("kind"), record.get("outcome") == "succeeded"
        point = (record.get("restore_point") or {}).get("name")
        if kind == "deploy" and point:
            point_taken_at.setdefault(point, index)
        if succeeded_deploy(record, target):
            after, found = True, []
        elif after and kind == "deploy":
            found += [(index, dict(m, deploy=record.get("id")))
                      for m in record.get("migrations") or [] if m.get("breaking")]
        elif after and kind == "rollback" and succeeded and record.get("db_restore"):
            undone_from = point_taken_at.get(record["db_restore"].get("restore_point"))
            if undone_from is not None:
                found = [(i, m) for i, m in found if i < undone_from]
    return [m for _, m in found]


def restore_point_after(history: list[dict], target: str) -> dict | None:
    """The first pre-deploy restore point taken by a deploy after TARGET's deploy: the state
    of the database just before the first migration TARGET's code did not know."""
    after = False
    for record in history:
        if succeeded_deploy(record, target):
            after = True
            continue
        if after and record.get("kind") == "deploy" and record.get("restore_point"):
            return record["restore_point"]
    return None


def rollback_plan(history: list[dict], current: str, host: str, installed: list[str],
                  lock_host: str, requested: str | None = None,
                  db_restore: bool = False) -> dict:
    """A rollback's plan on HOST from the lock host's HISTORY, before anything changes:
    {target (a deploy record), breaking (migrations since it), restore_from (the restore point a
    --db-restore goes back to), refusal (why not, naming what to do; None to go)}. CURRENT is
    the release rolled back from (on a mixed fleet, the newest one a host serves); REQUESTED is
    --to's deployment id."""
    if not isinstance(history, list):
        raise AnsibleFilterError("rollback_plan: the history must be a list of records")
    plan: dict = {"target": None, "breaking": [], "restore_from": None, "refusal": None}
    if requested:
        found = [r for r in history if succeeded_deploy(r) and r.get("id") == requested]
        target = found[0] if found else None
        if target is None or target.get("release") == current:
            plan["refusal"] = (f"--to {requested} is not a successful deploy in {lock_host}'s "
                               f"history{', or it is the current release' if found else ''}; "
                               f"nothing changed (see `golive history`)")
            return plan
    else:
        target = rollback_target(history, current)
        if target is None or target.get("release") == current:
            plan["refusal"] = (f"no good release before the current one ({current or 'none live'})"
                               f" in {lock_host}'s history; nothing changed (see `golive history`)")
            return plan
    plan["target"] = target
    release, version = target.get("release"), target.get("version")
    if release not in installed:
        plan["refusal"] = (f"release {release} (version {version}) is not installed on {host} "
                           f"(pruned, or its deploy never reached this host); nothing changed. "
                           f"Deploy its artifact again instead.")
        return plan
    plan["breaking"] = breaking_since(history, release)
    plan["restore_from"] = restore_point_after(history, release)
    point = plan["restore_from"] or {}
    if plan["breaking"] and not db_restore:
        ids = ", ".join(m.get("id", "?") for m in plan["breaking"])
        plan["refusal"] = (
            f"refused: breaking migration(s) {ids} ran since {version} ({release}), whose code "
            f"does not know that schema. Nothing changed. Either roll back with --db-restore "
            f"--yes (the database goes back to restore point "
            f"{point.get('name', '(none recorded)')}, taken {point.get('taken_at', '?')}, and "
            f"every write since is lost), or deploy a fix forward.")
    elif db_restore and not plan["restore_from"]:
        plan["refusal"] = (f"--db-restore: no pre-deploy restore point recorded after {release} "
                           f"in {lock_host}'s history (no migration ran since, or "
                           f"app_predeploy_backup was off); nothing changed")
    return plan


def releases_to_prune(dirs: list[str], history: list[dict], keep: int,
                      protect: list[str] | None = None) -> list[str]:
    """Release directories to delete: all but the KEEP newest good releases, the protected ones
    (current, the one being deployed) and the previous good one."""
    good = good_releases(history)
    keep_set = set(good[-max(int(keep), 2):]) | {p for p in (protect or []) if p}
    current = current_release(history)
    if current:
        keep_set.add(current)
    return sorted(d for d in dirs if d not in keep_set)


def phase_durations(marks: dict, end: float) -> dict:
    """{phase: seconds} from {phase: start epoch} and the end epoch (phases in time order)."""
    ordered = sorted(((float(t), name) for name, t in (marks or {}).items()))
    stops = [t for t, _ in ordered[1:]] + [float(end)]
    pairs = zip(ordered, stops, strict=True)
    return {name: round(stop - start, 3) for (start, name), stop in pairs}


def facts_of(hosts: list[str], hostvars, name: str, default=None) -> list:
    """[hostvars[h][name] for h in hosts], DEFAULT where a host has no such fact (Jinja's
    extract and map(attribute) raise on a missing host variable in ansible-core 2.19)."""
    found = []
    for host in hosts:
        try:
            found.append(hostvars[host][name])
        except KeyError:
            found.append(default)
    return found


def failure_text(failure: dict) -> str:
    return f"{failure.get('host', '?')} failed in {failure.get('phase', '?')}: " \
           f"{failure.get('msg', '')}"


def smoke_problems(tests) -> list[str]:
    """The problems of app_smoke's definitions (the role's preflight), [] when none."""
    if not isinstance(tests, list):
        return [f"app_smoke must be a list of tests, not {type(tests).__name__}"]
    return definition_problems(tests)


class FilterModule:
    def filters(self):
        # rollback_target, breaking_since and restore_point_after are rollback_plan's parts
        return {"rollback_plan": rollback_plan, "releases_to_prune": releases_to_prune,
                "phase_durations": phase_durations, "failure_text": failure_text,
                "facts_of": facts_of, "smoke_problems": smoke_problems}
