"""Doctor checks for the toll-fraud guard: is the firewall loaded (with its SIP rate limit and the guard that puts
it back), the jail active, who is banned, and does any phone register from a network the site does not expect?

`pbxctl doctor` runs SECURITY_COMMANDS on the PBX (read-only) and hands their output here; a failed command is None.
"""

import re
from ipaddress import IPv4Address, IPv4Network

from ..site import Site
from .checks import Check

FIREWALL_TABLE = "pbxctl_security"
JAIL = "pbxctl-asterisk"
SECURITY_COMMANDS = {
    "firewall": f"nft list table inet {FIREWALL_TABLE}",
    "jail": f"fail2ban-client status {JAIL}",
    "contacts": "asterisk -rx 'pjsip show contacts'",
    "guard": "systemctl is-active pbxctl-security-guard",
}


def security_checks(site: Site, outputs: dict[str, str | None]) -> list[Check]:
    return [
        firewall_check(outputs.get("firewall")),
        sip_rate_check(outputs.get("firewall")),
        guard_check(outputs.get("guard")),
        *jail_checks(outputs.get("jail")),
        registrations_check(site, outputs.get("contacts")),
    ]


def firewall_check(ruleset: str | None) -> Check:
    if not ruleset or f"table inet {FIREWALL_TABLE}" not in ruleset:
        return Check("firewall", "fail", f"nftables table inet {FIREWALL_TABLE} is not loaded: the PBX takes SIP "
                                         "from anywhere; run `pbxctl apply SITE`")
    if not re.search(r"hook input priority [^;]*; policy drop;", ruleset):
        return Check("firewall", "fail", "the firewall's input chain does not drop by default")
    dropped = sum(int(n) for n in re.findall(r"counter packets (\d+) bytes \d+ drop", ruleset))
    return Check("firewall", "ok", f"loaded: SIP only from trunks and allowed networks, everything else dropped "
                                   f"({dropped} packets dropped so far)")


def sip_rate_check(ruleset: str | None) -> Check:
    if not ruleset or "jump sip_rate" not in ruleset:
        return Check("sip rate", "fail", "no per-source SIP rate limit: a scanner on the office LAN gets answers at "
                                         "full speed until fail2ban reacts; run `pbxctl apply SITE`")
    flooding = re.search(r"set sip_flood \{[^}]*?elements = \{([^}]*)\}", ruleset)
    held = [e.split()[0] for e in flooding.group(1).split(",")] if flooding else []
    if held:
        return Check("sip rate", "warn", f"{len(held)} sources over the SIP rate, dropped for now: {', '.join(held)}")
    return Check("sip rate", "ok", "SIP from sources that have not authenticated is rate-limited; none over it now")


def guard_check(state: str | None) -> Check:
    if (state or "").strip() != "active":
        return Check("firewall guard", "fail", "pbxctl-security-guard is not running: `nft flush ruleset` or an "
                                               "nftables restart would leave the PBX open and drop every ban")
    return Check("firewall guard", "ok", "running: a deleted firewall table is loaded again with its bans")


def banned_addresses(jail_status: str) -> list[str]:
    match = re.search(r"Banned IP list:\s*(.*)", jail_status)
    return match.group(1).split() if match else []


def jail_checks(jail_status: str | None) -> list[Check]:
    if not jail_status or "Status for the jail" not in jail_status:
        return [Check("fail2ban", "fail", f"fail2ban jail {JAIL} is not active: password guessing is not stopped")]
    failed = re.search(r"Currently failed:\s*(\d+)", jail_status)
    checks = [Check("fail2ban", "ok", f"jail {JAIL} active, reading Asterisk's security log"
                                      f" ({failed.group(1) if failed else '?'} addresses with recent failures)")]
    banned = banned_addresses(jail_status)
    if banned:
        checks.append(Check("bans", "warn", f"{len(banned)} banned now: {', '.join(banned)}"))
    else:
        checks.append(Check("bans", "ok", "nobody banned now"))
    return checks


def contact_addresses(contacts: str) -> list[tuple[str, str]]:
    """(aor, host) of each contact in `pjsip show contacts` output."""
    found = []
    for match in re.finditer(r"^\s*Contact:\s+([^/\s]+)/sips?:(?:[^@\s]*@)?(\[[0-9a-fA-F:]+\]|[^:;>\s]+)",
                             contacts, re.MULTILINE):
        found.append((match.group(1), match.group(2).strip("[]")))
    return found


def registrations_check(site: Site, contacts: str | None) -> Check:
    if contacts is None:
        return Check("registrations", "warn", "could not list registrations (is Asterisk running?)")
    allowed = [*site.pbx.local_networks, *site.security.sip_allowed_networks]
    unexpected = []
    for aor, host in contact_addresses(contacts):
        if aor.startswith("trunk-"):
            continue  # the providers' own addresses, from the site's trunks
        try:
            address = IPv4Address(host)
        except ValueError:
            unexpected.append(f"{aor} from {host}")
            continue
        if not any(address in IPv4Network(network) for network in allowed):
            unexpected.append(f"{aor} from {host}")
    if unexpected:
        return Check("registrations", "fail", "registered from networks the site does not allow: "
                                              + ", ".join(unexpected))
    return Check("registrations", "ok", "every registration comes from the site's networks")
