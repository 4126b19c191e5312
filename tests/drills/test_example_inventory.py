"""The inventory a user copies works as it is: a copy of inventories/example converges the lab
and deploys the sample app.

The copy changes ONLY what a user changes for their own hosts:

- each host's `ansible_host`: the lab host's `lab_address` (from the lab inventory);
- `ansible_user`: the lab's SSH user (the lab inventory's `ansible_user`, else `golive`);
- in group_vars/all/main.yml, the SSH key and known_hosts of the lab (directory
  $GOLIVE_LAB_SSH_DIR, files `id_ed25519` and `known_hosts`): `ansible_ssh_private_key_file`
  and `ansible_ssh_common_args` with StrictHostKeyChecking=yes.

Its vault is used as it is (the example's password in a 0600 file, --vault-password-file).

The lab has no Internet. Where the example points at an outside service, the test passes the
lab's stand-in for exactly that, in one extra-vars file, and nothing else:

- `tls_acme_directory`: Let's Encrypt -> Pebble on the lab's host `acme` (the lab
  inventory's value);
- `tls_acme_ca_bundle`: Let's Encrypt's API certificate chains to the public roots every host
  trusts; Pebble's to the listener CA made on `acme`, read from there (the example has no
  `acme` host, so the lab's `tls_acme_ca_bundle_host`/`_path` cannot be used);
- `nginx_server_names`: the example's names are public DNS names (`web1.example.com`) that
  only public DNS resolves; the lab's DNS (its network's) resolves inventory names, so Pebble's
  HTTP-01 validation and the web hosts' own `edge_health` check reach `web1`, `web2`;
- `checks_thresholds: {http: {validate_certs: false}}`: the web hosts' HTTPS check verifies
  the served chain against the system's roots, which hold Let's Encrypt's root but never
  Pebble's (a new one at each Pebble restart). The example sets no `checks_thresholds` (it
  keeps the plans' figures), so this relaxes nothing else; the certificate check still runs;
- `tls_renewal_failure_webhook`: the example's alerting URL -> a closed port on the web host's
  loopback (called only if a renewal fails);
- `app_notify_url`: the example's chat webhook -> a receiver on the control node's loopback
  (the notifier runs there); the test checks that `started` and `succeeded` arrive signed
  with the example's vaulted `app_notify_secret`.

The lab is recreated first (`golive lab down`, `golive lab up`): the roles do not rotate every
secret on hosts that run others (Sentinel's passwords are written once, when sentinel.conf is
bootstrapped; pgBackRest cannot encrypt a repository made without a cipher), and a user's copy
starts from new hosts too. Pebble (lab only) is converged from the lab inventory, then the copy
converges everything else. Afterwards the lab holds the example's secrets, so the drill
removes it (`golive lab down`), also on failure. It recreates the lab (about 12 min), so it runs
outside `make test`, as `make drill-example`.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ROOT, as_json, golive, leaked
from tests.unit.test_content import EXAMPLE_VAULT_PASSWORD, example_vault

EXAMPLE = ROOT / "inventories" / "example"
LAB = ROOT / "inventories" / "lab"
VERSION = "1.0.0"


def lab_hostvars() -> dict[str, dict]:
    from golive import runner

    return runner.list_inventory(LAB)["_meta"]["hostvars"]


def copy_example(dest: Path, hostvars: dict[str, dict], ssh_dir: Path) -> Path:
    """inventories/example copied to DEST with only the addresses, the SSH user and the SSH
    key/known_hosts changed."""
    shutil.copytree(EXAMPLE, dest)
    hosts_file = dest / "hosts.yml"
    hosts = yaml.safe_load(hosts_file.read_text())
    changed = []

    def walk(group: dict) -> None:
        for name, host in (group.get("hosts") or {}).items():
            if host and "ansible_host" in host:
                host["ansible_host"] = hostvars[name]["lab_address"]
                changed.append(name)
        for child in (group.get("children") or {}).values():
            walk(child or {})

    walk(hosts["all"])
    assert sorted(changed) == sorted(h for h in hostvars if h != "acme"), changed
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))

    main_file = dest / "group_vars" / "all" / "main.yml"
    main = yaml.safe_load(main_file.read_text())
    user = {v.get("ansible_user") for v in hostvars.values()} - {None}
    main["ansible_user"] = user.pop() if len(user) == 1 else "golive"
    main["ansible_ssh_private_key_file"] = str(ssh_dir / "id_ed25519")
    main["ansible_ssh_common_args"] = (f"-o UserKnownHostsFile={ssh_dir / 'known_hosts'} "
                                       "-o StrictHostKeyChecking=yes")
    main_file.write_text(yaml.safe_dump(main, sort_keys=False))
    return dest


def pebble_listener_ca() -> str:
    """The CA of Pebble's API, read on the lab's `acme` through the lab inventory."""
    from golive import runner

    lab_web = yaml.safe_load((LAB / "group_vars" / "web.yml").read_text())
    env = {**os.environ, **runner.run_env(), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "ANSIBLE_STDOUT_CALLBACK": "json"}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "-i", str(LAB),
                           lab_web["tls_acme_ca_bundle_host"], "-b", "-m", "ansible.builtin.slurp",
                           "-a", f"src={lab_web['tls_acme_ca_bundle_path']}"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    return base64.b64decode(result[lab_web["tls_acme_ca_bundle_host"]]["content"]).decode()


class Receiver:
    """Deploy notifications, received on the control node's loopback."""

    def __init__(self):
        self.received: list[tuple[str, str, bytes]] = []
        received = self.received

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["X-Golive-Event"],
                                 self.headers["X-Golive-Signature"], body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/golive-deploys"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def stand_ins(path: Path, notify_url: str) -> Path:
    """The lab's stand-ins for the example's outside services (see the module docstring)."""
    lab_web = yaml.safe_load((LAB / "group_vars" / "web.yml").read_text())
    path.write_text(yaml.safe_dump({
        "tls_acme_directory": lab_web["tls_acme_directory"],
        "tls_acme_ca_bundle": pebble_listener_ca(),
        "nginx_server_names": ["{{ inventory_hostname }}"],
        "checks_thresholds": {"http": {"validate_certs": False}},
        "tls_renewal_failure_webhook": "http://127.0.0.1:9/golive-tls-renewal-failed",
        "app_notify_url": notify_url,
    }, sort_keys=False))
    path.chmod(0o600)
    return path


def served(address: str) -> tuple[int, str | None, dict]:
    """(status, X-App-Version, JSON body) of GET https://ADDRESS/health from the control node,
    through the host's nginx (Pebble's root is not trusted here: the chain is not verified)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(f"https://{address}/health", timeout=10) as answer:
        return answer.status, answer.headers.get("X-App-Version"), json.loads(answer.read())


@pytest.fixture
def fresh_lab():
    """A new lab, removed at the end (it holds the example's secrets by then)."""
    golive("lab", "down", check=True)
    try:
        golive("lab", "up", check=True)
        yield
    finally:
        golive("lab", "down")


def test_a_copy_of_the_example_converges_the_lab_and_deploys_the_app(fresh_lab, tmp_path):
    from golive import paths

    ssh_dir = paths.lab_ssh_dir()
    proc = golive("converge", "-l", "acme", "--json")  # Pebble, from the lab inventory
    assert proc.returncode == 0, proc.stderr[-3000:]

    hostvars = lab_hostvars()
    inventory = copy_example(tmp_path / "inventory", hostvars, ssh_dir)
    password = tmp_path / "vault-pass"
    password.write_text(EXAMPLE_VAULT_PASSWORD)
    password.chmod(0o600)
    secrets = example_vault()
    receiver = Receiver()
    try:
        extra = stand_ins(tmp_path / "stand-ins.yml", receiver.url)
        common = ["-i", str(inventory), "--vault-password-file", str(password), "-e", f"@{extra}"]

        proc = golive("converge", *common, "--json", timeout=3600)
        assert proc.returncode == 0, proc.stderr[-3000:]

        out = tmp_path / "artifacts"
        build = subprocess.run([sys.executable, str(ROOT / "examples" / "app" / "build.py"),
                                "--version", VERSION, "--out", str(out)], capture_output=True,
                               text=True, timeout=600, check=False)
        assert build.returncode == 0, build.stderr[-2000:]
        artifact = json.loads(build.stdout.strip().splitlines()[-1])["artifact"]

        proc = golive("deploy", *common, "--artifact", artifact, "--json", timeout=1800)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert as_json(proc)["report"]["localhost"]["outcome"] == "succeeded", proc.stdout[-3000:]
    finally:
        receiver.close()

    for host in ("web1", "web2"):
        status, version, body = served(hostvars[host]["lab_address"])
        assert (status, version, body["status"]) == (200, VERSION, "ok"), (host, body)
        assert body["services"] == {"database": "ok", "redis": "ok"}, (host, body)

    key = secrets["vault_app_notify_secret"].encode()
    assert [event for event, _, _ in receiver.received] == ["started", "succeeded"]
    for event, signature, body in receiver.received:
        assert signature == f"sha256={hmac.new(key, body, hashlib.sha256).hexdigest()}"
        assert json.loads(body)["event"] == event
    assert leaked(list(secrets.values())) == []
