"""Call features: pickup groups, call parking, conferences (the `features` section), and the cross-checks of
what an extension carries (its mobile), with the outbound route a mobile takes.

The mobile is rung through an outbound route like any call out, so what the toll-fraud guard would refuse at
call time (a premium or blocked prefix, a foreign number the route does not allow, a number in no range) is
refused here at validate time: a mobile the guard would always refuse would only ever ring nothing.
Feature codes (pickup *8 and **<ext>, do-not-disturb *78/*79, call forward *72/*90/*52) are fixed: README.
A mobile with dial_out calls one of the site's DIDs to dial out as its extension: it is known by its number, so no
two extensions may share it, and its PIN (secrets.yml) is what caller ID spoofing cannot give; the lock below is
fixed too (README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import phonenumbers
from pydantic import Field

from ..numbers import to_e164
from ..problems import Problem
from ..security import refused, refused_prefixes
from ..security.ranges import region_codes
from .base import ExtensionNumber, Model, Name

if TYPE_CHECKING:
    from .model import Site


class PickupGroup(Model):
    name: Name
    members: list[ExtensionNumber] = Field(min_length=2, description="extensions that pick up each other's "
                                           "ringing calls with *8")


class Parking(Model):
    number: ExtensionNumber = Field("700", description="transfer a call here to park it; the PBX says its slot")
    slots: int = Field(5, ge=1, le=50, description="parking slots, numbered from number + 1: dial one to take "
                       "the call back")
    timeout: int = Field(60, ge=10, le=600, description="seconds a parked call waits before it rings back the one "
                         "who parked it")


class Conference(Model):
    number: ExtensionNumber = Field(description="dialled to join the room")
    name: Name
    max_members: int = Field(20, ge=2, le=100, description="callers the room holds at once")


class Features(Model):
    pickup_groups: list[PickupGroup] = Field(default_factory=list, description="extensions that answer each "
                                             "other's calls with *8 (any extension takes one call with **<ext>)")
    parking: Parking | None = Field(None, description="call parking: transfer to its number, take back by slot")
    conferences: list[Conference] = Field(default_factory=list, description="conference rooms (ConfBridge)")

# a dial-out mobile: PIN tries a call; wrong PINs within WINDOW seconds that lock its dial-out for LOCK seconds
DIAL_OUT_TRIES = 3
DIAL_OUT_FAILURES = 5
DIAL_OUT_WINDOW = 900
DIAL_OUT_LOCK = 1800

_PATTERN_CHARS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


def route_regex(pattern: str) -> re.Pattern:
    """An outbound route's E.164 pattern (+7XXXXXXXXXX, +7495X., +X.) as a regex over E.164 numbers."""
    body, open_end = pattern[1:].removesuffix("."), pattern.endswith(".")
    text = "".join(_PATTERN_CHARS.get(c, re.escape(c)) for c in body)
    return re.compile(r"\+" + text + ("[0-9]*" if open_end else ""))


def mobile_route(site: Site, extension: str, number: str):
    """The outbound route an extension's call to this E.164 number takes: the first route of the site, in order,
    open to the extension with a pattern matching it (as the dialplan's outbound-N contexts search), or None."""
    for route in site.outbound_routes:
        if route.extensions is not None and extension not in route.extensions:
            continue
        if any(route_regex(p).fullmatch(number) for p in route.patterns if p.startswith("+")):
            return route
    return None


def guard_refusal(site: Site, route, number: str) -> str | None:
    """Why the outbound guard would refuse this E.164 number on this route, or None (caps and hours aside)."""
    blocked = [str(p) for p in site.security.blocked_prefixes]
    entry = refused(number, refused_prefixes(blocked))
    if entry:
        return f"{number} is a refused destination ({entry['name']}, {entry['prefix']})"
    parsed = phonenumbers.parse(number)
    region = phonenumbers.region_code_for_number(parsed)
    if not region or not phonenumbers.is_valid_number(parsed):
        return f"{number} is in no numbering range: the guard refuses it"
    if region != site.site.country and region not in region_codes(route.allowed_countries):
        return (f"{number} is a number of {region}: route '{route.name}' does not allow it (allowed_countries), "
                "so the guard refuses every call to it")
    return None


def feature_problems(site: Site) -> Iterator[Problem]:
    dial_out: dict[str, str] = {}
    for index, ext in enumerate(site.extensions):
        if ext.mobile is None:
            continue
        path = ("extensions", index, "mobile", "number")
        try:
            number = to_e164(ext.mobile.number, site.site.country)
        except ValueError as error:
            yield Problem(path, str(error))
            continue
        route = mobile_route(site, ext.number, number)
        if route is None:
            yield Problem(path, f"no outbound route open to extension {ext.number} reaches {number}: the mobile "
                          "is rung through one (its trunks, caller ID and toll-fraud guard)")
        elif problem := guard_refusal(site, route, number):
            yield Problem(path, problem)
        if ext.mobile.dial_out:
            # the caller's number is all that tells whose PIN to ask: one mobile, one extension
            if number in dial_out:
                yield Problem(("extensions", index, "mobile", "dial_out"), f"{number} already dials out as "
                              f"extension {dial_out[number]}: a mobile dials out as one extension only")
            dial_out.setdefault(number, ext.number)
    yield from _feature_numbers(site)


def feature_numbers(site: Site) -> dict[str, str]:
    """Every number the features take in the dialplan → what takes it (the parking lot, its slots, the rooms)."""
    taken: dict[str, str] = {}
    parking = site.features.parking
    if parking is not None:
        taken[parking.number] = "features.parking.number"
        for slot in range(int(parking.number) + 1, int(parking.number) + parking.slots + 1):
            taken.setdefault(str(slot).zfill(len(parking.number)), "a slot of features.parking")
    for index, room in enumerate(site.features.conferences):
        taken.setdefault(room.number, f"features.conferences[{index}]")
    return taken


def _feature_numbers(site: Site) -> Iterator[Problem]:
    extensions = {e.number for e in site.extensions}
    for index, group in enumerate(site.features.pickup_groups):
        for member_index, member in enumerate(group.members):
            if member not in extensions:
                yield Problem(("features", "pickup_groups", index, "members", member_index),
                              f"extension '{member}' is not defined")
    parking = site.features.parking
    if parking is not None:
        last = int(parking.number) + parking.slots
        if len(str(last)) > len(parking.number):
            yield Problem(("features", "parking", "slots"), f"{parking.slots} slots after {parking.number} "
                          f"run past {len(parking.number)} digits")
        for number in sorted(extensions):
            if int(parking.number) <= int(number) <= last and len(number) == len(parking.number):
                yield Problem(("features", "parking", "number"), f"the lot {parking.number} and its slots "
                              f"(to {last}) take extension {number}'s number")
                break
    seen: dict[str, int] = {}
    for index, room in enumerate(site.features.conferences):
        path = ("features", "conferences", index, "number")
        if room.number in extensions:
            yield Problem(path, f"{room.number} is an extension's number")
        elif room.number in seen:
            yield Problem(path, f"{room.number} is already features.conferences[{seen[room.number]}]")
        elif parking is not None and int(parking.number) <= int(room.number) <= int(parking.number) + parking.slots:
            yield Problem(path, f"{room.number} is the parking lot's or one of its slots")
        seen.setdefault(room.number, index)
