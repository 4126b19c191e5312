"""golive.ops.pg_cluster_info: the major the db tier manages, read from the host."""

import pytest

from .conftest import collection_modules


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    with collection_modules(tmp_path_factory, m="modules.pg_cluster_info") as ns:
        yield ns.m


def cluster(major, name="main", start="auto"):
    return {"major": major, "name": name, "start": start, "port": 5432,
            "data_dir": f"/var/lib/postgresql/{major}/{name}"}


TRIXIE = ("trixie", 17, [17])
BOOKWORM = ("bookworm", 15, [15])


@pytest.mark.parametrize(("requested", "release", "clusters", "installed", "major", "source"), [
    ("", TRIXIE, [], [], 17, "release"),
    ("", BOOKWORM, [], [], 15, "release"),
    ("17", TRIXIE, [], [], 17, "requested"),
    # a dist-upgraded host keeps its 15 cluster: no second, empty 17 cluster
    ("", TRIXIE, [cluster(15)], [15], 15, "cluster"),
    ("15", TRIXIE, [cluster(15)], [15], 15, "requested"),
    # mid pg_upgradecluster: the old cluster is set to manual, the new one serves
    ("", TRIXIE, [cluster(15, start="manual"), cluster(17)], [15, 17], 17, "cluster"),
    # a cluster of another name does not count
    ("", TRIXIE, [cluster(15, name="other")], [15], 17, "release"),
    # a major that is installed (kept packages) may be asked for
    ("15", TRIXIE, [], [15], 15, "requested"),
])
def test_choose_major(mod, requested, release, clusters, installed, major, source):
    got, why, note = mod.choose_major("main", requested, *release, clusters, installed)
    assert (got, why) == (major, source)
    if any(c["name"] == "main" for c in clusters) and major != release[1]:
        assert f"pg_upgradecluster {major} main" in note and f"default is {release[1]}" in note
    else:
        assert note == ""


@pytest.mark.parametrize(("requested", "release", "clusters", "installed", "words"), [
    ("15", TRIXIE, [], [], ["postgresql_version 15", "Debian trixie ships PostgreSQL 17"]),
    ("17", BOOKWORM, [], [], ["postgresql_version 17", "Debian bookworm ships PostgreSQL 15"]),
    ("17", TRIXIE, [cluster(15)], [15, 17],
     ["postgresql_version is 17", "runs PostgreSQL 15", "pg_upgradecluster 15 main"]),
    ("abc", TRIXIE, [], [], ["postgresql_version must be a major", "'abc'"]),
    ("", TRIXIE, [cluster(15), cluster(17)], [15, 17], ["majors 15, 17", "postgresql_version"]),
])
def test_choose_major_refuses(mod, requested, release, clusters, installed, words):
    got, _, message = mod.choose_major("main", requested, *release, clusters, installed)
    assert got is None
    assert all(w in message for w in words), message


def test_read_clusters_from_the_host_layout(mod, tmp_path):
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    (etc / "15" / "main").mkdir(parents=True)
    (etc / "15" / "main" / "postgresql.conf").write_text(
        "data_directory = '/srv/pg/15/main'\t# moved\nport = 5433\n")
    (etc / "15" / "main" / "start.conf").write_text("# comment\nmanual\n")
    (etc / "17" / "main").mkdir(parents=True)
    (etc / "17" / "main" / "postgresql.conf").write_text("#port = 1\n")
    (lib / "17" / "bin").mkdir(parents=True)
    (lib / "17" / "bin" / "postgres").write_text("")
    assert mod.read_clusters(etc) == [
        {"major": 15, "name": "main", "start": "manual", "port": 5433,
         "data_dir": "/srv/pg/15/main"},
        {"major": 17, "name": "main", "start": "auto", "port": 5432,
         "data_dir": "/var/lib/postgresql/17/main"}]
    assert mod.read_installed(lib) == [17]
    assert mod.describe(15, "main", mod.read_clusters(etc)) == {
        "unit": "postgresql@15-main", "conf_dir": "/etc/postgresql/15/main",
        "bin_dir": "/usr/lib/postgresql/15/bin", "data_dir": "/srv/pg/15/main"}
