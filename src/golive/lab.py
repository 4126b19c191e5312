"""The local lab: podman containers running systemd, one per host of inventories/lab.

The lab inventory is the single description of the lab: `up` creates a container for every host
in it (named by the host's lab_container, at its lab_address), so the containers and the
inventory cannot drift. Everything golive creates carries the label io.golive.lab; `down`
removes only what has it.

The lab is reached as production is: over SSH, as a non-root user with passwordless sudo. `up`
creates that user in every container with the lab's key pair (in golive's state dir, 0600) and
writes the lab's known_hosts from the host keys read inside the containers (podman exec), never
trusted on first use over the network.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from golive import paths
from golive.errors import InvalidInput, SetupError

NETWORK = "golive-lab"
LABEL = "io.golive.lab"
CONTAINER_PREFIX = "golive-"
# platform name -> Debian suite; the first is the default (Debian 13, Debian's stable release)
PLATFORMS = {"debian13": "trixie", "debian12": "bookworm"}
DEFAULT_PLATFORM = "debian13"
PLATFORM_ENV = "GOLIVE_LAB_PLATFORM"
# 2: openssh-server, host keys generated per container at its first boot
IMAGE_TAG = "2"
MIRROR = os.environ.get("GOLIVE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
IMAGE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "python3", "iproute2", "sudo",
                  "ca-certificates", "openssh-server"]
# The user golive connects as in the lab (inventories/lab/hosts.yml says the same)
SSH_USER = "golive"
SSH_KEY_TYPE = "ed25519"
BOOT_TIMEOUT = 90


def image_for(platform: str) -> str:
    """The local base image of a platform: localhost/golive-debian13:1, ..."""
    check_platform(platform)
    return f"localhost/golive-{platform}:{IMAGE_TAG}"


def check_platform(platform: str, what: str = "platform") -> str:
    if platform not in PLATFORMS:
        raise InvalidInput(f"{what} {platform!r} is not one of: {', '.join(PLATFORMS)}",
                           hint="e.g. --platform debian12, or --platform db=debian12 for one "
                                "group (a mixed lab)")
    return platform


def default_platform() -> str:
    """GOLIVE_LAB_PLATFORM, else debian13."""
    return check_platform(os.environ.get(PLATFORM_ENV) or DEFAULT_PLATFORM, PLATFORM_ENV)


def parse_platforms(specs: tuple[str, ...] | list[str]) -> tuple[str, dict[str, str]]:
    """--platform values -> (the default platform, {group or host: platform}).

    `debian12` sets every host's platform; `db=debian12` the platform of a group's (or one
    host's) containers, so a mixed lab (db on Debian 12, the rest on 13) is one command."""
    default, by_pattern = default_platform(), {}
    for spec in specs:
        pattern, sep, platform = spec.rpartition("=")
        if sep and not pattern:
            raise InvalidInput(f"--platform {spec!r}: the group or host before '=' is empty")
        check_platform(platform, f"--platform {spec!r}:")
        if sep:
            by_pattern[pattern] = platform
        else:
            default = platform
    return default, by_pattern


@dataclass(frozen=True)
class LabHost:
    name: str        # inventory hostname, also the container's hostname and network alias
    container: str   # lab_container: the podman container name (golive-lab-NAME)
    address: str = ""  # lab_address: the fixed IP on the lab network, ansible_host for SSH
    subnet: str = ""   # lab_subnet: the lab network's subnet
    groups: tuple[str, ...] = ()

    def platform(self, default: str, by_pattern: dict[str, str]) -> str:
        """The host's platform: by its name, else by the first of its groups named, else the
        default."""
        if self.name in by_pattern:
            return by_pattern[self.name]
        return next((by_pattern[g] for g in self.groups if g in by_pattern), default)


@dataclass(frozen=True)
class ContainerState:
    container: str
    host: str
    state: str       # running, exited, created, missing
    systemd: str     # running, degraded, starting, ... or "-"
    address: str
    platform: str = "-"  # debian13, debian12 (from the container's image), or "-"


def podman(*args: str, check: bool = True, stdin=None, input_bytes: bytes | None = None,
           timeout: float | None = 300) -> subprocess.CompletedProcess:
    executable = shutil.which("podman")
    if executable is None:
        raise SetupError("podman is not installed",
                         hint="apt-get install podman runc (or run `make demo`, which installs it)")
    env = {**os.environ, **paths.podman_env()}
    proc = subprocess.run([executable, *args], env=env, stdin=stdin, input=input_bytes,
                          timeout=timeout, capture_output=True, check=False)
    if check and proc.returncode != 0:
        err = (proc.stderr or b"").decode(errors="replace").strip()
        raise SetupError(f"podman {' '.join(args[:2])} failed: {err}",
                         hint="check `podman info`; see lab/README.md for restricted hosts")
    return proc


def _out(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout or b"").decode(errors="replace").strip()


# -- the base image -------------------------------------------------------------------------
def image_exists(image: str) -> bool:
    return podman("image", "exists", image, check=False).returncode == 0


def build_image(platform: str, log=None) -> str:
    """Debian + systemd as a local image: debootstrap a rootfs, podman import it."""
    image, suite = image_for(platform), PLATFORMS[platform]
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise SetupError("debootstrap is needed to build the lab image",
                         hint="apt-get install debootstrap (or `make demo`)")
    if os.geteuid() != 0:
        raise SetupError("building the lab image needs root (debootstrap)",
                         hint="run `golive lab image` as root once; later runs reuse the image")
    work = Path(tempfile.mkdtemp(prefix="golive-image-", dir=paths.state_dir()))
    rootfs = work / "rootfs"
    try:
        if log:
            log(f"building {image} with debootstrap ({suite}); this takes about a minute")
        proc = subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={','.join(IMAGE_PACKAGES)}",
             suite, str(rootfs), MIRROR], capture_output=True, check=False, timeout=900)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-5:]
            raise SetupError("debootstrap failed: " + " / ".join(tail),
                             hint=f"check that {MIRROR} is reachable")
        _prepare_rootfs(rootfs, suite)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        try:
            podman("import", "--change", "CMD=/sbin/init", "--change", "ENV container=podman",
                   "-", image, stdin=tar.stdout, timeout=900)
        finally:
            tar.stdout.close()
            tar.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return image


def apt_sources(suite: str) -> tuple[str, str]:
    """(path, content) of the image's APT sources, as Debian's installer writes them: deb822
    debian.sources from Debian 13 on (apt 3), a one-line sources.list before."""
    security = "http://security.debian.org/debian-security"
    if suite == "bookworm":
        return "etc/apt/sources.list", (f"deb {MIRROR} {suite} main\n"
                                        f"deb {MIRROR} {suite}-updates main\n"
                                        f"deb {security} {suite}-security main\n")
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    return "etc/apt/sources.list.d/debian.sources", (
        f"Types: deb\nURIs: {MIRROR}\nSuites: {suite} {suite}-updates\nComponents: main\n"
        f"Signed-By: {keyring}\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {suite}-security\nComponents: main\n"
        f"Signed-By: {keyring}\n")


def _prepare_rootfs(rootfs: Path, suite: str) -> None:
    """Make the rootfs behave like a freshly installed host when booted in a container."""
    (rootfs / "etc/machine-id").write_text("")  # systemd generates one per container
    path, content = apt_sources(suite)
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / path).write_text(content)
    for unit in ("getty@tty1.service", "console-getty.service", "systemd-remount-fs.service"):
        link = rootfs / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    # Every container gets its own SSH host keys at its first boot, not the image's
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    dropin = rootfs / "etc/systemd/system/ssh.service.d/golive-host-keys.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text("[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\n"
                      "ExecStartPre=/usr/sbin/sshd -t\n")


# -- the lab --------------------------------------------------------------------------------
def lab_hosts(inventory: Path | None = None) -> list[LabHost]:
    from golive.runner import list_inventory

    inventory = inventory or paths.lab_inventory()
    try:
        data = list_inventory(inventory)
    except ValueError as exc:
        raise InvalidInput(f"cannot read the lab inventory {inventory}: {exc}") from exc
    hostvars = (data.get("_meta") or {}).get("hostvars") or {}
    groups = _groups_of(data)
    hosts = []
    for name in sorted(hostvars):
        container = str(hostvars[name].get("lab_container") or f"{CONTAINER_PREFIX}lab-{name}")
        if not container.startswith(CONTAINER_PREFIX):
            raise InvalidInput(
                f"lab host {name}: lab_container {container!r} must start with "
                f"{CONTAINER_PREFIX!r}", hint="the lab only creates and removes containers "
                                              "named golive-*")
        address, subnet = _lab_address(name, hostvars[name])
        if not address:
            raise InvalidInput(f"lab host {name} has no lab_address",
                               hint="the lab reaches its hosts over SSH at their lab_address: "
                                    "set one inside lab_subnet")
        hosts.append(LabHost(name, container, address, subnet,
                             groups=tuple(groups.get(name, ()))))
    if not hosts:
        raise InvalidInput(f"the lab inventory {inventory} has no hosts")
    taken: dict[str, str] = {}
    for host in hosts:
        if host.address and host.address in taken:
            raise InvalidInput(f"lab hosts {taken[host.address]} and {host.name} both have "
                               f"lab_address {host.address}")
        taken[host.address] = host.name
    return hosts


def _groups_of(data: dict) -> dict[str, list[str]]:
    """{host: [its groups, parents included]} from `ansible-inventory --list` data."""
    def walk(group: str, seen: tuple[str, ...]) -> None:
        entry = data.get(group) or {}
        for host in entry.get("hosts") or ():
            out.setdefault(host, []).extend(g for g in (*seen, group) if g != "all")
        for child in entry.get("children") or ():
            if child not in seen:
                walk(child, (*seen, group))

    out: dict[str, list[str]] = {}
    walk("all", ())
    return {h: list(dict.fromkeys(g)) for h, g in out.items()}


def _lab_address(name: str, hostvars: dict) -> tuple[str, str]:
    """(lab_address, lab_subnet) of a host, the address checked to lie inside the subnet."""
    address = hostvars.get("lab_address")
    if not address:
        return "", ""
    try:
        subnet = ipaddress.ip_network(str(hostvars.get("lab_subnet") or ""))
        ip = ipaddress.ip_address(str(address))
    except ValueError as exc:
        raise InvalidInput(f"lab host {name}: lab_address {address!r} / lab_subnet "
                           f"{hostvars.get('lab_subnet')!r}: {exc}",
                           hint="set lab_subnet (e.g. 10.213.7.0/24) in the lab inventory's "
                                "all.vars and lab_address inside it on each host") from exc
    gateway = subnet.network_address + 1
    if ip not in subnet or ip in (subnet.network_address, subnet.broadcast_address, gateway):
        raise InvalidInput(f"lab host {name}: lab_address {ip} must be a host address inside "
                           f"lab_subnet {subnet}, other than the gateway {gateway}")
    return str(ip), str(subnet)


def ensure_network(subnet: str = "") -> None:
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", "--label", f"{LABEL}=1",
               *(["--subnet", subnet] if subnet else []), NETWORK)


def container_state(container: str) -> str:
    proc = podman("container", "inspect", "--format", "{{.State.Status}}", container, check=False)
    return _out(proc) if proc.returncode == 0 else "missing"


def _podman_error(proc: subprocess.CompletedProcess) -> str:
    err = (proc.stderr or b"").decode(errors="replace").strip().splitlines()
    return err[-1] if err else f"exit {proc.returncode}"


def _answers(container: str) -> tuple[bool, str]:
    """Whether a container podman calls running really runs (an exec succeeds), and why not."""
    proc = podman("exec", container, "true", check=False, timeout=30)
    return proc.returncode == 0, "" if proc.returncode == 0 else _podman_error(proc)


def remove(*containers: str) -> None:
    """podman rm -f, twice if need be: for a container whose conmon is gone, podman waits for an
    exit file that never comes, so the first rm fails but records the container as exited and
    the second removes it."""
    if podman("rm", "-f", "-t", "5", *containers, check=False).returncode != 0:
        podman("rm", "-f", "-t", "0", *containers)


def mac_address(address: str) -> str:
    """A fixed, locally administered MAC for a lab address: a recreated container keeps it, as a
    rebuilt server keeps its NIC, so that the neighbour caches of the control node and the other
    containers stay right (with a new MAC, a connection to the address timed out for minutes)."""
    return "02:00:" + ":".join(f"{int(octet):02x}" for octet in address.split("."))


def _run(host: LabHost, image: str) -> None:
    fixed = ["--ip", host.address, "--mac-address", mac_address(host.address)]
    podman("run", "-d", "--name", host.container, "--hostname", host.name,
           "--network", NETWORK, "--network-alias", host.name,
           *(fixed if host.address else []),
           "--label", f"{LABEL}=1", "--label", f"{LABEL}.host={host.name}",
           # NET_ADMIN: the firewall role loads an nftables ruleset in the container's own
           # network namespace, as on a server.
           "--cap-add", "NET_ADMIN",
           "--systemd=always", "--tmpfs", "/tmp", image, "/sbin/init")


def container_image(container: str) -> str:
    proc = podman("container", "inspect", "--format", "{{.ImageName}}", container, check=False)
    return _out(proc) if proc.returncode == 0 else ""


def platform_of_image(image: str) -> str:
    return next((p for p in PLATFORMS if image.startswith(f"localhost/golive-{p}:")), "-")


def start_host(host: LabHost, image: str) -> str:
    """Create or start one container; returns what was done (created, started, running,
    recreated).

    A container podman records as running whose processes are gone (a machine restored from a
    snapshot, a killed conmon) can be neither started nor exec'd into: podman start is a no-op
    and restart fails. Such a container is removed and created afresh: it is a lab host, its
    state is rebuilt by the next converge."""
    state = container_state(host.container)
    if state != "missing" and (current := container_image(host.container)) != image:
        raise InvalidInput(
            f"lab host {host.name} runs {current}, not {image}: a lab host keeps its platform",
            hint="`golive lab down` first, then `golive lab up --platform ...`")
    if state == "running":
        alive, why = _answers(host.container)
        if alive:
            return "running"
        remove(host.container)
        _run(host, image)
        return f"recreated ({why})"
    if state != "missing":
        podman("start", host.container)
        return "started"
    _run(host, image)
    return "created"


def systemd_state(container: str) -> str:
    """systemctl is-system-running inside the container, or why it could not be asked."""
    proc = podman("exec", container, "systemctl", "is-system-running", check=False, timeout=30)
    return _out(proc) or f"unknown: {_podman_error(proc)}"


def wait_booted(hosts: list[LabHost], timeout: float = BOOT_TIMEOUT) -> dict[str, str]:
    """Wait until systemd in every container reached running (or degraded); bounded."""
    deadline = time.monotonic() + timeout
    pending = {h.container for h in hosts}
    states: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        for container in sorted(pending):
            states[container] = systemd_state(container)
            if states[container] in ("running", "degraded"):
                pending.discard(container)
        if pending:
            time.sleep(0.5)
    if pending:
        raise SetupError(
            "systemd did not finish booting in " + ", ".join(
                f"{c} ({states.get(c)})" for c in sorted(pending)),
            hint="podman exec -it <container> systemctl --failed")
    return states


# -- SSH: the user, its key pair, the hosts' keys ------------------------------------------
def key_pair() -> Path:
    """The lab's private key (paths.lab_ssh_dir()/id_ed25519, 0600), created on first use."""
    key = paths.lab_ssh_dir() / f"id_{SSH_KEY_TYPE}"
    if not key.is_file():
        keygen = shutil.which("ssh-keygen")
        if keygen is None:
            raise SetupError("ssh-keygen is needed for the lab's key pair",
                             hint="apt-get install openssh-client")
        tmp = key.with_name(f".{key.name}-{os.getpid()}")
        public = Path(f"{tmp}.pub")
        for stale in (tmp, public):
            stale.unlink(missing_ok=True)
        subprocess.run([keygen, "-q", "-t", SSH_KEY_TYPE, "-N", "", "-C", "golive-lab",
                        "-f", str(tmp)], check=True, capture_output=True, timeout=60)
        os.replace(public, f"{key}.pub")
        os.replace(tmp, key)
    os.chmod(key, 0o600)
    return key


# Run as root inside a container: the SSH user with the lab's public key (stdin) and
# passwordless sudo, sshd started (its host keys made at its first start); prints the host key.
_PROVISION = r"""set -eu
user="$1"
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
usermod -p '*' "$user"
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
umask 077
cat > "$home/.ssh/authorized_keys"
chown "$user:" "$home/.ssh/authorized_keys"
printf '%s ALL=(ALL:ALL) NOPASSWD: ALL
' "$user" > /etc/sudoers.d/golive-lab
chmod 0440 /etc/sudoers.d/golive-lab
systemctl start ssh.service
cat /etc/ssh/ssh_host_ed25519_key.pub
"""


def _host_key_of(proc: subprocess.CompletedProcess, host: LabHost) -> str:
    """'ssh-ed25519 AAAA...' from the last line a container printed."""
    lines = _out(proc).splitlines()
    fields = lines[-1].split() if lines else []
    if proc.returncode != 0 or len(fields) < 2 or not fields[0].startswith("ssh-"):
        raise SetupError(f"lab host {host.name}: no SSH host key: {_podman_error(proc)}",
                         hint=f"podman exec {host.container} systemctl status ssh")
    return f"{fields[0]} {fields[1]}"


def provision_ssh(host: LabHost, public_key: str) -> str:
    """The SSH user, its key and sudo in HOST's container; returns the container's host key."""
    proc = podman("exec", "-i", host.container, "sh", "-c", _PROVISION, "golive-provision",
                  SSH_USER, stdin=None, input_bytes=public_key.encode(), timeout=120)
    return _host_key_of(proc, host)


def host_key(host: LabHost) -> str:
    """The SSH host key HOST's sshd presents, read inside its container."""
    proc = podman("exec", host.container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub",
                  check=False, timeout=30)
    return _host_key_of(proc, host)


def read_known_hosts() -> dict[str, str]:
    """{address: 'type key'} of the lab's known_hosts."""
    path = paths.lab_ssh_dir() / "known_hosts"
    entries = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and not line.startswith("#"):
                entries[fields[0]] = f"{fields[1]} {fields[2]}"
    return entries


def write_known_hosts(entries: dict[str, str]) -> Path:
    path = paths.lab_ssh_dir() / "known_hosts"
    tmp = path.with_name(f".known_hosts.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{address} {key}\n" for address, key in sorted(entries.items()))
    os.replace(tmp, path)
    return path


def setup_ssh(done: list[tuple[LabHost, str]], log=None) -> list[str]:
    """Provision every host's SSH user; record the host keys of containers created now.

    A container that already ran keeps the known_hosts entry it had: if its key changed, SSH
    refuses it (the run fails as unreachable) until `golive lab trust` accepts the new key on
    purpose. Returns the names of such hosts."""
    public_key = key_pair().with_suffix(".pub").read_text()
    known, changed = read_known_hosts(), []
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda pair: provision_ssh(pair[0], public_key), done))
    for (host, action), key in zip(done, keys, strict=True):
        if action == "created" or action.startswith("recreated") or host.address not in known:
            known[host.address] = key
        elif known[host.address] != key:
            changed.append(host.name)
    write_known_hosts(known)
    if changed and log:
        log("WARNING: the SSH host key of " + ", ".join(changed) + " is not the one in the "
            "lab's known_hosts: runs will refuse them; `golive lab trust` accepts the "
            "containers' current keys")
    return changed


def trust(names: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Rewrite the known_hosts entries of NAMES (default: every running lab host) from the keys
    inside their containers. Returns the hosts whose entry changed."""
    hosts = lab_hosts()
    unknown = sorted(set(names) - {h.name for h in hosts})
    if unknown:
        raise InvalidInput(f"not lab hosts: {', '.join(unknown)}",
                           hint="hosts: " + ", ".join(h.name for h in hosts))
    chosen = [h for h in hosts if h.name in names or not names]
    known, updated = read_known_hosts(), []
    for host in chosen:
        if container_state(host.container) != "running":
            raise SetupError(f"lab host {host.name} is not running", hint="golive lab up")
        key = host_key(host)
        if known.get(host.address) != key:
            known[host.address] = key
            updated.append(host.name)
    write_known_hosts(known)
    return updated


def up(platforms: tuple[str, ...] | list[str] = (), log=None,
       inventory: Path | None = None) -> list[tuple[LabHost, str]]:
    """Create or start every host of the lab inventory (or INVENTORY, e.g. a bench's) on its
    platform (see parse_platforms); build the images that are missing first; provision SSH (see
    setup_ssh)."""
    hosts = lab_hosts(inventory)
    default, by_pattern = parse_platforms(platforms)
    known = {h.name for h in hosts} | {g for h in hosts for g in h.groups}
    unknown = sorted(set(by_pattern) - known)
    if unknown:
        raise InvalidInput(f"--platform names {', '.join(unknown)}, which is no host or group "
                           "of the lab inventory", hint="groups: " + ", ".join(sorted(
                               {g for h in hosts for g in h.groups})))
    images = {h.name: image_for(h.platform(default, by_pattern)) for h in hosts}
    for platform in dict.fromkeys(h.platform(default, by_pattern) for h in hosts):
        if not image_exists(image_for(platform)):
            build_image(platform, log=log)
    ensure_network(next((h.subnet for h in hosts if h.subnet), ""))
    done = [(host, start_host(host, images[host.name])) for host in hosts]
    wait_booted(hosts)
    setup_ssh(done, log=log)
    return done


def cpu_seconds(container: str) -> float:
    """CPU seconds CONTAINER has used since it started, from its cgroup (v1 or v2); 0 when it
    does not run. The benches measure what the lab's hosts cost with it."""
    proc = podman("inspect", "--format", "{{.State.CgroupPath}}", container, check=False)
    group = proc.stdout.decode().strip().lstrip("/") if proc.returncode == 0 else ""
    v1 = Path("/sys/fs/cgroup/cpuacct") / group / "cpuacct.usage"
    v2 = Path("/sys/fs/cgroup") / group / "cpu.stat"
    if group and v1.is_file():
        return int(v1.read_text()) / 1e9
    if group and v2.is_file():
        return int(v2.read_text().split("usage_usec")[1].split()[0]) / 1e6
    return 0.0


def lab_containers() -> list[str]:
    proc = podman("ps", "-a", "--filter", f"label={LABEL}=1", "--format", "{{.Names}}")
    return [n for n in _out(proc).splitlines() if n.startswith(CONTAINER_PREFIX)]


def down() -> list[str]:
    removed = lab_containers()
    if removed:
        remove(*removed)
    if podman("network", "exists", NETWORK, check=False).returncode == 0:
        podman("network", "rm", "-f", NETWORK)
    (paths.lab_ssh_dir() / "known_hosts").unlink(missing_ok=True)
    return removed


def status() -> list[ContainerState]:
    hosts = lab_hosts()
    rows = []
    for host in hosts:
        state = container_state(host.container)
        systemd = systemd_state(host.container) if state == "running" else "-"
        address, platform = "-", "-"
        if state != "missing":
            platform = platform_of_image(container_image(host.container))
        if state == "running":
            fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
            address = _out(podman("container", "inspect", "--format", fmt, host.container,
                                  check=False)) or "-"
        rows.append(ContainerState(host.container, host.name, state, systemd, address,
                                   platform))
    return rows
