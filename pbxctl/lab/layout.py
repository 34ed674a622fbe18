"""Where the lab lives: addresses, machines and paths, in one place so a third machine is one line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Several labs can run side by side on one host (PBXCTL_LAB_INSTANCE=1, 2…): each has its own bridge, subnet,
# proxy port, machine roots and state, so parallel test runs never share a PBX or a carrier.
INSTANCE = int(os.environ.get("PBXCTL_LAB_INSTANCE", "0"))
SUFFIX = f"-{INSTANCE}" if INSTANCE else ""
BRIDGE = f"pbxlab{INSTANCE}"
NETWORK_PREFIX = 24
SUBNET = f"10.253.{INSTANCE}"
HOST_ADDRESS = f"{SUBNET}.1"
# the address a site's office pair (pbx + standby) shares in the lab (VRRP)
VIRTUAL_ADDRESS = f"{SUBNET}.9"
PROXY_PORT = 8888 + INSTANCE
PROXY_URL = f"http://{HOST_ADDRESS}:{PROXY_PORT}"
# The proxy forwards only to these mirrors: the lab has no other business outside this machine.
PROXY_ALLOWED_HOSTS = ("deb.debian.org",)

DEBIAN_SUITE = "sid"  # the only Debian suite that packages Asterisk: the default image's suite
# Debian 12 and 13 have no Asterisk package: servers on them get it from `pbxctl build asterisk` (pbxctl/build)
SUITES = ("sid", "trixie", "bookworm")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2", "ca-certificates")
SSH_USER = "root"


@dataclass(frozen=True)
class MachineSpec:
    name: str
    address: str
    # which cached image the machine starts from: "base" (bare sid server), "base-<suite>" or "carrier"
    image: str
    # booted only when named (`lab up standby`, a test asking for it): most runs need only pbx + carrier
    on_demand: bool = False


MACHINES: tuple[MachineSpec, ...] = (
    MachineSpec("pbx", f"{SUBNET}.10", "base"),
    MachineSpec("carrier", f"{SUBNET}.20", "carrier"),
    MachineSpec("standby", f"{SUBNET}.11", "base", on_demand=True),  # a second PBX taking over from pbx
    MachineSpec("branch-b", f"{SUBNET}.12", "base", on_demand=True),  # more offices' PBXs, for linked sites
    MachineSpec("branch-c", f"{SUBNET}.13", "base", on_demand=True),
    MachineSpec("bench-1", f"{SUBNET}.14", "base", on_demand=True),  # with the above, a fleet of five PBXs
    MachineSpec("bench-2", f"{SUBNET}.15", "base", on_demand=True),  # for bench/bench_fleet.py
    # bare servers of the Debian releases offices run (.14 and .15 are taken by the bench's machines)
    MachineSpec("deb12", f"{SUBNET}.16", "base-bookworm", on_demand=True),
    MachineSpec("deb13", f"{SUBNET}.17", "base-trixie", on_demand=True),
)


def machine(name: str) -> MachineSpec:
    for spec in MACHINES:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in MACHINES)
    raise KeyError(f"unknown lab machine {name!r} (known: {known})")


def cache_dir() -> Path:
    """Images and the SSH key: survive `lab down`, shared by every lab on this host."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pbxctl" / "lab"


MACHINES_DIR = Path(f"/var/lib/pbxctl/lab{SUFFIX}")
LOG_DIR = MACHINES_DIR / "log"
# PIDs of what `up` started; /run is the right place because a host reboot makes them meaningless.
STATE_DIR = Path(f"/run/pbxctl-lab{SUFFIX}")


def machine_root(name: str) -> Path:
    return MACHINES_DIR / name


def nspawn_name(name: str) -> str:
    """The container's name on the host (its veth is vb-<name>): unique across lab instances."""
    return name + SUFFIX
