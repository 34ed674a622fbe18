"""Phones and gateways the site provisions, keyed by MAC."""

import re
from ipaddress import IPv4Address
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from .base import DisplayName, ExtensionNumber, KeyProblem, Model, SipToken
from .catalogue import MODELS
from .urls import FirmwareUrl

MAC_RE = re.compile(r"^[0-9a-f]{12}$")


def normalise_mac(value: str) -> str:
    mac = re.sub(r"[:\-.]", "", value.strip()).lower()
    if not MAC_RE.match(mac):
        raise ValueError(f"'{value}' is not a MAC address (12 hex digits)")
    return mac


class Line(Model):
    extension: ExtensionNumber
    label: DisplayName | None = Field(None, description="text shown for the line (default: the extension's name)")


class Key(Model):
    type: Literal["blf", "speed_dial", "line"] = Field(
        description="blf: an extension's busy lamp; speed_dial: a number; line: another line")
    extension: ExtensionNumber | None = Field(None, description="the extension a blf or line key is for")
    number: str | None = Field(None, description="the number a speed_dial key calls")
    label: DisplayName | None = Field(None, description="text shown beside the key")


class Handset(Model):
    """A DECT handset of a base station (KX-TGP600, Yealink W-series), numbered from 1 in the order given."""

    lines: list[ExtensionNumber] = Field(min_length=1, description="the base's lines this handset rings for and may "
                                                                   "call out on (extensions of the base's lines)")
    outgoing: ExtensionNumber | None = Field(None, description="the line it calls out on by default (default: its "
                                                               "first line)")
    name: DisplayName | None = Field(None, description="shown on the handset where the model can show one")

    @model_validator(mode="after")
    def _outgoing_is_one_of_its_lines(self) -> "Handset":
        if self.outgoing is not None and self.outgoing not in self.lines:
            raise KeyProblem("outgoing", f"'{self.outgoing}' is not one of this handset's lines "
                                         f"({', '.join(self.lines)})")
        return self


FIRMWARE_VERSION = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$"


class Phone(Model):
    mac: str = Field(description="the device's MAC address (any usual notation)")
    model: str = Field(description="vendor model, e.g. cisco-spa502g, panasonic-kx-hdv130, eltex-vp-15p")
    name: DisplayName | None = Field(None, description="a name for the device (shown where the model can show one)")
    lines: list[Line] = Field(min_length=1, description="the extensions registered on this device, first line first")
    keys: list[Key] = Field(default_factory=list, description="programmable keys: busy lamps, speed dials, extra lines")
    language: Literal["ru", "en"] | None = Field(None, description="defaults to the site's language")
    vlan: int | None = Field(None, ge=1, le=4094, description="voice VLAN the phone tags its traffic with")
    firmware: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                                 description="firmware file name to offer the device (under firmware_url)")
    firmware_version: str | None = Field(None, pattern=FIRMWARE_VERSION,
                                         description="the version that firmware file holds, as the device reports it "
                                                     "(e.g. 7.6.2e, 01.133): the device upgrades only while it runs "
                                                     "another; required with firmware")
    handsets: list[Handset] = Field(default_factory=list, description="DECT bases: each handset's lines, in handset "
                                                                      "order (none: the base's factory mapping)")

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        return normalise_mac(value)

    @model_validator(mode="after")
    def _firmware_and_handsets(self) -> "Phone":
        if self.firmware and not self.firmware_version:
            # without it the device can't tell the file from what it runs: it would fetch it at every resync
            raise KeyProblem("firmware_version", "required with firmware: the version the file holds")
        if self.firmware_version and not self.firmware:
            raise KeyProblem("firmware_version", "only applies with firmware")
        model = MODELS.get(self.model)
        if not self.handsets or model is None:  # an unknown model is reported by the site checks
            return self
        if not model.handsets:
            raise KeyProblem("handsets", f"{self.model} is no DECT base: it has no handsets")
        if len(self.handsets) > model.handsets:
            raise KeyProblem("handsets", f"{self.model} takes {model.handsets} handsets, {len(self.handsets)} given")
        own = [line.extension for line in self.lines]
        for number, handset in enumerate(self.handsets, 1):
            stray = [e for e in handset.lines if e not in own]
            if stray:
                raise KeyProblem("handsets", f"handset {number}: {', '.join(stray)} not among this base's lines "
                                             f"({', '.join(own)})")
        return self


class Provisioning(Model):
    protocols: list[Literal["tftp", "https"]] = Field(
        default_factory=lambda: ["tftp", "https"], min_length=1,
        description="tftp: only the secret-free model-level files; https: every file, a device's own only to its "
                    "login (`http` is read as https: no file is served over plain HTTP)")
    server: IPv4Address | None = Field(None, description="defaults to the PBX address")
    https_port: int = Field(443, ge=1, le=65535, validation_alias=AliasChoices("https_port", "http_port"),
                            description="the phone files' HTTPS port (`http_port` is read as this)")
    http_auth: bool = Field(True, description="a device's own files only to its own login (MAC + secrets.yml); "
                                              "must stay on: they carry its SIP password")
    resync_minutes: int = Field(60, ge=5, le=10080, description="how often phones fetch their configuration again")
    ntp_server: SipToken | None = Field(None, description="a name or address; defaults to the PBX address")
    firmware_url: FirmwareUrl | None = Field(None,
                                     description="where phones fetch firmware from (none: firmware is left alone)")
    eltex_option43: bool = Field(False, description="hand Eltex devices their file by DHCP option 43 (experimental: "
                                                    "Eltex's archive layout is not verified, see the README)")
    yealink_aes: bool = Field(False, description="encrypt each Yealink's own file (AES-128) with a key of its own, "
                                                 "kept in secrets.yml and entered at staging: the file is unreadable "
                                                 "at rest and to anyone without the key")

    @field_validator("protocols", mode="before")
    @classmethod
    def _https(cls, value: object) -> object:
        # plain HTTP provisioning is gone (device files carry credentials): an older site's `http` means the web
        # server, which is HTTPS now; an upgrade, never a downgrade
        if isinstance(value, list):
            return list(dict.fromkeys("https" if item == "http" else item for item in value))
        return value
