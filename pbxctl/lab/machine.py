"""One lab machine: a systemd-nspawn container booting a real systemd, plugged into the lab bridge."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

from pbxctl.lab import layout, processes, rootfs, ssh
from pbxctl.lab.errors import LabError
from pbxctl.lab.layout import MachineSpec

ADDRESS_UNIT = "pbxlab-address.service"
BOOT_TIMEOUT = 120.0
SHUTDOWN_TIMEOUT = 30.0


def pid_file(name: str) -> Path:
    return layout.STATE_DIR / f"{name}.pid"


def log_file(name: str) -> Path:
    return layout.LOG_DIR / f"{name}.log"


def running_pid(name: str) -> int | None:
    """PID of this machine's systemd-nspawn if it runs, checked by its root directory on the command line."""
    return processes.read_pid(pid_file(name), str(layout.machine_root(name)))


# --- root filesystem ---

def provision(spec: MachineSpec, fresh: bool = False) -> Path:
    """The machine's own root: kept across boots (it is its disk), recreated from the image when fresh."""
    root = layout.machine_root(spec.name)
    if fresh:
        rootfs.remove_tree(root)
    if not root.exists():
        image = rootfs.ensure_image(spec.image)
        partial = root.with_name(f".{spec.name}.partial")  # a half-extracted root must never boot
        rootfs.remove_tree(partial)
        rootfs.extract(image, partial)
        _personalise(partial, spec)
        partial.rename(root)
    _configure_network(root, spec)
    _configure_apt(root)
    _mains_on(root)
    return root


def _mains_on(root: Path) -> None:
    """A lab machine boots because the power is back: a dummy-ups state file left on battery by an earlier run
    (a test stopped mid-power-cut) would make NUT shut the machine down again as soon as it starts."""
    for state in (root / "etc/nut").glob("*.dev"):
        text = state.read_text(errors="replace")
        if re.search(r"^ups\.status:", text, re.M):
            text = re.sub(r"^ups\.status:.*$", "ups.status: OL", text, flags=re.M)
            state.write_text(re.sub(r"^battery\.charge:.*$", "battery.charge: 100", text, flags=re.M))


def _personalise(root: Path, spec: MachineSpec) -> None:
    """What makes copies of one image distinct servers: identity, host name, host keys, our login."""
    (root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    (root / "etc/hostname").write_text(spec.name + "\n")
    ssh.authorize(root)


def _configure_network(root: Path, spec: MachineSpec) -> None:
    """A static address on host0 via a oneshot unit: needs only iproute2, which every image has.

    host0 can appear a moment after the unit starts (nspawn moves the veth in while systemd boots): the unit
    waits for it, and retries on failure without limit, so a slow link never leaves the machine unreachable.
    """
    unit = root / "etc/systemd/system" / ADDRESS_UNIT
    unit.write_text(
        "[Unit]\n"
        "Description=Lab LAN address (pbxctl lab)\n"
        "DefaultDependencies=no\n"
        "Before=network.target network-online.target ssh.service\n"
        "Wants=network.target\n"
        "StartLimitIntervalSec=0\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        "Restart=on-failure\n"
        "RestartSec=1\n"
        "ExecStartPre=sh -c 'for i in $(seq 100); do ip link show host0 >/dev/null 2>&1 && exit 0; sleep 0.1; done;"
        " exit 1'\n"
        "ExecStart=ip link set host0 up\n"
        f"ExecStart=ip addr replace {spec.address}/{layout.NETWORK_PREFIX} dev host0\n"
        f"ExecStart=-ip route replace default via {layout.HOST_ADDRESS}\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / ADDRESS_UNIT
    if not link.is_symlink():
        link.symlink_to(f"/etc/systemd/system/{ADDRESS_UNIT}")
    hosts = ["127.0.0.1 localhost", f"127.0.1.1 {spec.name}", f"{layout.HOST_ADDRESS} labhost"]
    hosts += [f"{other.address} {other.name}" for other in layout.MACHINES if other.name != spec.name]
    (root / "etc/hosts").write_text("\n".join(hosts) + "\n")


def _configure_apt(root: Path) -> None:
    # The lab's mirror is a dated snapshot whose Release file is past Valid-Until: a property of the lab,
    # not of sites. (The proxy itself is the site's apt_proxy setting, applied by its roles.)
    (root / "etc/apt/apt.conf.d/80pbxlab-snapshot").write_text('Acquire::Check-Valid-Until "false";\n')


# --- power ---

# Each booted systemd takes several inotify instances, all counted against root on the host: the kernel's default
# of 128 runs out at about a dozen machines (two labs with their on-demand PBXs), and systemd then fails to boot.
INOTIFY_INSTANCES = 1024


def _enough_inotify() -> None:
    knob = Path("/proc/sys/fs/inotify/max_user_instances")
    with contextlib.suppress(OSError, ValueError):
        if int(knob.read_text()) < INOTIFY_INSTANCES:
            knob.write_text(f"{INOTIFY_INSTANCES}\n")


def boot(spec: MachineSpec) -> int:
    pid = running_pid(spec.name)
    if pid:
        return pid
    _enough_inotify()
    root = layout.machine_root(spec.name)
    argv = [
        "systemd-nspawn", "--register=no", "--keep-unit", "--boot", "--quiet",
        "--directory", str(root), "--machine", layout.nspawn_name(spec.name),
        f"--network-bridge={layout.BRIDGE}", "--resolv-conf=off", "--timezone=off",
    ]
    pid = processes.spawn_detached(argv, log_file(spec.name), env=rootfs.NSPAWN_ENV)
    processes.write_pid(pid_file(spec.name), pid)
    return pid


def wait_ready(spec: MachineSpec, pid: int, timeout: float = BOOT_TIMEOUT) -> str:
    """Wait until systemd inside says the boot finished; "degraded" counts, a container has odd units."""
    deadline = time.monotonic() + timeout
    state = "unreachable"
    while time.monotonic() < deadline:
        processes.reap(pid)
        if not processes.is_alive(pid):
            raise LabError(f"lab machine {spec.name} exited while booting; see {log_file(spec.name)}")
        try:
            result = ssh.run(spec.address, "systemctl is-system-running", timeout=10, check=False)
            state = result.stdout.strip() or state
        except subprocess.TimeoutExpired:
            state = "ssh timeout"
        if state in ("running", "degraded"):
            return state
        time.sleep(0.5)
    raise LabError(f"lab machine {spec.name} not ready after {timeout:.0f}s (last state: {state})")


def stop(name: str, hard: bool = False) -> None:
    """Shut down cleanly (SIGTERM makes nspawn ask systemd to power off) or pull the plug (hard).

    Also kills a container whose systemd-nspawn died (a crashed `up`): its systemd would otherwise run on.
    """
    pid = running_pid(name)
    if pid is not None:
        if not hard:
            processes.send(pid, signal.SIGTERM)
        if hard or not processes.wait_gone(pid, SHUTDOWN_TIMEOUT):
            _kill_leaders(name)
            if not processes.wait_gone(pid, 10):
                processes.send(pid, signal.SIGKILL)
                processes.wait_gone(pid, 5)
    pid_file(name).unlink(missing_ok=True)
    _kill_leaders(name)


def _kill_leaders(name: str) -> None:
    # Killing a container's PID 1 kills every process in its PID namespace at once.
    for leader in container_leaders(name):
        processes.send(leader, signal.SIGKILL)
        processes.wait_gone(leader, 10)


def container_leaders(name: str) -> list[int]:
    """PID 1 of every container booted from this machine's root, found by its machine-id, not by a PID file."""
    try:
        machine_id = (layout.machine_root(name) / "etc/machine-id").read_text().strip()
    except OSError:
        return []
    leaders = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            nspid = next(line for line in status.read_text().splitlines() if line.startswith("NSpid:"))
            if nspid.split()[-1] != "1" or len(nspid.split()) < 3:
                continue
            if (status.parent / "root/etc/machine-id").read_text().strip() == machine_id:
                leaders.append(int(status.parent.name))
        except (OSError, StopIteration):
            continue
    return leaders


def wait_stopped(name: str, timeout: float) -> bool:
    """For tests where the machine powers itself off (e.g. NUT on battery)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(name) is None:
            return True
        time.sleep(0.5)
    return False
