"""The PBX server: how to reach it and how Asterisk faces the networks."""

from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from pydantic import Field, model_validator

from .base import KeyProblem, Model

Codec = Literal["alaw", "ulaw", "g722", "g729", "opus", "gsm"]


class RtpPorts(Model):
    start: int = Field(10000, ge=1024, le=65534, description="first RTP port")
    end: int = Field(20000, ge=1025, le=65535, description="last RTP port")

    @model_validator(mode="after")
    def _ordered(self) -> "RtpPorts":
        if self.end <= self.start:
            raise KeyProblem("end", f"end ({self.end}) must be above start ({self.start})")
        return self


class Pbx(Model):
    host: str = Field(description="address Ansible connects to over SSH")
    ssh_user: str = Field("root", description="SSH user Ansible logs in as (becomes root with sudo)")
    ssh_port: int = Field(22, ge=1, le=65535, description="SSH port of the server")
    flavour: Literal["asterisk", "freepbx"] = Field("asterisk",
                                                    description="plain Asterisk, or an existing FreePBX install")
    install_source: Literal["distro"] = Field("distro", description="Asterisk from the distribution's packages")
    address: IPv4Address | None = Field(None, description="LAN address phones use; defaults to host")
    local_networks: list[IPv4Network] = Field(default_factory=list, description="networks treated as local "
                                              "(no NAT rewriting); phones live here")
    public_address: IPv4Address | None = Field(None, description="external address behind NAT, if any")
    sip_port: int = Field(5060, ge=1, le=65535, description="UDP port Asterisk takes SIP on")
    rtp_ports: RtpPorts = Field(default_factory=RtpPorts, description="UDP port range for call audio (RTP)")
    codecs: list[Codec] = Field(default_factory=lambda: ["alaw", "ulaw", "g722"], min_length=1,
                                description="audio codecs offered to phones, in order of preference")
    mac: str | None = Field(None, description="MAC of the PBX NIC, for Wake-on-LAN")
