"""Links to other sites' PBXs: a PJSIP trunk each way, and the internal numbers that live over there.

A link is named by the other site (its site.name), so both ends agree on the endpoint names and on the one
shared secret (secrets.yml: links.<other site>.password, the same value in both sites' secrets). Calls coming
in over a link reach this site's extensions only: never a provider, never a third site.
"""

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field

from ..problems import Problem
from .base import Model, Name

if TYPE_CHECKING:
    from .model import Site

NUMBERS_RE = r"^[0-9][0-9X]{1,5}$"


class Link(Model):
    site: Name = Field(description="the other site's name (its site.name): names the trunk at both ends")
    host: str | None = Field(None, min_length=1, max_length=120, pattern=r"^[A-Za-z0-9.-]+$",
                             description="the other PBX's address; in a fleet run, taken from that site's "
                                         "pbx.address when left out")
    port: int = Field(5060, ge=1, le=65535, description="the other PBX's SIP port")
    numbers: list[str] = Field(min_length=1, description="internal numbers on the other PBX: digits, X for any "
                               "digit (\"3XX\" is 300-399); dialled here, they ring there")

    def matches(self, number: str) -> bool:
        return any(_matches(pattern, number) for pattern in self.numbers)


def _matches(pattern: str, number: str) -> bool:
    return len(pattern) == len(number) and all(p == "X" and n.isdigit() or p == n
                                               for p, n in zip(pattern, number, strict=True))


def dial_pattern(numbers: str) -> str:
    """The Asterisk extension of a link's numbers: a literal number, or _3XX."""
    return f"_{numbers}" if "X" in numbers else numbers


def linked(site: "Site", number: str) -> bool:
    return any(link.matches(number) for link in site.links)


def link_problems(site: "Site") -> Iterator[Problem]:
    seen: dict[str, int] = {}
    own = [e.number for e in site.extensions]
    for index, link in enumerate(site.links):
        if link.site == site.site.name:
            yield Problem(("links", index, "site"), "a site does not link to itself")
        if link.site in seen:
            yield Problem(("links", index, "site"), f"'{link.site}' is already linked by links[{seen[link.site]}]")
        seen.setdefault(link.site, index)
        for number_index, numbers in enumerate(link.numbers):
            path = ("links", index, "numbers", number_index)
            if not re.match(NUMBERS_RE, numbers):
                yield Problem(path, f"'{numbers}' is not a number pattern: 2-6 digits, X for any digit (3XX)")
                continue
            mine = [n for n in own if _matches(numbers, n)]
            if mine:
                yield Problem(path, f"'{numbers}' takes this site's own extension {mine[0]} to '{link.site}'")
            for other_index, other in enumerate(site.links[:index]):
                if any(_overlap(numbers, theirs) for theirs in other.numbers):
                    yield Problem(path, f"'{numbers}' overlaps numbers of links[{other_index}] ('{other.site}')")


def _overlap(a: str, b: str) -> bool:
    return len(a) == len(b) and all(x == y or "X" in (x, y) for x, y in zip(a, b, strict=True))
