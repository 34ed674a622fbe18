"""The lab as an overlay on a site: its pbx and carrier in place of the site's server and providers, the
lab network added where the control host must keep access, everything else as written."""

import copy
import os
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl

from ..secrets import Secrets
from ..site import Site
from . import HOST_ADDRESS, hosts, up, webhooks
from .layout import NETWORK_PREFIX, VIRTUAL_ADDRESS, machine
from .layout import SUFFIX as INSTANCE_SUFFIX

# build/<site>-lab, or build/<site>-lab-N for lab instance N: two labs on one host never share a build
SUFFIX = "lab" + INSTANCE_SUFFIX


@dataclass(frozen=True)
class Retarget:
    pbx_host: str
    ssh_private_key: str
    lab_network: str
    carrier_host: str | None = None
    apt_proxy: str | None = None
    router_host: str | None = None
    router_port: int | None = None
    webhooks: str | None = None  # base URL of the lab's receiver, in place of the office's CRM and alert hosts
    dummy_ups: bool = False  # the lab has no UPS cable: NUT's dummy-ups plays the site's UPS from a state file
    standby_host: str | None = None  # the lab's second PBX, for a site with a standby (booted when one needs it)
    boot: bool = False
    suffix: str = SUFFIX

    def site(self, site: Site) -> Site:
        return retarget(site, self)

    def pbx_host_vars(self) -> dict:
        return {"ansible_ssh_private_key_file": self.ssh_private_key,
                # lab machines are rebuilt all the time; their host keys change with them
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}

    def secrets(self, site: Site, secrets: Secrets, missing: list[str]) -> tuple[Secrets, list[str]]:
        """The carrier is configured from lab_trunks, so the lab invents what a real provider would issue."""
        names = [key.split(".")[1] for key in missing if key.startswith("trunks.")]
        for name in names:
            secrets.ensure("lab_trunks", name, "password", lambda: os.urandom(18).hex())
        used = Secrets(copy.deepcopy(secrets.data), secrets.encrypted)
        for name, entry in secrets.section("lab_trunks").items():
            if not used.get("trunks", name, "password"):
                used.section("trunks").setdefault(name, {})["password"] = entry["password"]
        return used, [key for key in missing if not key.startswith("trunks.")]


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
    if site.standby:
        if not target.standby_host:
            raise ValueError("this lab has no standby machine for the site's standby")
        if target.boot:
            up(["standby"])
        site.standby.host = target.standby_host
        site.standby.virtual_address = IPv4Address(VIRTUAL_ADDRESS)
        site.standby.ssh_user = site.standby.ssh_port = None
        site.pbx.address = None  # phones use the pair's virtual address
    if target.carrier_host:
        for trunk in site.trunks:
            if hasattr(trunk, "host"):
                trunk.host = target.carrier_host
                # the lab carrier takes SIP on 5060, and over TLS on 5061 once a test gives it a certificate; a TLS
                # trunk stays TLS (its SRTP would otherwise go out over UDP)
                trunk.port = 5061 if trunk.transport == "tls" else 5060
            if hasattr(trunk, "match"):
                trunk.match = [IPv4Network(f"{target.carrier_host}/32")]
    if target.webhooks:
        # the office's hosts are unreachable here: their senders would retry forever on DNS failures
        if site.cdr.webhook and not _in_lab(site.cdr.webhook.url, network):
            site.cdr.webhook.url = f"{target.webhooks}/cdr"
        for cdr_target in site.cdr.webhooks:
            if not _in_lab(cdr_target.url, network):
                # its own path kept: amoCRM's format insists on /api/v4/calls
                cdr_target.url = f"{target.webhooks}/cdr/{cdr_target.name}{urlsplit(cdr_target.url).path}"
        if site.security.alerts.webhook and not _in_lab(site.security.alerts.webhook, network):
            site.security.alerts.webhook = f"{target.webhooks}/alerts"
        if site.crm and not _in_lab(site.crm.url, network):
            site.crm.url = f"{target.webhooks}/crm"
    if target.dummy_ups and site.ups:
        site.ups.driver, site.ups.port, site.ups.driver_options = "dummy-ups", f"{site.ups.name}.dev", {}
    if site.router:
        if target.router_host:
            site.router.host = target.router_host
            site.router.api_port = target.router_port
            site.router.tls = False
        else:
            site.router = None
    return site


def _in_lab(url: str, network: IPv4Network) -> bool:
    """A URL already on the lab network (a test's own receiver) is kept as it is."""
    try:
        return ip_address(urlsplit(url).hostname or "") in network
    except ValueError:
        return False


def lab_retarget(boot: bool = True) -> Retarget:
    """The lab's pbx and carrier in place of the site's server and providers; booted first if need be."""
    found = up(["pbx", "carrier"]) if boot else hosts(["pbx", "carrier"])
    pbx, carrier = found["pbx"], found["carrier"]
    network = IPv4Interface(f"{HOST_ADDRESS}/{NETWORK_PREFIX}").network
    return Retarget(pbx_host=pbx.address, ssh_private_key=str(pbx.ssh_key), lab_network=str(network),
                    carrier_host=carrier.address, apt_proxy=pbx.proxy_url, webhooks=webhooks.BASE_URL,
                    dummy_ups=True, standby_host=machine("standby").address, boot=boot)
