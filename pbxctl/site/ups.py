"""The UPS (Network UPS Tools): when to shut down, how the server comes back."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import KeyProblem, Model


def _one_line(value: str) -> str:
    # written into ups.conf: a line break would start a setting or a section of its own
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{value!r} has a line break or control character, which ups.conf cannot carry")
    return value


def _driver_options(options: dict[str, str]) -> dict[str, str]:
    for name, value in options.items():
        if not re.fullmatch(r"[a-z0-9_.-]{1,40}", name):
            raise ValueError(f"'{name}' is not a driver option name (lower-case letters, digits, '_', '.', '-')")
        _one_line(value)
    return options


OneLine = Annotated[str, AfterValidator(_one_line)]


class ShutdownPolicy(Model):
    when: Literal["low_battery", "on_battery_for"] = Field(
        "low_battery", description="low_battery: when the UPS says so; on_battery_for: after minutes on battery")
    minutes: int | None = Field(None, ge=1, le=240, description="with on_battery_for: minutes before shutdown")

    @model_validator(mode="after")
    def _minutes_match(self) -> "ShutdownPolicy":
        if self.when == "on_battery_for" and self.minutes is None:
            raise KeyProblem("minutes", "'minutes' is required when 'when' is on_battery_for")
        if self.when == "low_battery" and self.minutes is not None:
            raise KeyProblem("minutes", "'minutes' only applies when 'when' is on_battery_for")
        return self


class Ipmi(Model):
    address: str | None = Field(None, description="BMC address; None means the local BMC via ipmitool")
    username: str | None = Field(None, description="IPMI user allowed to set the power-restore policy")


class Ups(Model):
    name: str = Field("ups", pattern=r"^[a-z0-9_-]+$", description="NUT's name for the UPS")
    driver: str = Field("usbhid-ups", pattern=r"^[a-z0-9_-]+$",
                        description="NUT driver (usbhid-ups, blazer_usb, snmp-ups, dummy-ups …)")
    port: str = Field("auto", pattern=r"^[^\s\"#=]+$", description="the driver's port (auto for USB)")
    description: OneLine = Field("", description="free text NUT shows for the UPS")
    driver_options: Annotated[dict[str, str], AfterValidator(_driver_options)] = Field(
        default_factory=dict, description="more ups.conf options for the driver, as name: value")
    mode: Literal["standalone", "netserver"] = Field(
        "standalone", description="standalone: only this server; netserver: other machines watch the UPS through it")
    shutdown: ShutdownPolicy = Field(default_factory=ShutdownPolicy,
                                     description="when the PBX shuts itself down on battery")
    offdelay: int = Field(20, ge=0, le=600, description="seconds the UPS waits before cutting output")
    ondelay: int = Field(30, ge=0, le=3600, description="seconds of mains before output returns")
    poweroff_wait: int = Field(180, ge=0, le=3600, description="power race: reboot if still up after this")
    finaldelay: int = Field(5, ge=0, le=60, description="seconds upsmon waits before the shutdown command")
    ipmi: Ipmi | None = Field(None, description="BMC present: set chassis power policy always-on")
    bios_power_restore: bool = Field(False, description="'restore on AC loss' confirmed on in BIOS")

    @model_validator(mode="after")
    def _delays(self) -> "Ups":
        if self.offdelay >= self.ondelay:
            raise KeyProblem("offdelay", f"offdelay ({self.offdelay}) must be below ondelay ({self.ondelay}), "
                             "or the UPS may restore power before it has cut it")
        return self
