"""golive.ops.podman: a module task is one `podman exec -i` with the module on stdin; the
container is mounted only for a file transfer, once per connection. podman itself is faked."""

import pytest

from .conftest import collection_modules


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    with collection_modules(tmp_path_factory, conn="connection.podman") as ns:
        yield ns.conn


@pytest.fixture
def conn(plugin, tmp_path):
    """A connection to container c1 whose podman calls are recorded; `podman mount` answers
    with a directory standing for the container's root."""
    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    c = object.__new__(plugin.Connection)
    c._container_id, c.user, c._connected = "c1", None, True
    c._mount_point, c._mount_tried = None, False
    c.calls = []

    def fake_podman(cmd, cmd_args=None, in_data=None, use_container_id=True):
        c.calls.append((cmd, cmd_args, in_data))
        return (0, str(root).encode(), b"") if cmd == "mount" else (0, b"out", b"")

    c._podman = fake_podman
    c.root = root
    return c


def test_pipelining_is_declared(plugin):
    assert plugin.Connection.has_pipelining is True
    assert plugin.Connection.transport == "golive.ops.podman"


def test_a_pipelined_module_is_one_exec_with_stdin(conn):
    assert conn.exec_command("/bin/sh -c '/usr/bin/python3 && sleep 0'", in_data=b"MODULE") == \
        (0, b"out", b"")
    assert conn.calls == [(["exec", "-i"], ["/bin/sh", "-c", "/usr/bin/python3 && sleep 0"],
                           b"MODULE")]


def test_a_command_without_input_does_not_attach_stdin_and_a_user_is_passed(conn):
    conn.user = "postgres"
    conn.exec_command("id -u")
    assert conn.calls == [(["exec", "--user", "postgres"], ["id", "-u"], None)]


def test_files_go_through_one_mount(conn, tmp_path):
    src = tmp_path / "payload"
    src.write_text("data")
    conn.put_file(str(src), "/tmp/a")
    conn.put_file(str(src), "/tmp/b")
    conn.fetch_file("/tmp/a", str(tmp_path / "back"))
    assert [c[0] for c in conn.calls] == ["mount"]
    assert (conn.root / "tmp/b").read_text() == "data"
    assert (tmp_path / "back").read_text() == "data"


def test_a_stopped_container_is_unreachable(conn, plugin):
    from ansible.errors import AnsibleConnectionFailure

    conn._podman = lambda *a, **k: (125, b"", b"Error: container state improper\n")
    with pytest.raises(AnsibleConnectionFailure, match="state improper"):
        conn.exec_command("/bin/sh -c 'python3'", in_data=b"MODULE")
    conn._podman = lambda *a, **k: (125, b"", b"the command's own exit 125\n")
    assert conn.exec_command("exit 125")[0] == 125
