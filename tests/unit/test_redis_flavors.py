"""golive.ops.redis flavors (redis, valkey): every name that differs per flavor lives in
vars/<flavor>.yml, and nothing in the role's tasks, handlers or templates, the checks role or the
cache drills names one flavor's package, unit, CLI or path."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "redis"


def load(path: Path):
    return yaml.safe_load(path.read_text())


def flavors() -> list[str]:
    return load(ROLE / "vars" / "main.yml")["_redis_flavors"]


def names(flavor: str) -> dict:
    return load(ROLE / "vars" / f"{flavor}.yml")


def literal_values(flavor: str) -> set[str]:
    """The flavor's packages, units, CLI and paths (not the bare user name, a common word)."""
    values = set()
    for value in names(flavor).values():
        for item in value.values() if isinstance(value, dict) else [value]:
            if "-" in item or "/" in item:
                values.add(item)
    return values


def test_the_argspec_choices_are_the_flavors_with_a_vars_file():
    spec = load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert spec["redis_flavor"]["choices"] == flavors()
    assert load(ROLE / "defaults" / "main.yml")["redis_flavor"] == "redis"
    assert sorted(p.stem for p in (ROLE / "vars").glob("*.yml") if p.stem != "main") == \
        sorted(flavors())


def test_every_flavor_sets_the_same_names():
    keys = {flavor: set(names(flavor)) for flavor in flavors()}
    assert all(k == keys["redis"] for k in keys.values()), keys
    packages = {flavor: set(names(flavor)["_redis_packages"]) for flavor in flavors()}
    assert all(p == packages["redis"] for p in packages.values()), packages


@pytest.mark.parametrize(
    ("flavor", "unit", "cli", "conf"),
    [
        ("redis", "redis-server.service", "redis-cli", "/etc/redis/redis.conf"),
        ("valkey", "valkey-server.service", "valkey-cli", "/etc/valkey/valkey.conf"),
    ],
)
def test_flavor_names_are_debians(flavor, unit, cli, conf):
    """As Debian 13's packages name them (apt-get download + dpkg -c, December 2026)."""
    n = names(flavor)
    assert (n["_redis_server_unit"], n["_redis_cli"], n["_redis_conf"]) == (unit, cli, conf)
    assert all(str(v).startswith(("/etc/" + flavor, "/var/lib/" + flavor, "/var/log/" + flavor,
                                  "/run/" + flavor, "/run/sentinel/" + flavor))
               for k, v in n.items() if k.endswith(("_conf", "_file", "_dir", "_log", "_pidfile")))


def test_valkey_only_where_the_release_ships_it():
    releases = load(ROLE / "vars" / "main.yml")["_redis_release_flavors"]
    assert releases == {"bookworm": ["redis"], "trixie": ["redis", "valkey"]}


FLAVOR_FREE = [
    *sorted((ROLE / "tasks").glob("*.yml")),
    ROLE / "handlers" / "main.yml",
    *sorted((ROLE / "templates").rglob("*.j2")),
    ROOT / "roles" / "checks" / "tasks" / "run.yml",
    ROOT / "molecule" / "cache" / "verify.yml",
    ROOT / "tests" / "e2e" / "cache_drill.py",
    ROOT / "tests" / "e2e" / "test_cache.py",
    ROOT / "tests" / "scripts" / "redis_probe.py",
]


@pytest.mark.parametrize("path", FLAVOR_FREE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_flavor_name_is_hard_coded(path):
    """Comments and docstrings may name them; code may not (checked line by line)."""
    code = [line for line in path.read_text().splitlines()
            if not line.lstrip().startswith("#") and '"""' not in line]
    found = {value for flavor in flavors() for value in literal_values(flavor)
             for line in code if value in line}
    assert found == set(), found
