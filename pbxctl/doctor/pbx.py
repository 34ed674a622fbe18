"""Judging the PBX's live state, as gathered by playbooks/doctor.yml."""

import re
from ipaddress import IPv4Address, IPv4Network

from ..site import Site
from .checks import Check

CONTACT_RE = re.compile(r"^\s*Contact:\s+(\S+?)/sip:[^@\s]*@([0-9.]+)")
REGISTRATION_RE = re.compile(r"^\s*trunk-([a-z0-9_-]+)/\S+\s+\S+\s+(\S+)")


def pbx_checks(site: Site, state: dict[str, str]) -> list[Check]:
    return [_running(state), *_registrations(site, state), *_contacts(site, state), *_services(site, state)]


def _running(state: dict[str, str]) -> Check:
    if state.get("asterisk_active", "").strip() == "active":
        return Check("asterisk", "ok", "Asterisk is running")
    return Check("asterisk", "fail", f"Asterisk is not running ({state.get('asterisk_active', '?').strip()})")


def _registrations(site: Site, state: dict[str, str]) -> list[Check]:
    seen = {m.group(1): m.group(2) for line in state.get("registrations", "").splitlines()
            if (m := REGISTRATION_RE.match(line))}
    checks = []
    for trunk in site.trunks:
        if trunk.type != "sip_register":
            continue
        status = seen.get(trunk.name, "missing")
        checks.append(Check(f"trunk {trunk.name}", "ok" if status == "Registered" else "fail",
                            f"registration {status}" + ("" if status == "Registered" else
                                                        f" at {trunk.host}: check the account and the password")))
    return checks


def _contacts(site: Site, state: dict[str, str]) -> list[Check]:
    """Registrations from outside the office's networks are how toll fraud starts."""
    allowed = [*site.pbx.local_networks, *site.security.sip_allowed_networks]
    contacts = [m.groups() for line in state.get("contacts", "").splitlines() if (m := CONTACT_RE.match(line))]
    phones = [(aor, address) for aor, address in contacts if not aor.startswith("trunk-")]
    strangers = [f"{aor} from {address}" for aor, address in phones
                 if not any(IPv4Address(address) in IPv4Network(net) for net in allowed)]
    if strangers:
        return [Check("registrations", "fail", "from unexpected networks: " + ", ".join(strangers))]
    return [Check("registrations", "ok", f"{len(phones)} phone registration(s), all from the office's networks")]


def _services(site: Site, state: dict[str, str]) -> list[Check]:
    checks = []
    enabled = state.get("enabled", "").split()
    if enabled[:1] != ["enabled"]:
        checks.append(Check("boot", "fail", "Asterisk does not start at boot"))
    code = state.get("provisioning_http", "").strip()
    if site.phones:
        ok = code not in ("", "000")
        checks.append(Check("provisioning", "ok" if ok else "fail",
                            "HTTP provisioning answers" if ok else "HTTP provisioning does not answer on the PBX"))
    if site.ups:
        status = re.search(r"^ups\.status:\s*(.+)$", state.get("ups", ""), re.M)
        if status is None:
            checks.append(Check("ups", "fail", "NUT does not see the UPS (upsc answers nothing)"))
        else:
            value = status.group(1).strip()
            checks.append(Check("ups", "ok" if value.startswith("OL") else "warn", f"UPS status {value}"))
    return checks
