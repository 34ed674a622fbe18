"""`pbxctl doctor`: read the site's live state (read-only Ansible run) and say what is wrong, plainly."""

import json

import yaml

from ..compile import Compiled
from ..run import run_playbook
from .backup import BACKUP_COMMANDS, backup_checks
from .checks import Check
from .pbx import pbx_checks, pbx_commands
from .security import SECURITY_COMMANDS, security_checks
from .standby import active_host, standby_checks, standby_commands
from .ups import power_on_checks

__all__ = ["Check", "diagnose"]


def diagnose(compiled: Compiled) -> list[Check]:
    site = compiled.site
    doctor_dir = compiled.out_dir / "doctor"
    doctor_dir.mkdir(parents=True, exist_ok=True)
    for stale in doctor_dir.glob("*.json"):
        stale.unlink()
    # what to read lives here, beside the code that judges it; the playbook only runs it
    commands = {**pbx_commands(site), **SECURITY_COMMANDS, **BACKUP_COMMANDS, **standby_commands(site)}
    (doctor_dir / "commands.yml").write_text(yaml.safe_dump({"doctor__commands": commands}))
    result = run_playbook(compiled, "doctor.yml", quiet=True)
    states = {path.stem: json.loads(path.read_text()) for path in sorted(doctor_dir.glob("*.json"))}
    # an office pair is judged on the node holding its address; the other one may be down, that is its check
    if not states or (result.returncode != 0 and not site.standby):
        reason = "; ".join(f"{f['host']}: {f['message'][:200]}" for f in result.failures) or "no answer"
        return [Check("pbx", "fail", f"could not read the PBX's state: {reason}"), *power_on_checks(site)]
    state = states[active_host(site, states)]
    outputs = {name: (value or None) for name, value in state.items()}
    return [*pbx_checks(site, state), *standby_checks(site, states), *security_checks(site, outputs),
            *backup_checks(site, outputs), *power_on_checks(site, state.get("ipmi") or None)]
