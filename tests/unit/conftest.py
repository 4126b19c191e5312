import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """Every test gets its own golive state dir (runs, estimates, collections link)."""
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def recorded_events():
    return json.loads((Path(__file__).parent / "fixtures" / "outcomes_events.json").read_text())
