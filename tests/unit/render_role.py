"""Render a role's template with the role's defaults (and vars/main.yml), the way Ansible would
for these templates: plain Jinja, undefined names an error. For templates whose inputs are role
variables only (alert rules, Alertmanager's config), so unit tests can run the daemons' checkers
on exactly what a converge with the defaults writes."""

from __future__ import annotations

from pathlib import Path

import jinja2
import yaml

from .conftest import ROOT


def role_vars(role: str, **overrides) -> dict:
    base = ROOT / "roles" / role
    values = {"ansible_managed": "Ansible managed"}
    values.update(yaml.safe_load((base / "defaults" / "main.yml").read_text()) or {})
    values.update(overrides)
    return values


def _combine(a: dict, b: dict, recursive: bool = False) -> dict:
    out = dict(a)
    for key, value in b.items():
        if recursive and isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _combine(out[key], value, True)
        else:
            out[key] = value
    return out


def environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["comment"] = lambda text: "\n".join(f"# {line}" for line in text.splitlines())
    env.filters["combine"] = _combine
    env.filters["to_json"] = __import__("json").dumps
    return env


def render(role: str, template: str, values: dict, internal: dict | None = None) -> str:
    """TEMPLATE (relative to the role's templates/) rendered with VALUES; INTERNAL names
    vars/main.yml entries to evaluate first (name -> Jinja expression)."""
    env = environment()
    values = dict(values)
    for name, expression in (internal or {}).items():
        values[name] = env.from_string("{{ (" + expression + ") | to_json }}").render(values)
        values[name] = yaml.safe_load(values[name])
    text = (ROOT / "roles" / role / "templates" / template).read_text()
    return env.from_string(text).render(values)


def internal_vars(role: str, *names: str) -> dict[str, str]:
    """The Jinja expressions of NAMES in the role's vars/main.yml (without the braces)."""
    data = yaml.safe_load((ROOT / "roles" / role / "vars" / "main.yml").read_text())
    out = {}
    for name in names:
        expression = data[name].strip()
        assert expression.startswith("{{") and expression.endswith("}}"), name
        out[name] = expression[2:-2]
    return out


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
