"""The lab's SSH identity: one ed25519 key, authorised for root in every machine, as on a real server."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from pbxctl.lab import layout

# Throw-away machines get new host keys on every reset; pinning them would only produce noise.
SSH_OPTIONS = (
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=3",
)

CONFIG_PATH = layout.STATE_DIR / "ssh_config"


def key_path() -> Path:
    return layout.cache_dir() / "id_ed25519"


def ensure_key() -> Path:
    key = key_path()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pbxctl-lab", "-f", str(key)], check=True
        )
    return key


def authorize(root: Path) -> None:
    """Let the lab key log in as root, and give the machine its own host keys."""
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(Path(f"{ensure_key()}.pub").read_text())
    authorized.chmod(0o600)
    for old in (root / "etc/ssh").glob("ssh_host_*"):
        old.unlink()
    subprocess.run(["ssh-keygen", "-A", "-f", str(root)], check=True, capture_output=True)


def command(address: str, remote: str | list[str]) -> list[str]:
    """argv for running `remote` on a lab machine; a list is quoted for the remote shell."""
    remote_text = remote if isinstance(remote, str) else shlex.join(remote)
    return ["ssh", "-i", str(key_path()), *SSH_OPTIONS, f"{layout.SSH_USER}@{address}", remote_text]


def run(
    address: str, remote: str | list[str], timeout: float = 120, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(address, remote), capture_output=True, text=True, timeout=timeout, check=check, input=input
    )


def write_config(hosts: dict[str, str]) -> Path:
    """An ssh_config naming every lab machine, for people: `ssh -F <file> pbx`."""
    path = CONFIG_PATH
    options = [opt for opt in SSH_OPTIONS if opt != "-o"]
    lines = []
    for name, address in hosts.items():
        lines += [f"Host {name}", f"  HostName {address}", f"  User {layout.SSH_USER}",
                  f"  IdentityFile {key_path()}"]
        lines += [f"  {option.replace('=', ' ', 1)}" for option in options]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
