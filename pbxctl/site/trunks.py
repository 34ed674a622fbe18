"""Trunks: SIP accounts (with registration or by IP) and GSM dongles chosen by IMEI."""

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ..numbers import NumberFormat
from .base import Model, Name, SipToken
from .encryption import MediaEncryption
from .pbx import TRANSCODED


def _no_tcp(transport: str) -> str:
    # plain TCP would need a transport of its own and protects nothing UDP doesn't: refused rather than sent as UDP
    if transport == "tcp":
        raise ValueError("transport 'tcp' is not supported yet: use 'udp', or 'tls' (with pbx.tls) for an encrypted "
                         "link")
    return transport


Transport = Annotated[Literal["udp", "tcp", "tls"], AfterValidator(_no_tcp)]


def _trunk_codec(codec: str) -> str:
    if codec in TRANSCODED:
        return codec
    if codec in ("g729", "opus"):
        raise ValueError(f"{codec} is not supported on a trunk yet: Debian's Asterisk has no {codec} translator, so "
                         f"calls to phones without it would fail; use {', '.join(TRANSCODED)}")
    raise ValueError(f"unknown codec {codec!r}: a trunk takes {', '.join(TRANSCODED)}")


def _host_without_port(host: str) -> str:
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and name and ":" not in name:
        raise ValueError(f"'{host}' carries a port: write host: {name} and port: {port}")
    return host


TrunkCodec = Annotated[str, AfterValidator(_trunk_codec)]
TrunkHost = Annotated[SipToken, AfterValidator(_host_without_port)]


class TrunkBase(Model):
    name: Name
    dids: list[str] = Field(default_factory=list, description="numbers this trunk delivers (any usual form)")
    channels: int = Field(2, ge=1, le=500, description="simultaneous calls the provider allows")
    inbound_format: NumberFormat = Field(NumberFormat.e164, description="how caller numbers arrive")
    outbound_format: NumberFormat = Field(NumberFormat.e164, description="how dialled numbers must be sent")
    caller_id: str | None = Field(None, description="number presented on calls out of this trunk")
    codecs: list[TrunkCodec] | None = Field(None, min_length=1, description="codecs for this provider, in order "
                                            f"(default: the PBX's): {', '.join(TRANSCODED)}")


class SipRegisterTrunk(TrunkBase):
    type: Literal["sip_register"] = Field(description="a SIP account the PBX registers to")
    host: TrunkHost = Field(description="the provider's SIP server (name or address; the port goes in `port`)")
    port: int = Field(5060, ge=1, le=65535, description="the provider's SIP port")
    transport: Transport = Field("udp", description="SIP transport to the provider: udp, or tls (pbx.tls; the "
                                 "provider's certificate is checked against the system's CAs and the site CA)")
    media_encryption: MediaEncryption = Field("none", description="sdes: SRTP with the provider (needs transport: "
                                              "tls)")
    username: SipToken = Field(description="the account's user name, as the provider gave it")
    auth_username: SipToken | None = Field(None, description="authentication user when it differs from username")
    from_domain: SipToken | None = Field(None, description="domain in From headers when the provider wants its own")
    expiration: int = Field(300, ge=60, le=3600, description="registration lifetime in seconds")
    match: list[IPv4Network] = Field(
        default_factory=list, description="provider networks its calls come from: the trunk then refuses SIP from "
        "anywhere else (without it, calls are taken from the addresses `host` resolves to and on our "
        "registration's line parameter)")
    caller_id_header: Literal["from", "pai"] = Field(
        "from", description="where the caller's number goes: 'from' puts it in From (and P-Asserted-Identity); "
        "'pai' keeps the account login in From, for providers that identify the account by it")


class SipIpTrunk(TrunkBase):
    type: Literal["sip_ip"] = Field(description="a provider that knows the PBX by its address (no registration)")
    host: TrunkHost = Field(description="the provider's SIP server (name or address; the port goes in `port`)")
    port: int = Field(5060, ge=1, le=65535, description="the provider's SIP port")
    transport: Transport = Field("udp", description="SIP transport to the provider: udp, or tls (pbx.tls; the "
                                 "provider's certificate is checked against the system's CAs and the site CA)")
    media_encryption: MediaEncryption = Field("none", description="sdes: SRTP with the provider (needs transport: "
                                              "tls)")
    match: list[IPv4Network] = Field(min_length=1, description="provider networks calls come from")
    username: SipToken | None = Field(None, description="outbound auth user, if the provider wants one")
    caller_id_header: Literal["from", "pai"] = Field(
        "from", description="where the caller's number goes: 'from' puts it in From (and P-Asserted-Identity); "
        "'pai' keeps the account login in From, for providers that identify the account by it")


class GsmDongleTrunk(TrunkBase):
    type: Literal["gsm_dongle"] = Field(description="a GSM modem on the PBX (Quectel or SIMCom module, chan_quectel)")
    imei: str = Field(pattern=r"^[0-9]{15}$", description="modem chosen by IMEI: USB paths move after a blip (udev "
                      "names its AT port /dev/modem/by-imei/<IMEI> from the modem's own answer)")
    imsi: str | None = Field(None, pattern=r"^[0-9]{15}$",
                             description="the SIM's IMSI (15 digits), when the modem is to be matched by its SIM")
    driver: Literal["chan_dongle", "chan_quectel"] = Field(
        "chan_quectel", description="Asterisk channel driver for the modem, built with Asterisk from "
        "pbx.install.gsm_sources (chan_dongle: not built yet)")


Trunk = Annotated[SipRegisterTrunk | SipIpTrunk | GsmDongleTrunk, Field(discriminator="type")]
