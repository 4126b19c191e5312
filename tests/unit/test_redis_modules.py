"""golive.ops.redis_replication, redis_config, redis_command and their module_utils, without Redis.

The modules are imported the way Ansible ships them (ansible_collections.golive.ops...) through
a temporary collections dir whose golive/ops links to the repository root. A fake `redis`
package stands in for redis-py: its Redis() returns clients talking to FakeServers of a
FakeNetwork, which answer like Redis/Sentinel 7.0.15 did when these replies were recorded.
community.general's helper is told that redis-py is importable. main() runs with a real
AnsibleModule whose exit_json/fail_json raise, and a fake clock.
"""

import json
import sys
import types

import pytest

from .conftest import collection_modules, run_main

PASSWORD = "s3cr3t-Pa55"  # never to be seen in any result
SENTINEL_PASSWORD = "s3nt-Pa55"
NEW_PASSWORD = "n3w-Pa55-w0rd"


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """The Redis module_utils and modules, imported as ansible_collections.golive.ops."""
    with collection_modules(
        tmp_path_factory,
        utils="module_utils.redis",
        replication="modules.redis_replication",
        config="modules.redis_config",
        command="modules.redis_command",
        general="ansible_collections.community.general.plugins.module_utils.redis",
    ) as modules:
        yield modules


@pytest.fixture(scope="module")
def utils(collection):
    return collection.utils


@pytest.fixture(scope="module")
def replication(collection):
    return collection.replication


@pytest.fixture(scope="module")
def config(collection):
    return collection.config


@pytest.fixture(scope="module")
def redis_command(collection):
    return collection.command


# --- fake redis-py ----------------------------------------------------------------------------


class LibRedisError(Exception):
    """redis.exceptions.RedisError"""


class LibConnectionError(LibRedisError):
    pass


class LibTimeoutError(LibRedisError):
    pass


class LibAuthenticationError(LibConnectionError):
    pass


class LibResponseError(LibRedisError):
    pass


class LibNoPermissionError(LibResponseError):
    pass


class Replies(list):
    """Successive answers to the same command; the last one repeats."""

    def next(self):
        return self.pop(0) if len(self) > 1 else self[0]


SENTINEL_SETTABLE = ("quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs")


class FakeServer:
    """A Redis server or Sentinel: INFO, CONFIG GET/SET/REWRITE, SENTINEL, and `answers`.

    `answers` maps an argument tuple to a reply, an exception to raise, or Replies. Every
    command is recorded in `calls` (PING included).
    """

    def __init__(
        self,
        *,
        password=None,
        info="",
        config=None,
        immutable=(),
        sentinel=None,
        answers=None,
        rewrite_error=None,
    ):
        self.password = password
        self.info = info
        self.config = dict(config or {})
        self.immutable = set(immutable)
        self.sentinel = sentinel  # SENTINEL MASTER's pairs for "golive", or None
        self.answers = dict(answers or {})
        self.rewrite_error = rewrite_error
        self.calls = []

    def handle(self, args, password):
        if self.password is not None and password != self.password:
            if password is None:
                raise LibAuthenticationError("Authentication required.")
            raise LibResponseError("WRONGPASS invalid username-password pair or user is disabled.")
        self.calls.append(args)
        if args in self.answers:
            answer = self.answers[args]
            answer = answer.next() if isinstance(answer, Replies) else answer
            if isinstance(answer, Exception):
                raise answer
            return answer
        name = args[0].upper()
        if name == "PING":
            return "PONG"
        if name == "INFO":
            return self.info.next() if isinstance(self.info, Replies) else self.info
        if name == "CONFIG" and self.sentinel is None:
            return self.config_command(args[1].upper(), args[2:])
        if name == "SENTINEL" and self.sentinel is not None:
            return self.sentinel_command(args[1].upper(), args[2:])
        words = " ".join(f"'{arg}'" for arg in args[1:])
        raise LibResponseError(f"unknown command '{args[0]}', with args beginning with: {words} ")

    def config_command(self, sub, args):
        if sub == "GET":
            known = {key.lower(): value for key, value in self.config.items()}
            return [item for name in args if name.lower() in known for item in (name, known[name])]
        if sub == "SET":
            names = args[::2]
            for name in names:
                if name in self.immutable:
                    raise LibResponseError(
                        f"CONFIG SET failed (possibly related to argument '{name}') - can't set "
                        "immutable config"
                    )
            self.config.update(zip(names, args[1::2], strict=True))
            return "OK"
        if sub == "REWRITE":
            if self.rewrite_error:
                raise LibResponseError(self.rewrite_error)
            return "OK"
        raise AssertionError(f"CONFIG {sub} not expected")

    def sentinel_command(self, sub, args):
        if sub == "GET-MASTER-ADDR-BY-NAME" and args[0] != "golive":
            return None  # nil, not an error
        if args[0] != "golive":
            raise LibResponseError("No such master with that name")
        if sub == "MASTER":
            return [item for pair in self.sentinel.items() for item in pair]
        if sub == "SET":
            for name, value in zip(args[1::2], args[2::2], strict=True):
                if name not in SENTINEL_SETTABLE:
                    raise LibResponseError(
                        f"Unknown option or number of arguments for SENTINEL SET '{name}'"
                    )
                if not value.isdigit():
                    raise LibResponseError(f"Invalid argument '{value}' for SENTINEL SET '{name}'")
                self.sentinel[name] = value  # applied one by one, as Sentinel does
            return "OK"
        raise AssertionError(f"SENTINEL {sub} not expected")


# Replies redis-py (6.1) parses unless a module sets its own callback for the command name.
PARSED = {"PING": lambda reply: reply == "PONG"}


class FakeClient:
    """What redis.Redis(**kwargs) returns; it talks to the network's server at host:port."""

    def __init__(self, network, kwargs):
        self.network = network
        self.kwargs = kwargs
        self.callbacks = {}
        self.closed = False

    def set_response_callback(self, command, callback):
        self.callbacks[command] = callback

    def execute_command(self, *args):
        address = (self.kwargs["host"], self.kwargs["port"])
        server = self.network.servers.get(address)
        if server is None:
            raise LibConnectionError(
                f"Error 111 connecting to {address[0]}:{address[1]}. Connection refused."
            )
        if isinstance(server, Exception):
            raise server
        reply = server.handle(args, self.kwargs.get("password"))
        name = str(args[0]).upper()
        if name in PARSED and name not in self.callbacks:
            return PARSED[name](reply)  # redis-py's own response callback
        return reply

    def close(self):
        self.closed = True


class FakeNoBackoff:
    pass


class FakeRetry:
    """redis.retry.Retry(backoff, retries): only what connect() passes is kept."""

    def __init__(self, backoff, retries):
        self.backoff = backoff
        self.retries = retries


class FakeNetwork:
    def __init__(self):
        self.servers = {}
        self.clients = []

    def add(self, host, port, server):
        self.servers[(host, port)] = server
        return server

    def redis(self, **kwargs):
        client = FakeClient(self, kwargs)
        self.clients.append(client)
        return client


@pytest.fixture
def network(collection, monkeypatch):
    """A fake redis package whose Redis() connects to this network's servers."""
    net = FakeNetwork()
    exceptions = types.ModuleType("redis.exceptions")
    for name, cls in {
        "RedisError": LibRedisError,
        "ConnectionError": LibConnectionError,
        "TimeoutError": LibTimeoutError,
        "AuthenticationError": LibAuthenticationError,
        "ResponseError": LibResponseError,
        "NoPermissionError": LibNoPermissionError,
    }.items():
        setattr(exceptions, name, cls)
    package = types.ModuleType("redis")
    package.exceptions = exceptions
    package.Redis = net.redis
    package.__version__ = "4.3.4"
    retry = types.ModuleType("redis.retry")
    retry.Retry = FakeRetry
    backoff = types.ModuleType("redis.backoff")
    backoff.NoBackoff = FakeNoBackoff
    monkeypatch.setitem(sys.modules, "redis", package)
    monkeypatch.setitem(sys.modules, "redis.exceptions", exceptions)
    monkeypatch.setitem(sys.modules, "redis.retry", retry)
    monkeypatch.setitem(sys.modules, "redis.backoff", backoff)
    # community.general's helper looked for redis-py when it was first imported.
    monkeypatch.setattr(collection.general, "HAS_REDIS_PACKAGE", True)
    monkeypatch.setattr(collection.general, "redis_version", "4.3.4", raising=False)
    return net


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# --- recorded replies (redis-server 7.0.15) ---------------------------------------------------


def master_info(*replicas, offset=11504):
    """INFO replication of a master; replicas are (ip, state, offset, lag)."""
    lines = ["# Replication", "role:master", f"connected_slaves:{len(replicas)}"]
    lines += [
        f"slave{n}:ip={ip},port=6379,state={state},offset={acked},lag={lag}"
        for n, (ip, state, acked, lag) in enumerate(replicas)
    ]
    lines += [
        "master_failover_state:no-failover",
        "master_replid:49f09fe1f1491a0baad1b2dafde6b6a8e1d127ad",
        "master_replid2:0000000000000000000000000000000000000000",
        f"master_repl_offset:{offset}",
        "second_repl_offset:-1",
        "repl_backlog_active:1",
        "repl_backlog_size:1048576",
        "repl_backlog_first_byte_offset:1",
        f"repl_backlog_histlen:{offset}",
    ]
    return "\r\n".join(lines) + "\r\n"


def replica_info(link="up", sync=0, offset=720, io=1):
    lines = [
        "# Replication",
        "role:slave",
        "master_host:10.0.0.21",
        "master_port:6379",
        f"master_link_status:{link}",
        f"master_last_io_seconds_ago:{io}",
        f"master_sync_in_progress:{sync}",
        f"slave_read_repl_offset:{offset}",
        f"slave_repl_offset:{offset}",
    ]
    if sync:
        lines += [
            "master_sync_total_bytes:-1",
            "master_sync_read_bytes:4096",
            "master_sync_left_bytes:-4096",
            "master_sync_perc:-0.00",
            "master_sync_last_io_seconds_ago:0",
        ]
    if link == "down":
        lines.append("master_link_down_since_seconds:12")
    lines += [
        "slave_priority:100",
        "slave_read_only:1",
        "replica_announced:1",
        "connected_slaves:0",
        "master_failover_state:no-failover",
        "master_replid:49f09fe1f1491a0baad1b2dafde6b6a8e1d127ad",
        "master_replid2:0000000000000000000000000000000000000000",
        f"master_repl_offset:{offset}",
        "second_repl_offset:-1",
    ]
    return "\r\n".join(lines) + "\r\n"


CKQUORUM_OK = "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
NOQUORUM = (
    "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum "
    "for this master"
)


def sentinel_master(ip="10.0.0.21", others=2, **overrides):
    """SENTINEL MASTER golive's pairs, in Sentinel's order."""
    return {
        "name": "golive",
        "ip": ip,
        "port": "6379",
        "runid": "f51563d328236d3838b68de7fd068450ad702808",
        "flags": "master",
        "link-pending-commands": "0",
        "link-refcount": "1",
        "last-ping-sent": "0",
        "last-ok-ping-reply": "367",
        "last-ping-reply": "367",
        "down-after-milliseconds": "30000",
        "info-refresh": "800",
        "role-reported": "master",
        "role-reported-time": "10835",
        "config-epoch": "0",
        "num-slaves": "2",
        "num-other-sentinels": str(others),
        "quorum": "2",
        "failover-timeout": "180000",
        "parallel-syncs": "1",
        **overrides,
    }


def sentinel(master_ip="10.0.0.21", ckquorum=CKQUORUM_OK, password=None):
    answers = {
        ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "golive"): [master_ip, "6379"],
        ("SENTINEL", "CKQUORUM", "golive"): ckquorum,
    }
    return FakeServer(password=password, sentinel=sentinel_master(master_ip), answers=answers)


# --- module_utils/redis.py --------------------------------------------------------------------


def test_decode_info_skips_headers_and_keeps_colons_in_values(utils):
    text = "# Replication\r\nrole:master\r\n\r\nslave0:ip=::1,port=6379\r\n# Other\r\nx:a:b\r\n"
    assert utils.decode_info(text) == {"role": "master", "slave0": "ip=::1,port=6379", "x": "a:b"}
    assert utils.decode_info(text.encode()) == utils.decode_info(text)
    assert utils.info_fields("ip=::1,port=6379,state=online") == {
        "ip": "::1",
        "port": "6379",
        "state": "online",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "yes"),
        (False, "no"),
        (0, "0"),
        (6379, "6379"),
        (-1, "-1"),
        (2.0, "2"),
        ("256mb", "268435456"),
        ("1gb", "1073741824"),
        ("1GB", "1073741824"),
        ("100k", "100000"),
        ("100kb", "102400"),
        ("100Kb", "102400"),
        ("10m", "10000000"),
        ("2g", "2000000000"),
        ("512b", "512"),
        ("268435456", "268435456"),
        ("1.5gb", "1.5gb"),  # Redis refuses fractions too; left for CONFIG SET to reject
        ("256 mb", "256 mb"),
        ("allkeys-lru", "allkeys-lru"),
        ("yes", "yes"),
        ("", ""),
        (["3600 1", "300 100", "60 10000"], "3600 1 300 100 60 10000"),
        ([900, 1, "64mb"], "900 1 67108864"),
        ([], ""),
    ],
)
def test_config_value(utils, value, expected):
    assert utils.config_value(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "null is not a value"),
        ({"a": 1}, "a dict is not a setting value"),
        ([["3600", "1"]], "a list value must hold"),
    ],
)
def test_config_value_refuses_what_redis_cannot_hold(utils, value, message):
    with pytest.raises(TypeError, match=message):
        utils.config_value(value)


@pytest.mark.parametrize(
    ("exc", "message", "reason"),
    [
        (
            LibAuthenticationError("Authentication required."),
            "NOAUTH Authentication required.",
            "noauth",
        ),
        (
            LibResponseError("WRONGPASS invalid username-password pair or user is disabled."),
            "WRONGPASS invalid username-password pair or user is disabled.",
            "wrongpass",
        ),
        (
            LibResponseError(
                "AUTH <password> called without any password configured for the default user. "
                "Are you sure your configuration is correct?"
            ),
            "AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?",
            "no_password_set",
        ),
        (
            LibNoPermissionError("this user has no permissions to run the 'info' command"),
            "NOPERM this user has no permissions to run the 'info' command",
            "noperm",
        ),
        (
            # redis-py's message for one-argument socket errors has a run of spaces in it
            LibConnectionError(
                "Error connecting to 10.0.0.21:6379.                         timed out."
            ),
            "Error connecting to 10.0.0.21:6379. timed out.",
            "timeout",
        ),
        (
            LibTimeoutError("Timeout connecting to server"),
            "Timeout connecting to server",
            "timeout",
        ),
        (
            LibConnectionError("Error 111 connecting to 10.0.0.21:6379. Connection refused."),
            "Error 111 connecting to 10.0.0.21:6379. Connection refused.",
            "refused",
        ),
        (
            LibConnectionError("Error -2 connecting to nohost:6379. Name or service not known."),
            "Error -2 connecting to nohost:6379. Name or service not known.",
            "unknown_host",
        ),
        (
            LibResponseError("unknown command 'SENTINEL', with args beginning with: 'MASTER' "),
            "unknown command 'SENTINEL', with args beginning with: 'MASTER'",
            "unknown_command",
        ),
        (
            LibConnectionError("Connection closed by server."),
            "Connection closed by server.",
            "other",
        ),
        (LibConnectionError(""), "LibConnectionError", "other"),
    ],
)
def test_error_from(utils, exc, message, reason):
    error = utils.error_from(exc)
    assert (error.message, error.reason) == (message, reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.21:26379", ("10.0.0.21", 26379)),
        (" cache1:26380 ", ("cache1", 26380)),
        ("cache1", ("cache1", 26379)),
        ("[::1]:26379", ("::1", 26379)),
        ("[fd00::21]", ("fd00::21", 26379)),
    ],
)
def test_parse_address(utils, text, expected):
    assert utils.parse_address(text, 26379) == expected
    assert utils.parse_address(utils.format_address(*expected), 1) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fd00::21", "in brackets"),
        (":26379", "has no host"),
        ("cache1:", "no valid port"),
        ("cache1:0", "no valid port"),
        ("cache1:65536", "no valid port"),
        ("cache1:x", "no valid port"),
    ],
)
def test_parse_address_refuses(utils, text, message):
    with pytest.raises(ValueError, match=message):
        utils.parse_address(text, 26379)


def test_redact_masks_every_secret_longest_first(utils):
    value = {"m": f"a {PASSWORD} b {PASSWORD}x", "l": [SENTINEL_PASSWORD, 3], "n": None}
    assert utils.redact(value, [PASSWORD, None, "", SENTINEL_PASSWORD]) == {
        "m": "a ******** b ********x",
        "l": ["********", 3],
        "n": None,
    }
    assert utils.redact("ab abc", ["ab", "abc"]) == "******** ********"
    assert utils.redact(value, [None, ""]) is value


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("requirepass", True),
        ("masterauth", True),
        ("auth-pass", True),
        ("MasterAuth", True),
        ("primaryauth", True),  # Valkey's name of masterauth
        ("tls-key-file-pass", True),
        ("masteruser", False),
        ("primaryuser", False),
        ("maxmemory", False),
    ],
)
def test_is_secret_name(utils, name, secret):
    assert utils.is_secret_name(name) is secret
    assert utils.shown(name, "v") == ("********" if secret else "v")


def test_connect_pings_with_timeouts_and_raw_info(utils, network):
    server = network.add("cache1", 6379, FakeServer(password=PASSWORD))
    client = utils.connect({"host": "cache1", "port": 6379, "password": PASSWORD}, 2.5)
    retry = client.kwargs.pop("retry")
    assert client.kwargs == {
        "host": "cache1",
        "port": 6379,
        "password": PASSWORD,
        "socket_timeout": 2.5,
        "socket_connect_timeout": 2.5,
        "decode_responses": True,
    }
    # redis-py 6 would retry a timed-out connect 3 times with backoff: none, so 2.5 s bounds it.
    assert retry.retries == 0 and isinstance(retry.backoff, FakeNoBackoff)
    assert client.callbacks["INFO"]("# Replication\r\nrole:master\r\n") == (
        "# Replication\r\nrole:master\r\n"
    )
    assert server.calls == [("PING",)]
    assert not client.closed


def test_connect_error_closes_and_raises_redis_error(utils, network):
    network.add("cache1", 6379, FakeServer(password=PASSWORD))
    with pytest.raises(utils.RedisError) as info:
        utils.connect({"host": "cache1", "port": 6379, "password": "nope"}, 1)
    assert info.value.reason == "wrongpass"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert network.clients[0].closed


def test_command_lets_bugs_through(utils, network):
    client = FakeClient(network, {"host": "h", "port": 1})
    client.execute_command = lambda *args: 1 / 0
    with pytest.raises(ZeroDivisionError):
        utils.command(client, "PING")


def test_with_login_keeps_tls_and_replaces_credentials(utils):
    node = {"host": "h", "port": 6379, "username": "app", "password": "p", "ssl": True}
    assert utils.with_login(node, "s1", 26379, None, "sp") == {
        "host": "s1",
        "port": 26379,
        "password": "sp",
        "ssl": True,
    }
    assert utils.with_login(node, "s1", 26379, "watch", None)["username"] == "watch"


def test_missing_redis_py_fails_cleanly(collection, replication, ansible_module, monkeypatch):
    monkeypatch.setattr(collection.general, "HAS_REDIS_PACKAGE", False)
    monkeypatch.setattr(collection.general, "REDIS_IMP_ERR", "ImportError: No module named 'redis'")
    failed, result = run_main(replication, {"login_password": PASSWORD})
    assert failed
    assert "Failed to import the required Python library (redis)" in result["msg"]
    assert "certifi" not in result["msg"]  # TLS is off, so certifi is not needed


def test_tls_without_ca_certs_needs_certifi(
    collection, network, replication, ansible_module, monkeypatch
):
    monkeypatch.setattr(collection.general, "HAS_CERTIFI_PACKAGE", False)
    monkeypatch.setattr(collection.general, "CERTIFI_IMPORT_ERROR", "ImportError: certifi")
    failed, result = run_main(replication, {"tls": True})
    assert failed
    assert "(certifi)" in result["msg"]
    network.add("localhost", 6379, FakeServer(info=master_info()))
    failed, result = run_main(replication, {"tls": True, "ca_certs": "/etc/ssl/ca.pem"})
    assert not failed
    assert network.clients[0].kwargs["ssl"] is True
    assert network.clients[0].kwargs["ssl_ca_certs"] == "/etc/ssl/ca.pem"


# --- redis_replication: pure evaluation -------------------------------------------------------


def test_replication_state_of_a_master_with_two_replicas(utils, replication):
    info = master_info(
        ("10.0.0.22", "online", 11504, 0), ("10.0.0.23", "online", 11372, 1), offset=11504
    )
    assert replication.replication_state(utils.decode_info(info)) == {
        "role": "master",
        "master_repl_offset": 11504,
        "replica_offset": None,
        "master_host": None,
        "master_port": None,
        "master_link_status": None,
        "master_sync_in_progress": None,
        "master_last_io_seconds_ago": None,
        "replicas": [
            {
                "ip": "10.0.0.22",
                "port": 6379,
                "state": "online",
                "offset": 11504,
                "lag_seconds": 0,
                "lag_bytes": 0,
            },
            {
                "ip": "10.0.0.23",
                "port": 6379,
                "state": "online",
                "offset": 11372,
                "lag_seconds": 1,
                "lag_bytes": 132,
            },
        ],
    }


def test_replicas_are_ordered_by_number(utils, replication):
    info = master_info(*[(f"10.0.0.{n}", "online", 1, 0) for n in range(12)], offset=1)
    state = replication.replication_state(utils.decode_info(info))
    assert [item["ip"] for item in state["replicas"]] == [f"10.0.0.{n}" for n in range(12)]


@pytest.mark.parametrize(
    ("info", "link", "sync", "io", "problems"),
    [
        pytest.param(replica_info(), "up", 0, 1, [], id="link-up"),
        pytest.param(
            replica_info(link="down", io=-1),
            "down",
            0,
            -1,
            ["redis r1:6379: link to master 10.0.0.21:6379 is down"],
            id="link-down",
        ),
        pytest.param(
            replica_info(link="down", sync=1, io=-1),
            "down",
            1,
            -1,
            [
                "redis r1:6379: link to master 10.0.0.21:6379 is down",
                "redis r1:6379: full sync from master 10.0.0.21:6379 in progress",
            ],
            id="sync-in-progress",
        ),
    ],
)
def test_replication_state_of_a_replica(utils, replication, info, link, sync, io, problems):
    state = replication.replication_state(utils.decode_info(info))
    assert state["role"] == "replica"
    assert (state["master_host"], state["master_port"]) == ("10.0.0.21", 6379)
    assert state["master_link_status"] == link
    assert state["master_sync_in_progress"] == sync
    assert state["master_last_io_seconds_ago"] == io
    assert state["replica_offset"] == state["master_repl_offset"] == 720
    assert state["replicas"] == []
    # min_replicas concerns masters only
    assert replication.node_problems(state, "r1:6379", "any", 2, 0) == problems


def master_state(utils, replication, *replicas, offset=1000):
    return replication.replication_state(utils.decode_info(master_info(*replicas, offset=offset)))


@pytest.mark.parametrize(
    ("replicas", "min_replicas", "max_lag_bytes", "problem"),
    [
        pytest.param([("a", "online", 1000, 0)] * 2, 2, 0, None, id="both-caught-up"),
        pytest.param(
            [("a", "online", 1000, 0), ("b", "online", 999, 1)],
            2,
            0,
            "1 of 2 required replicas caught up (online and at most 0 bytes behind offset 1000): "
            "b:6379 online, 1 bytes behind",
            id="one-lagging",
        ),
        pytest.param(
            [("a", "online", 1000, 0), ("b", "online", 900, 1)], 2, 100, None, id="lag-at-limit"
        ),
        pytest.param(
            [("a", "online", 1000, 0), ("b", "online", 899, 1)],
            2,
            100,
            "1 of 2 required replicas caught up (online and at most 100 bytes behind offset "
            "1000): b:6379 online, 101 bytes behind",
            id="lag-over-limit",
        ),
        pytest.param(
            [("a", "wait_bgsave", 0, 0), ("b", "online", 1000, 0)],
            2,
            10**9,
            "1 of 2 required replicas caught up (online and at most 1000000000 bytes behind "
            "offset 1000): a:6379 wait_bgsave, 1000 bytes behind",
            id="not-online",
        ),
        pytest.param(
            [],
            1,
            0,
            "0 of 1 required replicas caught up (online and at most 0 bytes behind offset "
            "1000): no replica connected",
            id="none-connected",
        ),
        pytest.param([("a", "online", 1, 0)], 0, 0, None, id="none-required"),
    ],
)
def test_min_replicas(utils, replication, replicas, min_replicas, max_lag_bytes, problem):
    state = master_state(utils, replication, *replicas)
    problems = replication.node_problems(state, "m1:6379", "any", min_replicas, max_lag_bytes)
    assert problems == ([] if problem is None else [f"redis m1:6379: {problem}"])


@pytest.mark.parametrize(
    ("info", "expect", "problems"),
    [
        (master_info(), "master", []),
        (master_info(), "any", []),
        (replica_info(), "replica", []),
        (replica_info(), "master", ["redis n1:6379 is a replica, expected a master"]),
        (master_info(), "replica", ["redis n1:6379 is a master, expected a replica"]),
        ("", "any", ["redis n1:6379: INFO replication reports no role (is this a Sentinel?)"]),
    ],
)
def test_expect_role(utils, replication, info, expect, problems):
    state = replication.replication_state(utils.decode_info(info))
    assert replication.node_problems(state, "n1:6379", expect, 0, 0) == problems


# --- redis_replication: main() ----------------------------------------------------------------

SENTINELS = ["10.0.0.21:26379", "10.0.0.22:26379", "10.0.0.23:26379"]


def three_sentinels(network, password=None, **replaced):
    """Sentinels s1-s3 agreeing on 10.0.0.21:6379; replaced={"s2": None} takes s2 down."""
    for n in (1, 2, 3):
        server = replaced.get(f"s{n}", sentinel(password=password))
        if server is not None:
            network.add(f"10.0.0.2{n}", 26379, server)


def test_replication_master_and_agreeing_sentinels(replication, network, ansible_module):
    master = network.add(
        "10.0.0.21",
        6379,
        FakeServer(
            password=PASSWORD,
            info=master_info(("10.0.0.22", "online", 11504, 0), ("10.0.0.23", "online", 11504, 1)),
        ),
    )
    three_sentinels(network, password=SENTINEL_PASSWORD)
    clock = FakeClock()
    failed, result = run_main(
        replication,
        {
            "login_host": "10.0.0.21",
            "login_password": PASSWORD,
            "expect_role": "master",
            "min_replicas": 2,
            "sentinels": SENTINELS,
            "sentinel_password": SENTINEL_PASSWORD,
        },
        clock=clock,
        sleep=clock.sleep,
    )
    assert not failed
    assert clock.sleeps == []  # wait_timeout 0: one look, no waiting
    assert result["ok"] is True and result["problems"] == []
    assert result["changed"] is False
    assert result["role"] == "master"
    assert [item["lag_bytes"] for item in result["replicas"]] == [0, 0]
    assert result["sentinels"] == [
        {
            "address": address,
            "reachable": True,
            "error": None,
            "master": "10.0.0.21:6379",
            "ckquorum_ok": True,
            "ckquorum": CKQUORUM_OK,
            "sentinels_seen": 3,
        }
        for address in SENTINELS
    ]
    assert result["sentinel_master"] == {"host": "10.0.0.21", "port": 6379}
    assert result["sentinels_agree"] is True
    assert result["waited_seconds"] == 0.0
    assert master.calls == [("PING",), ("INFO", "replication")]
    sentinel_clients = network.clients[1:]
    assert [client.kwargs["password"] for client in sentinel_clients] == [SENTINEL_PASSWORD] * 3
    assert all(client.kwargs["socket_timeout"] == 3.0 for client in network.clients)
    assert all(client.closed for client in network.clients)
    json.dumps(result, allow_nan=False)


def test_replication_sentinels_disagree(replication, network, ansible_module):
    three_sentinels(network, s3=sentinel(master_ip="10.0.0.22"))
    failed, result = run_main(replication, {"login_host": None, "sentinels": SENTINELS})
    assert failed
    assert result["role"] is None and result["replicas"] == []
    assert result["sentinels_agree"] is False
    assert result["sentinel_master"] is None
    assert result["problems"] == [
        "sentinels disagree on the master of golive: 10.0.0.21:6379 by 10.0.0.21:26379, "
        "10.0.0.22:26379; 10.0.0.22:6379 by 10.0.0.23:26379"
    ]


def test_replication_one_sentinel_unreachable(replication, network, ansible_module):
    three_sentinels(network, s2=None)
    failed, result = run_main(replication, {"login_host": "", "sentinels": SENTINELS})
    assert failed
    assert result["problems"] == [
        "sentinel 10.0.0.22:26379: Error 111 connecting to 10.0.0.22:26379. Connection refused."
    ]
    unreachable = result["sentinels"][1]
    assert unreachable == {
        "address": "10.0.0.22:26379",
        "reachable": False,
        "error": "Error 111 connecting to 10.0.0.22:26379. Connection refused.",
        "master": None,
        "ckquorum_ok": False,
        "ckquorum": None,
        "sentinels_seen": None,
    }
    # the two that answered agree
    assert result["sentinels_agree"] is True
    assert result["sentinel_master"] == {"host": "10.0.0.21", "port": 6379}


def test_replication_ckquorum_failing(replication, network, ansible_module):
    three_sentinels(network, s1=sentinel(ckquorum=LibResponseError(NOQUORUM)))
    failed, result = run_main(replication, {"login_host": None, "sentinels": SENTINELS})
    assert failed
    assert result["problems"] == [f"sentinel 10.0.0.21:26379: CKQUORUM golive failed: {NOQUORUM}"]
    assert result["sentinels"][0]["ckquorum_ok"] is False
    assert result["sentinels"][0]["ckquorum"] == NOQUORUM
    assert result["sentinels_agree"] is True


def test_replication_sentinel_without_that_master(replication, network, ansible_module):
    network.add("10.0.0.21", 26379, sentinel())
    failed, result = run_main(
        replication, {"login_host": None, "sentinels": ["10.0.0.21"], "master_name": "other"}
    )
    assert failed
    assert result["problems"] == [
        "sentinel 10.0.0.21:26379 knows no master named other",
        "sentinel 10.0.0.21:26379: CKQUORUM other failed: No such master with that name",
    ]
    assert result["sentinels"][0]["sentinels_seen"] is None
    assert result["sentinels_agree"] is False and result["sentinel_master"] is None


def test_replication_waits_until_ok_on_the_third_look(replication, network, ansible_module):
    lagging = master_info(("10.0.0.22", "online", 900, 1), offset=1000)
    syncing = master_info(("10.0.0.22", "wait_bgsave", 0, 0), offset=1000)
    caught_up = master_info(("10.0.0.22", "online", 1000, 0), offset=1000)
    network.add("localhost", 6379, FakeServer(info=Replies([syncing, lagging, caught_up])))
    clock = FakeClock()
    failed, result = run_main(
        replication,
        {"min_replicas": 1, "wait_timeout": 30},
        clock=clock,
        sleep=clock.sleep,
    )
    assert not failed
    assert clock.sleeps == [0.5, 0.5]
    assert result["waited_seconds"] == 1.0
    assert result["replicas"][0]["lag_bytes"] == 0
    assert len(network.clients) == 3  # a new connection per look


def test_replicas_are_measured_against_the_first_looks_offset(
    replication, network, ansible_module
):
    """Sentinels' hellos move the master's offset on between looks: a replica that acknowledged
    the first look's offset has every write made before the wait, and that is enough."""
    first = master_info(("10.0.0.22", "online", 990, 1), offset=1000)
    moved_on = master_info(("10.0.0.22", "online", 1000, 0), offset=1100)
    network.add("localhost", 6379, FakeServer(info=Replies([first, moved_on])))
    clock = FakeClock()
    failed, result = run_main(
        replication, {"min_replicas": 1, "wait_timeout": 30}, clock=clock, sleep=clock.sleep
    )
    assert not failed
    assert clock.sleeps == [0.5]
    assert result["replicas"][0]["lag_bytes"] == 100  # reported against the current offset


def test_a_replica_short_of_the_first_offset_is_named_with_it(utils, replication):
    state = master_state(utils, replication, ("a", "online", 1050, 0), offset=1200)
    assert replication.node_problems(state, "m1:6379", "any", 1, 0, 1000) == []
    assert replication.node_problems(state, "m1:6379", "any", 1, 0, 1100) == [
        "redis m1:6379: 0 of 1 required replicas caught up (online and at most 0 bytes behind "
        "offset 1100): a:6379 online, 50 bytes behind"
    ]
    # an offset lower than the first look's (the master restarted) is the reference then
    assert replication.node_problems(state, "m1:6379", "any", 1, 0, 5000) == [
        "redis m1:6379: 0 of 1 required replicas caught up (online and at most 0 bytes behind "
        "offset 1200): a:6379 online, 150 bytes behind"
    ]


def test_replication_wait_times_out_with_the_last_problems(replication, network, ansible_module):
    network.add(
        "localhost",
        6379,
        FakeServer(
            info=Replies(
                [replica_info(link="down", sync=1, io=-1), replica_info(link="down", io=-1)]
            )
        ),
    )
    clock = FakeClock()
    failed, result = run_main(
        replication,
        {"expect_role": "replica", "wait_timeout": 1.2},
        clock=clock,
        sleep=clock.sleep,
    )
    assert failed
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.2])
    assert result["waited_seconds"] == 1.2
    assert result["problems"] == ["redis localhost:6379: link to master 10.0.0.21:6379 is down"]
    assert result["msg"] == (
        "still failing after 1.2 s: redis localhost:6379: link to master 10.0.0.21:6379 is down"
    )
    assert result["master_sync_in_progress"] == 0  # the last look, not the first


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (None, "redis 10.0.0.21:6379: NOAUTH Authentication required."),
        (
            "wrong-" + PASSWORD,
            "redis 10.0.0.21:6379: WRONGPASS invalid username-password pair or user is disabled.",
        ),
    ],
)
def test_replication_auth_errors_are_problems(
    replication, network, ansible_module, password, message
):
    network.add("10.0.0.21", 6379, FakeServer(password=PASSWORD))
    args = {"login_host": "10.0.0.21", "login_password": password}
    failed, result = run_main(replication, args)
    assert failed
    assert result["problems"] == [message]
    assert result["msg"] == message
    assert result["ok"] is False and result["role"] is None


def test_replication_never_returns_passwords(replication, network, ansible_module):
    network.add("10.0.0.21", 6379, LibAuthenticationError(f"invalid password {PASSWORD}"))
    network.add("10.0.0.22", 26379, LibConnectionError(f"Error connecting as {SENTINEL_PASSWORD}"))
    failed, result = run_main(
        replication,
        {
            "login_host": "10.0.0.21",
            "login_password": PASSWORD,
            "sentinels": ["10.0.0.22:26379"],
            "sentinel_password": SENTINEL_PASSWORD,
        },
    )
    assert failed
    text = json.dumps(result)
    assert PASSWORD not in text and SENTINEL_PASSWORD not in text
    assert result["problems"] == [
        "redis 10.0.0.21:6379: WRONGPASS invalid password ********",
        "sentinel 10.0.0.22:26379: Error connecting as ********",
    ]


def test_replication_runs_in_check_mode(replication, network, ansible_module):
    network.add("localhost", 6379, FakeServer(info=master_info()))
    failed, result = run_main(replication, {"_ansible_check_mode": True})
    assert not failed and result["ok"] and not result["changed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"min_replicas": -1}, "min_replicas must be 0 or more, not -1"),
        ({"max_lag_bytes": -1}, "max_lag_bytes must be 0 or more, not -1"),
        ({"wait_timeout": -1}, "wait_timeout must be 0 or more, not -1.0"),
        ({"connect_timeout": 0}, "connect_timeout must be more than 0, not 0.0"),
        ({"sentinels": ["fd00::1"]}, "sentinels: 'fd00::1': write an IPv6 address in brackets"),
        ({"login_host": None}, "nothing to check: login_host is null and sentinels is empty"),
    ],
)
def test_replication_rejects_bad_parameters(replication, network, ansible_module, args, message):
    failed, result = run_main(replication, args)
    assert failed
    assert result["msg"].startswith(message)
    assert network.clients == []


# --- redis_config: pure functions -------------------------------------------------------------


def test_wanted_values_lowercases_and_normalises(config):
    wanted, problems = config.wanted_values(
        {"MaxMemory": "256mb", "appendonly": True, "save": ["3600 1", "300 100"], "hz": 10}
    )
    assert problems == []
    assert wanted == {
        "maxmemory": "268435456",
        "appendonly": "yes",
        "save": "3600 1 300 100",
        "hz": "10",
    }


def test_wanted_values_problems(config):
    _wanted, problems = config.wanted_values(
        {"max*": 1, "": 1, "a": None, "hz": 1, "HZ": 2, "b": {"x": 1}}
    )
    assert problems == [
        "settings: 'max*' is not a setting name",
        "settings: '' is not a setting name",
        "settings.a: null is not a value (write '' for an empty one)",
        "settings: hz is given twice",
        "settings.b: a dict is not a setting value",
    ]


# --- redis_config: main() ---------------------------------------------------------------------

SERVER_CONFIG = {
    "maxmemory": "0",
    "maxmemory-policy": "noeviction",
    "appendonly": "no",
    "save": "3600 1 300 100 60 10000",
    "hz": "10",
    "requirepass": PASSWORD,
    "masterauth": PASSWORD,
    "daemonize": "no",
    "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 "
    "8388608 60",
}


def config_server(network, **kwargs):
    return network.add(
        "localhost",
        6379,
        FakeServer(password=PASSWORD, config=SERVER_CONFIG, immutable={"daemonize"}, **kwargs),
    )


def writes(server):
    return [call for call in server.calls if call[:2] in {("CONFIG", "SET"), ("CONFIG", "REWRITE")}]


def test_config_sets_only_differing_settings_in_one_call(config, network, ansible_module):
    server = config_server(network)
    settings = {
        "maxmemory": "256mb",
        "maxmemory-policy": "allkeys-lru",
        "appendonly": False,
        "save": ["3600 1", "300 100", "60 10000"],
        "hz": 10,
    }
    failed, result = run_main(config, {"login_password": PASSWORD, "settings": settings})
    assert not failed
    assert result == {
        "changed": True,
        "changes": {
            "maxmemory": {"before": "0", "after": "268435456"},
            "maxmemory-policy": {"before": "noeviction", "after": "allkeys-lru"},
        },
        "rewritten": True,
    }
    get = ("CONFIG", "GET", "maxmemory", "maxmemory-policy", "appendonly", "save", "hz")
    assert server.calls == [
        ("PING",),
        get,
        ("CONFIG", "SET", "maxmemory", "268435456", "maxmemory-policy", "allkeys-lru"),
        ("CONFIG", "REWRITE"),
        get,  # read back
    ]
    assert ansible_module == []  # no warnings
    assert network.clients[0].closed

    # and a second run changes nothing
    failed, result = run_main(config, {"login_password": PASSWORD, "settings": settings})
    assert not failed and result["changed"] is False and result["changes"] == {}
    assert server.calls[-2:] == [("PING",), get]


def test_config_makes_no_call_when_nothing_differs(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(
        config, {"login_password": PASSWORD, "settings": {"HZ": 10, "appendonly": "no"}}
    )
    assert not failed
    assert result == {"changed": False, "changes": {}, "rewritten": False}
    assert server.calls == [("PING",), ("CONFIG", "GET", "hz", "appendonly")]


def test_config_without_settings_does_not_connect(config, network, ansible_module):
    failed, result = run_main(config, {"settings": {}})
    assert not failed and result["changed"] is False
    assert network.clients == []


def test_config_check_mode_changes_nothing(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(
        config,
        {
            "login_password": PASSWORD,
            "settings": {"maxmemory": "1gb", "hz": 10},
            "_ansible_check_mode": True,
            "_ansible_diff": True,
        },
    )
    assert not failed
    assert result["changed"] is True
    assert result["changes"] == {"maxmemory": {"before": "0", "after": "1073741824"}}
    assert result["rewritten"] is False
    assert result["diff"] == {
        "before": {"maxmemory": "0", "hz": "10"},
        "after": {"maxmemory": "1073741824", "hz": "10"},
    }
    assert writes(server) == []
    assert server.config["maxmemory"] == "0"


def test_config_without_rewrite(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(
        config, {"login_password": PASSWORD, "settings": {"hz": 20}, "rewrite": False}
    )
    assert not failed and result["changed"] and not result["rewritten"]
    assert writes(server) == [("CONFIG", "SET", "hz", "20")]


def test_config_no_diff_unless_asked(config, network, ansible_module):
    config_server(network)
    _failed, result = run_main(config, {"login_password": PASSWORD, "settings": {"hz": 20}})
    assert "diff" not in result


def test_config_unknown_setting_fails_naming_it(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(
        config,
        {"login_password": PASSWORD, "settings": {"maxmemory": "1gb", "maxmemroy": "1gb"}},
    )
    assert failed
    assert result["msg"] == "unknown setting(s) on localhost:6379: maxmemroy"
    assert result["changed"] is False
    assert writes(server) == []


def test_config_set_error_names_the_settings(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(
        config,
        {"login_password": PASSWORD, "settings": {"maxmemory": "1gb", "daemonize": True}},
    )
    assert failed
    assert result["msg"] == (
        "CONFIG SET maxmemory, daemonize on localhost:6379 failed, nothing was changed: CONFIG "
        "SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    )
    assert result["changed"] is False
    assert writes(server) == [("CONFIG", "SET", "maxmemory", "1073741824", "daemonize", "yes")]
    assert server.config["maxmemory"] == "0"  # all or nothing


def test_config_rewrite_error_fails_as_changed(config, network, ansible_module):
    config_server(network, rewrite_error="The server is running without a config file")
    failed, result = run_main(config, {"login_password": PASSWORD, "settings": {"hz": 20}})
    assert failed
    assert result["changed"] is True and result["rewritten"] is False
    assert result["msg"] == (
        "hz changed at runtime on localhost:6379, but CONFIG REWRITE failed, so a restart would "
        "undo them: The server is running without a config file"
    )


def test_config_warns_when_a_value_reads_back_differently(config, network, ansible_module):
    server = config_server(network)
    server.answers[("CONFIG", "GET", "client-output-buffer-limit")] = Replies(
        [
            ["client-output-buffer-limit", SERVER_CONFIG["client-output-buffer-limit"]],
            ["client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60"],
        ]
    )
    wanted = "normal 0 0 0 replica 256mb 64mb 60"
    failed, result = run_main(
        config,
        {"login_password": PASSWORD, "settings": {"client-output-buffer-limit": wanted}},
    )
    assert not failed and result["changed"]
    assert ansible_module == [
        f"client-output-buffer-limit was set to {wanted!r} but CONFIG GET reports "
        "'normal 0 0 0 slave 268435456 67108864 60'; write it as Redis reports it, or every run "
        "changes it"
    ]


def test_config_masks_password_values(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(
        config,
        {
            "login_password": PASSWORD,
            "settings": {"requirepass": NEW_PASSWORD, "masterauth": PASSWORD, "hz": 10},
            "_ansible_diff": True,
        },
    )
    assert not failed
    assert result["changes"] == {"requirepass": {"before": "********", "after": "********"}}
    assert result["diff"] == {
        "before": {"requirepass": "********", "masterauth": "********", "hz": "10"},
        "after": {"requirepass": "******** (changed)", "masterauth": "********", "hz": "10"},
    }
    assert writes(server)[0] == ("CONFIG", "SET", "requirepass", NEW_PASSWORD)
    text = json.dumps(result)
    assert PASSWORD not in text and NEW_PASSWORD not in text


def test_config_secret_settings_are_managed_and_never_shown(config, network, ansible_module):
    server = config_server(network)
    failed, result = run_main(config, {"login_password": PASSWORD, "settings": {"hz": 10},
                                       "secret_settings": {"masterauth": NEW_PASSWORD}})
    assert not failed and result["changed"] is True
    assert writes(server)[0] == ("CONFIG", "SET", "masterauth", NEW_PASSWORD)
    assert NEW_PASSWORD not in json.dumps(result)


def test_config_refuses_a_name_in_both_settings_and_secret_settings(config, network,
                                                                    ansible_module):
    failed, result = run_main(config, {"settings": {"masterauth": "x"},
                                       "secret_settings": {"MasterAuth": NEW_PASSWORD}})
    assert failed and "masterauth is in both settings and secret_settings" in result["msg"]
    assert network.clients == []


def test_config_error_messages_never_show_passwords(config, network, ansible_module):
    server = config_server(network)
    server.answers[("CONFIG", "SET", "requirepass", NEW_PASSWORD)] = LibResponseError(
        f"CONFIG SET failed (possibly related to argument 'requirepass') - bad {NEW_PASSWORD}"
    )
    failed, result = run_main(
        config, {"login_password": PASSWORD, "settings": {"requirepass": NEW_PASSWORD}}
    )
    assert failed
    assert NEW_PASSWORD not in json.dumps(result)
    assert result["msg"].endswith("- bad ********")


def test_config_connect_error(config, network, ansible_module):
    failed, result = run_main(config, {"login_host": "cache9", "settings": {"hz": 10}})
    assert failed
    assert result["msg"] == (
        "cannot connect to cache9:6379: Error 111 connecting to cache9:6379. Connection refused."
    )
    assert result["changed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"settings": {"hz": None}}, "settings.hz: null is not a value"),
        ({"settings": {"hz": 1}, "login_host": None}, "login_host must name the server"),
        ({"settings": {"hz": 1}, "connect_timeout": -1}, "connect_timeout must be more than 0"),
    ],
)
def test_config_rejects_bad_parameters(config, network, ansible_module, args, message):
    failed, result = run_main(config, args)
    assert failed and result["msg"].startswith(message)
    assert network.clients == []


def sentinel_target(network, **overrides):
    return network.add("localhost", 26379, FakeServer(sentinel=sentinel_master(**overrides)))


def test_config_sentinel_sets_only_differing_keys(config, network, ansible_module):
    server = sentinel_target(network, quorum="3")
    failed, result = run_main(
        config,
        {
            "target": "sentinel",
            "settings": {"quorum": 2, "down-after-milliseconds": 5000, "failover-timeout": 180000},
        },
    )
    assert not failed
    assert result["changes"] == {
        "quorum": {"before": "3", "after": "2"},
        "down-after-milliseconds": {"before": "30000", "after": "5000"},
    }
    assert result["rewritten"] is False
    master = ("SENTINEL", "MASTER", "golive")
    assert server.calls == [
        ("PING",),
        master,
        ("SENTINEL", "SET", "golive", "quorum", "2", "down-after-milliseconds", "5000"),
        master,
    ]
    assert network.clients[0].kwargs["port"] == 26379  # the default for target=sentinel


def test_config_sentinel_unchanged_makes_no_set(config, network, ansible_module):
    server = sentinel_target(network)
    failed, result = run_main(
        config,
        {"target": "sentinel", "login_port": 26379, "settings": {"quorum": 2}},
    )
    assert not failed and not result["changed"]
    assert server.calls == [("PING",), ("SENTINEL", "MASTER", "golive")]


@pytest.mark.parametrize("key", ["auth-pass", "auth-user", "notification-script"])
def test_config_sentinel_refuses_keys_it_cannot_compare(config, network, ansible_module, key):
    server = sentinel_target(network)
    failed, result = run_main(
        config,
        {"target": "sentinel", "settings": {"quorum": 3, key: "x"}},
    )
    assert failed
    assert result["msg"] == (
        f"cannot manage {key} on Sentinel localhost:26379: SENTINEL MASTER golive does not "
        "report it, so its current value cannot be compared; set it when the Sentinel is first "
        "configured instead"
    )
    assert [call for call in server.calls if call[:2] == ("SENTINEL", "SET")] == []


def test_config_sentinel_set_error_reports_what_was_applied(config, network, ansible_module):
    sentinel_target(network, quorum="3")
    failed, result = run_main(
        config,
        {"target": "sentinel", "settings": {"quorum": 2, "failover-timeout": "soon"}},
    )
    assert failed
    assert result["changed"] is True
    assert result["msg"] == (
        "SENTINEL SET golive quorum, failover-timeout on localhost:26379 failed: Invalid "
        "argument 'soon' for SENTINEL SET 'failover-timeout' (quorum applied before the error)"
    )


def test_config_sentinel_check_mode(config, network, ansible_module):
    server = sentinel_target(network)
    failed, result = run_main(
        config,
        {"target": "sentinel", "settings": {"parallel-syncs": 2}, "_ansible_check_mode": True},
    )
    assert not failed and result["changed"]
    assert result["changes"] == {"parallel-syncs": {"before": "1", "after": "2"}}
    assert [call for call in server.calls if call[:2] == ("SENTINEL", "SET")] == []


@pytest.mark.parametrize(
    ("target", "port", "message"),
    [
        (
            "sentinel",
            6379,
            "SENTINEL MASTER golive on localhost:6379 failed: unknown command 'SENTINEL', with "
            "args beginning with: 'MASTER' 'golive' (is this a server? target is sentinel)",
        ),
        (
            "server",
            26379,
            "CONFIG GET on localhost:26379 failed: unknown command 'CONFIG', with args beginning "
            "with: 'GET' 'hz' (is this a sentinel? target is server)",
        ),
    ],
)
def test_config_wrong_target_hints(config, network, ansible_module, target, port, message):
    network.add("localhost", 6379, FakeServer(config=SERVER_CONFIG))
    sentinel_target(network)
    failed, result = run_main(
        config, {"target": target, "login_port": port, "settings": {"hz": 10}}
    )
    assert failed
    assert result["msg"] == message


# --- redis_command ----------------------------------------------------------------------------


def command_server(network, port=6379, **kwargs):
    return network.add("127.0.0.1", port, FakeServer(password=PASSWORD, **kwargs))


def test_command_ping_as_a_user(redis_command, network, ansible_module):
    server = command_server(network)
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_user": "admin",
                                              "login_password": PASSWORD, "command": ["PING"]})
    assert not failed
    assert result == {"changed": False, "reply": "PONG", "sent": True, "error": None,
                      "reason": None}
    assert server.calls == [("PING",), ("PING",)]  # connect()'s own PING, then the command
    assert network.clients[0].kwargs["username"] == "admin"
    assert network.clients[0].kwargs["password"] == PASSWORD
    assert network.clients[0].closed


def test_command_sentinel_without_user(redis_command, network, ansible_module):
    command_server(network, port=26379)
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_port": 26379,
                                              "login_password": PASSWORD, "command": ["PING"],
                                              "expect": "PONG"})
    assert not failed and result["reply"] == "PONG"
    assert "username" not in network.clients[0].kwargs


def test_command_that_changes_reports_changed(redis_command, network, ansible_module):
    server = command_server(network, answers={("ACL", "LOAD"): "OK"})
    args = {"login_host": "127.0.0.1", "login_password": PASSWORD, "command": ["ACL", "LOAD"],
            "changes": True, "expect": "OK"}
    failed, result = run_main(redis_command, args)
    assert not failed and result["changed"] is True and result["reply"] == "OK"
    assert server.calls[-1] == ("ACL", "LOAD")


def test_command_that_changes_is_not_sent_in_check_mode(redis_command, network, ansible_module):
    server = command_server(network)
    args = {"login_host": "127.0.0.1", "login_password": PASSWORD, "command": ["ACL", "LOAD"],
            "changes": True, "_ansible_check_mode": True}
    failed, result = run_main(redis_command, args)
    assert not failed
    assert result == {"changed": True, "reply": None, "sent": False, "error": None,
                      "reason": None}
    assert server.calls == [] and network.clients == []


def test_reading_command_runs_in_check_mode(redis_command, network, ansible_module):
    command_server(network)
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_password": PASSWORD,
                                              "command": ["PING"], "_ansible_check_mode": True})
    assert not failed and result["reply"] == "PONG" and result["changed"] is False


@pytest.mark.parametrize(
    ("password", "reason"),
    [(None, "noauth"), ("wrong-" + PASSWORD, "wrongpass")],
)
def test_command_refused_login_fails_with_reason(redis_command, network, ansible_module,
                                                 password, reason):
    command_server(network)
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_password": password,
                                              "command": ["PING"]})
    assert failed and result["reason"] == reason and result["reply"] is None
    assert result["msg"].startswith("PING on 127.0.0.1:6379: ")


def test_command_nothing_listening_is_refused(redis_command, network, ansible_module):
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_password": PASSWORD,
                                              "command": ["PING"]})
    assert failed and result["reason"] == "refused"


def test_command_error_reply_fails(redis_command, network, ansible_module):
    command_server(network, answers={("ACL", "LOAD"): LibResponseError(
        "ERR /etc/valkey/users.acl:1: Unknown command or category name in ACL")})
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_password": PASSWORD,
                                              "command": ["ACL", "LOAD"], "changes": True})
    assert failed and result["changed"] is False
    assert "Unknown command or category name" in result["error"]


def test_command_unexpected_reply_fails(redis_command, network, ansible_module):
    command_server(network, answers={("PING",): Replies(["PONG", "LOADING"])})
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_password": PASSWORD,
                                              "command": ["PING"], "expect": "PONG"})
    assert failed and result["reason"] == "unexpected_reply"
    assert result["reply"] == "LOADING"
    assert result["error"] == "the reply was 'LOADING', not 'PONG'"


def test_command_never_returns_the_password(redis_command, network, ansible_module):
    command_server(network, answers={("ECHO", PASSWORD): PASSWORD})
    failed, result = run_main(redis_command, {"login_host": "127.0.0.1", "login_password": PASSWORD,
                                              "command": ["ECHO", PASSWORD], "expect": "x"})
    assert failed
    assert PASSWORD not in json.dumps(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [({"command": []}, "command must name a command"),
     ({"command": ["PING"], "connect_timeout": 0}, "connect_timeout must be more than 0")],
)
def test_command_rejects_bad_input(redis_command, network, ansible_module, args, message):
    failed, result = run_main(redis_command, {"login_password": PASSWORD, **args})
    assert failed and message in result["msg"]
    assert network.clients == []
