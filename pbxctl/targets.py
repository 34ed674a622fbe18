"""Where a run goes: the site's own machines, or the local lab standing in for them."""

from ipaddress import IPv4Interface

from .compile import Retarget


def lab_retarget(boot: bool = True) -> Retarget:
    """The lab's pbx and carrier in place of the site's server and providers; booted first if need be."""
    from . import lab
    from .lab.layout import NETWORK_PREFIX

    hosts = lab.up(["pbx", "carrier"]) if boot else lab.hosts(["pbx", "carrier"])
    pbx, carrier = hosts["pbx"], hosts["carrier"]
    network = IPv4Interface(f"{lab.HOST_ADDRESS}/{NETWORK_PREFIX}").network
    return Retarget(pbx_host=pbx.address, ssh_private_key=str(pbx.ssh_key), lab_network=str(network),
                    carrier_host=carrier.address, apt_proxy=pbx.proxy_url)
