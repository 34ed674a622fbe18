"""The call explain follows, as given on the command line: checked here, so a bad one is a user error (exit 3)."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..problems import UserError

NO_KEY = "-"  # in --press: the caller presses nothing at that prompt (the IVR times out)
KEYS = set("0123456789*#")


@dataclass
class Call:
    did: str  # as dialled or as the trunk sends it (any usual form)
    caller: str | None = None  # the caller's number, any usual form; None: unknown
    at: dt.datetime | None = None  # aware; None: now
    trunk: str | None = None  # the trunk it arrives on: the DID and caller are read in its inbound_format
    crm_answer: str | None = None  # the extension the CRM names; "none": it names nobody; None: not given
    presses: list[str] | None = None  # one key (or NO_KEY) per IVR prompt, in order; None: not given
    answer: str | None = None  # the extension that picks up when it rings (the others don't)
    no_answer: bool = False  # nobody picks up anywhere


def parse_at(text: str | None, timezone: str) -> dt.datetime:
    """--at: an ISO date and time (2026-12-01T10:00, '2026-12-01 10:00', with or without an offset or Z); without
    one it is the site's local time. None: now."""
    zone = ZoneInfo(timezone)
    if text is None:
        return dt.datetime.now(zone).replace(second=0, microsecond=0)
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError([f"--at: '{text}' is not a date and time; write it as 2026-12-01T10:00 (site time, "
                         f"{timezone}) or with an offset, 2026-12-01T10:00+03:00"]) from None
    if "T" not in text and " " not in text.strip():
        raise UserError([f"--at: '{text}' has no time of day; write it as {text.strip()}T10:00"])
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def parse_presses(text: str | None) -> list[str] | None:
    """--press 1,2 / --press -,1 (nothing at the first prompt, then 1): one key per prompt."""
    if text is None:
        return None
    keys = [key.strip() for key in text.split(",")]
    bad = [key for key in keys if key not in KEYS and key != NO_KEY]
    if bad:
        raise UserError([f"--press: {', '.join(repr(k) for k in bad)}: one key per prompt (0-9, * or #), or "
                         f"'{NO_KEY}' for none, separated by commas"])
    return keys
