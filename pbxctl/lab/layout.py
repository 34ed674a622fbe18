"""Where the lab lives: addresses, machines and paths, in one place so a third machine is one line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BRIDGE = "pbxlab0"
NETWORK_PREFIX = 24
HOST_ADDRESS = "10.253.0.1"
PROXY_PORT = 8888
PROXY_URL = f"http://{HOST_ADDRESS}:{PROXY_PORT}"
# The proxy forwards only to these mirrors: the lab has no other business outside this machine.
PROXY_ALLOWED_HOSTS = ("deb.debian.org",)

DEBIAN_SUITE = "sid"  # the only Debian suite that packages Asterisk
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2", "ca-certificates")
SSH_USER = "root"


@dataclass(frozen=True)
class MachineSpec:
    name: str
    address: str
    image: str  # which cached image the machine starts from: "base" (bare server) or "carrier"


MACHINES: tuple[MachineSpec, ...] = (
    MachineSpec("pbx", "10.253.0.10", "base"),
    MachineSpec("carrier", "10.253.0.20", "carrier"),
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


MACHINES_DIR = Path("/var/lib/pbxctl/lab")
LOG_DIR = MACHINES_DIR / "log"
# PIDs of what `up` started; /run is the right place because a host reboot makes them meaningless.
STATE_DIR = Path("/run/pbxctl-lab")


def machine_root(name: str) -> Path:
    return MACHINES_DIR / name
