"""Numbering ranges for the guard: which region a dialled E.164 number belongs to, as dialplan pattern tables.

A calling code can be shared: +7 is Russia and Kazakhstan (and Abkhazia's +7840/+7940 inside Russia's plan),
+1 is the 25 NANP countries. The guard decides domestic or international by the region, not by the code, so a
Kazakh number from a Russian office is international. The tables are libphonenumber's metadata compiled for
the codes a site can reach (its own and those its routes allow); `region_by_tables` is the dialplan's lookup
in Python, so tests can hold the compiled tables against libphonenumber itself.
"""

from __future__ import annotations

from functools import cache

from phonenumbers import PhoneMetadata

from ..numbers import COUNTRY_PLANS, regions_of
from ..patterns import Sequence, asterisk_pattern, expand, intersect, prefixes

# every kind of number libphonenumber knows; a number matching none of them is in no range
NUMBER_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip",
                "pager", "uan", "voicemail")


def _lengths(desc, general) -> set[int]:
    return set(desc.possible_length or general.possible_length)


@cache
def valid_sequences(region: str) -> tuple[Sequence, ...]:
    """The national numbers valid in a region: some number type's range, within the general description."""
    metadata = PhoneMetadata.metadata_for_region(region)
    general = metadata.general_desc
    general_lengths = set(general.possible_length)
    found: set[Sequence] = set()
    for name in NUMBER_TYPES:
        desc = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        lengths = _lengths(desc, general) & general_lengths
        found.update(s for s in expand(desc.national_number_pattern) if len(s) in lengths)
    return intersect(tuple(found), expand(general.national_number_pattern))


@cache
def leading_sequences(region: str) -> tuple[Sequence, ...] | None:
    """A region that shares its code and is told apart by its first digits (KZ: 7, 33), or None."""
    leading = PhoneMetadata.metadata_for_region(region).leading_digits
    return prefixes(leading) if leading else None


def region_codes(entries: list[str]) -> list[str]:
    """allowed_countries entries (ISO regions like KZ, calling codes like 7 or +49) as regions, in order."""
    regions: list[str] = []
    for entry in entries:
        text = str(entry).strip().removeprefix("+")
        found = regions_of(text) if text.isdigit() else (text.upper(),) if text.upper() in COUNTRY_PLANS else ()
        regions.extend(r for r in found if r not in regions)
    return regions


def allowed_entry_problem(entry: str) -> str | None:
    """Why an allowed_countries entry is not a region or calling code, or None."""
    text = str(entry).strip().removeprefix("+")
    if text.isdigit() and regions_of(text):
        return None
    if not text.isdigit() and text.upper() in COUNTRY_PLANS and text == text.upper():
        return None
    return (f"'{entry}' is neither an ISO region (KZ, DE) nor a calling code in use (7, 49, 375)")


def tables(codes: list[str]) -> list[dict]:
    """Per calling code, its regions in libphonenumber's order with their patterns (asterisk__number_ranges).

    A region with leading digits claims every number starting with them and is then valid or not by its own
    ranges; the others (the code's main region first) claim a number by their ranges: libphonenumber's order
    in region_code_for_number.
    """
    out = []
    for code in dict.fromkeys(codes):
        regions = []
        for region in regions_of(code):
            leading = leading_sequences(region)
            regions.append({
                "region": region,
                "leading": [asterisk_pattern("+" + code, s, open_end=True) for s in leading] if leading else [],
                "valid": [asterisk_pattern("+" + code, s) for s in valid_sequences(region)],
            })
        out.append({"code": code, "regions": regions})
    return out


def region_by_tables(e164: str, compiled: list[dict]) -> str | None:
    """The dialplan's region lookup over compiled tables (None: in no range of a compiled code)."""
    for entry in compiled:
        if not e164.startswith("+" + entry["code"]):
            continue
        for region in entry["regions"]:
            if region["leading"]:
                if matches(e164, tuple(region["leading"])):
                    return region["region"] if matches(e164, tuple(region["valid"])) else None
            elif matches(e164, tuple(region["valid"])):
                return region["region"]
    return None


@cache
def _compiled(patterns: tuple[str, ...]):
    import re

    parts = []
    for pattern in patterns:
        body = pattern[1:]
        regex, i = "", 0
        while i < len(body):
            char = body[i]
            if char == "[":
                end = body.index("]", i)
                regex += "[" + body[i + 1:end] + "]"
                i = end
            else:
                regex += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", "!": "[0-9]*", "+": r"\+"}.get(char, char)
            i += 1
        parts.append(regex)
    return re.compile("^(?:" + "|".join(parts or ["(?!)"]) + ")$")


def matches(number: str, patterns: tuple[str, ...]) -> bool:
    """Asterisk's reading of the patterns (X, Z, N, [..], ! after the leading '_')."""
    return bool(_compiled(patterns).match(number))


