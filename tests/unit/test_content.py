"""Static contracts of the Ansible content: argspecs match defaults, inventories share groups."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from golive import lab, runner
from golive.errors import InvalidInput

from .conftest import ROOT

ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())
EXAMPLE_VAULT_PASSWORD = "golive-example-only"  # documented in README; example inventory only


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argspec_keys_match_defaults(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(options) >= set(defaults), "every default is declared in argument_specs"
    undeclared_required = {k for k, v in options.items() if k not in defaults
                           and not v.get("required")}
    assert undeclared_required == set(), "an option without default must be required"
    assert all(v.get("type") and v.get("description") for v in options.values())
    assert all(k.startswith(f"{role.name}_") for k in options)


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_readme_naming_every_variable(role):
    readme = (role / "README.md").read_text()
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    assert [k for k in defaults if f"`{k}`" not in readme] == []


def groups(inventory: Path, tmp_path: Path) -> dict[str, set[str]]:
    password = tmp_path / "pass"
    password.write_text(EXAMPLE_VAULT_PASSWORD)
    env = {**os.environ, **runner.run_env()}
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i",
                          str(inventory), "--list", "--vault-password-file", str(password)],
                         env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    data = yaml.safe_load(out)
    return {g: set(v.get("hosts", [])) for g, v in data.items()
            if g != "_meta" and isinstance(v, dict)}


def test_example_and_lab_use_the_same_groups(tmp_path):
    lab_groups = groups(ROOT / "inventories" / "lab", tmp_path)
    example_groups = groups(ROOT / "inventories" / "example", tmp_path)
    functional = {"db_primary", "db_standby", "pgbouncer", "cache", "web", "backup"}
    assert functional <= set(lab_groups) and functional <= set(example_groups)
    for group in functional:
        assert len(lab_groups[group]) == len(example_groups[group]), group
    assert lab_groups["acme"] == {"acme"}  # lab-only CA


SUBNET = {"lab_subnet": "10.213.7.0/24"}


def test_lab_hosts_come_from_the_inventory(monkeypatch):
    inventory = {
        "_meta": {"hostvars": {"db1": {"lab_container": "golive-lab-db1",
                                       "lab_address": "10.213.7.11", **SUBNET},
                               "web1": {"lab_address": "10.213.7.31", **SUBNET}}},
        "all": {"children": ["ungrouped", "db", "web"]},
        "db": {"hosts": ["db1"]}, "web": {"hosts": ["web1"]},
    }
    monkeypatch.setattr(runner, "list_inventory", lambda path: inventory)
    assert lab.lab_hosts() == [
        lab.LabHost("db1", "golive-lab-db1", "10.213.7.11", "10.213.7.0/24", groups=("db",)),
        lab.LabHost("web1", "golive-lab-web1", "10.213.7.31", "10.213.7.0/24",
                    groups=("web",))]


def test_the_lab_inventory_connects_over_ssh_as_a_sudo_user(tmp_path):
    """The lab is reached as production is: SSH, a non-root user, become, host keys checked
    against the lab's own known_hosts (never switched off)."""
    env = {**os.environ, **runner.run_env(), "GOLIVE_LAB_SSH_DIR": str(tmp_path)}
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i",
                          str(ROOT / "inventories" / "lab"), "--host", "db1"],
                         env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    hostvars = json.loads(out)
    assert hostvars["ansible_connection"] == "ssh"
    assert hostvars["ansible_user"] not in ("root", "") and hostvars["ansible_become"] is True
    assert hostvars["ansible_host"] == "{{ lab_address }}"
    args = hostvars["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in args and "/known_hosts" in args
    assert "GOLIVE_LAB_SSH_DIR" in hostvars["ansible_ssh_private_key_file"]
    assert hostvars["ansible_user"] == lab.SSH_USER


def test_lab_key_pair_and_known_hosts_are_private(monkeypatch, tmp_path):
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path))
    key = lab.key_pair()
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.with_suffix(".pub").read_text().startswith("ssh-ed25519 ")
    assert lab.key_pair() == key and key.read_bytes() == lab.key_pair().read_bytes()
    path = lab.write_known_hosts({"10.213.7.11": "ssh-ed25519 AAAA1"})
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert lab.read_known_hosts() == {"10.213.7.11": "ssh-ed25519 AAAA1"}


@pytest.mark.parametrize(("action", "before", "kept"), [
    ("created", "ssh-ed25519 OLD", "ssh-ed25519 NEW"),      # a new container: its key
    ("recreated (gone)", "ssh-ed25519 OLD", "ssh-ed25519 NEW"),
    ("running", None, "ssh-ed25519 NEW"),                   # no entry yet: read inside
    ("running", "ssh-ed25519 OLD", "ssh-ed25519 OLD"),      # changed key: not trusted
    ("started", "ssh-ed25519 NEW", "ssh-ed25519 NEW"),
])
def test_lab_up_trusts_only_keys_of_containers_it_created(monkeypatch, tmp_path, action,
                                                         before, kept):
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path))
    if before:
        lab.write_known_hosts({"10.213.7.11": before})
    monkeypatch.setattr(lab, "provision_ssh", lambda host, key: "ssh-ed25519 NEW")
    host = lab.LabHost("db1", "golive-lab-db1", "10.213.7.11", "10.213.7.0/24")
    warnings = []
    changed = lab.setup_ssh([(host, action)], log=warnings.append)
    assert lab.read_known_hosts() == {"10.213.7.11": kept}
    assert changed == (["db1"] if kept != "ssh-ed25519 NEW" else [])
    assert bool(warnings) == bool(changed)
    if changed:
        assert "golive lab trust" in warnings[0]
        monkeypatch.setattr(lab, "lab_hosts", lambda: [host])
        monkeypatch.setattr(lab, "container_state", lambda c: "running")
        monkeypatch.setattr(lab, "host_key", lambda h: "ssh-ed25519 NEW")
        assert lab.trust(["db1"]) == ["db1"]
        assert lab.read_known_hosts() == {"10.213.7.11": "ssh-ed25519 NEW"}
        with pytest.raises(InvalidInput, match="not lab hosts: web9"):
            lab.trust(["web9"])


def test_lab_groups_include_parents():
    data = {"all": {"children": ["db", "web"]}, "db": {"children": ["db_primary"]},
            "db_primary": {"hosts": ["db1"]}, "web": {"hosts": ["web1"]}}
    assert lab._groups_of(data) == {"db1": ["db", "db_primary"], "web1": ["web"]}


@pytest.mark.parametrize(("specs", "env", "expected"), [
    ((), None, {"db1": "debian13", "web1": "debian13"}),
    ((), "debian12", {"db1": "debian12", "web1": "debian12"}),
    (("debian12",), None, {"db1": "debian12", "web1": "debian12"}),
    (("db=debian12",), None, {"db1": "debian12", "web1": "debian13"}),
    (("debian12", "web1=debian13"), None, {"db1": "debian12", "web1": "debian13"}),
])
def test_lab_platform_per_host(monkeypatch, specs, env, expected):
    if env:
        monkeypatch.setenv(lab.PLATFORM_ENV, env)
    else:
        monkeypatch.delenv(lab.PLATFORM_ENV, raising=False)
    default, by_pattern = lab.parse_platforms(specs)
    hosts = [lab.LabHost("db1", "golive-lab-db1", groups=("db", "db_primary")),
             lab.LabHost("web1", "golive-lab-web1", groups=("web",))]
    assert {h.name: h.platform(default, by_pattern) for h in hosts} == expected
    assert lab.image_for(expected["db1"]) == f"localhost/golive-{expected['db1']}:2"


@pytest.mark.parametrize(("specs", "words"), [
    (("debian11",), ["'debian11'", "debian13, debian12"]),
    (("db=ubuntu",), ["'ubuntu'", "debian13, debian12"]),
    (("=debian12",), ["'=debian12'", "empty"]),
])
def test_lab_platform_refused(monkeypatch, specs, words):
    monkeypatch.delenv(lab.PLATFORM_ENV, raising=False)
    with pytest.raises(InvalidInput) as info:
        lab.parse_platforms(specs)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_lab_images_use_the_release_apt_format():
    path, content = lab.apt_sources("trixie")
    assert path == "etc/apt/sources.list.d/debian.sources"
    assert "Suites: trixie trixie-updates" in content and "Signed-By:" in content
    path, content = lab.apt_sources("bookworm")
    assert path == "etc/apt/sources.list" and "bookworm-security main" in content


def _lab_with(monkeypatch, **hostvars):
    inventory = {"_meta": {"hostvars": {
        name: {"lab_container": f"golive-lab-{name}", "lab_subnet": "10.213.7.0/24", **hv}
        for name, hv in hostvars.items()}}}
    monkeypatch.setattr(runner, "list_inventory", lambda path: inventory)


def test_lab_hosts_keep_their_fixed_address(monkeypatch):
    _lab_with(monkeypatch, cache1={"lab_address": "10.213.7.21"})
    assert lab.lab_hosts() == [
        lab.LabHost("cache1", "golive-lab-cache1", "10.213.7.21", "10.213.7.0/24")]


def test_a_recreated_lab_host_keeps_its_mac(monkeypatch):
    """A new MAC behind a known address left the control node's neighbour entry stale: SSH to a
    recreated container timed out. The MAC follows the address, distinct per host."""
    calls = []
    monkeypatch.setattr(lab, "podman", lambda *argv, **kw: calls.append(argv))
    host = lab.LabHost("backup1", "golive-lab-backup1", "10.213.7.41", "10.213.7.0/24")
    lab._run(host, "localhost/golive-debian13:2")
    lab._run(host, "localhost/golive-debian13:2")
    assert calls[0] == calls[1]
    argv = calls[0]
    assert argv[argv.index("--ip") + 1] == "10.213.7.41"
    assert argv[argv.index("--mac-address") + 1] == "02:00:0a:d5:07:29"
    assert lab.mac_address("10.213.7.42") != lab.mac_address("10.213.7.41")


@pytest.mark.parametrize(("hostvars", "message"), [
    ({"a": {"lab_address": "10.213.8.5"}}, "must be a host address inside lab_subnet"),
    ({"a": {"lab_address": "10.213.7.1"}}, "other than the gateway 10.213.7.1"),
    ({"a": {"lab_address": "10.213.7.300"}}, "lab_address '10.213.7.300'"),
    ({"a": {"lab_address": "10.213.7.5"}, "b": {"lab_address": "10.213.7.5"}},
     "both have lab_address 10.213.7.5"),
    ({"a": {}}, "lab host a has no lab_address"),
])
def test_lab_refuses_bad_addresses(monkeypatch, hostvars, message):
    _lab_with(monkeypatch, **hostvars)
    with pytest.raises(lab.InvalidInput, match=message):
        lab.lab_hosts()


def test_lab_refuses_containers_it_does_not_own(monkeypatch):
    inventory = {"_meta": {"hostvars": {"db1": {"lab_container": "production-db"}}}}
    monkeypatch.setattr(runner, "list_inventory", lambda path: inventory)
    with pytest.raises(lab.InvalidInput, match="must start with 'golive-'"):
        lab.lab_hosts()


def test_lab_down_removes_only_labelled_golive_containers(monkeypatch):
    calls = []

    class Proc:
        def __init__(self, out=b"", rc=0):
            self.stdout, self.stderr, self.returncode = out, b"", rc

    def fake_podman(*args, check=True, stdin=None, timeout=300):
        calls.append(args)
        if args[:2] == ("ps", "-a"):
            return Proc(b"golive-lab-db1\nsomeone-elses\ngolive-lab-web1\n")
        return Proc()

    monkeypatch.setattr(lab, "podman", fake_podman)
    assert lab.down() == ["golive-lab-db1", "golive-lab-web1"]
    assert ("ps", "-a", "--filter", f"label={lab.LABEL}=1", "--format", "{{.Names}}") in calls
    assert ("rm", "-f", "-t", "5", "golive-lab-db1", "golive-lab-web1") in calls
    assert ("network", "rm", "-f", lab.NETWORK) in calls


@pytest.mark.parametrize(("version", "present", "absent"), [
    ("1.18", {"auth_query", "auth_user", "pool_mode"},
     {"auth_dbname", "max_prepared_statements", "peer_id", "track_extra_parameters"}),
    ("1.21", {"auth_query", "auth_dbname", "max_prepared_statements"}, set()),
])
def test_pgbouncer_keys_follow_the_installed_version(version, present, absent):
    env = {**os.environ, **runner.run_env(), "ANSIBLE_STDOUT_CALLBACK": "json"}
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                          "localhost,", "-c", "local", "-e", f"version={version}",
                          str(ROOT / "tests" / "fixtures" / "pgbouncer_keys.yml")],
                         env=env, capture_output=True, text=True, check=True, timeout=120).stdout
    result = json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    keys = set(result.split(","))
    assert present <= keys
    assert not (absent & keys)


class _Proc:
    def __init__(self, out=b"", rc=0, err=b""):
        self.stdout, self.stderr, self.returncode = out, err, rc


@pytest.mark.parametrize(("status", "exec_rc", "action", "ran"), [
    ("missing", 0, "created", ["run"]),
    ("exited", 0, "started", ["start"]),
    ("running", 0, "running", []),
    ("running", 255, "recreated (Error: cannot exec in a stopped container)", ["rm", "run"]),
    ("running-stale", 255, "recreated (Error: cannot exec in a stopped container)",
     ["rm", "rm", "run"]),
])
def test_start_host_recreates_a_container_that_only_looks_running(monkeypatch, status, exec_rc,
                                                                  action, ran):
    calls = []

    def fake_podman(*args, check=True, stdin=None, timeout=300):
        calls.append(args[0])
        if args[:2] == ("container", "inspect"):
            if "{{.ImageName}}" in args:
                return _Proc(b"localhost/golive-debian13:2")
            return _Proc(status.split("-")[0].encode())
        if args[0] == "exec":
            return _Proc(rc=exec_rc, err=b"Error: cannot exec in a stopped container\n")
        if args[0] == "rm" and status == "running-stale" and calls.count("rm") == 1:
            return _Proc(rc=125, err=b"timed out waiting for file /run/libpod/exits/...\n")
        return _Proc()

    monkeypatch.setattr(lab, "podman", fake_podman)
    host = lab.LabHost("web1", "golive-lab-web1", "10.213.7.31", "10.213.7.0/24")
    assert lab.start_host(host, "localhost/golive-debian13:2") == action
    assert [c for c in calls if c not in ("container", "exec")] == ran


def test_start_host_refuses_a_host_on_another_platform(monkeypatch):
    def fake_podman(*args, check=True, stdin=None, timeout=300):
        if "{{.ImageName}}" in args:
            return _Proc(b"localhost/golive-debian12:2")
        return _Proc(b"running")

    monkeypatch.setattr(lab, "podman", fake_podman)
    with pytest.raises(InvalidInput, match="keeps its platform") as info:
        lab.start_host(lab.LabHost("db1", "golive-lab-db1"), "localhost/golive-debian13:2")
    assert "golive lab down" in info.value.hint


def test_systemd_state_says_why_it_could_not_ask(monkeypatch):
    monkeypatch.setattr(lab, "podman", lambda *a, **k: _Proc(
        rc=255, err=b"Error: can only create exec sessions on running containers\n"))
    assert lab.systemd_state("golive-lab-web1") == (
        "unknown: Error: can only create exec sessions on running containers")


@pytest.mark.parametrize("module",
                         sorted(p.name for p in (ROOT / "plugins" / "modules").glob("*.py")))
def test_module_documentation_is_yaml(module):
    """DOCUMENTATION, EXAMPLES and RETURN of every module parse (ansible-doc and ansible-lint
    read them; a colon inside a plain scalar breaks them silently)."""
    import re

    source = (ROOT / "plugins" / "modules" / module).read_text()
    for name in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        match = re.search(name + r' = r"""(.*?)"""', source, re.S)
        assert match, f"{module}: no {name}"
        yaml.safe_load(match.group(1))


# -- the example inventory: complete, and its secrets vaulted -------------------------------------

EXAMPLE = ROOT / "inventories" / "example"
LAB = ROOT / "inventories" / "lab"
# What the lab sets that a real inventory does not, and why. Everything else the lab sets, the
# example sets too (with production values), so a copy of it works as it is.
LAB_ONLY = {
    "ansible_connection": "ssh, said explicitly in the lab (SSH is Ansible's default)",
    "ansible_ssh_private_key_file": "the lab's key pair in golive's state dir; a user's own "
                                    "key is their ssh-agent's or ~/.ssh's",
    "ansible_ssh_common_args": "the lab's own known_hosts; real hosts' keys go in "
                               "~/.ssh/known_hosts",
    "lab_container": "a lab host's podman container",
    "lab_subnet": "the lab's podman network",
    "lab_address": "a lab container's fixed address; real hosts have ansible_host",
    "checks_thresholds": "relaxed for containers sharing one machine (load, disk, latency, "
                         "Pebble's changing root); the example keeps the plans' figures",
    "checks_skip": "the lab's containers run no time daemon (clock)",
    "updates_enabled": "the lab's hosts live for one test run; a nightly upgrade would restart "
                       "daemons under a drill (the example keeps the role's default, on)",
    "pebble_certificate_validity_seconds": "Pebble, the lab's ACME CA (group acme)",
    "tls_acme_ca_bundle_host": "the CA of Pebble's API; Let's Encrypt's is publicly trusted",
    "tls_acme_ca_bundle_path": "the CA of Pebble's API; Let's Encrypt's is publicly trusted",
    "tls_renewal_failure_command": "a marker file the lab's e2e test looks for; the example "
                                   "pages through tls_renewal_failure_webhook",
    "postgresql_memory_mb": "the lab's DB hosts share one machine; a DB host's own RAM "
                            "(the default) is right elsewhere",
    "_lab_app_db_password": "the lab's helper that reads its clear-text DB password",
    "prometheus_api_probe_verify_tls": "Pebble's certificates are not publicly trusted",
    "prometheus_scrape_interval": "scraped every 5 s so the lab's drills are short",
    "prometheus_evaluation_interval": "evaluated every 5 s so the lab's drills are short",
    "prometheus_scrape_timeout": "within the lab's 5 s scrape interval",
    "prometheus_alerts_overrides": "`for:` and windows shortened for the drills; the example "
                                   "keeps the plans' figures (the role's defaults)",
    "alertmanager_group_wait": "short for the drills",
    "alertmanager_group_interval": "short for the drills",
    "alertmanager_repeat_interval": "short for the drills",
    "alertmanager_telegram_api_url": "the fake Bot API the e2e tests start on mon1's loopback",
}
SECRET_SETTING = ("password", "secret", "cipher_pass", "_pass", "database_url")


def _inventory_vars(inventory: Path) -> dict[str, object]:
    """Every variable an inventory directory sets (group_vars files and hosts.yml's host and
    group vars), name -> value; vault.yml is left out."""
    found: dict[str, object] = {}
    for path in sorted((inventory / "group_vars").rglob("*.yml")):
        if path.name != "vault.yml":
            found.update(yaml.safe_load(path.read_text()) or {})

    def walk(group: dict) -> None:
        found.update(group.get("vars") or {})
        for host in (group.get("hosts") or {}).values():
            found.update(host or {})
        for child in (group.get("children") or {}).values():
            walk(child or {})

    walk(yaml.safe_load((inventory / "hosts.yml").read_text())["all"])
    return found


def example_vault() -> dict[str, str]:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(EXAMPLE_VAULT_PASSWORD.encode()))])
    return yaml.safe_load(vault.decrypt((EXAMPLE / "group_vars" / "all" / "vault.yml").read_text()))


def test_example_sets_everything_the_lab_sets():
    lab_vars, example_vars = _inventory_vars(LAB), _inventory_vars(EXAMPLE)
    missing = set(lab_vars) - set(example_vars) - set(LAB_ONLY)
    assert missing == set(), f"set in the lab, not in inventories/example: {sorted(missing)}"
    assert set(LAB_ONLY) <= set(lab_vars), "LAB_ONLY names only what the lab sets"
    assert set(LAB_ONLY) & set(example_vars) == set(), "lab-only settings stay out of the example"


@pytest.mark.parametrize("role", [r for r in ROLES if r.name != "pebble"], ids=lambda p: p.name)
def test_example_sets_every_required_option(role):
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    required = {k for k, v in options.items() if v.get("required")}
    assert required - set(_inventory_vars(EXAMPLE)) == set()


def _secret_values(name: str, value: object, path: str = "") -> list[tuple[str, object]]:
    """(where, value) of every value under a secret-looking name, nested dicts/lists walked."""
    where = f"{path}.{name}" if path else name
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _secret_values(str(k), v, where)]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _secret_values(name, v, f"{where}[{i}]")]
    return [(where, value)] if any(s in name.lower() for s in SECRET_SETTING) else []


def test_example_secrets_are_vaulted_and_each_one_is_used():
    secrets = example_vault()
    assert secrets and all(k.startswith("vault_") for k in secrets)
    assert all(isinstance(v, str) and len(v) >= 16 for v in secrets.values())
    plain = {p: p.read_text() for p in EXAMPLE.rglob("*.yml") if p.name != "vault.yml"}
    everything = "".join(plain.values())
    assert [k for k in secrets if k not in everything] == [], "each vault_* is referenced"
    leaked = [(str(p), k) for p, text in plain.items() for k, v in secrets.items() if v in text]
    assert leaked == []
    # every secret-looking setting is a template that reads the vault, none is written out
    clear = [(where, value) for name, value in _inventory_vars(EXAMPLE).items()
             for where, value in _secret_values(name, value)
             if not (isinstance(value, str) and "{{ vault_" in value)]
    assert clear == [], f"secrets in clear text in inventories/example: {clear}"


# --- secrets stay off command lines (issue 15) -------------------------------------------------

# A variable whose value is a secret, by name: *password*, *secret*, *token*, private keys.
SECRET_NAME = re.compile(r"[A-Za-z_][\w]*(?:password|secret|token|private_key|passphrase)\w*",
                         re.IGNORECASE)
COMMAND_MODULES = {f"{prefix}{name}" for prefix in ("", "ansible.builtin.", "ansible.legacy.")
                   for name in ("command", "shell", "raw", "script", "expect")}
TASK_FILES = sorted([*ROOT.glob("roles/*/tasks/*.yml"), *ROOT.glob("roles/*/handlers/*.yml"),
                     *ROOT.glob("playbooks/*.yml")])


def _tasks(items, inherited):
    """(task, vars in scope) for every task of a task list, blocks walked."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        scope = {**inherited, **(item.get("vars") or {})}
        if "block" in item:
            for key in ("block", "rescue", "always"):
                yield from _tasks(item.get(key), scope)
        else:
            yield item, scope


def _all_tasks(path: Path):
    data = yaml.safe_load(path.read_text()) or []
    for entry in data:
        if isinstance(entry, dict) and "hosts" in entry:  # a play
            scope = entry.get("vars") or {}
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(entry.get(key), scope)
        else:
            yield from _tasks([entry], {})


def secret_references(value, scope: dict) -> set[str]:
    """Names of secret-looking variables that VALUE's Jinja expressions use, following the
    variables of SCOPE it names (one level: `environment: "{{ admin_env }}"`)."""
    text = json.dumps(value)
    for name in set(re.findall(r"\b\w+\b", text)) & set(scope):
        text += json.dumps(scope[name])
    found = set()
    for expression in re.findall(r"\{\{(.*?)\}\}", text):
        found |= set(SECRET_NAME.findall(expression))
    return found


def command_line_leaks() -> list[str]:
    leaks = []
    for path in TASK_FILES:
        for task, scope in _all_tasks(path):
            where = f"{path.relative_to(ROOT)}: {task.get('name', '?')}"
            names = secret_references(task.get("environment"), scope)
            if names:
                leaks.append(f"{where}: environment uses {sorted(names)}")
            for module in COMMAND_MODULES & set(task):
                names = secret_references([task[module], task.get("args")], scope)
                if names:
                    leaks.append(f"{where}: {module} command line uses {sorted(names)}")
    return leaks


def test_no_secret_in_environment_or_command_lines():
    """Under become, a task's environment is part of the command sudo runs, logs (journal,
    auth.log) and shows in ps; so is every word of a command/shell task. Secrets go in no_log
    module options (golive.ops.redis_command, pgbouncer_admin, ...) or in 0600 files."""
    assert TASK_FILES
    assert command_line_leaks() == []


@pytest.mark.parametrize("task", [
    {"name": "t", "ansible.builtin.command": {"argv": ["redis-cli", "PING"]},
     "environment": {"REDISCLI_AUTH": "{{ redis_admin_password }}"}},
    {"name": "t", "ansible.builtin.command": {"argv": ["redis-cli", "-a", "{{ redis_password }}"]}},
    {"name": "t", "ansible.builtin.shell": "psql postgresql://app:{{ app_db_password }}@db1/app"},
    {"block": [{"name": "t", "ansible.builtin.command": {"argv": ["psql"]},
                "environment": "{{ admin_env }}"}],
     "vars": {"admin_env": {"PGPASSWORD": "{{ hostvars[b].pgbouncer_admin_password }}"}}},
])
def test_the_command_line_check_finds_leaks(task, tmp_path, monkeypatch):
    tasks = tmp_path / "tasks.yml"
    tasks.write_text(yaml.safe_dump([task]))
    monkeypatch.setattr(sys.modules[__name__], "TASK_FILES", [tasks])
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert len(command_line_leaks()) == 1
