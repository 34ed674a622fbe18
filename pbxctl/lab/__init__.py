"""Throw-away real servers on this machine: systemd-nspawn containers on one bridge, like one office LAN.

    from pbxctl import lab
    hosts = lab.up()            # {"pbx": LabHost(...), "carrier": LabHost(...)}
    lab.ssh_run("pbx", "systemctl is-system-running")
    lab.down()
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pbxctl.lab import host_packages, layout, machine, network, rootfs, ssh, webhooks
from pbxctl.lab.errors import LabError
from pbxctl.lab.layout import BRIDGE, HOST_ADDRESS, MACHINES, PROXY_URL

__all__ = [
    "BRIDGE", "HOST_ADDRESS", "MACHINES", "PROXY_URL", "SSH_CONFIG", "LabError", "LabHost",
    "add_host_address", "down", "hosts", "power_cut", "preflight_problem", "reset", "restart", "ssh_command",
    "ssh_run", "status", "up", "wait_stopped",
]


SSH_CONFIG = ssh.CONFIG_PATH  # `ssh -F SSH_CONFIG pbx` while the lab is up


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    ssh_user: str
    ssh_key: Path
    proxy_url: str
    pid: int | None  # systemd-nspawn's PID while the machine runs

    def ssh_command(self, remote: str | list[str]) -> list[str]:
        return ssh.command(self.address, remote)


def preflight_problem() -> str | None:
    """Why the lab cannot run on this host, or None. Cheap: tests use it to decide whether to skip."""
    if os.geteuid() != 0:
        return "the lab needs root (systemd-nspawn, a bridge, and writes under /var/lib)"
    if not shutil.which("apt-get") and host_packages.missing():
        return "the lab needs a Debian host with apt-get to install debootstrap and systemd-container"
    return None


def hosts(names: list[str] | None = None) -> dict[str, LabHost]:
    """What each machine is (address, login), whether or not it runs now."""
    return {spec.name: _host(spec) for spec in (_specs(names) if names else MACHINES)}


def status(names: list[str] | None = None) -> dict[str, LabHost | None]:
    """Each machine's LabHost while it runs, None while it is down."""
    return {spec.name: (_host(spec) if machine.running_pid(spec.name) else None) for spec in _specs(names)}


def up(names: list[str] | None = None, fresh: bool = False) -> dict[str, LabHost]:
    """Boot the machines (all by default) and wait until each answers over SSH. Already up: no-op.

    fresh=True gives each stopped machine a new root from its image first (running ones are kept).
    """
    problem = preflight_problem()
    if problem:
        raise LabError(problem)
    with _exclusive():
        return _up(names, fresh)


def _up(names: list[str] | None, fresh: bool) -> dict[str, LabHost]:
    host_packages.ensure()
    network.ensure_bridge()
    network.start_proxy()
    webhooks.start()  # the receiver the lab overlay points the site's webhooks at
    ssh.ensure_key()
    started = {}
    for spec in _specs(names):
        if machine.running_pid(spec.name) is None:
            machine.stop(spec.name)  # a container left behind by a crashed run must not share the root
            machine.provision(spec, fresh=fresh)
            started[spec.name] = machine.boot(spec)
    for spec in _specs(names):
        if spec.name in started:
            machine.wait_ready(spec, started[spec.name])
    ssh.write_config({spec.name: spec.address for spec in MACHINES})
    return {spec.name: _host(spec) for spec in _specs(names)}


def down(names: list[str] | None = None, purge: bool = False) -> None:
    """Stop the machines (all by default). When none is left running, remove the proxy and the bridge too.

    purge=True also deletes their root filesystems (the cached images stay).
    """
    with _exclusive():
        _down(names, purge)


def _down(names: list[str] | None, purge: bool) -> None:
    for spec in _specs(names) if names else MACHINES:
        machine.stop(spec.name)
        if purge:
            rootfs.remove_tree(layout.machine_root(spec.name))
    if all(machine.running_pid(spec.name) is None for spec in MACHINES):
        network.stop_proxy()
        webhooks.stop()
        network.remove_bridge()


def reset(name: str) -> LabHost:
    """Stop one machine, give it a new root from its image (a bare server for `pbx`) and boot it."""
    _specs([name])
    with _exclusive():
        machine.stop(name)
        return _up([name], fresh=True)[name]


def restart(name: str) -> LabHost:
    """Clean shutdown (if still running) and boot of the same root: the power comes back."""
    _specs([name])
    with _exclusive():
        machine.stop(name)
        return _up([name], fresh=False)[name]


def power_cut(name: str) -> None:
    """Pull the plug: every process in the machine dies at once, nothing shuts down cleanly."""
    _specs([name])
    with _exclusive():
        machine.stop(name, hard=True)


def wait_stopped(name: str, timeout: float = 60) -> bool:
    """True once the machine has powered itself off (e.g. NUT shutting it down on battery)."""
    return machine.wait_stopped(name, timeout)


def add_host_address(address: str) -> None:
    """One more host address on the lab LAN (e.g. 10.253.0.99), for a peer needing its own source address."""
    network.add_host_address(address)


def ssh_command(name: str, remote: str | list[str]) -> list[str]:
    return ssh.command(layout.machine(name).address, remote)


def ssh_run(
    name: str, remote: str | list[str], timeout: float = 120, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return ssh.run(layout.machine(name).address, remote, timeout=timeout, check=check, input=input)


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    """One lab change at a time on this host: two `up`s racing would boot two systems on one root."""
    layout.STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (layout.STATE_DIR / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _specs(names: list[str] | None) -> list[layout.MachineSpec]:
    """The named machines; by default the ones every lab has (the on-demand ones only when named)."""
    if not names:
        return [spec for spec in MACHINES if not spec.on_demand]
    try:
        return [layout.machine(name) for name in names]
    except KeyError as error:
        raise LabError(error.args[0]) from error


def _host(spec: layout.MachineSpec) -> LabHost:
    return LabHost(
        name=spec.name,
        address=spec.address,
        ssh_user=layout.SSH_USER,
        ssh_key=ssh.key_path(),
        proxy_url=PROXY_URL,
        pid=machine.running_pid(spec.name),
    )
