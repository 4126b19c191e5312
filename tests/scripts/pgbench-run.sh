#!/bin/bash
# Run a bounded pgbench on a golive db host and watch the server side while it runs.
#   pgbench-run.sh PORT CLIENTS SECONDS [more pgbench options, e.g. -S]
# Connects to ${PGHOST:-127.0.0.1}:PORT as $PGUSER/$PGDATABASE with $PGPASSWORD; every 0.2 s
# counts that user's backends in the local PostgreSQL (as postgres over the socket).
# Prints pgbench's own output on stderr and one JSON line on stdout:
#   {"rc", "clients", "seconds", "max_server_connections", "failed_transactions",
#    "aborted_clients", "tps"}
# Used by molecule/database's verify, the e2e tests and tests/bench; it only talks to loopback.
set -u
port=$1 clients=$2 seconds=$3
shift 3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pgbench -h "${PGHOST:-127.0.0.1}" -p "$port" -c "$clients" -j 2 -T "$seconds" -n "$@" >"$out" 2>&1 &
pid=$!
max=0
while kill -0 "$pid" 2>/dev/null; do
  n=$(runuser -u postgres -- env -u PGUSER -u PGDATABASE -u PGPASSWORD psql -XAtq -U postgres -d postgres -c "SELECT count(*) FROM pg_stat_activity
        WHERE usename = '${PGUSER}' AND datname = '${PGDATABASE}' AND backend_type = 'client backend'" 2>/dev/null)
  [[ "$n" =~ ^[0-9]+$ ]] && (( n > max )) && max=$n
  sleep 0.2
done
wait "$pid"
rc=$?
cat "$out" >&2
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
aborted=$(grep -c 'aborted' "$out")
tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
printf '{"rc": %d, "clients": %d, "seconds": %d, "max_server_connections": %d, "failed_transactions": %s, "aborted_clients": %d, "tps": %s}\n' \
  "$rc" "$clients" "$seconds" "$max" "${failed:-null}" "$aborted" "${tps:-null}"
