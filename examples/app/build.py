#!/usr/bin/env python3
"""Build a release artifact of the sample app on the control node.

    python examples/app/build.py --version 2.0.0 [--schema 2] [--fault none|health|degraded|api5xx]
                                 [--python 3.11,3.13] [--out DIR] [--wheelhouse DIR]

The artifact is what `golive deploy --artifact` takes (see roles/app/README.md, "Artifacts"):
a .tar.gz holding release.json and wheels/, the app's wheel plus a wheelhouse of every
dependency for each of the targets' Pythons (manylinux, the control node's machine), so the
targets install offline; pip on a target picks the wheels of its own Python.

--python lists the targets' Pythons (X.Y, default 3.11,3.13: Debian 12's and Debian 13's);
release.json records them ("pythons"), and a deploy refuses, before anything changes, an
artifact without wheels for a target host's Python.

--schema N bundles migrations 0001..N (default: the major version, at most the newest);
--fault builds a deliberately bad release for the deploy drills ("health": /health answers 503;
"degraded": /health answers 200 with status "degraded"; "api5xx": /health passes, /api/items
answers 500); --fault-hosts web2 limits the fault to the hosts with those hostnames (a second
batch that fails while the canary passed).
Dependencies are downloaded once into the wheelhouse cache (default ~/.cache/golive/wheelhouse)
and taken from there afterwards (one cache directory per Python).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "golive-sample-app"
PACKAGE = "golive_sample_app"
FAULTS = ("none", "health", "degraded", "api5xx")
REQUIREMENTS = ["gunicorn>=22,<24", "psycopg2-binary>=2.9,<3", "redis>=5,<6"]
# The app's oldest Python (datetime.UTC, the wheel's Requires-Python), and the default targets:
# Debian 12's and Debian 13's python3.
MIN_PYTHON = (3, 11)
DEFAULT_PYTHONS = "3.11,3.13"
PYTHON_RE = re.compile(r"^(\d+)\.(\d+)$")
# pip download evaluates environment markers with the control node's Python, not the targets':
# Debian 12's python3 is 3.11.2, where redis needs async-timeout (python_full_version <
# "3.11.3"), so the wheelhouse carries it whatever the control node runs.
WHEELHOUSE_EXTRA = ["async-timeout>=4.0.3"]
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+([.+-][0-9A-Za-z.]+)?$")


def migrations_in(source: Path) -> list[Path]:
    return sorted((source / "src" / PACKAGE / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="release version, e.g. 2.0.0")
    parser.add_argument("--schema", type=int, help="bundle migrations 0001..N")
    parser.add_argument("--fault", default="none", choices=FAULTS)
    parser.add_argument("--fault-hosts", default="",
                        help="comma-separated hostnames the fault is limited to (default: all)")
    parser.add_argument("--python", default=DEFAULT_PYTHONS,
                        help="comma-separated Pythons (X.Y) of the targets, wheels for each "
                             f"(default: {DEFAULT_PYTHONS})")
    parser.add_argument("--out", type=Path, default=Path("dist"))
    parser.add_argument("--wheelhouse", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "golive" / "wheelhouse")
    args = parser.parse_args(argv)
    if not VERSION_RE.match(args.version):
        parser.error(f"--version {args.version!r}: use MAJOR.MINOR.PATCH (e.g. 2.0.0)")
    newest = len(migrations_in(HERE))
    if args.schema is None:
        args.schema = min(int(args.version.split(".")[0]), newest)
    if not 1 <= args.schema <= newest:
        parser.error(f"--schema {args.schema}: between 1 and {newest}")
    try:
        args.python = parse_pythons(args.python)
    except ValueError as exc:
        parser.error(f"--python {args.python!r}: {exc}")
    return args


def parse_pythons(text: str) -> list[str]:
    """"3.13,3.11" -> ["3.11", "3.13"]: X.Y versions, at least MIN_PYTHON, in version order."""
    found = set()
    for item in (part.strip() for part in text.split(",")):
        match = PYTHON_RE.match(item)
        if not match:
            raise ValueError(f"{item!r} is not X.Y; give Python versions such as "
                             f"{DEFAULT_PYTHONS}")
        version = (int(match.group(1)), int(match.group(2)))
        if version < MIN_PYTHON or version[0] != MIN_PYTHON[0]:
            raise ValueError(f"{item} is not supported: the app needs Python "
                             f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or a later 3.x")
        found.add(version)
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def pip(*argv) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *argv],
                   check=True)


def target_platform_args(python: str) -> list[str]:
    machine = platform.machine()
    abi = "cp" + python.replace(".", "")
    return ["--only-binary=:all:", "--python-version", python, "--implementation", "cp",
            "--abi", abi, "--abi", "abi3", "--abi", "none",
            "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_17_{machine}",
            "--platform", f"manylinux_2_28_{machine}", "--platform", "any"]


def wheelhouse(cache: Path, python: str) -> list[Path]:
    """The dependencies' wheels for targets running PYTHON, downloaded once into a cache
    directory keyed by the requirements and the platform (the Python included), and taken from
    there afterwards (no network)."""
    key = hashlib.sha256(json.dumps([REQUIREMENTS, WHEELHOUSE_EXTRA,
                                     target_platform_args(python)]).encode())
    folder = cache / key.hexdigest()[:16]
    base = ["download", "-d", str(folder), *target_platform_args(python), *REQUIREMENTS,
            *WHEELHOUSE_EXTRA]
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        pip(*base)
        (folder / ".complete").touch()
    return sorted(folder.glob("*.whl"))


def wheelhouses(cache: Path, pythons: list[str]) -> list[Path]:
    """The wheels of every Python's wheelhouse, each file name once (a pure wheel such as
    redis-5...-py3-none-any.whl is in all of them)."""
    by_name = {wheel.name: wheel for python in pythons for wheel in wheelhouse(cache, python)}
    return [by_name[name] for name in sorted(by_name)]


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(source: Path, version: str, schema: int, fault: str, into: Path,
                fault_hosts: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel of the package (py3-none-any), written directly: no build backend is
    needed on the control node. _build.py carries the version, schema level and fault; only
    migrations 0001..schema are included."""
    package = source / "src" / PACKAGE
    keep = {p.name for p in migrations_in(source)[:schema]}
    files: dict[str, bytes] = {}
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package.parent).as_posix()
        if path.is_dir() or "__pycache__" in relative:
            continue
        if path.parent.name == "migrations" and path.name not in keep:
            continue
        files[relative] = path.read_bytes()
    files[f"{PACKAGE}/_build.py"] = (
        f"# Written by build.py.\nVERSION = {version!r}\nSCHEMA = {schema}\n"
        f"FAULT = {fault!r}\nFAULT_HOSTS = {tuple(fault_hosts)!r}\n").encode()
    dist_info = f"{PACKAGE}-{version}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in REQUIREMENTS)
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n"
        f"Requires-Python: >={MIN_PYTHON[0]}.{MIN_PYTHON[1]}\n{requires}").encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: golive-build\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{dist_info}/entry_points.txt"] = (
        f"[console_scripts]\n{NAME} = {PACKAGE}.cli:main\n").encode()
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    wheel = into / f"{PACKAGE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return wheel


def manifest(version: str, schema: int, fault: str, pythons: list[str]) -> dict:
    migrations = []
    for path in migrations_in(HERE)[:schema]:
        header = path.read_text().splitlines()[0]
        migrations.append({"id": path.stem, "breaking": header.strip().endswith("breaking")})
    return {"format": 1, "name": NAME, "version": version, "pythons": list(pythons),
            "schema": schema, "fault": fault, "migrations": migrations,
            "built_at": datetime.datetime.now(datetime.UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")}


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def main(argv=None) -> int:
    args = parse_args(argv)
    deps = wheelhouses(args.wheelhouse, args.python)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.fault == "none" else f"-{args.fault}"
    top = f"{NAME}-{args.version}{suffix}"
    artifact = args.out / f"{top}.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        fault_hosts = tuple(h for h in args.fault_hosts.split(",") if h)
        app_wheel = build_wheel(HERE, args.version, args.schema, args.fault, Path(tmp),
                                fault_hosts)
        partial = artifact.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            add_bytes(tar, f"{top}/release.json",
                      json.dumps(manifest(args.version, args.schema, args.fault,
                                          args.python), indent=2).encode() + b"\n")
            for wheel in [app_wheel, *deps]:
                tar.add(wheel, arcname=f"{top}/wheels/{wheel.name}")
        partial.replace(artifact)
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    print(json.dumps({"artifact": str(artifact), "sha256": digest, "version": args.version,
                      "schema": args.schema, "fault": args.fault, "pythons": args.python}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
