"""Judging the PBX's live state: PBX_COMMANDS run on the server (read-only), their output judged here."""

import re

from ..site import Site
from .checks import Check
from .gsm import gsm_checks, gsm_commands

PBX_COMMANDS = {
    "asterisk_active": "systemctl is-active asterisk",
    "registrations": "asterisk -rx 'pjsip show registrations'",
    "enabled": "systemctl is-enabled asterisk",
    "ups": "upsc -l 2>/dev/null | while read u; do echo \"== $u\"; upsc \"$u@localhost\" 2>/dev/null; done",
    "ipmi": "command -v ipmitool >/dev/null && ipmitool chassis status 2>/dev/null || true",
}


def pbx_commands(site: Site) -> dict[str, str]:
    """What to read on the PBX for this site: the provisioning servers it lists, on the ports it names."""
    commands = {**PBX_COMMANDS, **gsm_commands(site)}
    if not site.phones:
        return commands
    protocols = site.provisioning.protocols
    if "https" in protocols:
        # reachability only: no login, and the site CA's certificate is not the one curl trusts, so -k
        commands["provisioning_https"] = (f"curl -sk -o /dev/null -w '%{{http_code}}' "
                                          f"https://127.0.0.1:{site.provisioning.https_port}/ || true")
    if "tftp" in protocols:
        # tftpd-hpa is socket-activated: the socket listening is what phones reach
        commands["provisioning_tftp"] = "ss -Hlun 'sport = :69' || true"
    return commands
REGISTRATION_RE = re.compile(r"^\s*trunk-([a-z0-9_-]+)/\S+\s+\S+\s+(\S+)")


def pbx_checks(site: Site, state: dict[str, str]) -> list[Check]:
    return [_running(state), *_registrations(site, state), *gsm_checks(site, state), *_services(site, state)]


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


def _provisioning(site: Site, state: dict[str, str]) -> list[Check]:
    if not site.phones:
        return []
    checks = []
    protocols, port = site.provisioning.protocols, site.provisioning.https_port
    if "https" in protocols:
        ok = state.get("provisioning_https", "").strip() not in ("", "000")
        checks.append(Check("provisioning https", "ok" if ok else "fail",
                            f"HTTPS provisioning answers on port {port}" if ok else
                            f"HTTPS provisioning does not answer on the PBX's port {port}"))
    if "tftp" in protocols:
        ok = bool(state.get("provisioning_tftp", "").strip())
        checks.append(Check("provisioning tftp", "ok" if ok else "fail",
                            "TFTP provisioning listens on UDP port 69" if ok else
                            "nothing listens on UDP port 69: phones that boot over TFTP get no file"))
    return checks


def _services(site: Site, state: dict[str, str]) -> list[Check]:
    checks = []
    enabled = state.get("enabled", "").split()
    if enabled[:1] != ["enabled"]:
        checks.append(Check("boot", "fail", "Asterisk does not start at boot"))
    checks.extend(_provisioning(site, state))
    if site.ups:
        status = re.search(r"^ups\.status:\s*(.+)$", state.get("ups", ""), re.M)
        if status is None:
            checks.append(Check("ups", "fail", "NUT does not see the UPS (upsc answers nothing)"))
        else:
            value = status.group(1).strip()
            checks.append(Check("ups", "ok" if value.startswith("OL") else "warn", f"UPS status {value}"))
    return checks
