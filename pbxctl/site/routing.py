"""Call routing: office hours, inbound routes, IVRs, ring groups, queues and outbound routes."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import ExtensionNumber, KeyProblem, Model, Name, Target, TimeOfDay, plain_text
from .extensions import RecordingPolicy
from .integrations import Cdr, CrmLookup, Webhook  # noqa: F401 (they live there; model.py and compile import them here)
from .paths import DataDirectory, Prompt

# written into a Set() of the dialplan: nothing Asterisk would read as an expression, a separator or a line end
NamePrefix = Annotated[str, Field(max_length=12), plain_text('"$[](){},;\\<>', "a caller name prefix")]
# the announcement goes into a Dial() option (A(:sound)): letters, digits and path characters only, nothing
# Dial would read as its own separator (':' '^' ',' '&') or Asterisk as an expression ('$' '[' ']')
Announcement = Annotated[Prompt, Field(pattern=r"^[A-Za-z0-9_./-]+$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TimeRange(Model):
    days: list[Weekday] = Field(min_length=1, description="weekdays this range applies to (mon … sun)")
    start: TimeOfDay = Field(alias="from", description="opening time, HH:MM")
    end: TimeOfDay = Field(alias="to", description="closing time, HH:MM")

    @model_validator(mode="after")
    def _ordered(self) -> "TimeRange":
        if self.end <= self.start:
            raise KeyProblem("to", f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self


class Schedule(Model):
    name: Name
    timezone: str | None = Field(None, description="defaults to the site's time zone")
    open: list[TimeRange] = Field(min_length=1, description="when the office is open")
    holidays: list[dt.date] = Field(default_factory=list, description="closed all day")


class InboundRoute(Model):
    did: str = Field(description="the number dialled, any usual form; stored as E.164")
    target: Target
    schedule: Name | None = Field(None, description="office hours; outside them → after_hours")
    after_hours: Target | None = Field(None, description="where calls go outside the schedule's hours")
    fallback: Target | None = Field(None, description="when nobody answers (duty manager)")
    crm_lookup: bool = Field(False, description="ask the CRM who handles this caller before routing")
    caller_name_prefix: NamePrefix | None = Field(None, description="shown before the caller name")


class IvrOption(Model):
    digit: str = Field(pattern=r"^[0-9*#]$", description="the key: 0-9, * or #")
    target: Target
    schedule: Name | None = Field(None, description="hours the key leads to target; outside them → after_hours")
    after_hours: Target | None = Field(None, description="where the key leads outside the schedule's hours")


class Ivr(Model):
    name: Name
    prompt: Prompt = Field(
        description="Asterisk sound name, or a sound file's path relative to the site file (.wav, .gsm …)")
    options: list[IvrOption] = Field(min_length=1, description="one target per key pressed")
    timeout: int = Field(5, ge=1, le=60, description="seconds to wait for a digit")
    retries: int = Field(2, ge=0, le=5, description="how often the prompt is repeated after a timeout or a wrong key")
    on_timeout: Target
    on_invalid: Target | None = Field(None, description="defaults to on_timeout")


class RingGroup(Model):
    name: Name
    strategy: Literal["ringall", "hunt", "memoryhunt"] = Field(
        "ringall", description="ringall: all at once; hunt: one after another; memoryhunt: adding one each round")
    members: list[ExtensionNumber] = Field(min_length=1, description="the extensions in the group")
    ring_time: int = Field(20, ge=5, le=300, description="seconds per member (hunt) or in all (ringall)")
    overflow: Target | None = Field(None, description="where the call goes when nobody answers")
    recording: RecordingPolicy | None = Field(
        None, description="record the group's calls (default: each extension's own policy)")
    schedule: Name | None = Field(None, description="hours the group is rung; outside them → after_hours")
    after_hours: Target | None = Field(None, description="where the call goes outside the schedule's hours "
                                       "(the group is not rung)")


class Queue(Model):
    name: Name
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"] = Field(
        "rrmemory", description="how the next agent is chosen (Asterisk's queue strategies)")
    members: list[ExtensionNumber] = Field(min_length=1, description="the agents' extensions")
    wrapup: int = Field(10, ge=0, le=600, description="seconds an agent rests after a call")
    agent_timeout: int = Field(15, ge=5, le=120,
                               description="seconds an agent's phone rings before the next one is tried")
    max_wait: int = Field(300, ge=10, le=3600, description="seconds before the caller overflows")
    overflow: Target | None = Field(None, description="where the call goes after max_wait")
    music: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,40}$",
                       description="music-on-hold class callers hear while waiting")
    recording: RecordingPolicy | None = Field(
        None, description="record the queue's calls (default: each extension's own policy)")


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
    recording: RecordingPolicy | None = Field(
        None, description="record calls on this route (default: each extension's own policy)")


class Recording(Model):
    format: Literal["wav", "wav49", "gsm"] = Field("wav", description="file format of recordings")
    retention_days: int = Field(90, ge=1, le=3650, description="recordings older than this are deleted")
    path: DataDirectory = Field("/var/spool/asterisk/monitor", description="directory on the PBX the recordings "
                                "are written to: its own, not a system directory or Asterisk's other data")
    announcement: Announcement | None = Field(
        None, description="played to an outside caller before a recorded inbound call is bridged ('this call is "
        "recorded'): an Asterisk sound name, or a sound file's path relative to the site file")

