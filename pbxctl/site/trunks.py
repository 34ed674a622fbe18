"""Trunks: SIP accounts (with registration or by IP) and GSM dongles chosen by IMEI."""

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import Field

from ..numbers import NumberFormat
from .base import Model, Name, SipToken


class TrunkBase(Model):
    name: Name
    dids: list[str] = Field(default_factory=list, description="numbers this trunk delivers (any usual form)")
    channels: int = Field(2, ge=1, le=500, description="simultaneous calls the provider allows")
    inbound_format: NumberFormat = Field(NumberFormat.e164, description="how caller numbers arrive")
    outbound_format: NumberFormat = Field(NumberFormat.e164, description="how dialled numbers must be sent")
    caller_id: str | None = Field(None, description="number presented on calls out of this trunk")
    codecs: list[str] | None = None


class SipRegisterTrunk(TrunkBase):
    type: Literal["sip_register"]
    host: SipToken
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    username: SipToken
    auth_username: SipToken | None = None
    from_domain: SipToken | None = None
    expiration: int = Field(300, ge=60, le=3600)
    caller_id_header: Literal["from", "pai"] = Field(
        "from", description="where the caller's number goes: 'from' puts it in From (and P-Asserted-Identity); "
        "'pai' keeps the account login in From, for providers that identify the account by it")


class SipIpTrunk(TrunkBase):
    type: Literal["sip_ip"]
    host: SipToken
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    match: list[IPv4Network] = Field(min_length=1, description="provider networks calls come from")
    username: SipToken | None = Field(None, description="outbound auth user, if the provider wants one")
    caller_id_header: Literal["from", "pai"] = Field(
        "from", description="where the caller's number goes: 'from' puts it in From (and P-Asserted-Identity); "
        "'pai' keeps the account login in From, for providers that identify the account by it")


class GsmDongleTrunk(TrunkBase):
    type: Literal["gsm_dongle"]
    imei: str = Field(pattern=r"^[0-9]{15}$", description="modem chosen by IMEI: USB paths move after a blip")
    imsi: str | None = Field(None, pattern=r"^[0-9]{15}$")
    driver: Literal["chan_dongle", "chan_quectel"] = "chan_dongle"


Trunk = Annotated[SipRegisterTrunk | SipIpTrunk | GsmDongleTrunk, Field(discriminator="type")]
