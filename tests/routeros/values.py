"""How RouterOS normalises values it stores, so a print gives back what a real router would.

Only the conversions that bite idempotency in practice are modelled: booleans, bandwidths,
time intervals, /32 host addresses in address lists and DHCP option values.
"""

from __future__ import annotations

import ipaddress
import re

TRUE_WORDS = {"yes", "true"}
FALSE_WORDS = {"no", "false"}


class Refused(Exception):
    """A value RouterOS would refuse; the message is the !trap text."""


def to_wire(value: object) -> str:
    """Python value from the collection's field data → the string RouterOS prints."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def boolean(name: str, value: str) -> str:
    low = value.lower()
    if low in TRUE_WORDS:
        return "true"
    if low in FALSE_WORDS:
        return "false"
    raise Refused(f"value of {name} must be yes or no")


def integer(name: str, value: str) -> str:
    try:
        return str(int(value, 0))
    except ValueError:
        raise Refused(f"value of {name} must be a number") from None


_RATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_RATE_MULT = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def bandwidth(name: str, value: str) -> str:
    """RouterOS stores bit rates as plain integers: max-limit=10M prints back as 10000000."""
    match = _RATE.match(value.strip())
    if not match:
        raise Refused(f"invalid value for argument {name}")
    number, unit = match.groups()
    return str(int(float(number) * _RATE_MULT[unit.lower()]))


_TIME_UNITS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_TIME_PART = re.compile(r"(\d+)(ms|w|d|h|m|s)")
_CLOCK = re.compile(r"^(?:(\d+)d\s*)?(\d{1,2}):(\d{2}):(\d{2})$")


def interval(name: str, value: str) -> str:
    """Intervals print in RouterOS 7 style: 60s → 1m, 01:30:00 → 1h30m, 0 → 0s."""
    text = value.strip()
    if text in ("none", "never", "startup"):
        return text
    clock = _CLOCK.match(text)
    if clock:
        days, hours, minutes, seconds = (int(g or 0) for g in clock.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000
    elif text.isdigit():
        total = int(text) * 1000
    else:
        parts = _TIME_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise Refused(f"invalid value for argument {name}")
        total = sum(int(n) * _TIME_UNITS[u] for n, u in parts)
    if total == 0:
        return "0s"
    out = []
    for unit, size in _TIME_UNITS.items():
        count, total = divmod(total, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def host_address(name: str, value: str) -> str:
    """Address lists keep single hosts without the /32 suffix."""
    text = value.strip()
    if text.endswith("/32"):
        text = text[:-3]
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        elif "-" in text:
            first, last = text.split("-", 1)
            ipaddress.ip_address(first)
            ipaddress.ip_address(last)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        # A DNS name is allowed in address lists; RouterOS resolves it later.
        if not re.match(r"^[A-Za-z0-9.-]+$", text):
            raise Refused(f"invalid value for argument {name}") from None
    return text


def interface_address(name: str, value: str) -> str:
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        raise Refused(f"invalid value for argument {name}") from None
    return value if "/" in value else f"{value}/32"


def network_of(address: str) -> str:
    return str(ipaddress.ip_interface(address).network.network_address)


_QUOTED = re.compile(r"^s?'([^']*)'$")
_HEX = re.compile(r"^0x([0-9a-fA-F]*)$")
_VARIABLE = re.compile(r"^\$\([A-Z_]+\)$")


def dhcp_option_raw(value: str) -> str:
    """The raw-value RouterOS derives from an option value; refuses what RouterOS refuses.

    Strings must be quoted ('http://pbx/' or s'...'): an unquoted URL is the classic mistake.
    """
    if value == "":
        return ""
    if _VARIABLE.match(value):
        return ""
    quoted = _QUOTED.match(value)
    if quoted:
        return quoted.group(1).encode().hex()
    hexa = _HEX.match(value)
    if hexa and len(hexa.group(1)) % 2 == 0:
        return hexa.group(1).lower()
    try:
        return ipaddress.IPv4Address(value).packed.hex()
    except ValueError:
        pass
    if value.isdigit():
        return int(value).to_bytes(4, "big").hex()
    raise Refused("failure: invalid value")
