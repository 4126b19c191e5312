"""The sample app (examples/app): migrations, the code of each schema level, the WSGI routes
with faults, and the artifact builder's wheel and manifest (no download)."""

import importlib
import io
import json
import sys
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
    monkeypatch.setattr(module, "check_database", lambda: {"status": "ok", "latency_ms": 1.0})
    monkeypatch.setattr(module, "check_redis", lambda: {"status": "ok", "latency_ms": 1.0})
    monkeypatch.setattr(module, "FAULT", "none")
    return module


def test_health_reports_version_and_services(app):
    code, headers, doc = call(app, "GET", "/health")
    assert code == 200 and doc["status"] == "ok"
    assert doc["services"] == {"database": "ok", "redis": "ok"}
    assert headers["X-App-Version"] == doc["version"] == app.VERSION
    assert set(doc) >= {"status", "timestamp", "version", "services"}


def test_health_is_503_when_a_service_is_down(app, monkeypatch):
    monkeypatch.setattr(app, "check_redis", lambda: {"status": "error", "error": "refused"})
    code, _, doc = call(app, "GET", "/health")
    assert code == 503 and doc["status"] == "degraded" and doc["services"]["redis"] == "error"


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
    manifest = build.manifest("3.0.0", 3, "none")
    assert manifest["migrations"][-1] == {"id": "0003_items_title", "breaking": True}


def test_build_refuses_bad_versions_and_schemas(sample):
    build = sample["build"]
    with pytest.raises(SystemExit):
        build.parse_args(["--version", "two"])
    with pytest.raises(SystemExit):
        build.parse_args(["--version", "1.0.0", "--schema", "9"])
    assert build.parse_args(["--version", "2.0.0"]).schema == 2
    assert build.parse_args(["--version", "7.0.0"]).schema == 3
