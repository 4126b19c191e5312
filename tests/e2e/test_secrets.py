"""No lab secret leaks, seen from outside (issue 15). Runs after every other e2e test (see
conftest.pytest_collection_modifyitems), so it searches what the whole session left behind.

The secrets: every string of the lab inventory held under a variable or key whose name says
password, secret, token or key material (ansible-inventory --list, as golive reads it), plus the
private keys the roles generated on the hosts. They are searched on every lab host in the whole
journal, every file under /var/log, and every file any user could read (the file and all its
directories open to others); in the process lists sampled during test_lab_converge's whole-lab
converge; and in golive's run directories and every `--json` output of the session.

A secret in its own 0600/0640 file (the app's .env, the ACL file, userlist.txt) is where it
belongs and is not reported. Values shorter than MIN_LENGTH are not searched (said so in the
output): they would match by chance. Failures name the variable and the place, never the value.
Secrets travel to the hosts' search on stdin, never on a command line, and nothing is written on
a host. The journal and /var/log keep what earlier runs left: a lab converged by a golive from
before issue 15 was fixed fails here until it is rebuilt (`golive lab down && golive lab up`).
"""

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from golive import lab as lab_mod
from golive import paths, runner

from .conftest import CLI_OUTPUTS, CONTROL, PS_ROUNDS, PS_SAMPLES, container

MIN_LENGTH = 8
# Names of variables (or keys inside them) whose strings are secrets.
SECRET_NAME = re.compile(r"password|passwd|secret|token|passphrase|private_?key|api_?key|_key$",
                         re.IGNORECASE)

# Run inside each lab container with the host's python3. Reads a JSON list of needles on stdin.
# mode "keys": print the private keys found on the host, as needles (a line of each key's body).
# mode "search": print where needles occur, each hit's excerpt with every needle masked as «N».
HOST_SCRIPT = r'''
import json, os, stat, subprocess, sys

mode = sys.argv[1]
SKIP = ("/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/boot",
        "/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf")
ROOTS = ("/etc", "/var", "/opt", "/srv", "/home", "/tmp", "/run", "/root", "/usr/local", "/mnt")
LARGE = 50 * 1024 * 1024


def walk(roots, skip):
    for root in roots:
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
            for name in files:
                yield os.path.join(top, name)


def regular(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def open_to_others(path, st):
    """Readable by any user: the file o+r and every directory above it o+x."""
    if not st.st_mode & stat.S_IROTH:
        return False
    parent = os.path.dirname(path)
    while parent not in ("/", ""):
        try:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        parent = os.path.dirname(parent)
    return True


def read(path, st):
    if st.st_size > LARGE:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


if mode == "keys":
    found = []
    for path in walk(("/etc", "/var/lib", "/opt", "/srv", "/root", "/home"), SKIP):
        st = regular(path)
        data = read(path, st) if st and st.st_size < 1024 * 1024 else None
        if not data or b"PRIVATE KEY-----" not in data:
            continue
        for block in data.split(b"-----BEGIN ")[1:]:
            if b"PRIVATE KEY-----" not in block.split(b"\n", 1)[0]:
                continue
            body = [l.strip() for l in block.split(b"\n")[1:] if l.strip() and b"-----" not in l]
            if body:
                found.append([path, max(body, key=len).decode()])
    print(json.dumps(found))
    sys.exit(0)

needles = [n.encode() for n in json.load(sys.stdin)]
report = {"journal_lines": 0, "log_files": 0, "readable_files": 0, "large_skipped": 0,
          "hits": []}


def masked(text):
    for i, n in enumerate(needles):
        text = text.replace(n, ("\u00ab%d\u00bb" % i).encode())
    return text.decode(errors="replace")


def search(data, where):
    for i, n in enumerate(needles):
        at = data.find(n)
        if at >= 0:
            start = max(data.rfind(b"\n", 0, at) + 1, at - 150)
            end = data.find(b"\n", at)
            end = min(end if end >= 0 else len(data), at + len(n) + 150)
            report["hits"].append([i, where, masked(data[start:end])])


journal = subprocess.run(["journalctl", "--no-pager", "-o", "cat"], capture_output=True).stdout
report["journal_lines"] = journal.count(b"\n")
search(journal, "journal")

for path in walk(("/var/log",), ("/var/log/journal",)):
    st = regular(path)
    data = read(path, st) if st else None
    if data is None:
        report["large_skipped"] += bool(st)
        continue
    report["log_files"] += 1
    search(data, path)

for path in walk(ROOTS, SKIP + ("/var/log",)):
    st = regular(path)
    if not st or not open_to_others(path, st):
        continue
    data = read(path, st)
    if data is None:
        report["large_skipped"] += 1
        continue
    report["readable_files"] += 1
    search(data, path + " (readable by anyone: %s)" % oct(st.st_mode & 0o777))
print(json.dumps(report))
'''


def on_host(host: str, mode: str, needles: list[str] | None = None) -> object:
    """HOST_SCRIPT in MODE on lab host HOST; needles go on stdin."""
    proc = subprocess.run(
        ["podman", "exec", "-i", container(host), "python3", "-c", HOST_SCRIPT, mode],
        input=json.dumps(needles or []), capture_output=True, text=True, timeout=900,
        env={**os.environ, **paths.podman_env()}, check=False)
    assert proc.returncode == 0, f"{host}: {proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def _walk(value, name: str, secret: bool):
    """(name, string) for every string of VALUE under a secret-looking name."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{name}.{key}", secret or bool(SECRET_NAME.search(str(key))))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{name}[{index}]", secret)
    elif isinstance(value, str) and secret:
        yield name, value


def inventory_secrets() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """({secret: {variable names}}, {reason: {variable names not searched}}) of the lab
    inventory."""
    data = runner.list_inventory(paths.lab_inventory())
    scopes = [((data.get("_meta") or {}).get("hostvars") or {}).values(),
              [group.get("vars") or {} for group in data.values()
               if isinstance(group, dict) and "vars" in group]]
    found: dict[str, set[str]] = {}
    skipped: dict[str, set[str]] = {}
    for scope in scopes:
        for variables in scope:
            for top, value in variables.items():
                for name, text in _walk(value, top, bool(SECRET_NAME.search(top))):
                    if "{{" in text or "{%" in text:
                        skipped.setdefault("templated (its parts are searched)", set()).add(name)
                    elif text.startswith("/"):
                        skipped.setdefault("a path, not a secret", set()).add(name)
                    elif len(text) < MIN_LENGTH:
                        skipped.setdefault(f"shorter than {MIN_LENGTH} characters",
                                           set()).add(name)
                    else:
                        found.setdefault(text, set()).add(name)
    return found, skipped


@pytest.fixture(scope="module")
def hosts(lab):
    return [h.name for h in lab_mod.lab_hosts()]


@pytest.fixture(scope="module")
def secrets(hosts):
    """{secret: label}: the inventory's, then the private keys found on the hosts."""
    found, skipped = inventory_secrets()
    labels = {value: " / ".join(sorted(names)) for value, names in found.items()}
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        keys = dict(zip(hosts, pool.map(lambda h: on_host(h, "keys"), hosts), strict=True))
    for host, pairs in keys.items():
        for path, line in pairs:
            labels.setdefault(line, f"private key {host}:{path}")
    print(f"secrets searched: {len(labels)} ({len(found)} from the lab inventory, "
          f"{len(labels) - len(found)} private keys generated on the hosts)")
    print("  inventory variables: " + ", ".join(sorted({n for ns in found.values() for n in ns})))
    for reason, names in sorted(skipped.items()):
        print(f"  not searched, {reason}: {', '.join(sorted(names))}")
    assert found, "the lab inventory has no secrets to search for: is it the right one?"
    return labels


def _masked_excerpt(excerpt: str, names: list[str]) -> str:
    return re.sub("\u00ab(\\d+)\u00bb", lambda m: f"<{names[int(m.group(1))]}>", excerpt)


def test_no_secret_on_any_lab_host(hosts, secrets):
    """The journal, /var/log and every file open to anyone, on every lab host."""
    needles = list(secrets)
    names = [secrets[n] for n in needles]
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        reports = dict(zip(hosts, pool.map(lambda h: on_host(h, "search", needles), hosts),
                           strict=True))
    leaks = []
    for host, report in sorted(reports.items()):
        print(f"{host}: {report['journal_lines']} journal lines, {report['log_files']} files "
              f"under /var/log, {report['readable_files']} files readable by anyone"
              + (f", {report['large_skipped']} files over 50 MB not read"
                 if report["large_skipped"] else ""))
        for index, where, excerpt in report["hits"]:
            leaks.append(f"{names[index]} on {host} in {where}: "
                         f"...{_masked_excerpt(excerpt, names)}...")
    assert not leaks, ("secrets leaked (a lab converged by a golive older than the fix keeps "
                       "old leaks in its journal: rebuild it):\n" + "\n".join(leaks))


def test_no_secret_in_process_lists_during_converge(hosts, secrets):
    """The command line of every process of every lab host, and of the control node's processes
    that name a lab container or address (podman's, ssh's), sampled every 0.5 s from this
    machine's /proc by test_lab_converge during its whole-lab converge."""
    if not PS_SAMPLES:
        pytest.skip("no process samples: test_lab_converge's whole-lab converge did not run "
                    "in this session (nor, with GOLIVE_E2E_CARRY, in the one before)")
    missing = sorted(set(hosts) - set(PS_SAMPLES))
    assert not missing, f"no process sample could be taken on {missing}"
    leaks = []
    for host in [*sorted(hosts), CONTROL]:
        lines = PS_SAMPLES.get(host, set())
        print(f"{host}: {PS_ROUNDS.get(host, 0)} samples, {len(lines)} distinct command lines")
        for line in lines:
            for secret, label in secrets.items():
                if secret in line:
                    shown = line
                    for other, other_label in secrets.items():
                        shown = shown.replace(other, f"<{other_label}>")
                    leaks.append(f"{label} on {host} in a process's arguments: {shown[:300]}")
    assert not leaks, "secrets on command lines:\n" + "\n".join(sorted(leaks))


def test_no_secret_in_golive_runs_or_json_outputs(secrets):
    """golive's kept run directories (stdout, job events, command) and every `--json` output
    (with its stderr) the CLI gave in this session."""
    runs = paths.state_dir() / "runs"
    files = [f for f in runs.rglob("*") if f.is_file()] if runs.is_dir() else []
    leaks = []
    for path in files:
        text = path.read_text(errors="replace")
        leaks += [f"{label} in {path}" for secret, label in secrets.items() if secret in text]
    for command, output in CLI_OUTPUTS:
        leaks += [f"{label} in the output of `golive {command} ...`"
                  for secret, label in secrets.items() if secret in output]
    print(f"golive run files: {len(files)} under {runs}; --json outputs: {len(CLI_OUTPUTS)}")
    assert files or CLI_OUTPUTS, "nothing to search: no golive run in this session or before"
    assert not leaks, "secrets leaked:\n" + "\n".join(sorted(leaks))
