"""Call routing: office hours, inbound routes, IVRs, ring groups, queues and outbound routes."""

import datetime as dt
from ipaddress import IPv4Network
from typing import Literal

from pydantic import Field, model_validator

from .base import ExtensionNumber, KeyProblem, Model, Name, SipToken, Target, TimeOfDay
from .extensions import RecordingPolicy
from .urls import PlainUrl, SecretAuth

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TimeRange(Model):
    days: list[Weekday] = Field(min_length=1)
    start: TimeOfDay = Field(alias="from")
    end: TimeOfDay = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> "TimeRange":
        if self.end <= self.start:
            raise KeyProblem("to", f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self


class Schedule(Model):
    name: Name
    timezone: str | None = Field(None, description="defaults to the site's time zone")
    open: list[TimeRange] = Field(min_length=1)
    holidays: list[dt.date] = Field(default_factory=list, description="closed all day")


class InboundRoute(Model):
    did: str = Field(description="the number dialled, any usual form; stored as E.164")
    target: Target
    schedule: Name | None = Field(None, description="office hours; outside them → after_hours")
    after_hours: Target | None = None
    fallback: Target | None = Field(None, description="when nobody answers (duty manager)")
    crm_lookup: bool = Field(False, description="ask the CRM who handles this caller before routing")
    caller_name_prefix: str | None = Field(None, max_length=12, description="shown before the caller name")


class IvrOption(Model):
    digit: str = Field(pattern=r"^[0-9*#]$")
    target: Target


class Ivr(Model):
    name: Name
    prompt: SipToken = Field(description="Asterisk sound name, or a path to a file in the site repo")
    options: list[IvrOption] = Field(min_length=1)
    timeout: int = Field(5, ge=1, le=60, description="seconds to wait for a digit")
    retries: int = Field(2, ge=0, le=5)
    on_timeout: Target
    on_invalid: Target | None = Field(None, description="defaults to on_timeout")


class RingGroup(Model):
    name: Name
    strategy: Literal["ringall", "hunt", "memoryhunt"] = "ringall"
    members: list[ExtensionNumber] = Field(min_length=1)
    ring_time: int = Field(20, ge=5, le=300, description="seconds per member (hunt) or in all (ringall)")
    overflow: Target | None = None
    recording: RecordingPolicy | None = None


class Queue(Model):
    name: Name
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"] = "rrmemory"
    members: list[ExtensionNumber] = Field(min_length=1)
    wrapup: int = Field(10, ge=0, le=600, description="seconds an agent rests after a call")
    agent_timeout: int = Field(15, ge=5, le=120)
    max_wait: int = Field(300, ge=10, le=3600, description="seconds before the caller overflows")
    overflow: Target | None = None
    music: str = "default"
    recording: RecordingPolicy | None = None


class OutboundRoute(Model):
    name: Name
    patterns: list[str] = Field(min_length=1, description="E.164 patterns: +7XXXXXXXXXX, +7495X., +X. (a final '.' "
                                "is any number of digits up to E.164's 15)")
    trunks: list[Name] = Field(min_length=1, description="tried in order; busy/congestion → next")
    caller_id: str | None = Field(None, description="number presented; a trunk's own caller_id wins")
    allowed_countries: list[str] = Field(default_factory=list,
                                         description="regions allowed beyond the site's own, by numbering range: "
                                         "ISO codes (KZ, DE) or calling codes (7, 375: every region sharing it)")
    max_channels: int | None = Field(None, ge=1, le=500, description="concurrent calls on this route")
    international_hours: Name | None = Field(None, description="schedule for international calls")
    extensions: list[ExtensionNumber] | None = Field(None, description="who may use it (default: all)")
    recording: RecordingPolicy | None = None


class Recording(Model):
    format: Literal["wav", "wav49", "gsm"] = "wav"
    retention_days: int = Field(90, ge=1, le=3650)
    path: str = "/var/spool/asterisk/monitor"


class Webhook(Model):
    url: PlainUrl
    timeout: int = Field(5, ge=1, le=60)
    auth: SecretAuth | None = Field(None, description="how the token in secrets.yml "
                                    "(integrations.cdr_webhook.token) is sent")


class Cdr(Model):
    csv: bool = True
    webhook: Webhook | None = Field(None, description="JSON POST after each call (CRM)")
    recording_base_url: PlainUrl | None = Field(None, description="how the CRM reaches recordings; defaults to "
                                           "https://<pbx address>:8088/recordings/ (the site CA's certificate)")
    crm_networks: list[IPv4Network] = Field(default_factory=list, description="where the CRM fetches recordings "
                                            "from, beyond the office's networks (the firewall opens port 8088 to them)")


class CrmLookup(Model):
    url: PlainUrl = Field(description="GET with ?number=+7…; answer names an extension")
    timeout: int = Field(2, ge=1, le=10)
    auth: SecretAuth | None = Field(None, description="how the token in secrets.yml (integrations.crm.token) "
                                    "is sent")
