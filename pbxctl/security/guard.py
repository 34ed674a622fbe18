"""The outbound guard's decisions in Python, over the compiled role variables: what the dialplan does
(extensions_guard.conf: sub-dialled, sub-outbound-guard, sub-outbound-sent), step for step, so the compiled tables
and a corpus of dial strings can be checked without a PBX, and the lab test can say what it expects.

Caps and international hours are left out: they depend on live calls and the clock.
"""

from __future__ import annotations

import re

from ..numbers import E164_RE, NumberFormat, dialplan_to_e164, format_with
from . import refused
from .ranges import matches, region_by_tables

# what sub-dialled lets through FILTER: digits, '+', '*', '#' and the separators people type
TYPED_RE = re.compile(r"[+0-9*# ()\-./]*")


def dialled_number(dialled: str, country: str) -> str | None:
    """sub-dialled: the E.164 number a dialled string stands for, or None (refused as invalid_number)."""
    if not TYPED_RE.fullmatch(dialled):
        return None
    shown = re.sub(r"[ ()\-./]", "", dialled)
    if not re.fullmatch(r"[+0-9]*", shown):
        return None
    number = dialplan_to_e164(shown, country)
    return number if E164_RE.match(number) else None


def decide(number: str, route: dict, variables: dict) -> str | None:
    """sub-outbound-guard for an E.164 number on a compiled route: the refusal event, or None (allowed)."""
    if not E164_RE.match(number):
        return "invalid_number"
    if refused(number, [{"prefix": p} for p in variables["security__blocked_prefixes"]]):
        return "blocked_destination"
    ranges = variables["asterisk__number_ranges"]
    region = region_by_tables(number, ranges)
    if region is None and any(number.startswith("+" + entry["code"]) for entry in ranges):
        return "unknown_destination"
    if region == variables["asterisk__country"]["region"]:
        return None
    if region is None or region not in route.get("allowed_regions", []):
        return "international_refused"
    return None


def provider_reading(sent: str, fmt: str, country: dict) -> str | None:
    """The E.164 number a provider reads in what it is sent, in the trunk's format (sub-outbound-sent)."""
    fmt = NumberFormat(fmt)
    if fmt is NumberFormat.e164:
        return sent if E164_RE.match(sent) else None
    if not sent.isdigit():
        return None
    if fmt is NumberFormat.international:
        return "+" + sent
    for prefix in country["international_prefixes"]:
        if sent.startswith(prefix):
            return "+" + sent[len(prefix):]
    if fmt is NumberFormat.subscriber:
        return f"+{country['code']}{sent}"
    if not sent.startswith(country["trunk_prefix"]):
        return None
    return f"+{country['code']}{sent[len(country['trunk_prefix']):]}"


def format_out(number: str, fmt: str, country: dict) -> str:
    """sub-format-out: an E.164 number as a trunk of this format is sent it, from the compiled prefixes."""
    return format_with(number, NumberFormat(fmt), country["code"], country["trunk_prefix"],
                       country["international_prefix"])


def judge(dialled: str, route_name: str, variables: dict) -> tuple[str | None, str | None, dict[str, str]]:
    """A dialled string on a route: (refusal event or None, the E.164 number, {trunk: string it is sent})."""
    country = variables["asterisk__country"]
    number = dialled_number(dialled, country["region"])
    if number is None:
        return "invalid_number", None, {}
    route = next(r for r in variables["asterisk__outbound_routes"] if r["name"] == route_name)
    event = decide(number, route, variables)
    if event:
        return event, number, {}
    sent = {}
    for leg in route["legs"]:
        string = format_out(number, leg["format"], country)
        if provider_reading(string, leg["format"], country) != number:
            return "dial_string_mismatch", number, {}
        sent[leg["trunk"]] = string
    return None, number, sent


def route_for(number: str, extension: str, variables: dict) -> str | None:
    """The route a number takes from an extension: the first of its routes whose patterns match (the dialplan's
    outbound-N context includes them in site order)."""
    for outbound_set in variables["asterisk__outbound_sets"]:
        if extension in outbound_set["extensions"]:
            for name in outbound_set["routes"]:
                route = next(r for r in variables["asterisk__outbound_routes"] if r["name"] == name)
                if any(matches(number, (p,)) for p in route["dial_patterns"]):
                    return name
    return None


def call(dialled: str, extension: str, variables: dict) -> tuple[str | None, str | None, dict[str, str]]:
    """A dialled string from an extension, as the PBX handles it: (refusal event or None, number, {trunk: sent}).
    'no_route' when no route open to the extension matches (the dialplan hangs up with 404 then)."""
    number = dialled_number(dialled, variables["asterisk__country"]["region"])
    if number is None:
        return "invalid_number", None, {}
    route = route_for(number, extension, variables)
    if route is None:
        return "no_route", number, {}
    return judge(dialled, route, variables)
