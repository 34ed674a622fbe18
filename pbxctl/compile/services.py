"""Variables of the provisioning, routeros, nut and security roles."""

from dataclasses import dataclass

from .. import resolve
from ..phones.render import tftp_names
from ..router import config as router_config
from ..security import ALERT_EVENTS, refused_prefixes
from ..site import Site
from ..site.encryption import sip_tls_port
from ..site.integrations import AMI_PORT
from .pbx import RECORDINGS_HTTP_PORT


def provisioning_vars(site: Site) -> dict:
    prov = site.provisioning
    return {
        "provisioning__protocols": list(prov.protocols),
        "provisioning__server": resolve.provisioning_server(site),
        "provisioning__https_port": prov.https_port,
        # what tftpd's own directory holds: the model-level files and the CA certificate, nothing with a secret
        "provisioning__tftp_files": tftp_names(site),
        "provisioning__phone_networks": resolve.phone_networks(site),
    }


MAC_LENGTH = 12  # hex digits, as phones are keyed


@dataclass
class Shipped:
    plain: dict  # vars.yml
    secret: dict  # secrets.yml


def phone_file_vars(site: Site, rendered: dict[str, bytes]) -> Shipped:
    """What the provisioning role ships: each rendered file and whose login guards it (the role's one tree task
    compares them with the server itself). rendered: relative name → the bytes written (not read back)."""
    # in the order Jinja's sort gave them before (case-insensitive), so the nginx configuration stays as it was
    names = sorted(rendered, key=str.lower)
    order = {p.mac: index for index, p in enumerate(site.phones)}
    return Shipped(
        plain={
            "provisioning__files": [{"path": name, "owner": _owner(name, order)} for name in names],
        },
        secret={},
    )


def _owner(name: str, order: dict[str, int]) -> str:
    """The MAC a device file is named after (its login alone may fetch it), the site's first where several are;
    '' for a model-level file. order: each phone's MAC → its place in the site."""
    low = name.lower()
    found = {low[i:i + MAC_LENGTH] for i in range(len(low) - MAC_LENGTH + 1)} & order.keys()
    return min(found, key=order.__getitem__) if found else ""


def router_vars(site: Site) -> dict:
    if site.router is None:
        return {"routeros__enabled": False}
    data = site.router.model_dump(mode="json", exclude_none=True)
    return {
        "routeros__enabled": True,
        **{f"routeros__{key}": value for key, value in data.items()},
        "routeros__api_port": resolve.router_api_port(site),
        "routeros__owned": resolve.OWNED,
        "routeros__pbx_address": resolve.router_pbx_address(site),
        "routeros__pbx_mac": site.pbx.mac,
        "routeros__rtp_start": site.pbx.rtp_ports.start,
        "routeros__rtp_end": site.pbx.rtp_ports.end,
        "routeros__sip_port": site.pbx.sip_port,
        "routeros__trunk_hosts": resolve.trunk_hosts(site),
        "routeros__trunk_networks": resolve.match_networks(site),
        "routeros__provisioning_server": resolve.provisioning_server(site),
        "routeros__provisioning_protocols": list(site.provisioning.protocols),
        "routeros__voice_kbps": round(router_config.voice_kbps(site, site.router.expected_calls), 1),
        # what the role applies and `pbxctl router export` writes, from one description
        "routeros__sections": router_config.sections(site),
        "routeros__settings": router_config.settings(site),
    }


def ups_vars(site: Site) -> dict:
    if site.ups is None:
        return {"nut__enabled": False}
    ups = site.ups
    on_battery_for = ups.shutdown.when == "on_battery_for"
    return {
        "nut__enabled": True,
        "nut__ups": ups.model_dump(mode="json", exclude_none=True),
        "nut__monitor": f"{ups.name}@localhost",  # upsmon runs on the server the UPS is plugged into
        "nut__upssched": on_battery_for,
        "nut__on_battery_seconds": ups.shutdown.minutes * 60 if on_battery_for else None,
        # netserver: other machines on the same UPS watch it through this server's upsd
        "nut__listen": ["127.0.0.1"] if ups.mode == "standalone" else ["0.0.0.0"],
        "nut__alert_webhook": site.security.alerts.webhook,
        "nut__site_name": site.site.name,
    }


def security_vars(site: Site) -> dict:
    """The firewall, fail2ban, the outbound guard's limits and lists, and where alerts go."""
    sec = site.security
    local = [str(n) for n in site.pbx.local_networks]
    prov = site.provisioning
    phone_networks = resolve.phone_networks(site)
    # other services pbxctl runs on the PBX: the firewall opens them to the networks those roles serve
    services = []
    if "tftp" in prov.protocols:
        services.append({"name": "provisioning TFTP", "proto": "udp", "port": 69, "from": list(phone_networks)})
    if "https" in prov.protocols:
        services.append({"name": "provisioning HTTPS", "proto": "tcp", "port": prov.https_port,
                         "from": list(phone_networks)})
    # recordings over HTTP (with a login) for the CRM: the office's networks and the CRM's own
    services.append({"name": "recordings for the CRM", "proto": "tcp", "port": RECORDINGS_HTTP_PORT,
                         "from": sorted({*local, *(str(n) for n in site.cdr.crm_networks)})})
    if site.integrations.ami:  # the live-events client, from its own networks only (manager.conf permits the same)
        services.append({"name": "AMI for live events", "proto": "tcp", "port": AMI_PORT,
                         "from": sorted({str(n) for n in site.integrations.ami.networks})})
    if site.ups and site.ups.mode == "netserver":
        services.append({"name": "NUT upsd (other machines on this UPS)", "proto": "tcp", "port": 3493,
                         "from": list(local)})
    return {
        "security__site_name": site.site.name,
        "security__local_networks": local,
        "security__sip_allowed_networks": [str(n) for n in sec.sip_allowed_networks],
        # SSH: the admin networks; none named → the office's own networks (an empty list must not mean "nobody")
        "security__admin_networks": [str(n) for n in sec.admin_networks] or local,
        "security__ssh_port": site.pbx.ssh_port,
        "security__sip_port": site.pbx.sip_port,
        # SIP over TLS: closed without pbx.tls; from the SIP sources, or from anywhere once an extension is remote
        "security__sip_tls_port": sip_tls_port(site),
        "security__sip_tls_anywhere": any(e.nat for e in site.extensions),
        "security__rtp_start": site.pbx.rtp_ports.start,
        "security__rtp_end": site.pbx.rtp_ports.end,
        # host names are resolved on the PBX at apply time (nftables wants addresses)
        "security__trunk_hosts": resolve.trunk_hosts(site),
        "security__trunk_networks": resolve.match_networks(site),
        "security__services": services,
        # an office pair: each server lets the other in for VRRP and replication (SSH)
        "security__pair": resolve.pbx_hosts(site) if site.standby else [],
        "security__fail2ban": sec.fail2ban.model_dump(mode="json"),
        # SIP from a source that has not authenticated lately: `burst` packets at once and `per_second` after,
        # then dropped for `hold` s. A phone's first contact (REGISTER, challenged REGISTER) fits; a full-speed
        # scanner gets at most 5 answers; paced guessing (fail2ban bans it at maxretry) stays under the rate.
        # `trust`: how long a source that authenticated is exempt (its BLF/NOTIFY bursts), above Asterisk's
        # longest registration interval (7200 s) so a registered phone never falls back to the meter.
        "security__sip_rate": {"burst": 4, "per_second": 2, "hold": 60, "trust": 10800},
        "security__alerts": sec.alerts.model_dump(mode="json", exclude_none=True),
        "security__alert_events": dict(ALERT_EVENTS),
        "security__max_outbound_calls": sec.max_outbound_calls,
        "security__international_hours": sec.international_hours,
        "security__blocked_prefixes": [p["prefix"] for p in refused_prefixes(list(sec.blocked_prefixes))],
    }
