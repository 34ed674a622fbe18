"""Extensions: the office's internal numbers."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from .base import DisplayName, ExtensionNumber, Model


def _no_mobile_yet(value: str | None) -> str | None:
    if value is not None:
        raise ValueError("mobile is not supported yet: no dialplan rings it (follow-me is planned); remove it for "
                         "now")
    return value


RecordingPolicy = Literal["always", "never", "on_demand"]


class Extension(Model):
    number: ExtensionNumber
    name: DisplayName
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                              description="where voicemail and missed-call mails go")
    voicemail: bool = Field(True, description="a voicemail box for this extension")
    recording: RecordingPolicy = Field(
        "never", description="record this extension's calls: always, never or on_demand (*1 during a call)")
    mobile: Annotated[str | None, AfterValidator(_no_mobile_yet)] = Field(
        None, description="a mobile for follow-me (not supported yet: nothing rings it)")
    max_contacts: int = Field(2, ge=1, le=10, description="devices that may register at once")
