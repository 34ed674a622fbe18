"""Cross-checks of the call features an extension carries (its mobile), and the outbound route a mobile takes.

The mobile is rung through an outbound route like any call out, so what the toll-fraud guard would refuse at
call time (a premium or blocked prefix, a foreign number the route does not allow, a number in no range) is
refused here at validate time: a mobile the guard would always refuse would only ever ring nothing.
"""

import re
from collections.abc import Iterator

import phonenumbers

from ..numbers import to_e164
from ..problems import Problem
from ..security import refused, refused_prefixes
from ..security.ranges import region_codes
from .model import Site

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
