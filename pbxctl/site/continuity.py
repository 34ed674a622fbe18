"""Keeping the office's data: scheduled backups to a remote machine."""

import re

from pydantic import Field, field_validator

from .base import Model

# user@host:/path, as rsync over SSH takes it; the path is absolute so a backup never lands in a home by chance
SSH_TARGET = re.compile(r"^(?P<user>[a-z_][a-z0-9_-]{0,31})@(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))"
                        r":(?P<path>/[A-Za-z0-9._/-]{0,200})$")
SCHEDULE = re.compile(r"^(hourly|daily|weekly|([01]\d|2[0-3]):[0-5]\d)$")


class ScheduledBackup(Model):
    target: str = Field(description="where archives go, rsync over SSH: user@host:/absolute/path (the key is "
                        "pbxctl's: secrets.yml backup.ssh; put its public half in that user's authorized_keys)")
    port: int = Field(22, ge=1, le=65535, description="the target's SSH port")
    schedule: str = Field("daily", description="hourly, daily (at 02:30), weekly (Monday 02:30) or HH:MM (daily)")
    keep: int = Field(14, ge=1, le=365, description="archives kept, on the PBX and on the target, with the "
                      "earlier ones they draw on (older ones are deleted from both)")
    full_every: int = Field(7, ge=1, le=365, description="every Nth archive is a full one; the ones between store "
                            "only the files new or changed since the archive before (recordings, the bulk, cross "
                            "once) and name the archives holding the rest; 1: every archive full")

    @field_validator("target")
    @classmethod
    def _ssh_target(cls, value: str) -> str:
        if "://" in value:
            raise ValueError(f"'{value}': only user@host:/path (rsync over SSH), not {value.split('://')[0]}://")
        if not SSH_TARGET.match(value):
            raise ValueError(f"'{value}' is not user@host:/absolute/path")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not SCHEDULE.match(value):
            raise ValueError(f"'{value}' is not hourly, daily, weekly or a time of day HH:MM")
        return value
