# SPDX-License-Identifier: Apache-2.0
"""Whether a release artifact has wheels for a host's Python (the deploy's preflight).

An artifact names the Pythons it serves in release.json: `"pythons": ["3.11", "3.13"]`
(examples/app/build.py --python). An artifact built before that key existed is judged by the
tags of the wheels it holds (PEP 427 names): it serves a Python when every distribution in it
has a wheel that Python can install (`py3-none-any`, `cpXY-cpXY-...` for exactly X.Y,
`cpXY-abi3-...` for X.Y and later). The tags are what pip on the target will match, so an old
artifact that serves the host still deploys, and one that does not is refused in preflight
instead of failing pip in prepare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

PYTHON_RE = re.compile(r"^(\d+)\.(\d+)$")
WHEEL_RE = re.compile(r"^(?P<name>[^-]+)-[^-]+(?:-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)"
                      r"-[^-]+\.whl$")
CP_TAG_RE = re.compile(r"^cp(\d)(\d+)$")
PY_TAG_RE = re.compile(r"^py(\d)(\d*)$")


def python_of(version) -> tuple[int, int]:
    """(major, minor) of "3.13", or of the host's facts (ansible_facts.python.version)."""
    if isinstance(version, Mapping):
        try:
            return int(version["major"]), int(version["minor"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError(f"a Python version needs major and minor (got {version!r})"
                                     ) from exc
    match = PYTHON_RE.match(str(version).strip())
    if not match:
        raise AnsibleFilterError(f"a Python version is X.Y (got {version!r})")
    return int(match.group(1)), int(match.group(2))


def dotted(python: tuple[int, int]) -> str:
    return f"{python[0]}.{python[1]}"


def rebuild(pythons: list[str], python: tuple[int, int]) -> str:
    """The sample app's build command for PYTHONS and PYTHON, as a hint."""
    wanted = sorted({python_of(p) for p in pythons} | {python})
    return f"examples/app/build.py --python {','.join(map(dotted, wanted))}"


def wheel_tags(filename: str) -> tuple[str, list[tuple[str, str]]] | None:
    """(distribution, [(python tag, abi tag)]) of a wheel's file name (a path is fine), None
    for anything that is not a wheel. Compressed tag sets (py2.py3) are expanded."""
    match = WHEEL_RE.match(filename.rsplit("/", 1)[-1])
    if not match:
        return None
    name = re.sub(r"[-_.]+", "_", match.group("name")).lower()
    return name, [(py, abi) for py in match.group("py").split(".")
                  for abi in match.group("abi").split(".")]


def tag_serves(py: str, abi: str, python: tuple[int, int]) -> bool:
    """Whether CPython PYTHON installs a wheel tagged PY-ABI (any platform)."""
    pure = PY_TAG_RE.match(py)
    if pure:  # py3 any 3.x; py311 3.11 and later (pip's compatible tags)
        major, minor = int(pure.group(1)), pure.group(2)
        return major == python[0] and (not minor or int(minor) <= python[1])
    cp = CP_TAG_RE.match(py)
    if cp is None:  # another interpreter (pp310 ...)
        return False
    tagged = (int(cp.group(1)), int(cp.group(2)))
    if abi == "abi3":
        return tagged[0] == python[0] and tagged <= python
    return tagged == python


def wheels_serve(wheels: list[str], python: tuple[int, int]) -> bool:
    """Every distribution among WHEELS has a wheel PYTHON installs."""
    served: dict[str, bool] = {}
    for tags in filter(None, map(wheel_tags, wheels)):
        name, pairs = tags
        served[name] = served.get(name, False) or any(tag_serves(py, abi, python)
                                                      for py, abi in pairs)
    return all(served.values())


def cp_versions(wheels: list[str]) -> list[str]:
    """The X.Y named by the wheels' cpXY tags, in version order."""
    found = {(int(m.group(1)), int(m.group(2)))
             for tags in filter(None, map(wheel_tags, wheels)) for py, _ in tags[1]
             if (m := CP_TAG_RE.match(py))}
    return [dotted(p) for p in sorted(found)]


def artifact_pythons(release: dict, wheels: list[str] | None = None) -> list[str] | None:
    """The Pythons (X.Y) the artifact serves: release.json's `pythons`, else those of the
    wheels' cpXY tags that every distribution serves. None: no wheel is tied to a Python (pure
    wheels only), so every Python is served."""
    if "pythons" in release:
        return list(release["pythons"])
    tagged = cp_versions(wheels or [])
    if not tagged:
        return None
    return [p for p in tagged if wheels_serve(wheels or [], python_of(p))]


def artifact_python_refusal(release: dict, host: str, version,
                            wheels: list[str] | None = None) -> str:
    """"" when the artifact (RELEASE: its release.json; WHEELS: the file names it holds, needed
    only when release.json has no `pythons`) has wheels for HOST's Python VERSION ("X.Y" or
    ansible_facts.python.version), else why not, naming the host, its Python and the Pythons
    the artifact has."""
    python = python_of(version)
    what = f"artifact {release.get('name', '?')} {release.get('version', '?')}"
    hint = "rebuild it with wheels for every target's Python"
    if "pythons" in release:
        pythons = release["pythons"]
        if not isinstance(pythons, list) or not pythons \
                or not all(isinstance(p, str) and PYTHON_RE.match(p) for p in pythons):
            return f"{what}: release.json's pythons must be a non-empty list of X.Y " \
                   f"(got {pythons!r})"
        if any(python_of(p) == python for p in pythons):
            return ""
        return f"{host} runs Python {dotted(python)}; the {what} has wheels for Python " \
               f"{', '.join(pythons)} only: {hint} ({rebuild(pythons, python)})"
    if wheels is None:
        raise AnsibleFilterError("artifact_python_refusal: release.json has no pythons, so the "
                                 "artifact's wheel names are needed")
    if wheels_serve(wheels, python):
        return ""
    pythons = artifact_pythons(release, wheels)
    has = f"Python {', '.join(pythons)} only" if pythons else \
        f"no single Python (cp tags of {', '.join(cp_versions(wheels))})"
    return f"{host} runs Python {dotted(python)}; the {what} (release.json without pythons, " \
           f"judged by its wheels' tags) has wheels for {has}: {hint} " \
           f"({rebuild(pythons or [], python)})"


class FilterModule:
    def filters(self):
        return {"artifact_pythons": artifact_pythons,
                "artifact_python_refusal": artifact_python_refusal}
