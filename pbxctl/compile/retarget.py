"""Point a site at other machines (the local lab) while leaving everything else as written."""

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from pydantic import AnyHttpUrl

from ..site import Site


@dataclass(frozen=True)
class Retarget:
    pbx_host: str
    ssh_private_key: str
    lab_network: str
    carrier_host: str | None = None
    apt_proxy: str | None = None
    router_host: str | None = None
    router_port: int | None = None


def retarget(site: Site, target: Retarget) -> Site:
    site = site.model_copy(deep=True)
    site.pbx.host = target.pbx_host
    site.pbx.address = IPv4Address(target.pbx_host)
    site.pbx.public_address = None
    network = IPv4Network(target.lab_network)
    if network not in site.pbx.local_networks:
        site.pbx.local_networks.append(network)
    if site.security.admin_networks and network not in site.security.admin_networks:
        # the control host sits on the lab network: it must keep SSH after the firewall goes on
        site.security.admin_networks.append(network)
    if target.apt_proxy:
        site.site.apt_proxy = AnyHttpUrl(target.apt_proxy)
    site.provisioning.server = None
    if target.carrier_host:
        for trunk in site.trunks:
            if hasattr(trunk, "host"):
                trunk.host = target.carrier_host
                trunk.port = 5060
                trunk.transport = "udp"
            if hasattr(trunk, "match"):
                trunk.match = [IPv4Network(f"{target.carrier_host}/32")]
    if site.router:
        if target.router_host:
            site.router.host = target.router_host
            site.router.api_port = target.router_port
            site.router.tls = False
        else:
            site.router = None
    return site
