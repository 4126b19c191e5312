"""The sample app (examples/app): migrations, the code of each schema level, the WSGI routes
with faults, and the artifact builder's wheel, wheelhouses per Python and manifest (pip
replaced: no download)."""

import importlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "app"


@pytest.fixture(scope="module")
def sample():
    sys.path.insert(0, str(APP / "src"))
    sys.path.insert(0, str(APP))
    try:
        modules = {name: importlib.import_module(name) for name in (
            "golive_sample_app.migrations", "golive_sample_app.schema", "golive_sample_app.app",
            "build")}
        yield modules
    finally:
        sys.path.remove(str(APP / "src"))
        sys.path.remove(str(APP))
        for name in [n for n in sys.modules if n.startswith("golive_sample_app") or n == "build"]:
            del sys.modules[name]


def test_bundled_migrations_are_ordered_and_marked(sample):
    found = sample["golive_sample_app.migrations"].bundled()
    assert [(m.id, m.breaking) for m in found] == [
        ("0001_items", False), ("0002_items_tags", False), ("0003_items_title", True)]


@pytest.mark.parametrize(("name", "text", "error"), [
    ("1_items.sql", "-- golive: compatible\n", "named NNNN_name.sql"),
    ("0004_x.sql", "ALTER TABLE x;\n", "first line must be"),
    ("0004_x.sql", "-- golive: maybe\n", "first line must be"),
])
def test_a_migration_without_its_header_is_refused(sample, name, text, error):
    with pytest.raises(ValueError, match=error):
        sample["golive_sample_app.migrations"].parse(name, text)


def test_status_document_lists_pending_with_breaking_flags(sample):
    mig = sample["golive_sample_app.migrations"]
    doc = mig.status_document(mig.bundled(), {"0001_items", "9999_gone"})
    assert doc["pending"] == [{"id": "0002_items_tags", "breaking": False},
                              {"id": "0003_items_title", "breaking": True}]
    assert doc["unknown_applied"] == ["9999_gone"]


def test_schema_levels(sample):
    schema = sample["golive_sample_app.schema"].ItemsSchema
    assert schema(1).select_recent() == \
        "SELECT id, name, created_at FROM items ORDER BY id DESC LIMIT %s"
    assert schema(2).insert("a", ["t"])[1] == ("a", ["t"])
    assert "title" in schema(3).select_recent() and "tags" in schema(3).select_recent()


def call(app_module, method, path, body=None):
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    raw = json.dumps(body).encode() if body is not None else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    out = b"".join(app_module.application(environ, start_response))
    return int(seen["status"].split()[0]), seen["headers"], json.loads(out)


@pytest.fixture
def app(sample, monkeypatch):
    module = sample["golive_sample_app.app"]
    monkeypatch.setattr(module, "check_database", lambda: {"status": "healthy", "latency_ms": 1.0})
    monkeypatch.setattr(module, "check_redis", lambda: {"status": "healthy", "latency_ms": 1.0})
    monkeypatch.setattr(module, "FAULT", "none")
    return module


def test_health_answers_plan_004s_shape(app):
    code, headers, doc = call(app, "GET", "/health")
    assert code == 200 and doc["status"] == "healthy"
    assert doc["services"] == {"database": "healthy", "redis": "healthy"}
    assert headers["X-App-Version"] == doc["version"] == app.VERSION
    assert set(doc) >= {"status", "timestamp", "version", "services"}


def test_health_is_503_when_a_service_is_down(app, monkeypatch):
    monkeypatch.setattr(app, "check_redis", lambda: {"status": "unhealthy", "error": "refused"})
    code, _, doc = call(app, "GET", "/health")
    assert code == 503 and doc["status"] == "unhealthy"
    assert doc["services"]["redis"] == "unhealthy"


def test_fault_degraded_answers_200_with_status_degraded(app, monkeypatch):
    monkeypatch.setattr(app, "FAULT", "degraded")
    code, _, doc = call(app, "GET", "/health")
    assert code == 200 and doc["status"] == "degraded"


def test_fault_health_fails_the_health_check_only(app, monkeypatch):
    monkeypatch.setattr(app, "FAULT", "health")
    monkeypatch.setattr(app, "query", lambda sql, params=(): [])
    assert call(app, "GET", "/health")[0] == 503
    assert call(app, "GET", "/api/items")[0] == 200


def test_fault_api5xx_passes_health_and_breaks_the_api(app, monkeypatch):
    monkeypatch.setattr(app, "FAULT", "api5xx")
    assert call(app, "GET", "/health")[0] == 200
    assert call(app, "GET", "/api/items")[0] == 500


def test_create_item_validates_its_input(app):
    code, _, doc = call(app, "POST", "/api/items", {"name": ""})
    assert code == 422 and "name" in doc["error"]
    assert call(app, "POST", "/api/items", {"name": "x", "tags": "t"})[0] == 422


def test_unknown_paths_and_methods(app):
    assert call(app, "GET", "/nope")[0] == 404
    assert call(app, "DELETE", "/api/items")[0] == 405


def test_a_database_error_is_a_503_with_its_reason(app, monkeypatch):
    def broken(sql, params=()):
        raise RuntimeError("server closed the connection")

    monkeypatch.setattr(app, "query", broken)
    code, _, doc = call(app, "GET", "/api/items")
    assert code == 503 and "server closed the connection" in doc["error"]


def test_build_wheel_bakes_version_schema_fault_and_migrations(sample, tmp_path):
    build = sample["build"]
    wheel = build.build_wheel(APP, "2.1.0", 2, "api5xx", tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        baked = archive.read("golive_sample_app/_build.py").decode()
        metadata = archive.read("golive_sample_app-2.1.0.dist-info/METADATA").decode()
        record = archive.read("golive_sample_app-2.1.0.dist-info/RECORD").decode()
    assert "VERSION = '2.1.0'" in baked and "SCHEMA = 2" in baked and "FAULT = 'api5xx'" in baked
    assert "golive_sample_app/migrations/0002_items_tags.sql" in names
    assert "golive_sample_app/migrations/0003_items_title.sql" not in names
    assert "Requires-Dist: gunicorn" in metadata
    assert all(name in record for name in names if not name.endswith("RECORD"))
    manifest = build.manifest("3.0.0", 3, "none", ["3.11", "3.13"])
    assert manifest["migrations"][-1] == {"id": "0003_items_title", "breaking": True}
    assert manifest["pythons"] == ["3.11", "3.13"]


def test_build_refuses_bad_versions_and_schemas(sample):
    build = sample["build"]
    with pytest.raises(SystemExit):
        build.parse_args(["--version", "two"])
    with pytest.raises(SystemExit):
        build.parse_args(["--version", "1.0.0", "--schema", "9"])
    assert build.parse_args(["--version", "2.0.0"]).schema == 2
    assert build.parse_args(["--version", "7.0.0"]).schema == 3


@pytest.mark.parametrize(("given", "pythons"), [
    (None, ["3.11", "3.13"]),  # Debian 12's and 13's
    ("3.13", ["3.13"]),
    ("3.13, 3.11,3.13", ["3.11", "3.13"]),
    ("3.14,3.12", ["3.12", "3.14"]),
])
def test_build_python_option(sample, given, pythons):
    argv = ["--version", "2.0.0"] + ([] if given is None else ["--python", given])
    assert sample["build"].parse_args(argv).python == pythons


@pytest.mark.parametrize(("given", "error"), [
    ("3", "'3' is not X.Y"), ("3.x", "'3.x' is not X.Y"), ("", "'' is not X.Y"),
    ("3.11,", "'' is not X.Y"), ("3.10", "3.10 is not supported"),
    ("2.7", "2.7 is not supported"), ("4.0", "4.0 is not supported"),
])
def test_build_refuses_bad_pythons(sample, capsys, given, error):
    with pytest.raises(SystemExit) as info:
        sample["build"].parse_args(["--version", "2.0.0", "--python", given])
    assert info.value.code == 2
    assert f"--python {given!r}: {error}" in capsys.readouterr().err


@pytest.fixture
def fake_pip(sample, monkeypatch):
    """build.pip replaced: `pip download` writes a pure wheel and a psycopg2-binary wheel of the
    requested Python into -d; returns the Pythons downloaded for, one entry per call."""
    calls = []

    def pip(*argv):
        folder = Path(argv[argv.index("-d") + 1])
        tag = "cp" + argv[argv.index("--python-version") + 1].replace(".", "")
        assert argv[argv.index("--abi") + 1] == tag
        calls.append(argv[argv.index("--python-version") + 1])
        for name in ("redis-5.3.1-py3-none-any.whl",
                     f"psycopg2_binary-2.9.10-{tag}-{tag}-manylinux_2_17_x86_64.whl"):
            (folder / name).write_bytes(b"wheel")

    monkeypatch.setattr(sample["build"], "pip", pip)
    return calls


def test_build_holds_wheels_for_every_python_and_records_them(sample, fake_pip, tmp_path,
                                                              capsys):
    build = sample["build"]
    argv = ["--version", "2.0.0", "--out", str(tmp_path / "dist"),
            "--wheelhouse", str(tmp_path / "cache"), "--python", "3.13,3.11"]
    assert build.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert fake_pip == ["3.11", "3.13"] and printed["pythons"] == ["3.11", "3.13"]
    with tarfile.open(printed["artifact"]) as tar:
        names = tar.getnames()
        release = json.loads(tar.extractfile("golive-sample-app-2.0.0/release.json").read())
    assert release["pythons"] == ["3.11", "3.13"] and "python" not in release
    wheels = sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".whl"))
    assert wheels == ["golive_sample_app-2.0.0-py3-none-any.whl",
                      "psycopg2_binary-2.9.10-cp311-cp311-manylinux_2_17_x86_64.whl",
                      "psycopg2_binary-2.9.10-cp313-cp313-manylinux_2_17_x86_64.whl",
                      "redis-5.3.1-py3-none-any.whl"]  # the pure wheel once
    # each Python's wheelhouse is cached: a build for one of them downloads nothing
    assert build.main([*argv[:-1], "3.13"]) == 0
    assert fake_pip == ["3.11", "3.13"]
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_index_answers_the_banner_of_its_environment(app, monkeypatch):
    monkeypatch.setenv("APP_BANNER", "v1 settings")
    code, _, doc = call(app, "GET", "/")
    assert code == 200 and doc["banner"] == "v1 settings" and doc["version"] == app.VERSION
