import contextlib
import importlib
import json
import sys
import types
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


@contextlib.contextmanager
def collection_modules(tmp_path_factory, **names):
    """Import this tree's plugins the way Ansible ships them, as ansible_collections.golive.ops
    modules; NAMES maps an attribute to a dotted path ("modules.pg_login", or a full
    "ansible_collections...." name). Yields a namespace of the imported modules."""
    base = tmp_path_factory.mktemp("collections")
    link = base / "ansible_collections" / "golive" / "ops"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(base))
    importlib.invalidate_caches()
    prefix = "ansible_collections.golive.ops.plugins"
    try:
        yield types.SimpleNamespace(**{
            attr: importlib.import_module(
                path if path.startswith("ansible_collections.") else f"{prefix}.{path}")
            for attr, path in names.items()})
    finally:
        sys.path.remove(str(base))
        for name in [name for name in sys.modules if name.startswith("ansible_collections.golive")]:
            del sys.modules[name]
