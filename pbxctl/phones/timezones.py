"""An IANA zone as phones understand it: a fixed UTC offset plus, where the zone has one, a yearly DST rule.

Phones don't carry tz databases; each vendor wants "offset + start/end rule". The rule is read from the POSIX TZ
string at the end of the system's TZif file (the one the C library uses for future dates), so it is the current
rule of the zone and doesn't depend on today's date: rendering stays byte-for-byte reproducible.
"""

import contextlib
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path


@dataclass(frozen=True)
class Change:
    """A DST boundary: the `ordinal` `weekday` of `month` at `minutes` local wall-clock time (before the change)."""

    month: int  # 1-12
    ordinal: int  # 1-4, or 5 for "last" (POSIX Mm.5.d and every vendor's "last")
    weekday: int  # 0 = Sunday … 6 = Saturday (POSIX numbering)
    minutes: int  # 0-1439


@dataclass(frozen=True)
class Dst:
    start: Change
    end: Change
    save: int  # minutes added while DST is on


@dataclass(frozen=True)
class Zone:
    name: str
    posix: str  # e.g. "MSK-3", "CET-1CEST,M3.5.0,M10.5.0/3"
    offset: int  # standard time, minutes east of UTC
    dst: Dst | None


_NAME = r"(?:<[^>]+>|[A-Za-z]{3,})"
_OFFSET = r"[+-]?\d{1,3}(?::\d{2}){0,2}"
_POSIX = re.compile(rf"^({_NAME})({_OFFSET})(?:({_NAME})({_OFFSET})?(?:,(.+),(.+))?)?$")
_RULE = re.compile(rf"^M(\d{{1,2}})\.([1-5])\.([0-6])(?:/({_OFFSET}))?$")


def _minutes(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 60 + parts[1])


def _change(text: str) -> Change | None:
    match = _RULE.match(text)
    if not match:
        return None  # Jn / n day-of-year rules: no vendor here can express them
    month, week, weekday, time = match.groups()
    minutes = _minutes(time) if time else 120  # POSIX default 02:00
    if not 0 <= minutes < 24 * 60:
        return None  # e.g. Greenland's "/-1", Israel's "/26": outside what phones accept
    return Change(int(month), int(week), int(weekday), minutes)


def parse_posix(name: str, posix: str) -> Zone:
    match = _POSIX.match(posix)
    if not match:
        raise ValueError(f"time zone {name}: cannot read its rule '{posix}'")
    _, std_offset, dst_name, dst_offset, start, end = match.groups()
    offset = -_minutes(std_offset)  # POSIX offsets are west-positive
    dst = None
    if dst_name and start and end:
        save = (-_minutes(dst_offset) - offset) if dst_offset else 60
        begin, finish = _change(start), _change(end)
        if begin and finish and save > 0:
            dst = Dst(begin, finish, save)
    return Zone(name, posix, offset, dst)


def _tzif_files(name: str) -> Iterator[bytes]:
    """The zone's TZif data where zoneinfo itself looks: the system's TZPATH, then the tzdata package (a
    dependency, for hosts without a system tz database). zoneinfo has no API for the POSIX rule phones need."""
    for root in zoneinfo.TZPATH:
        path = Path(root) / name
        if path.is_file():
            yield path.read_bytes()
    with contextlib.suppress(ModuleNotFoundError, OSError):
        yield files("tzdata.zoneinfo").joinpath(*name.split("/")).read_bytes()


def _tzif_footer(name: str) -> str:
    for data in _tzif_files(name):
        if data[:4] == b"TZif" and data[4:5] >= b"2":
            return data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii")
    raise ValueError(f"time zone {name}: no TZif v2+ data under {', '.join(zoneinfo.TZPATH) or '(no TZPATH)'} "
                     "nor in the tzdata package")


@lru_cache(maxsize=64)
def zone(name: str) -> Zone:
    return parse_posix(name, _tzif_footer(name))
