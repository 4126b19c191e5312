"""Where golive finds its Ansible content and keeps its state."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

from golive.errors import SetupError

COLLECTION_NAMESPACE = "golive"
COLLECTION_NAME = "ops"


@cache
def project_root() -> Path:
    """The directory holding ansible.cfg, playbooks/, roles/, plugins/ and inventories/.

    In a wheel it is bundled as golive/_project; from a checkout it is the repository root.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_project", package.parent.parent):
        if (candidate / "galaxy.yml").is_file() and (candidate / "playbooks").is_dir():
            return candidate
    raise SetupError(
        f"golive's playbooks and roles are not installed next to {package}",
        hint="reinstall golive from its wheel, or run it from a checkout of the repository",
    )


def state_dir() -> Path:
    """GOLIVE_STATE_DIR, else $XDG_STATE_HOME/golive, else ~/.local/state/golive."""
    explicit = os.environ.get("GOLIVE_STATE_DIR")
    if explicit:
        base = Path(explicit)
    else:
        xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        base = Path(xdg) / "golive"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def lab_inventory() -> Path:
    return project_root() / "inventories" / "lab"


def lab_ssh_dir() -> Path:
    """The lab's SSH key pair and known_hosts (0700): GOLIVE_LAB_SSH_DIR for ansible."""
    path = state_dir() / "lab" / "ssh"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def playbook(name: str) -> Path:
    return project_root() / "playbooks" / f"{name}.yml"


def containers_conf() -> Path:
    return project_root() / "lab" / "containers.conf"


def collections_path() -> Path:
    """A collections path in which golive.ops resolves to this project root.

    The link lives in the state dir (not in the tree, where linters would walk into it), one per
    project root, so two checkouts (or a checkout and an installed wheel) sharing a state dir
    never point each other's runs at the wrong content. It is created atomically.
    """
    target = project_root()
    digest = hashlib.sha256(str(target).encode()).hexdigest()[:12]
    base = state_dir() / "collections" / digest
    link = base / "ansible_collections" / COLLECTION_NAMESPACE / COLLECTION_NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    if not (link.is_symlink() and Path(os.readlink(link)) == target):
        tmp = link.with_name(f".{COLLECTION_NAME}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target, target_is_directory=True)
        os.replace(tmp, link)
    return base


def podman_env() -> dict[str, str]:
    """Environment additions every podman call needs (the shipped CONTAINERS_CONF)."""
    if os.environ.get("CONTAINERS_CONF"):
        return {}
    return {"CONTAINERS_CONF": str(containers_conf())}

