"""The MikroTik RouterOS router in front of the office."""

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from .base import Model
from .paths import RepoPath


def _with_prefix(value: object) -> object:
    # without a prefix the address is a /32: the VLAN would have no network for the phones to be in
    if isinstance(value, str) and "/" not in value:
        raise ValueError(f"'{value}' has no prefix: write the router's address with its network, e.g. {value}/24")
    return value


def _api_only(access: str) -> str:
    # apply drives the router through its API only: with ssh it would still log in to the API
    if access != "api":
        raise ValueError("access 'ssh' is not supported yet by apply, which changes the router through its API; "
                         "keep 'api', and for a router without the API run `pbxctl router import-ssh SITE`")
    return access


class VoiceVlan(Model):
    id: int = Field(ge=1, le=4094, description="VLAN id")
    interface: str = Field("bridge", description="parent interface of the VLAN")
    address: Annotated[IPv4Interface, BeforeValidator(_with_prefix)] = Field(
        description="router address on the VLAN with its prefix, e.g. 192.168.20.1/24")


class WakePbx(Model):
    enabled: bool = Field(True, description="send Wake-on-LAN to the PBX's mac")
    interface: str = Field("bridge", description="where the PBX is attached")
    interval: str = Field("1m", pattern=r"^[0-9]+[smh]$", description="netwatch probe interval")


class Router(Model):
    host: str = Field(description="the router's address")
    username: str = Field("pbxctl", description="RouterOS user pbxctl logs in as")
    access: Annotated[Literal["api", "ssh"], AfterValidator(_api_only)] = Field(
        "api", description="RouterOS API (api); ssh is not supported by apply yet (use `pbxctl router import-ssh`)")
    api_port: int | None = Field(None, ge=1, le=65535, description="defaults to 8728, or 8729 with TLS")
    tls: bool = Field(True, description="the API over TLS (api-ssl), the router's certificate checked; false sends "
                      "the login in clear")
    ca_file: RepoPath | None = Field(None, description="the router's certificate or the CA that signed it, as a path "
                                "relative to the site file (without it, the control node's CA store is used)")
    ssh_port: int = Field(22, ge=1, le=65535, description="the router's SSH port")
    known_hosts: RepoPath | None = Field(None, description="known_hosts file with the router's SSH host key, relative "
                                    "to the site file (without it, ~/.ssh/known_hosts); unknown keys are refused")
    wan_interface: str = Field("ether1", description="interface towards the internet (shaped for voice)")
    lan_interface: str = Field("bridge", description="interface (or bridge) towards the office")
    upload_kbps: int = Field(ge=64, description="uplink line rate")
    download_kbps: int = Field(ge=64, description="the line's download speed in kbit/s")
    expected_calls: int = Field(10, ge=1, le=1000, description="concurrent calls to reserve bandwidth for")
    phone_networks: list[IPv4Network] = Field(default_factory=list,
                                              description="networks the phones are in (marked and prioritised)")
    dhcp_network: IPv4Network | None = Field(None, description="DHCP network that gets option 66")
    voice_vlan: VoiceVlan | None = Field(None, description="a VLAN for the phones")
    wake_pbx: WakePbx | None = Field(None, description="wake the PBX over the LAN when power returns")
    sip_filter: bool = Field(False, description="let SIP reach the PBX only from trunk addresses")
    pbx_lan_address: IPv4Address | None = Field(None, description="defaults to the PBX address")
