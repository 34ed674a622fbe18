"""Toll-fraud guard data and helpers: the refused-prefix list and the alert events the PBX sends."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

PREMIUM_PREFIXES_FILE = Path(__file__).with_name("premium_prefixes.yml")

# What the PBX's alert script sends (JSON body of the webhook, syslog message, e-mail subject).
ALERT_EVENTS = {
    "invalid_number": "a dialled string that is not a number (letters, '*', '#', a second '+', not E.164)",
    "blocked_destination": "a call to a refused destination (premium/high-fraud list or a blocked prefix)",
    "unknown_destination": "a number in no numbering range of its country code",
    "international_refused": "an international call the route does not allow",
    "dial_string_mismatch": "the string a trunk would be sent reads as another number (810…, 00…)",
    "international_hours": "an international call outside the allowed hours",
    "global_cap": "the PBX-wide limit of simultaneous outbound calls was hit",
    "route_cap": "a route's limit of simultaneous calls was hit",
    "outbound_minutes": "outbound minutes in the last hour went over the site's threshold",
    "mobile_pin_failed": "a wrong PIN from a dial-out mobile's number (its caller ID may be spoofed)",
    "mobile_dial_out_locked": "a dial-out mobile's dial-out locked after too many wrong PINs",
}


def e164_prefix(text: str) -> str:
    """'+882', '882', '00882', '+7 809' → '+882' / '+7809'. Raises ValueError on anything else."""
    digits = re.sub(r"[\s()-]", "", str(text))
    if digits.startswith("00"):
        digits = digits[2:]
    digits = digits.removeprefix("+")
    if not digits.isdigit() or digits.startswith("0"):
        raise ValueError(f"{text!r} is not an international prefix (+<country code><digits>)")
    return "+" + digits


@cache
def premium_prefixes() -> tuple[dict, ...]:
    """The maintained list shipped with pbxctl: {prefix, name, source} each."""
    data = yaml.safe_load(PREMIUM_PREFIXES_FILE.read_text(encoding="utf-8"))
    return tuple({"prefix": e164_prefix(p["prefix"]), "name": p["name"], "source": p["source"]}
                 for p in data["prefixes"])


def refused_prefixes(extra: list[str]) -> list[dict]:
    """The built-in list plus a site's own blocked prefixes, without duplicates, shortest first.

    A prefix covered by a shorter one is dropped (the shorter one already refuses it)."""
    entries = {p["prefix"]: p for p in premium_prefixes()}
    for text in extra:
        prefix = e164_prefix(text)
        entries.setdefault(prefix, {"prefix": prefix, "name": "site's blocked_prefixes", "source": "site"})
    kept: list[dict] = []
    for prefix in sorted(entries, key=lambda p: (len(p), p)):
        if not any(prefix.startswith(k["prefix"]) for k in kept):
            kept.append(entries[prefix])
    return kept


def refused(number: str, prefixes: list[dict]) -> dict | None:
    """The entry refusing this E.164 number, or None (what the dialplan's guard decides, for tests and docs)."""
    return next((p for p in prefixes if number.startswith(p["prefix"]) and len(number) > len(p["prefix"])), None)
