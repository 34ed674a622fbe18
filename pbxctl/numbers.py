"""Numbers: parsing, validating and normalising with libphonenumber's metadata (the `phonenumbers` package).

Everything inside pbxctl is E.164. A site's numbers (DIDs, mobiles, caller IDs) are read in any of the country's
usual forms and must be real numbers (a range the country has assigned). Trunks send and expect numbers in one
of four formats. The dialplan's own normalisation is compiled from the same metadata (`dialplan_plan`), and
`dialplan_to_e164` / `dialplan_inbound_to_e164` are that dialplan's rule sets in Python (what phones dial; what
trunks send, in each trunk's inbound format), so the two can be checked against each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from .patterns import expand

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
# what people write between digits; anything else (letters, '*', '#', a second '+') is not a number
SEPARATORS_RE = re.compile(r"[\s()\-./]")


class NumberFormat(StrEnum):
    """How a trunk delivers or expects a number (shown for Russia, country code 7, trunk prefix 8)."""

    e164 = "e164"  # +74951234567
    international = "international"  # 74951234567: country code without '+'
    national = "national"  # 84951234567: trunk prefix + national number
    subscriber = "subscriber"  # 4951234567: national significant number only


@dataclass(frozen=True)
class CountryPlan:
    """A country's dialling plan as libphonenumber describes it."""

    region: str  # ISO 3166 code: RU
    code: str  # country calling code, no '+': 7
    trunk_prefix: str  # written before a national number inside the country: 8 (none: '')
    trunk_prefixes: tuple[str, ...]  # every trunk prefix a number may carry when read: BY 0, 8, 80
    international_prefix: str  # dialled before a foreign country code: 810
    international_prefixes: tuple[str, ...]  # every one that is read as such: RU 810 (8~10 dialled without the wait)
    national_lengths: tuple[int, ...]  # lengths of national significant numbers: RU 10, 14

    @property
    def nsn_length(self) -> int:
        """The usual length of a national number (the most common one where several exist)."""
        return 10 if 10 in self.national_lengths else max(self.national_lengths)


def _literals(pattern: str | None, limit: int = 64) -> list[str]:
    """Every string a small metadata regex matches ('0|80?' → 0, 8, 80); none when it isn't small."""
    if not pattern:
        return []
    try:
        sequences = expand(pattern, limit)
    except ValueError:
        return []
    out: set[str] = set()
    for sequence in sequences:
        if sum(len(chars) for chars in sequence) > 10 * len(sequence) or len(sequence) > 8:
            return []
        strings = [""]
        for chars in sequence:
            strings = [s + c for s in strings for c in sorted(chars)]
            if len(strings) > limit:
                return []
        out.update(strings)
    return sorted(out, key=lambda s: (len(s), s))


def _national_write_prefix(region: str, national_prefix: str) -> str:
    """What goes before a national number written nationally: libphonenumber's own national format of the
    region's example number, less the number (BY writes 8 029…: '80'); the bare trunk prefix where that format
    leaves it out (US)."""
    example = phonenumbers.example_number(region)
    if example is None:
        return national_prefix
    written = re.sub(r"\D", "", phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
    nsn = phonenumbers.national_significant_number(example)
    prefix = written[: -len(nsn)] if written.endswith(nsn) else ""
    return prefix if prefix.startswith(national_prefix) and prefix else national_prefix


@cache
def plan(region: str) -> CountryPlan:
    """The plan of a region libphonenumber knows; KeyError for any other."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or region not in phonenumbers.SUPPORTED_REGIONS:
        raise KeyError(region)
    preferred = (metadata.preferred_international_prefix or "").replace("~", "")
    idd = _literals(metadata.international_prefix)
    international = tuple(dict.fromkeys([p for p in (preferred, *idd) if p.isdigit()]))
    national = _national_write_prefix(region, metadata.national_prefix or "")
    parsing = _literals(metadata.national_prefix_for_parsing) if metadata.national_prefix_for_parsing else []
    trunk = tuple(dict.fromkeys(p for p in (national, metadata.national_prefix or '', *parsing) if p.isdigit()))
    return CountryPlan(region=region, code=str(metadata.country_code), trunk_prefix=national,
                       trunk_prefixes=trunk, international_prefix=international[0] if international else "00",
                       international_prefixes=international or ("00",),
                       national_lengths=tuple(sorted(metadata.general_desc.possible_length)))


class _Plans(Mapping[str, CountryPlan]):
    """Every region libphonenumber knows, by ISO code (the model's list of countries)."""

    def __getitem__(self, region: str) -> CountryPlan:
        return plan(region)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(r for r in phonenumbers.SUPPORTED_REGIONS if r != "001"))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, region: object) -> bool:
        return isinstance(region, str) and region in phonenumbers.SUPPORTED_REGIONS and region != "001"


COUNTRY_PLANS: Mapping[str, CountryPlan] = _Plans()


def regions_of(code: str) -> tuple[str, ...]:
    """The regions sharing a calling code, the main one first: '7' → RU, KZ."""
    return tuple(r for r in COUNTRY_CODE_TO_REGION_CODE.get(int(code), ()) if r != "001")


def _invalid(number: str, country: str) -> ValueError:
    example = phonenumbers.example_number(country)
    shown = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164) if example else "+…"
    return ValueError(f"'{number}' is not a valid phone number for {country} (expected a number in use, in E.164 "
                      f"like {shown})")


def _digits(number: str) -> str:
    """The number without separators; ValueError when anything but digits and one leading '+' remains."""
    text = SEPARATORS_RE.sub("", str(number))
    if not re.fullmatch(r"\+?[0-9]+", text):
        raise ValueError(text)
    return text


def _strip_international(digits: str, country_plan: CountryPlan) -> str | None:
    for prefix in sorted(country_plan.international_prefixes, key=len, reverse=True):
        if digits.startswith(prefix) and len(digits) > len(prefix):
            return "+" + digits[len(prefix):]
    return None


@lru_cache(maxsize=65536)
def to_e164(number: str, country: str, fmt: NumberFormat | None = None) -> str:
    """A real number written in any of the country's usual forms, as E.164; ValueError for anything else.

    With `fmt` (how a trunk is known to send numbers) the form is not guessed: this is the exact inverse of
    format_number, foreign numbers included.
    """
    country_plan = plan(country)
    try:
        digits = _digits(number)
    except ValueError:
        raise _invalid(number, country) from None
    if fmt is NumberFormat.e164 and not digits.startswith("+"):
        raise _invalid(number, country)
    if fmt is NumberFormat.international and not digits.startswith("+"):
        digits = "+" + digits
    elif fmt in (NumberFormat.national, NumberFormat.subscriber) and not digits.startswith("+"):
        international = _strip_international(digits, country_plan)
        if international:
            digits = international
        elif fmt is NumberFormat.subscriber:
            digits = f"+{country_plan.code}{digits}"
    try:
        parsed = phonenumbers.parse(digits, country)
    except phonenumbers.NumberParseException:
        raise _invalid(number, country) from None
    result = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(parsed) or not E164_RE.match(result):
        raise _invalid(number, country)
    return result


def region_of(e164: str) -> str | None:
    """The region a valid E.164 number belongs to (+77… → KZ, +7495… → RU), None for a number in no range."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164
    return phonenumbers.region_code_for_number(parsed) if canonical and phonenumbers.is_valid_number(parsed) else None


def national_number(e164: str) -> str:
    """The national significant number of an E.164 number (+74951234567 → 4951234567)."""
    return phonenumbers.national_significant_number(phonenumbers.parse(e164))


def format_number(e164: str, fmt: NumberFormat, country: str) -> str:
    """Write an E.164 number the way a trunk expects it; foreign numbers keep their country code."""
    country_plan = plan(country)
    return format_with(e164, fmt, country_plan.code, country_plan.trunk_prefix, country_plan.international_prefix)


def format_with(e164: str, fmt: NumberFormat, code: str, trunk_prefix: str, international_prefix: str) -> str:
    """format_number from the country's prefixes as given (the dialplan's compiled ones, for its mirror)."""
    if fmt is NumberFormat.e164:
        return e164
    if fmt is NumberFormat.international:
        return e164[1:]
    if not e164.startswith("+" + code):
        return international_prefix + e164[1:]
    nsn = e164[len(code) + 1:]
    return trunk_prefix + nsn if fmt is NumberFormat.national else nsn


# --- the dialplan's normalisation, from the same metadata ---

def dialplan_plan(country: str) -> dict:
    """What the dialplan's sub-to-e164 and sub-format-out need (asterisk__country)."""
    country_plan = plan(country)
    return {
        "region": country_plan.region,
        "code": country_plan.code,
        "trunk_prefix": country_plan.trunk_prefix,
        # longest first: the dialplan tries them in this order
        "trunk_prefixes": sorted(country_plan.trunk_prefixes, key=len, reverse=True),
        "international_prefix": country_plan.international_prefix,
        "international_prefixes": sorted(country_plan.international_prefixes, key=len, reverse=True),
        "national_lengths": list(country_plan.national_lengths),
        "nsn_length": country_plan.nsn_length,
    }


def dialplan_to_e164(written: str, country: str) -> str:
    """sub-to-e164 in Python: the same rules in the same order, so tests can hold it against libphonenumber.

    Separators (space, brackets, '-', '.', '/') go; a '+' number stays; an international prefix gives '+'; a
    trunk prefix, the country code or nothing before a national number of a possible length gives +<code>;
    anything else is kept (with anything but digits, letters, '+*#_.-' dropped), and the guard refuses what is
    not E.164.
    """
    table = dialplan_plan(country)
    if re.sub(r"[+0-9 ()\-./]", "", written) or not re.sub(r"[^+0-9]", "", written):
        return re.sub(r"[^+0-9*#A-Za-z_.\-]", "", written)
    n = re.sub(r"[^+0-9]", "", written)
    if n.startswith("+") or not n.isdigit():
        return n
    lengths, code = table["national_lengths"], table["code"]
    for prefix in table["international_prefixes"]:
        if n.startswith(prefix) and len(n) - len(prefix) >= 7:
            return "+" + n[len(prefix):]
    for prefix in table["trunk_prefixes"]:
        if n.startswith(prefix) and len(n) - len(prefix) in lengths:
            return f"+{code}{n[len(prefix):]}"
    if n.startswith(code) and len(n) - len(code) in lengths:
        return "+" + n
    if len(n) in lengths:
        return f"+{code}{n}"
    return n


def dialplan_inbound_to_e164(written: str, country: str, fmt: NumberFormat) -> str:
    """sub-inbound-e164 in Python: a number as a trunk sent it, read in the trunk's inbound_format.

    A plain digit string (separators aside) is read as the format says, the inverse of format_number:
    international → '+' and the digits; national → an international prefix gives '+', a trunk prefix before a
    national number of a possible length gives +<code>; subscriber → an international prefix gives '+', else
    +<code> and the digits. Everything else (a '+', a name, digits the format does not fit) goes by
    dialplan_to_e164's usual rules, so nothing a provider sends is dropped.
    """
    table = dialplan_plan(country)
    n = re.sub(r"[^0-9]", "", written)
    if n and not re.sub(r"[0-9 ()\-./]", "", written):
        if fmt is NumberFormat.international:
            return "+" + n
        if fmt in (NumberFormat.national, NumberFormat.subscriber):
            for prefix in table["international_prefixes"]:
                if n.startswith(prefix) and len(n) - len(prefix) >= 7:
                    return "+" + n[len(prefix):]
            if fmt is NumberFormat.subscriber:
                return f"+{table['code']}{n}"
            for prefix in table["trunk_prefixes"]:
                if n.startswith(prefix) and len(n) - len(prefix) in table["national_lengths"]:
                    return f"+{table['code']}{n[len(prefix):]}"
    return dialplan_to_e164(written, country)
