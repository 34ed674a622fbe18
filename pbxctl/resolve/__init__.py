"""The resolved site: every default and derived value pbxctl works out from a site, each defined once here.

Artefacts (role variables, phone files, the router description) call these instead of re-deriving them, so
"the PBX's address, else its host" or "the router API's port" has one answer everywhere.
"""

from ipaddress import ip_address

from ..site import Site

OWNED = "pbxctl:"  # every router entry pbxctl creates carries a comment starting so, and only those are touched
ROUTER_API_PORT = 8728
ROUTER_API_TLS_PORT = 8729
HTTPS_PORT = 443


def pbx_address(site: Site) -> str:
    """Where phones, trunks and the router reach the PBX: the pair's virtual address, its address, else its host."""
    if site.standby:
        return str(site.standby.virtual_address)
    return str(site.pbx.address or site.pbx.host)


def pbx_hosts(site: Site) -> list[str]:
    """The servers' own addresses: the PBX's, and its standby's."""
    return [site.pbx.host, *([site.standby.host] if site.standby else [])]


def provisioning_server(site: Site) -> str:
    """Where phones fetch their files: the provisioning server named, else the PBX."""
    return str(site.provisioning.server or pbx_address(site))


def https_base(site: Site) -> str:
    """The provisioning server's HTTPS base URL (no port when it is 443)."""
    port = site.provisioning.https_port
    return f"https://{provisioning_server(site)}" + (f":{port}" if port != HTTPS_PORT else "")


def first_fetch_base(site: Site) -> str:
    """The base URL a factory-fresh phone is pointed at (DHCP option 66): HTTPS when served, else TFTP."""
    if "https" in site.provisioning.protocols:
        return https_base(site)
    return f"tftp://{provisioning_server(site)}"


def tls_names(site: Site) -> list[str]:
    """What the HTTPS servers (phone files, recordings) are reached as: the provisioning server and the PBX."""
    return sorted({*pbx_hosts(site), pbx_address(site), provisioning_server(site)})


def sip_tls_names(site: Site) -> list[str]:
    """What phones and providers reach SIP over TLS as: the PBX's addresses and, behind NAT, its public one."""
    public = [str(site.pbx.public_address)] if site.pbx.public_address else []
    return sorted({*pbx_hosts(site), pbx_address(site), *public})


def router_api_port(site: Site) -> int | None:
    router = site.router
    if router is None:
        return None
    return router.api_port or (ROUTER_API_TLS_PORT if router.tls else ROUTER_API_PORT)


def router_pbx_address(site: Site) -> str | None:
    """The PBX as the router's LAN sees it (it may sit behind another address there)."""
    if site.router is None:
        return None
    return str(site.router.pbx_lan_address or pbx_address(site))


def trunk_networks(trunk) -> list[str]:
    """Where a SIP trunk's requests may come from, when known: its match networks, else its host if an address."""
    if getattr(trunk, "match", None):
        return [str(network) for network in trunk.match]
    try:
        return [f"{ip_address(trunk.host)}/32"]
    except ValueError:
        return []  # a host name: Asterisk resolves it for identification; no address list to permit


def trunk_hosts(site: Site) -> list[str]:
    """Every SIP trunk's host (names resolved later, on the PBX)."""
    return sorted({t.host for t in site.trunks if hasattr(t, "host")})


def match_networks(site: Site) -> list[str]:
    """The networks the site names for its trunks' requests (`match`), all trunks together."""
    return sorted({str(n) for t in site.trunks for n in getattr(t, "match", [])})


def phone_networks(site: Site) -> list[str]:
    """Where phones may sit: the office's networks and the router's phone networks."""
    router = site.router.phone_networks if site.router else []
    return sorted({str(n) for n in site.pbx.local_networks} | {str(n) for n in router})
