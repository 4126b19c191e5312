import contextlib
import importlib
import importlib.machinery
import importlib.util
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


def load_script(path: Path, name: str) -> types.ModuleType:
    """A host-side script without a .py suffix (roles/*/files/*) imported as module NAME."""
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


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


class ExitJson(Exception):
    """What a module's exit_json raises in the unit tests, carrying the result."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


class FailJson(ExitJson):
    pass


def run_main(module, args, **deps):
    """main() of an imported module with these task args and I/O replacements (deps);
    returns (failed, result)."""
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args), pytest.raises(ExitJson) as info:
        module.main(**deps)
    return isinstance(info.value, FailJson), info.value.result



@pytest.fixture
def ansible_module(monkeypatch):
    """AnsibleModule.exit_json/fail_json raise, carrying the result; warnings are collected
    into the list the fixture returns."""
    from ansible.module_utils import basic

    warnings = []

    def exit_json(self, **result):
        raise ExitJson(result)

    def fail_json(self, msg, **result):
        raise FailJson({"failed": True, "msg": msg, **result})

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text, **kw: warnings.append(text))
    return warnings
