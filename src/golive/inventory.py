"""Resolving and sanity-checking what a run needs before ansible starts."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from golive import paths
from golive.errors import InvalidInput, SetupError

# Collections the roles and playbooks use; they come from the `ansible` package on PyPI.
REQUIRED_COLLECTIONS = (
    "ansible.posix",
    "community.general",
    "community.postgresql",
    "community.crypto",
    "containers.podman",
)


def resolve(inventory: str | None) -> Path:
    """The inventory to use: the given path, else the lab inventory. Must exist."""
    path = Path(inventory).expanduser() if inventory else paths.lab_inventory()
    if not path.exists():
        raise InvalidInput(
            f"inventory {path} does not exist",
            hint="pass -i/--inventory with a file or directory; inventories/example shows the "
                 "layout for real hosts; without -i golive uses the lab (golive lab up)")
    return path.resolve()


def is_lab(inventory: Path) -> bool:
    return inventory.resolve() == paths.lab_inventory().resolve()


def missing_collections() -> list[str]:
    missing = []
    for name in REQUIRED_COLLECTIONS:
        try:
            spec = importlib.util.find_spec(f"ansible_collections.{name}")
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            missing.append(name)
    return missing


def ansible_playbook_path() -> str | None:
    """ansible-playbook next to this interpreter (a venv not on PATH), else on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def check_setup(inventory: Path) -> None:
    """Fail with exit code 4 before anything runs when a tool or collection is missing."""
    if ansible_playbook_path() is None:
        raise SetupError("ansible-playbook is not installed",
                         hint="pip install golive (it depends on ansible-core), or `make demo`")
    missing = missing_collections()
    if missing:
        raise SetupError(
            f"Ansible collection(s) not installed: {', '.join(missing)}",
            hint="pip install 'ansible>=12,<13' (it carries them; Galaxy users: "
                 "ansible-galaxy collection install -r requirements.yml)")
    if is_lab(inventory) and shutil.which("podman") is None:
        raise SetupError("podman is not installed, and the lab inventory connects with it",
                         hint="apt-get install podman runc, then golive lab up; or pass -i "
                              "with an inventory of real hosts")
