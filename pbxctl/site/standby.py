"""A warm standby: a second server in the office, applied from the same file, that takes over by itself.

The two servers share a virtual address on the office LAN (VRRP, keepalived): phones, the router's port
forward and the providers only ever see that address. The node holding it is the active one: it alone
registers the provider accounts and pushes voicemail, recordings and call records to the other.
"""

from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from pydantic import Field

from ..problems import Problem
from .base import Model

if TYPE_CHECKING:
    from .model import Site


class Standby(Model):
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$",
                      description="the second server's own address (Ansible connects to it over SSH, the primary "
                                  "replicates to it)")
    ssh_user: str | None = Field(None, description="SSH user on the second server; none: pbx.ssh_user")
    ssh_port: int | None = Field(None, ge=1, le=65535, description="SSH port of the second server; none: "
                                 "pbx.ssh_port")
    virtual_address: IPv4Address = Field(
        description="the address the office pair shares (VRRP): phones register to it, providers send to it; it "
                    "must lie in one of pbx.local_networks, and pbx.address (if given) must be this address")
    router_id: int = Field(51, ge=1, le=255, description="VRRP router id, unique on the office LAN")
    sync_seconds: int = Field(10, ge=5, le=3600, description="how often the active node pushes voicemail, "
                              "recordings and call records to the other (the most a takeover can lose)")


def standby_problems(site: "Site") -> Iterator[Problem]:
    standby = site.standby
    if standby is None:
        return
    vip = standby.virtual_address
    if not any(vip in network for network in site.pbx.local_networks):
        yield Problem(("standby", "virtual_address"), f"{vip} is in none of pbx.local_networks: the virtual address "
                      "lives on the office LAN the two servers share (list that network there)")
    if site.pbx.address is not None and site.pbx.address != vip:
        yield Problem(("pbx", "address"), f"with a standby, phones and providers use the virtual address "
                      f"{vip}: pbx.address {site.pbx.address} would tie them to one server")
    if vip in (_address(site.pbx.host), _address(standby.host)):
        yield Problem(("standby", "virtual_address"), f"{vip} is one server's own address: the virtual address "
                      "must be a third, free one")
    for path, host in ((("pbx", "host"), site.pbx.host), (("standby", "host"), standby.host)):
        if _address(host) is None:
            # each server's firewall lets the other in by address (VRRP, replication), and keepalived speaks to it
            yield Problem(path, f"'{host}': the servers of an office pair are named by their IPv4 addresses")
    if standby.host == site.pbx.host:
        yield Problem(("standby", "host"), "the standby is the PBX server itself: name the second server")
    if any(trunk.type == "gsm_dongle" for trunk in site.trunks):
        # a modem is plugged into one server: the other cannot take its calls
        yield Problem(("standby",), "GSM trunks use a modem plugged into one server: a standby cannot take them "
                      "over (use SIP trunks on a site with a standby)")


def _address(host: str) -> IPv4Address | None:
    try:
        return IPv4Address(host)
    except ValueError:
        return None
