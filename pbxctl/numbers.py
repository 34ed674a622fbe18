"""Number plans: how each country writes numbers, so trunks can be normalised to E.164 and back."""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class NumberFormat(StrEnum):
    """How a trunk delivers or expects a number (shown for Russia, country code 7, trunk prefix 8)."""

    e164 = "e164"  # +74951234567
    international = "international"  # 74951234567: country code without '+'
    national = "national"  # 84951234567: trunk prefix + national number
    subscriber = "subscriber"  # 4951234567: national significant number only


@dataclass(frozen=True)
class CountryPlan:
    code: str  # country calling code, no '+'
    trunk_prefix: str  # dialled before a national number inside the country
    nsn_length: int  # length of the national significant number
    international_prefix: str  # dialled before a foreign country code
    fixed_length: bool = True  # every national number has nsn_length digits (not so in DE, GB)


COUNTRY_PLANS: dict[str, CountryPlan] = {
    "RU": CountryPlan("7", "8", 10, "810"),
    "KZ": CountryPlan("7", "8", 10, "810"),
    "BY": CountryPlan("375", "80", 9, "810"),  # 8 029 123-45-67
    "UA": CountryPlan("380", "0", 9, "00"),
    "GB": CountryPlan("44", "0", 10, "00", fixed_length=False),
    "DE": CountryPlan("49", "0", 10, "00", fixed_length=False),
    "US": CountryPlan("1", "1", 10, "011"),
}


@lru_cache(maxsize=65536)
def to_e164(number: str, country: str, fmt: NumberFormat | None = None) -> str:
    """Normalise a number written in any of the country's usual forms; raise ValueError if it can't be.

    With `fmt` (how a trunk is known to send numbers) the form is not guessed: this is the exact inverse of
    format_number, foreign numbers included.
    """
    plan = COUNTRY_PLANS[country]
    digits = re.sub(r"[\s()\-.]", "", number)
    if fmt is not None and not digits.startswith("+"):
        result = _from_format(digits, plan, fmt)
    elif digits.startswith("+"):
        result = digits
    elif digits.startswith(plan.international_prefix) and len(digits) > len(plan.international_prefix) + 7:
        result = "+" + digits[len(plan.international_prefix):]
    elif len(digits) == plan.nsn_length + len(plan.trunk_prefix) and digits.startswith(plan.trunk_prefix):
        result = "+" + plan.code + digits[len(plan.trunk_prefix):]
    elif len(digits) == plan.nsn_length + len(plan.code) and digits.startswith(plan.code):
        result = "+" + digits
    elif len(digits) == plan.nsn_length:
        result = "+" + plan.code + digits
    else:
        result = digits
    domestic = result.startswith("+" + plan.code)
    if not E164_RE.match(result) or (domestic and plan.fixed_length
                                     and len(result) != 1 + len(plan.code) + plan.nsn_length):
        raise ValueError(f"'{number}' is not a valid phone number for {country} (expected E.164 like "
                         f"+{plan.code}{'9' * plan.nsn_length})")
    return result


def _from_format(digits: str, plan: CountryPlan, fmt: NumberFormat) -> str:
    if fmt is NumberFormat.international:
        return "+" + digits
    if fmt is NumberFormat.e164:
        return digits  # no '+': not E.164, refused by the caller
    if digits.startswith(plan.international_prefix):
        return "+" + digits[len(plan.international_prefix):]
    if fmt is NumberFormat.national:
        return "+" + plan.code + digits.removeprefix(plan.trunk_prefix) if digits.startswith(
            plan.trunk_prefix) else digits
    return "+" + plan.code + digits


def format_number(e164: str, fmt: NumberFormat, country: str) -> str:
    """Write an E.164 number the way a trunk expects it; foreign numbers keep their country code."""
    plan = COUNTRY_PLANS[country]
    domestic = e164.startswith("+" + plan.code)
    nsn = e164[len(plan.code) + 1:]
    if fmt is NumberFormat.e164:
        return e164
    if fmt is NumberFormat.international:
        return e164[1:]
    if not domestic:
        return plan.international_prefix + e164[1:]
    if fmt is NumberFormat.national:
        return plan.trunk_prefix + nsn
    return nsn
