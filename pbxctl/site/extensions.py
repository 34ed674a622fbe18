"""Extensions: the office's internal numbers."""

from typing import Literal

from pydantic import Field

from .base import DisplayName, ExtensionNumber, Model

RecordingPolicy = Literal["always", "never", "on_demand"]


class Extension(Model):
    number: ExtensionNumber
    name: DisplayName
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                              description="where voicemail and missed-call mails go")
    voicemail: bool = Field(True, description="a voicemail box for this extension")
    recording: RecordingPolicy = Field(
        "never", description="record this extension's calls: always, never or on_demand (*1 during a call)")
    mobile: str | None = Field(None, description="E.164 mobile for follow-me / FMC")
    max_contacts: int = Field(2, ge=1, le=10, description="devices that may register at once")
