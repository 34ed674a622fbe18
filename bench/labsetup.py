"""What the lab benchmarks share: boot the lab, apply a bench site as a user would, ask a machine's Asterisk."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from pbxctl import lab
from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.lab.carrier import Carrier
from pbxctl.lab.provider import carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.run import run_playbook


def up(names: list[str]) -> None:
    lab.up(names)


def compiled(site_file: Path):
    """The site compiled for this lab instance (build/<site>-lab-N), its secrets generated on first use."""
    return compile_site(site_file, None, None, lab_retarget())


def configure_carrier(site_file: Path) -> None:
    """The carrier sells exactly the site's trunks: the PBX registers with them and it calls their DIDs."""
    site, secrets, _ = load_with_secrets(site_file, None, lab_retarget())
    Carrier().configure(carrier_accounts(site, secrets))


def apply(site_file: Path, playbook: str = "pbx.yml") -> float:
    """Apply the site's PBX part to the lab's pbx; seconds taken. Raises when the run fails."""
    configure_carrier(site_file)
    build = compiled(site_file)
    started = time.monotonic()
    result = run_playbook(build, playbook, quiet=True)
    if result.returncode:
        raise RuntimeError(f"apply of {site_file} failed: {result.failures}")
    return time.monotonic() - started


def cli(machine: str, command: str) -> str:
    return lab.ssh_run(machine, f"asterisk -rx {shlex.quote(command)}", timeout=60, check=False).stdout


def channels(machine: str) -> int:
    for line in cli(machine, "core show channels count").splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return 0


def registered(trunk: str, timeout: float = 60) -> bool:
    """The carrier holds a contact the PBX registered for this trunk's account."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f"registrar/contact/{trunk};@" in cli("carrier", "database show registrar/contact"):
            return True
        time.sleep(2)
    return False


ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # ansible, ansible-playbook: the ones beside this interpreter
