"""roles/pgbackrest/files/golive-pgbackrest-info: pgbackrest info JSON -> golive's summary."""

from pathlib import Path

import pytest

from .conftest import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "roles/pgbackrest/files/golive-pgbackrest-info"


@pytest.fixture(scope="module")
def info():
    return load_script(SCRIPT, "golive_pgbackrest_info")


def entry(*backups):
    return [{"name": "main", "status": {"code": 0, "message": "ok"},
             "archive": [{"min": "000000010000000000000001", "max": "000000010000000000000007"}],
             "backup": list(backups)}]


def backup(label, kind, stop, error=False):
    return {"label": label, "type": kind, "error": error,
            "timestamp": {"start": stop - 30, "stop": stop},
            "info": {"size": 100, "repository": {"delta": 10}},
            "archive": {"start": "000000010000000000000002", "stop": "000000010000000000000002"}}


def test_summary_lists_backups_and_the_newest_of_each_type(info):
    doc = info.summary("main", entry(backup("F1", "full", 1_795_000_000),
                                     backup("F1_D1", "diff", 1_795_003_600, error=True)))
    assert [b["label"] for b in doc["backups"]] == ["F1", "F1_D1"]
    assert doc["newest"]["full"]["label"] == "F1" and doc["newest"]["diff"]["error"] is True
    assert (doc["label"], doc["type"]) == ("F1_D1", "diff")
    assert doc["finished_at"] == "2026-11-18T12:06:40Z"
    assert doc["wal_max"] == "000000010000000000000007"
    assert doc["backups"][0]["repo_size"] == 10


def test_summary_of_an_empty_or_missing_stanza(info):
    assert info.summary("main", entry())["backups"] == []
    assert info.summary("main", entry())["age_seconds"] is None
    assert info.summary("other", entry())["status"] == "missing"
