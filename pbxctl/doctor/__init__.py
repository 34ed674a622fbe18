"""`pbxctl doctor`: read the site's live state (read-only Ansible run) and say what is wrong, plainly."""

import json

from ..compile import Compiled
from ..run import run_playbook
from .checks import Check
from .pbx import pbx_checks
from .ups import power_on_checks

__all__ = ["Check", "diagnose"]


def diagnose(compiled: Compiled) -> list[Check]:
    site = compiled.site
    doctor_dir = compiled.out_dir / "doctor"
    doctor_dir.mkdir(parents=True, exist_ok=True)
    for stale in doctor_dir.glob("*.json"):
        stale.unlink()
    result = run_playbook(compiled, "doctor.yml", quiet=True)
    states = [json.loads(path.read_text()) for path in sorted(doctor_dir.glob("*.json"))]
    if result.returncode != 0 or not states:
        reason = "; ".join(f"{f['host']}: {f['message'][:200]}" for f in result.failures) or "no answer"
        return [Check("pbx", "fail", f"could not read the PBX's state: {reason}"), *power_on_checks(site)]
    state = states[0]
    return [*pbx_checks(site, state), *power_on_checks(site, state.get("ipmi") or None)]
