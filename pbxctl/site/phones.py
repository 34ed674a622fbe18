"""Phones and gateways the site provisions, keyed by MAC."""

import re
from ipaddress import IPv4Address
from typing import Literal

from pydantic import Field, field_validator

from .base import DisplayName, ExtensionNumber, Model

MAC_RE = re.compile(r"^[0-9a-f]{12}$")


def normalise_mac(value: str) -> str:
    mac = re.sub(r"[:\-.]", "", value.strip()).lower()
    if not MAC_RE.match(mac):
        raise ValueError(f"'{value}' is not a MAC address (12 hex digits)")
    return mac


class Line(Model):
    extension: ExtensionNumber
    label: DisplayName | None = None


class Key(Model):
    type: Literal["blf", "speed_dial", "line"]
    extension: ExtensionNumber | None = None
    number: str | None = None
    label: DisplayName | None = None


class Phone(Model):
    mac: str
    model: str = Field(description="vendor model, e.g. cisco-spa502g, panasonic-kx-hdv130, eltex-vp-15p")
    name: DisplayName | None = None
    lines: list[Line] = Field(min_length=1)
    keys: list[Key] = Field(default_factory=list)
    language: Literal["ru", "en"] | None = Field(None, description="defaults to the site's language")
    vlan: int | None = Field(None, ge=1, le=4094)
    firmware: str | None = Field(None, description="firmware file name to offer the device")

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        return normalise_mac(value)


class Provisioning(Model):
    protocols: list[Literal["tftp", "http"]] = Field(default_factory=lambda: ["tftp", "http"], min_length=1)
    server: IPv4Address | None = Field(None, description="defaults to the PBX address")
    http_port: int = Field(80, ge=1, le=65535)
    http_auth: bool = Field(True, description="per-device credentials where the device supports them")
    resync_minutes: int = Field(60, ge=5, le=10080)
    ntp_server: str | None = Field(None, description="defaults to the PBX address")
    firmware_url: str | None = None
