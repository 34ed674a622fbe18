"""The PBX server: how to reach it and how Asterisk faces the networks."""

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, Field, model_validator

from .base import KeyProblem, Model
from .encryption import SipTls
from .gsm import GsmSource

Codec = Literal["alaw", "ulaw", "g722", "g729", "opus", "gsm"]
# the codecs whose translator modules.conf loads (codec_alaw, codec_ulaw, codec_g722, codec_gsm); Debian's
# Asterisk packages no codec_g729 or codec_opus, so those two pass through between devices that share them only
TRANSCODED = ("alaw", "ulaw", "g722", "gsm")
# the port Asterisk's HTTP server gives the CRM its recordings on (compile/pbx.py RECORDINGS_HTTP_PORT)
RECORDINGS_HTTP_PORT = 8088


def _not_freepbx(flavour: str) -> str:
    # FreePBX writes Asterisk's configuration from its own database and overwrites files it does not own: pbxctl
    # would have to drive FreePBX's modules (its bulk import) instead of templating the files. Its install comes
    # from FreePBX's own repository, which the lab and CI cannot reach: a flavour nothing could test stays refused
    if flavour != "asterisk":
        raise ValueError(f"flavour {flavour!r} is not supported yet: pbxctl writes Asterisk's configuration files "
                         "itself, and FreePBX would overwrite them from its database (and they its own); FreePBX "
                         "installs from its vendor's repository, which pbxctl's tests cannot reach, so none of its "
                         "behaviour could be verified")
    return flavour


# Releases `source: build` knows the sources of (tarball URL and sha256): pbxctl/build/releases.yml
RELEASES_FILE = Path(__file__).resolve().parent.parent / "build" / "releases.yml"


def _buildable(version: str | None) -> str | None:
    if version is None:
        return version
    known = list(yaml.safe_load(RELEASES_FILE.read_text()) or {})
    if version not in known:
        raise ValueError(f"no sources known for Asterisk {version} (pbxctl/build/releases.yml: {', '.join(known)})")
    return version


class Install(Model):
    source: Literal["distro", "build"] = Field("distro", description="distro: the distribution's Asterisk packages "
                                               "(Debian sid, Ubuntu); build: the pinned release below, compiled once "
                                               "on the control node into a .deb (Debian 12/13 have no Asterisk)")
    version: Annotated[str | None, AfterValidator(_buildable)] = Field(
        None, description="Asterisk release to build (source: build); changing it upgrades the PBX")
    gsm_sources: dict[Literal["chan_quectel", "chan_dongle"], GsmSource] = Field(
        default_factory=dict, description="source trees of the GSM channel drivers the trunks use (source: build): "
        "no distribution packages them, so each is compiled against the built Asterisk into a package of its own")

    @model_validator(mode="after")
    def _version_for_build(self) -> "Install":
        if self.source == "build" and self.version is None:
            raise KeyProblem("version", "source: build needs the Asterisk release to build, e.g. version: 22.10.1")
        if self.source == "distro" and self.version is not None:
            # the distribution decides its version; pinning another would be a promise apt cannot keep
            raise KeyProblem("version", "version is for source: build; distro installs and holds the distribution's")
        if self.source == "distro" and self.gsm_sources:
            raise KeyProblem("gsm_sources", "gsm_sources are built with Asterisk: they need source: build")
        return self


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
    flavour: Annotated[Literal["asterisk", "freepbx"], AfterValidator(_not_freepbx)] = Field(
        "asterisk", description="plain Asterisk (an existing FreePBX install is not supported yet)")
    install: Install = Field(default_factory=Install, description="where Asterisk comes from")
    address: IPv4Address | None = Field(None, description="LAN address phones use; defaults to host")
    local_networks: list[IPv4Network] = Field(default_factory=list, description="networks treated as local "
                                              "(no NAT rewriting); phones live here")
    public_address: IPv4Address | None = Field(None, description="external address behind NAT, if any")
    sip_port: int = Field(5060, ge=1, le=65535, description="UDP port Asterisk takes SIP on")
    tls: SipTls | None = Field(None, description="SIP over TLS (port 5061) for the extensions and trunks with "
                               "transport: tls; none: UDP only")
    rtp_ports: RtpPorts = Field(default_factory=RtpPorts, description="UDP port range for call audio (RTP)")
    codecs: list[Codec] = Field(default_factory=lambda: ["alaw", "ulaw", "g722"], min_length=1,
                                description="audio codecs offered to phones, in order of preference")
    mac: str | None = Field(None, description="MAC of the PBX NIC, for Wake-on-LAN")

    @model_validator(mode="after")
    def _ports_apart(self) -> "Pbx":
        if self.rtp_ports.start <= self.sip_port <= self.rtp_ports.end:
            # the firewall opens the RTP range to everyone: SIP inside it would be open to everyone too
            raise KeyProblem("sip_port", f"sip_port {self.sip_port} is inside rtp_ports ({self.rtp_ports.start}-"
                             f"{self.rtp_ports.end}), which the firewall opens to everyone; keep SIP outside it (5060 "
                             "is the usual port)")
        if not set(self.codecs) & set(TRANSCODED):
            raise KeyProblem("codecs", f"list one of {', '.join(TRANSCODED)} too: Asterisk here has no translator "
                             f"for {', '.join(self.codecs)}, so a call between devices without it would fail")
        return self
