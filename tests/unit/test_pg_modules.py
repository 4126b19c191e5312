"""golive.ops.pg_login, pg_replication, pgbouncer_admin and their module_utils, without a database.

The modules are imported the way Ansible ships them (ansible_collections.golive.ops...) through
a temporary collections dir whose golive/ops links to the repository root. main() runs with a
real AnsibleModule (argument_spec, defaults and no_log applied) whose exit_json/fail_json raise,
a fake connect() returning a scripted connection, and a fake clock.
"""

import datetime
import decimal
import json
import sys
import types
import uuid

import pytest

from .conftest import collection_modules, run_main

PASSWORD = "s3cr3t-Pa55"  # never to be seen in any result


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """pg, pg_login and pg_replication, imported as ansible_collections.golive.ops modules."""
    with collection_modules(tmp_path_factory, pg="module_utils.pg", pg_login="modules.pg_login",
                            pg_replication="modules.pg_replication",
                            pgbouncer_admin="modules.pgbouncer_admin") as modules:
        yield modules


@pytest.fixture(scope="module")
def pg(collection):
    return collection.pg


@pytest.fixture(scope="module")
def pg_login(collection):
    return collection.pg_login


@pytest.fixture(scope="module")
def pg_replication(collection):
    return collection.pg_replication


@pytest.fixture(scope="module")
def pgbouncer_admin(collection):
    return collection.pgbouncer_admin


# --- fakes ------------------------------------------------------------------------------------


class FakeDbError(Exception):
    """What psycopg2.Error is to a real connection."""


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self.rows = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.conn.executed.append(sql)
        answer = self.conn.respond(sql)
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            columns, self.rows = answer
            self.description = [(column,) for column in columns]

    def fetchall(self):
        return list(self.rows)


class FakeConnection:
    """respond(sql) returns (columns, rows), None (no result set) or an exception to raise."""

    Error = FakeDbError

    def __init__(self, respond):
        self.respond = respond
        self.executed = []
        self.closed = False

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def table(*rows):
    """(columns, tuples) for a result given as dicts."""
    columns = list(rows[0]) if rows else []
    return columns, [tuple(row[column] for column in columns) for row in rows]


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def fake_connect(conn, calls=None, clock=None, takes=0.0):
    """A connect() returning `conn` (or raising it, if an exception) after `takes` seconds."""

    def connect(**kwargs):
        if calls is not None:
            calls.append(kwargs)
        if clock is not None:
            clock.now += takes
        if isinstance(conn, Exception):
            raise conn
        return conn

    return connect


# --- module_utils/pg.py -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            'connection to server at "127.0.0.1", port 6432 failed: FATAL:  password '
            'authentication failed for user "app"',
            "auth_failed",
        ),
        (
            'connection to server at "127.0.0.1", port 6432 failed: fe_sendauth: no password '
            "supplied",
            "no_password",
        ),
        ("FATAL:  SASL authentication failed", "auth_failed"),
        ("ERROR:  No such user: app", "auth_failed"),
        ('FATAL:  role "nobody" does not exist', "no_role"),
        (
            'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "app", database "app", '
            "no encryption",
            "hba_rejected",
        ),
        ('connection to server at "10.0.0.2", port 6432 failed: timeout expired', "timeout"),
        ("ERROR:  canceling statement due to statement timeout", "timeout"),
        (
            'connection to server at "127.0.0.1", port 6432 failed: Connection refused\n\tIs '
            "the server running on that host and accepting TCP/IP connections?",
            "refused",
        ),
        (
            'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such '
            "file or directory",
            "refused",
        ),
        (
            'could not translate host name "db9" to address: Name or service not known',
            "unknown_host",
        ),
        ("ERROR:  no such database: nope", "no_database"),
        ('FATAL:  database "nope" does not exist', "no_database"),
        ("server closed the connection unexpectedly", "other"),
        ("", "other"),
    ],
)
def test_classify_error(pg, message, reason):
    assert pg.classify_error(message) == reason
    assert pg.classify_error(RuntimeError(message)) == reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (42, 42),
        (1.5, 1.5),
        ("text", "text"),
        (decimal.Decimal("16777216.5"), "16777216.5"),
        (datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC), "2024-05-01 12:00:00+00:00"),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.timedelta(seconds=90), "0:01:30"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (b"\x00\xff", "\\x00ff"),
        (memoryview(b"\x01"), "\\x01"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        ((1, decimal.Decimal("2")), [1, "2"]),
        ([[1, "a"], (None,)], [[1, "a"], [None]]),
        ({"a": decimal.Decimal("1"), 2: [b"\x02"]}, {"a": "1", "2": ["\\x02"]}),
    ],
)
def test_json_safe(pg, value, expected):
    converted = pg.json_safe(value)
    assert converted == expected
    json.dumps(converted, allow_nan=False)


def test_redact_walks_strings_lists_and_dicts(pg):
    value = {"error": f"bad {PASSWORD}", "rows": [[PASSWORD, 1]], "n": 3}
    assert pg.redact(value, PASSWORD) == {
        "error": "bad ********",
        "rows": [["********", 1]],
        "n": 3,
    }
    assert pg.redact(value, None) is value
    assert pg.redact(value, "") is value


def test_check_shape_and_status_validation(pg):
    assert pg.check("n", "warn", 1, 2, "m") == {
        "name": "n",
        "status": "warn",
        "value": 1,
        "threshold": 2,
        "message": "m",
    }
    with pytest.raises(ValueError, match="ok, warn, fail"):
        pg.check("n", "error", 1, 2, "m")


def test_checks_ok_allows_warnings(pg):
    assert pg.checks_ok([pg.check("a", "ok", 0, 0, ""), pg.check("b", "warn", 0, 0, "")])
    assert not pg.checks_ok([pg.check("a", "ok", 0, 0, ""), pg.check("b", "fail", 0, 0, "")])
    assert pg.checks_ok([])


def test_missing_psycopg2_is_a_clear_error(pg, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # makes `import psycopg2` fail
    with pytest.raises(pg.MissingLibraryError, match=r"psycopg2.*python3-psycopg2"):
        pg.connect("127.0.0.1", 6432, "app", "pw", "app", 5)


@pytest.fixture
def fake_psycopg2(monkeypatch):
    """A psycopg2 stand-in recording connect() kwargs; set .error to make connect() raise."""
    module = types.SimpleNamespace(Error=FakeDbError, calls=[], error=None)

    def connect(**kwargs):
        module.calls.append(kwargs)
        if module.error:
            raise module.error
        return types.SimpleNamespace(autocommit=False)

    module.connect = connect
    monkeypatch.setitem(sys.modules, "psycopg2", module)
    return module


def test_connect_passes_parameters_and_sets_autocommit(pg, fake_psycopg2):
    conn = pg.connect("db1", 5432, "app", "pw", "appdb", 3, sslmode="require")
    assert conn.autocommit is True
    assert fake_psycopg2.calls == [
        {
            "host": "db1",
            "port": 5432,
            "user": "app",
            "password": "pw",
            "dbname": "appdb",
            "connect_timeout": 3,
            "sslmode": "require",
        }
    ]


@pytest.mark.parametrize(("password", "sent"), [(None, ""), ("", ""), ("pw", "pw")])
def test_connect_ignoring_pgpass_sends_exactly_the_password(pg, fake_psycopg2, password, sent):
    pg.connect("h", 6432, "app", password, "app", 5, ignore_pgpass=True)
    (call,) = fake_psycopg2.calls
    assert call["password"] == sent
    assert call["passfile"] == pg.NO_PASSFILE


def test_connect_without_password_leaves_libpq_defaults(pg, fake_psycopg2):
    pg.connect("/var/run/postgresql", 5432, "postgres", None, "postgres", 5)
    (call,) = fake_psycopg2.calls
    assert "password" not in call
    assert "passfile" not in call
    assert "sslmode" not in call


def test_connect_error_is_classified_and_scrubbed(pg, fake_psycopg2):
    fake_psycopg2.error = FakeDbError(
        f'FATAL:  password authentication failed for user "app" ({PASSWORD})\n'
    )
    with pytest.raises(pg.PgError) as info:
        pg.connect("h", 6432, "app", PASSWORD, "app", 5)
    assert info.value.reason == "auth_failed"
    assert PASSWORD not in info.value.message
    assert info.value.message.endswith("(********)")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_execute_and_fetch_dicts(pg):
    conn = FakeConnection(lambda sql: table({"a": 1, "b": decimal.Decimal("2.5")}))
    assert pg.execute(conn, "SELECT") == (["a", "b"], [(1, decimal.Decimal("2.5"))])
    assert pg.fetch_dicts(conn, "SELECT") == [{"a": 1, "b": "2.5"}]
    assert pg.execute(FakeConnection(lambda sql: None), "SET x = 1") == ([], [])


def test_execute_wraps_driver_errors(pg):
    conn = FakeConnection(lambda sql: FakeDbError("ERROR:  permission denied for table t"))
    with pytest.raises(pg.PgError) as info:
        pg.execute(conn, "SELECT * FROM t")
    assert info.value.message == "ERROR:  permission denied for table t"
    assert info.value.reason == "other"


def test_execute_lets_bugs_through(pg):
    conn = FakeConnection(lambda sql: TypeError("a bug, not a database error"))
    with pytest.raises(TypeError):
        pg.execute(conn, "SELECT 1")


# --- pg_replication: pure evaluation ----------------------------------------------------------

MAX_BYTES = 1000
MAX_SECONDS = 5.0


def standby(name="db2", state="streaming", lag_bytes=0, lag_seconds=None, sync_state="async"):
    return {
        "application_name": name,
        "client_addr": "10.0.0.12",
        "state": state,
        "sync_state": sync_state,
        "replay_lsn": "0/3000148",
        "replay_lag_bytes": lag_bytes,
        "replay_lag_seconds": lag_seconds,
    }


def slot(name="db2", active=True, slot_type="physical", retained=176):
    return {"slot_name": name, "slot_type": slot_type, "active": active, "retained_bytes": retained}


def statuses(checks):
    return {item["name"].removeprefix("pg_replication "): item["status"] for item in checks}


def healthy(name="db2"):
    return {
        f"standby {name} state": "ok",
        f"standby {name} replay_lag_bytes": "ok",
        f"standby {name} replay_lag_seconds": "ok",
    }


@pytest.mark.parametrize(
    ("standbys", "slots", "expected", "want"),
    [
        pytest.param([standby()], [], ["db2"], healthy(), id="streaming-idle"),
        pytest.param([], [], ["db2"], {"standby db2 state": "fail"}, id="missing-none-connected"),
        pytest.param(
            [standby("db3")],
            [],
            ["db2", "db3"],
            {"standby db2 state": "fail", **healthy("db3")},
            id="one-missing",
        ),
        pytest.param(
            [standby(state="catchup", lag_bytes=50, lag_seconds=0.2)],
            [],
            ["db2"],
            {**healthy(), "standby db2 state": "fail"},
            id="not-streaming",
        ),
        pytest.param(
            [standby(lag_bytes=MAX_BYTES + 1, lag_seconds=0.1)],
            [],
            ["db2"],
            {**healthy(), "standby db2 replay_lag_bytes": "fail"},
            id="lag-bytes-over",
        ),
        pytest.param(
            [standby(lag_bytes=MAX_BYTES, lag_seconds=0.1)],
            [],
            ["db2"],
            healthy(),
            id="lag-bytes-at-limit",
        ),
        pytest.param(
            [standby(lag_bytes=MAX_BYTES - 1, lag_seconds=0.1)],
            [],
            ["db2"],
            healthy(),
            id="lag-bytes-under",
        ),
        pytest.param(
            [standby(lag_bytes=None)],
            [],
            ["db2"],
            {
                **healthy(),
                "standby db2 replay_lag_bytes": "fail",
                "standby db2 replay_lag_seconds": "warn",
            },
            id="no-replay-position",
        ),
        pytest.param(
            [standby(lag_bytes=120, lag_seconds=None)],
            [],
            ["db2"],
            {**healthy(), "standby db2 replay_lag_seconds": "warn"},
            id="null-replay-lag-while-behind",
        ),
        pytest.param(
            [standby(lag_bytes=10, lag_seconds=MAX_SECONDS + 0.5)],
            [],
            ["db2"],
            {**healthy(), "standby db2 replay_lag_seconds": "fail"},
            id="lag-seconds-over",
        ),
        pytest.param(
            [standby(lag_bytes=10, lag_seconds=MAX_SECONDS)],
            [],
            ["db2"],
            healthy(),
            id="lag-seconds-at-limit",
        ),
        pytest.param(
            [standby()],
            [slot("db2"), slot("old", active=False)],
            ["db2"],
            {**healthy(), "slot db2 active": "ok", "slot old active": "warn"},
            id="inactive-slot-warns",
        ),
        pytest.param(
            [],
            [slot("cdc", active=False, slot_type="logical")],
            [],
            {},
            id="logical-slots-unchecked",
        ),
        pytest.param(
            [standby("pg_basebackup", state="backup", lag_bytes=None)],
            [],
            [],
            {},
            id="unexpected-senders-unchecked",
        ),
        pytest.param(
            [standby(state="startup", lag_bytes=None), standby(state="streaming")],
            [],
            ["db2"],
            healthy(),
            id="duplicate-name-prefers-streaming",
        ),
    ],
)
def test_evaluate_primary(pg_replication, standbys, slots, expected, want):
    checks = pg_replication.evaluate_primary(standbys, slots, expected, MAX_BYTES, MAX_SECONDS)
    assert statuses(checks) == want


def test_null_replay_lag_of_a_caught_up_standby_counts_as_zero(pg_replication):
    checks = pg_replication.evaluate_primary([standby()], [], ["db2"], MAX_BYTES, MAX_SECONDS)
    lag = next(item for item in checks if item["name"].endswith("replay_lag_seconds"))
    assert (lag["value"], lag["threshold"]) == (0.0, MAX_SECONDS)


def test_missing_standby_message_names_who_is_connected(pg_replication):
    (missing,) = pg_replication.evaluate_primary(
        [standby("db3"), standby("db4")], [], ["db2"], MAX_BYTES, MAX_SECONDS
    )
    assert (
        missing["message"] == "standby db2 is not connected to this primary (connected: db3, db4)"
    )
    assert missing["value"] is None


def receiver(status="streaming"):
    return {
        "status": status,
        "sender_host": "10.0.0.11",
        "sender_port": 5432,
        "slot_name": "db2",
        "flushed_lsn": "0/3000148",
        "latest_end_lsn": "0/3000148",
        "last_msg_age_seconds": 2.5,
    }


@pytest.mark.parametrize(
    ("row", "gap", "expected", "want"),
    [
        pytest.param(
            receiver(),
            0,
            [],
            {"receiver status": "ok", "receiver replay_gap_bytes": "ok"},
            id="streaming",
        ),
        pytest.param(
            receiver(),
            MAX_BYTES,
            [],
            {"receiver status": "ok", "receiver replay_gap_bytes": "ok"},
            id="gap-at-limit",
        ),
        pytest.param(
            receiver(),
            MAX_BYTES + 1,
            [],
            {"receiver status": "ok", "receiver replay_gap_bytes": "fail"},
            id="gap-over-limit",
        ),
        pytest.param(
            receiver("waiting"),
            0,
            [],
            {"receiver status": "fail", "receiver replay_gap_bytes": "ok"},
            id="not-streaming",
        ),
        pytest.param(
            None,
            None,
            [],
            {"receiver status": "fail", "receiver replay_gap_bytes": "fail"},
            id="no-receiver",
        ),
        pytest.param(
            receiver(),
            0,
            ["db3"],
            {"role": "fail", "receiver status": "ok", "receiver replay_gap_bytes": "ok"},
            id="standbys-expected-on-a-standby",
        ),
    ],
)
def test_evaluate_standby(pg_replication, row, gap, expected, want):
    assert statuses(pg_replication.evaluate_standby(row, gap, expected, MAX_BYTES)) == want


@pytest.mark.parametrize(
    ("results", "timeout", "evaluations", "sleeps", "waited", "ok"),
    [
        pytest.param([False], 0, 1, [], 0.0, False, id="no-wait-evaluates-once"),
        pytest.param([True], 10, 1, [], 0.0, True, id="passes-at-once"),
        pytest.param([False, False, True], 10, 3, [0.5, 0.5], 1.0, True, id="passes-later"),
        pytest.param([False] * 10, 1.2, 4, [0.5, 0.5, 0.2], 1.2, False, id="times-out"),
    ],
)
def test_poll(pg, pg_replication, results, timeout, evaluations, sleeps, waited, ok):
    clock, calls = FakeClock(), []

    def evaluate_once():
        calls.append(clock())
        status = "ok" if results[len(calls) - 1] else "fail"
        return len(calls), [pg.check("c", status, None, None, "")]

    state, checks, spent = pg_replication.poll(evaluate_once, timeout, clock, clock.sleep)
    assert (state, len(calls)) == (evaluations, evaluations)
    assert clock.sleeps == pytest.approx(sleeps)
    assert spent == pytest.approx(waited)
    assert pg.checks_ok(checks) is ok


# --- pg_replication: main() -------------------------------------------------------------------


def replication_server(pg_replication, states):
    """A FakeConnection answering as one state per evaluation (the last one repeats)."""
    seen = {"evaluations": 0}

    def respond(sql):
        if sql == pg_replication.ROLE_SQL:
            seen["evaluations"] += 1
        state = states[min(seen["evaluations"], len(states)) - 1]
        answers = {
            pg_replication.ROLE_SQL: table({"in_recovery": state["role"] == "standby"}),
            pg_replication.STANDBYS_SQL: table(*state.get("standbys", [])),
            pg_replication.SLOTS_SQL: table(*state.get("slots", [])),
            pg_replication.RECEIVER_SQL: table(*state.get("receivers", [])),
            pg_replication.GAP_SQL: table({"replay_gap_bytes": state.get("gap")}),
        }
        return answers[sql]

    return FakeConnection(respond)


def test_replication_primary_ok(pg_replication, ansible_module):
    conn = replication_server(
        pg_replication,
        [
            {
                "role": "primary",
                "standbys": [standby(), standby("db3", lag_bytes=10, lag_seconds=0.01)],
                "slots": [slot("db2"), slot("db3")],
            }
        ],
    )
    calls = []
    sleeps = []
    failed, result = run_main(
        pg_replication, {"standbys": ["db2", "db3", "db2"]}, connect_fn=fake_connect(conn, calls),
        clock=lambda: 1000.0, sleep=sleeps.append,
    )
    assert sleeps == []  # no wait_timeout: one look
    assert not failed
    assert result["changed"] is False
    assert result["ok"] is True
    assert result["role"] == "primary"
    assert [row["application_name"] for row in result["standbys"]] == ["db2", "db3"]
    assert [row["slot_name"] for row in result["slots"]] == ["db2", "db3"]
    assert result["receiver"] is None
    assert result["waited_seconds"] == 0.0
    assert len(result["checks"]) == 3 + 3 + 2  # duplicate db2 checked once
    assert calls == [
        {
            "host": "/var/run/postgresql",
            "port": 5432,
            "user": "postgres",
            "password": None,
            "dbname": "postgres",
            "connect_timeout": pg_replication.CONNECT_TIMEOUT,
        }
    ]
    assert conn.closed
    json.dumps(result, allow_nan=False)


def test_replication_primary_failing_reports_messages_and_data(pg_replication, ansible_module):
    conn = replication_server(
        pg_replication,
        [
            {
                "role": "primary",
                "standbys": [standby("db2", lag_bytes=2**30, lag_seconds=42.0)],
                "slots": [slot("db3", active=False)],
            }
        ],
    )
    failed, result = run_main(
        pg_replication, {"standbys": ["db2", "db3"]}, connect_fn=fake_connect(conn)
    )
    assert failed
    assert result["ok"] is False
    assert result["msg"] == "; ".join(
        [
            "standby db2 is 1073741824 bytes behind in replay (limit 16777216)",
            "standby db2 replays 42 s behind (limit 5 s)",
            "standby db3 is not connected to this primary (connected: db2)",
        ]
    )
    assert statuses(result["checks"])["slot db3 active"] == "warn"
    assert result["standbys"][0]["replay_lag_bytes"] == 2**30
    assert conn.closed


def test_replication_standby_ok(pg_replication, ansible_module):
    conn = replication_server(
        pg_replication, [{"role": "standby", "receivers": [receiver()], "gap": 0}]
    )
    failed, result = run_main(pg_replication, {}, connect_fn=fake_connect(conn))
    assert not failed
    assert result["role"] == "standby"
    assert result["standbys"] == [] and result["slots"] == []
    assert result["receiver"] == {**receiver(), "replay_gap_bytes": 0}
    assert statuses(result["checks"]) == {
        "receiver status": "ok",
        "receiver replay_gap_bytes": "ok",
    }
    assert pg_replication.STANDBYS_SQL not in conn.executed  # pg_current_wal_lsn() would fail


def test_replication_standby_not_streaming_fails(pg_replication, ansible_module):
    conn = replication_server(pg_replication, [{"role": "standby", "receivers": [], "gap": None}])
    failed, result = run_main(pg_replication, {}, connect_fn=fake_connect(conn))
    assert failed
    assert result["receiver"] is None
    assert result["msg"].startswith("no WAL receiver is running")


def test_replication_waits_until_the_standby_streams(pg_replication, ansible_module):
    catching_up = {"role": "primary", "standbys": [standby(state="catchup", lag_bytes=10**8)]}
    streaming = {"role": "primary", "standbys": [standby()]}
    conn = replication_server(pg_replication, [catching_up, catching_up, catching_up, streaming])
    clock = FakeClock()
    failed, result = run_main(
        pg_replication,
        {"standbys": ["db2"], "wait_timeout": 30},
        connect_fn=fake_connect(conn),
        clock=clock,
        sleep=clock.sleep,
    )
    assert not failed
    assert clock.sleeps == [0.5, 0.5, 0.5]
    assert result["waited_seconds"] == 1.5
    assert result["standbys"][0]["state"] == "streaming"


def test_replication_wait_timeout_reports_the_last_evaluation(pg_replication, ansible_module):
    conn = replication_server(
        pg_replication,
        [
            {"role": "primary", "standbys": []},
            {"role": "primary", "standbys": [standby(state="catchup", lag_bytes=10**8)]},
        ],
    )
    clock = FakeClock()
    failed, result = run_main(
        pg_replication,
        {"standbys": ["db2"], "wait_timeout": 2},
        connect_fn=fake_connect(conn),
        clock=clock,
        sleep=clock.sleep,
    )
    assert failed
    assert result["waited_seconds"] == 2.0
    assert sum(clock.sleeps) == pytest.approx(2.0)
    assert "standby db2 is catchup, not streaming" in result["msg"]


def test_replication_connect_error_is_a_failed_check(pg, pg_replication, ansible_module):
    error = pg.PgError(f"FATAL:  password authentication failed ({PASSWORD})", "auth_failed")
    failed, result = run_main(
        pg_replication,
        {"login_host": "db1", "login_password": PASSWORD},
        connect_fn=fake_connect(error),
    )
    assert failed
    assert result["role"] is None and result["ok"] is False
    assert statuses(result["checks"]) == {"connect": "fail"}
    assert result["checks"][0]["value"] == "auth_failed"
    assert result["msg"].startswith("cannot connect as postgres@db1:5432: FATAL:")
    assert PASSWORD not in json.dumps(result)


def test_replication_query_error_is_a_failed_check(pg_replication, ansible_module):
    conn = FakeConnection(lambda sql: FakeDbError("ERROR:  permission denied for function"))
    failed, result = run_main(pg_replication, {}, connect_fn=fake_connect(conn))
    assert failed
    assert statuses(result["checks"]) == {"query": "fail"}
    assert conn.closed


def test_replication_runs_in_check_mode(pg_replication, ansible_module):
    conn = replication_server(pg_replication, [{"role": "primary", "standbys": [standby()]}])
    args = {"standbys": ["db2"], "_ansible_check_mode": True}
    failed, result = run_main(pg_replication, args, connect_fn=fake_connect(conn))
    assert not failed and result["ok"] and not result["changed"]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("max_lag_bytes", "max_lag_bytes must be 0 or more, not -1"),
        ("max_lag_seconds", "max_lag_seconds must be 0 or more, not -1.0"),
        ("wait_timeout", "wait_timeout must be 0 or more, not -1.0"),
    ],
)
def test_replication_rejects_negative_limits(pg_replication, ansible_module, key, message):
    failed, result = run_main(
        pg_replication, {key: -1}, connect_fn=fake_connect(AssertionError("no connect"))
    )
    assert failed
    assert result["msg"] == message


# --- pg_login: main() -------------------------------------------------------------------------


def login_server(
    rows=((1,),), columns=("?column?",), version="15.8", in_recovery=False, query_error=None
):
    def respond(sql):
        if "current_setting('server_version')" in sql:
            return table({"server_version": version, "in_recovery": in_recovery})
        if query_error:
            return query_error
        return list(columns), list(rows)

    return FakeConnection(respond)


def test_login_success(pg_login, ansible_module):
    conn, calls, clock = login_server(), [], FakeClock()
    failed, result = run_main(
        pg_login,
        {"user": "app", "password": PASSWORD},
        connect_fn=fake_connect(conn, calls, clock, takes=0.004),
        clock=clock,
    )
    assert not failed
    assert result == {
        "changed": False,
        "connected": True,
        "latency_ms": 4.0,
        "server_version": "15.8",
        "in_recovery": False,
        "error": None,
        "reason": None,
        "rows": [[1]],
        "check": {
            "name": "pg_login app@127.0.0.1:6432/app",
            "status": "ok",
            "value": 4.0,
            "threshold": 100.0,
            "message": "answered in 4.0 ms",
        },
    }
    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 6432,
            "user": "app",
            "password": PASSWORD,
            "dbname": "app",
            "connect_timeout": 5,
            "ignore_pgpass": True,
        }
    ]
    assert conn.executed[0] == "SELECT 1"
    assert conn.closed


def test_login_slow_answer_warns(pg_login, ansible_module):
    clock = FakeClock()
    failed, result = run_main(
        pg_login,
        {"user": "app", "password": "pw", "max_latency_ms": 50},
        connect_fn=fake_connect(login_server(), clock=clock, takes=0.25),
        clock=clock,
    )
    assert not failed
    assert result["check"]["status"] == "warn"
    assert result["check"]["message"] == "answered in 250.0 ms, above 50 ms"


def test_login_rows_are_json_safe(pg_login, ansible_module):
    rows = [(decimal.Decimal("1.50"), datetime.date(2024, 1, 2), None, [1, 2])]
    conn = login_server(rows=rows, columns=("n", "d", "x", "a"))
    failed, result = run_main(
        pg_login,
        {"user": "app", "password": "pw", "query": "SELECT n, d, x, a FROM t"},
        connect_fn=fake_connect(conn),
    )
    assert not failed
    assert result["rows"] == [["1.50", "2024-01-02", None, [1, 2]]]
    assert conn.executed[0] == "SELECT n, d, x, a FROM t"


def test_login_without_password_sends_none(pg_login, pg, ansible_module):
    calls = []
    error = pg.PgError("fe_sendauth: no password supplied", "no_password")
    failed, result = run_main(
        pg_login,
        {"user": "app", "dbname": "appdb", "expect": "refused"},
        connect_fn=fake_connect(error, calls),
    )
    assert not failed
    assert calls[0]["password"] is None and calls[0]["ignore_pgpass"] is True
    assert calls[0]["dbname"] == "appdb"
    assert result["connected"] is False
    assert result["reason"] == "no_password"
    assert result["check"]["name"] == "pg_login app@127.0.0.1:6432/appdb"
    assert result["check"]["status"] == "ok"
    assert result["check"]["value"] == "no_password"


@pytest.mark.parametrize(
    ("expect", "outcome", "failed", "message"),
    [
        ("success", "connected", False, "answered in 0.0 ms"),
        ("success", "auth_failed", True, "login failed (auth_failed) FATAL:  password"),
        ("success", "refused", True, "login failed (refused) connection to server"),
        ("success", "query_error", True, "logged in, but the query failed (other) ERROR:"),
        ("refused", "connected", True, "logged in, but the login should have been refused"),
        ("refused", "query_error", True, "logged in, but the login should have been refused"),
        ("refused", "auth_failed", False, "refused as expected (auth_failed) FATAL:  password"),
        ("refused", "no_password", False, "refused as expected (no_password) fe_sendauth"),
        ("refused", "hba_rejected", False, "refused as expected (hba_rejected) FATAL:  no pg_"),
        # a server that is down proves nothing about the credentials
        ("refused", "refused", True, "should have been refused by the server, but could not"),
        ("refused", "timeout", True, "should have been refused by the server, but could not"),
    ],
)
def test_login_expect(pg, pg_login, ansible_module, expect, outcome, failed, message):
    errors = {
        "auth_failed": 'FATAL:  password authentication failed for user "app"',
        "no_password": "fe_sendauth: no password supplied",
        "hba_rejected": 'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "app"',
        "refused": 'connection to server at "127.0.0.1", port 6432 failed: Connection refused',
        "timeout": 'connection to server at "10.0.0.2", port 6432 failed: timeout expired',
    }
    if outcome in errors:
        conn = pg.PgError(errors[outcome], pg.classify_error(errors[outcome]))
    elif outcome == "query_error":
        conn = login_server(query_error=FakeDbError("ERROR:  permission denied for table t"))
    else:
        conn = login_server()
    is_failed, result = run_main(
        pg_login,
        {"user": "app", "password": "pw", "expect": expect},
        connect_fn=fake_connect(conn),
        clock=FakeClock(),
    )
    assert is_failed is failed
    assert result["check"]["message"].startswith(message)
    assert result["check"]["status"] == ("fail" if failed else "ok")
    assert result["changed"] is False
    if failed:
        assert result["msg"] == f"pg_login app@127.0.0.1:6432/app: {result['check']['message']}"


@pytest.mark.parametrize("where", ["connect_error", "query_error", "rows"])
def test_login_never_returns_the_password(pg, pg_login, ansible_module, where):
    if where == "connect_error":
        conn = pg.PgError(f"FATAL:  no such user ({PASSWORD})", "auth_failed")
    elif where == "query_error":
        conn = login_server(query_error=FakeDbError(f"ERROR:  syntax error at '{PASSWORD}'"))
    else:
        conn = login_server(rows=[(f"x{PASSWORD}x",)])
    _failed, result = run_main(
        pg_login,
        {"user": "app", "password": PASSWORD, "query": "SELECT 1"},
        connect_fn=fake_connect(conn),
    )
    assert PASSWORD not in json.dumps(result)
    assert "********" in json.dumps(result)


def test_login_missing_psycopg2_fails_whatever_is_expected(pg, pg_login, ansible_module):
    def connect(**kwargs):
        raise pg.MissingLibraryError("Failed to import the required Python library (psycopg2)")

    failed, result = run_main(pg_login, {"user": "app", "expect": "refused"}, connect_fn=connect)
    assert failed
    assert "psycopg2" in result["msg"]


def test_login_runs_in_check_mode(pg_login, ansible_module):
    failed, result = run_main(
        pg_login,
        {"user": "app", "password": "pw", "_ansible_check_mode": True},
        connect_fn=fake_connect(login_server()),
    )
    assert not failed and result["connected"] and not result["changed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"connect_timeout": 0}, "connect_timeout must be at least 1, not 0"),
        ({"max_latency_ms": -1}, "max_latency_ms must be 0 or more, not -1.0"),
    ],
)
def test_login_rejects_bad_ranges(pg_login, ansible_module, args, message):
    failed, result = run_main(
        pg_login, {"user": "app", **args}, connect_fn=fake_connect(AssertionError("no connect"))
    )
    assert failed
    assert result["msg"] == message


def test_login_requires_user(pg_login, ansible_module):
    failed, result = run_main(pg_login, {}, connect_fn=fake_connect(AssertionError()))
    assert failed
    assert "user" in result["msg"]


# --- pgbouncer_admin --------------------------------------------------------------------------

SHOW_CONFIG = table(
    {"key": "max_client_conn", "value": "500", "default": "100", "changeable": "yes"},
    {"key": "listen_port", "value": "6432", "default": "6432", "changeable": "no"},
)


def console(answers):
    """PgBouncer's admin console: answers maps a command to (columns, rows), None or an error."""

    def respond(sql):
        if sql not in answers:
            return FakeDbError(f"ERROR:  invalid command '{sql}', use SHOW HELP;")
        return answers[sql]

    return FakeConnection(respond)


def test_admin_show_config_as_text_rows(pgbouncer_admin, ansible_module):
    conn, calls = console({"SHOW CONFIG": SHOW_CONFIG}), []
    failed, result = run_main(
        pgbouncer_admin,
        {"host": "/var/run/postgresql", "user": "pgbouncer_admin", "password": PASSWORD,
         "command": "SHOW CONFIG"},
        connect_fn=fake_connect(conn, calls),
    )
    assert not failed
    assert result == {
        "changed": False,
        "columns": ["key", "value", "default", "changeable"],
        "rows": [
            {"key": "max_client_conn", "value": "500", "default": "100", "changeable": "yes"},
            {"key": "listen_port", "value": "6432", "default": "6432", "changeable": "no"},
        ],
        "sent": True,
        "error": None,
        "reason": None,
    }
    assert calls == [{"host": "/var/run/postgresql", "port": 6432, "user": "pgbouncer_admin",
                      "password": PASSWORD, "dbname": "pgbouncer", "connect_timeout": 5,
                      "ignore_pgpass": True}]
    assert conn.executed == ["SHOW CONFIG"]  # nothing else: the console takes only its commands
    assert conn.closed


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (20, "20"), (0, "0"), (True, "t"), (False, "f"), ("session", "session"),
     (b"\x01", "\\x01"), (decimal.Decimal("1.50"), "1.50")],
)
def test_admin_values_as_psql_csv_prints_them(pgbouncer_admin, value, text):
    assert pgbouncer_admin.as_text(value) == text


def test_admin_show_databases_ints_and_nulls_become_text(pgbouncer_admin, ansible_module):
    rows = table({"name": "app", "host": "127.0.0.1", "port": 5432, "database": "app",
                  "pool_size": 20, "pool_mode": None, "paused": 0})
    failed, result = run_main(pgbouncer_admin,
                              {"user": "pgbouncer_admin", "password": PASSWORD,
                               "command": "SHOW DATABASES"},
                              connect_fn=fake_connect(console({"SHOW DATABASES": rows})))
    assert not failed
    assert result["rows"] == [{"name": "app", "host": "127.0.0.1", "port": "5432",
                               "database": "app", "pool_size": "20", "pool_mode": "",
                               "paused": "0"}]


def test_admin_changing_command_reports_changed(pgbouncer_admin, ansible_module):
    conn = console({"PAUSE": None})
    failed, result = run_main(pgbouncer_admin,
                              {"user": "pgbouncer_admin", "password": PASSWORD,
                               "command": "PAUSE", "changes": True},
                              connect_fn=fake_connect(conn))
    assert not failed and result["changed"] is True
    assert result["columns"] == [] and result["rows"] == []
    assert conn.executed == ["PAUSE"]


def test_admin_changing_command_not_sent_in_check_mode(pgbouncer_admin, ansible_module):
    calls = []
    failed, result = run_main(pgbouncer_admin,
                              {"user": "pgbouncer_admin", "password": PASSWORD, "command": "PAUSE",
                               "changes": True, "_ansible_check_mode": True},
                              connect_fn=fake_connect(console({}), calls))
    assert not failed and result["changed"] is True and result["sent"] is False
    assert calls == []


def test_admin_reading_command_runs_in_check_mode(pgbouncer_admin, ansible_module):
    failed, result = run_main(pgbouncer_admin,
                              {"user": "pgbouncer_stats", "password": PASSWORD,
                               "command": "SHOW CONFIG", "_ansible_check_mode": True},
                              connect_fn=fake_connect(console({"SHOW CONFIG": SHOW_CONFIG})))
    assert not failed and result["sent"] is True and len(result["rows"]) == 2


def test_admin_refused_login_fails_without_the_password(pg, pgbouncer_admin, ansible_module):
    error = pg.PgError(f'connection to server at "127.0.0.1", port 6432 failed: FATAL:  password '
                       f'authentication failed for user "pgbouncer_admin" ({PASSWORD})',
                       "auth_failed")
    failed, result = run_main(pgbouncer_admin,
                              {"user": "pgbouncer_admin", "password": PASSWORD,
                               "command": "SHOW CONFIG"},
                              connect_fn=fake_connect(error))
    assert failed and result["reason"] == "auth_failed" and result["rows"] == []
    assert result["msg"].startswith("SHOW CONFIG on PgBouncer 127.0.0.1:6432: connection")
    assert PASSWORD not in json.dumps(result)


def test_admin_command_error_fails_and_closes(pgbouncer_admin, ansible_module):
    conn = console({})
    failed, result = run_main(pgbouncer_admin,
                              {"user": "pgbouncer_admin", "password": PASSWORD,
                               "command": "SHOW NOTHING"},
                              connect_fn=fake_connect(conn))
    assert failed and "invalid command" in result["error"] and result["reason"] == "other"
    assert conn.closed


def test_admin_missing_psycopg2_fails_cleanly(pg, pgbouncer_admin, ansible_module):
    def connect(**kwargs):
        raise pg.MissingLibraryError("Failed to import the required Python library (psycopg2)")

    failed, result = run_main(pgbouncer_admin, {"user": "u", "command": "SHOW POOLS"},
                              connect_fn=connect)
    assert failed and "psycopg2" in result["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [({"command": " "}, "command must be an admin console command"),
     ({"command": "SHOW POOLS", "connect_timeout": 0}, "connect_timeout must be at least 1")],
)
def test_admin_rejects_bad_input(pgbouncer_admin, ansible_module, args, message):
    calls = []
    failed, result = run_main(pgbouncer_admin, {"user": "u", **args},
                              connect_fn=fake_connect(console({}), calls))
    assert failed and message in result["msg"] and calls == []
