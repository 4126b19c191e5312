#!/usr/bin/env bash
# Run `molecule test` for every scenario given, JOBS at a time (default 2). Each scenario's
# output goes to a log that is printed whole when it ends, so parallel runs do not interleave;
# then one line per scenario with its result and time. Exit 1 if any scenario failed.
# Needs golive's environment (make molecule sets it).
set -uo pipefail
jobs="${MOLECULE_JOBS:-2}"
logs="$(mktemp -d /tmp/golive-molecule.XXXXXX)"
trap 'rm -rf "$logs"' EXIT

one() {
  local s="$1" logs="$2" start rc line
  start=$(date +%s)
  molecule test -s "$s" >"$logs/$s.log" 2>&1
  rc=$?
  line="$s exit $rc in $(( $(date +%s) - start )) s"
  { echo "== molecule test -s $s"; cat "$logs/$s.log"; echo "== molecule $line"; } \
    | flock "$logs" cat
  echo "$line" >>"$logs/summary"
  return "$rc"
}
export -f one

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'one "$1" "$2"' _ {} "$logs"
rc=$?
echo "== Molecule, $jobs at a time:"
sort "$logs/summary"
[ "$rc" -eq 0 ] || { echo "== Molecule: a scenario failed"; exit 1; }
