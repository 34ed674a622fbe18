"""Shared building blocks of the site model: strict base class and reusable field types."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

TARGET_KINDS = ("extension", "group", "queue", "ivr", "voicemail", "hangup")
TARGET_RE = re.compile(r"^(extension|group|queue|ivr|voicemail):[A-Za-z0-9_.-]+$|^hangup$")
NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class KeyProblem(ValueError):
    """A model-level check that is about one key: the loader reports it at that key, not at its parent."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class Model(BaseModel):
    """Every section rejects unknown keys: a typo must fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


def _target_hint(value: object) -> str:
    # a bare number is an extension far more often than anything else: say the form that works
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit():
        return f"'{value}' is not a call target: write extension:{value} (or voicemail:{value}, group:NAME …)"
    return (f"'{value}' is not a call target; use extension:N, group:NAME, queue:NAME, ivr:NAME, voicemail:N or "
            "hangup")


def _number_as_target(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(_target_hint(value))
    return value


def _check_target(value: str) -> str:
    if not TARGET_RE.match(value):
        raise ValueError(_target_hint(value))
    return value


def _check_hhmm(value: str) -> str:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise ValueError(f"'{value}' is not a time of day (HH:MM, 00:00-23:59)")
    return value


Target = Annotated[str, BeforeValidator(_number_as_target), AfterValidator(_check_target),
                   Field(description="extension:N, group:NAME, queue:NAME, ivr:NAME, voicemail:N or hangup")]
Name = Annotated[str, Field(pattern=NAME_RE, description="lower-case identifier")]
ExtensionNumber = Annotated[str, Field(pattern=r"^[0-9]{2,6}$", description="internal number, 2-6 digits")]
TimeOfDay = Annotated[str, AfterValidator(_check_hhmm)]


def plain_text(forbidden: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        bad = sorted({c for c in value if c in forbidden or ord(c) < 32})
        if bad:
            raise ValueError(f"'{value}' has characters {what} can't carry: {' '.join(repr(c) for c in bad)}")
        return value

    return AfterValidator(check)


# Free text that ends up inside Asterisk and phone configuration: no line breaks, quotes or ';' (a comment there)
DisplayName = Annotated[str, Field(min_length=1, max_length=60, description="shown on phones"),
                        plain_text('"<>;\\', "a display name")]
# Words written into SIP configuration as they are: user names, hosts, sound names
SipToken = Annotated[str, Field(min_length=1, max_length=120), plain_text(' "<>;\\,()', "a SIP setting")]


def target_kind(target: str) -> str:
    return target.split(":", 1)[0]


def target_ref(target: str) -> str:
    return target.split(":", 1)[1] if ":" in target else ""
