"""Bundle the Ansible side of the repo into the wheel.

The repository root is also the Ansible collection `golive.ops` (playbooks, roles, plugins,
inventories). A wheel must work outside the source tree, so build_py copies those parts into
`golive/_project/`; `golive.paths.project_root()` finds them there when the package is not
running from a checkout. Everything else is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = [
    "ansible.cfg",
    "galaxy.yml",
    "requirements.yml",
    "meta",
    "playbooks",
    "roles",
    "plugins",
    "inventories/example",
    "inventories/lab",
    "lab",
]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class BuildPyWithCollection(build_py):
    def run(self):
        super().run()
        root = Path(__file__).resolve().parent
        dest = Path(self.build_lib) / "golive" / "_project"
        for item in SHIPPED:
            src = root / item
            if not src.exists():
                raise FileNotFoundError(f"wheel content missing from the tree: {item}")
            target = dest / item
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, target, ignore=IGNORED, dirs_exist_ok=True)
            else:
                shutil.copy2(src, target)


setup(cmdclass={"build_py": BuildPyWithCollection})
