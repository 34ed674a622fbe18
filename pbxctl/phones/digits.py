"""What a phone dials at once: the site's numbering as a vendor-neutral digit map.

A desk phone sends a number when it matches a pattern no longer pattern could still match; anything else waits
for the inter-digit timer. So the map holds exactly the site's forms: its feature codes, the country's emergency
numbers (libphonenumber's short-number metadata), its extensions (by length and first digit), and the country's
national and international forms (trunk prefix + a national number of the usual length, international prefix +
digits). Each vendor writes it in its own syntax.
"""

from dataclasses import dataclass

from phonenumbers import PhoneMetadata

from .. import numbers

VOICEMAIL = "*97"  # the dialplan's own voicemail code (roles/asterisk extensions.conf: VoiceMailMain)
FEATURE_CODES = (VOICEMAIL,)


@dataclass(frozen=True)
class DigitMap:
    features: tuple[str, ...]  # literal codes: *97
    emergency: tuple[str, ...]  # literal numbers: 112, 101 …
    extensions: tuple[tuple[str, int], ...]  # (first digit, length): ("1", 3) = 100-199
    national: tuple[str, int | None]  # (trunk prefix, digits after it; None = variable)
    international: str  # the prefix before a country code: 810, 00, 011


def emergency_numbers(country: str) -> tuple[str, ...]:
    metadata = PhoneMetadata.short_metadata_for_region(country)
    if metadata is None or metadata.emergency is None:
        return ("112",)
    found = numbers._literals(metadata.emergency.national_number_pattern)
    return tuple(found) or ("112",)


def digit_map(extensions: list[str], country: str) -> DigitMap:
    plan = numbers.plan(country)
    groups = sorted({(number[0], len(number)) for number in extensions if number.isdigit()})
    # a fixed length only where the country has one usual length (RU 10; DE's 4-15 are variable)
    fixed = plan.nsn_length if len(plan.national_lengths) <= 2 else None
    return DigitMap(FEATURE_CODES, emergency_numbers(country), tuple(groups), (plan.trunk_prefix, fixed),
                    plan.international_prefix)
