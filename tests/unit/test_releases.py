"""Debian 13 (trixie) next to Debian 12 (bookworm): what the roles declare and decide per host.

The Molecule scenarios prove each release on real hosts (GOLIVE_MOLECULE_PLATFORM); these are
the fast contracts: the platforms every role declares, the per-release vars of golive.ops.common,
and nginx's HTTP/2 directive rendered for the nginx versions on either side of 1.25.1.
"""

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import comment
from ansible.plugins.test.core import version_compare

from .conftest import ROOT

ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "meta" / "main.yml").is_file())
RELEASES = ["trixie", "bookworm"]  # Debian 13, the default, and Debian 12


def load(path):
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_role_declares_both_releases(role):
    platforms = load(role / "meta" / "main.yml")["galaxy_info"]["platforms"]
    assert platforms == [{"name": "Debian", "versions": RELEASES}]


def test_common_has_one_vars_file_per_supported_release_with_the_same_keys():
    vars_dir = ROOT / "roles" / "common" / "vars"
    assert load(vars_dir / "main.yml")["_common_releases"] == RELEASES
    files = {release: load(vars_dir / f"{release}.yml") for release in RELEASES}
    assert sorted(p.stem for p in vars_dir.glob("*.yml") if p.stem != "main") == sorted(RELEASES)
    assert files["trixie"].keys() == files["bookworm"].keys()
    assert "tzdata-legacy" in files["trixie"]["_common_zone_hint"]


def render_site(nginx_version):
    templates = ROOT / "roles" / "nginx" / "templates"
    env = jinja2.Environment(  # trim_blocks, as Ansible's template module renders
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )
    env.tests["version"] = version_compare
    env.filters["comment"] = comment
    variables = {
        **load(ROOT / "roles" / "nginx" / "defaults" / "main.yml"),
        "_nginx_http2_directive_since": load(ROOT / "roles" / "nginx" / "vars" / "main.yml")[
            "_nginx_http2_directive_since"
        ],
        "_nginx_version": nginx_version,
        "ansible_managed": "managed",
        "inventory_hostname": "web1",
        "nginx_server_names": ["web1"],
    }
    return env.get_template("nginx/golive/site.conf.j2").render(variables)


@pytest.mark.parametrize(
    ("nginx_version", "http2_on"),
    [
        ("1.22.1", False),  # Debian 12
        ("1.25.0", False),
        ("1.25.1", True),
        ("1.26.3", True),  # Debian 13
        ("1.28.0", True),
    ],
)
def test_http2_directive_follows_the_installed_nginx(nginx_version, http2_on):
    lines = [line.strip() for line in render_site(nginx_version).splitlines()]
    tls_listen = [line for line in lines if line.startswith("listen 443")]
    if http2_on:
        assert tls_listen == ["listen 443 ssl default_server;"]
        assert lines.count("http2 on;") == 1
    else:
        assert tls_listen == ["listen 443 ssl http2 default_server;"]
        assert not any(line.startswith("http2 ") for line in lines)
