"""Links to other sites' PBXs: a PJSIP trunk each way, and the internal numbers that live over there.

A link is named by the other site (its site.name), so both ends agree on the endpoint names and on the one
shared secret (secrets.yml: links.<other site>.password, the same value in both sites' secrets). Calls coming
in over a link reach this site's extensions only: never a provider, never a third site.

A TLS link (transport: tls) signals over both PBXs' TLS transports (pbx.tls) and sends SRTP: the other PBX's
certificate is checked against the other site's CA, which a fleet run copies into secrets.yml
(links.<other site>.ca_cert) and a site alone names in links[].ca.
"""

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..problems import Problem
from .base import Model, Name
from .encryption import TLS_PORT
from .paths import RepoPath

if TYPE_CHECKING:
    from .model import Site

NUMBERS_RE = r"^[0-9][0-9X]{1,5}$"


class Link(Model):
    site: Name = Field(description="the other site's name (its site.name): names the trunk at both ends")
    host: str | None = Field(None, min_length=1, max_length=120, pattern=r"^[A-Za-z0-9.-]+$",
                             description="the other PBX's address; in a fleet run, taken from that site's "
                                         "pbx.address when left out")
    port: int | None = Field(None, ge=1, le=65535,
                             description="the other PBX's SIP port; none: 5060 (udp) or 5061 (tls), in a fleet run "
                                         "that site's pbx.sip_port or pbx.tls.port")
    transport: Literal["udp", "tls"] = Field(
        "udp", description="udp: SIP and audio in clear (only on a network of your own); tls: SIP over TLS with the "
                           "other PBX's certificate checked, audio in SRTP; both sites need pbx.tls")
    ca: RepoPath | None = Field(
        None, description="tls: the other site's CA certificate (PEM, a file beside the site file) its PBX's "
                          "certificate must be signed by; none: the one a fleet run copied into secrets.yml "
                          "(links.<site>.ca_cert)")
    numbers: list[str] = Field(min_length=1, description="internal numbers on the other PBX: digits, X for any "
                               "digit (\"3XX\" is 300-399); dialled here, they ring there")

    def matches(self, number: str) -> bool:
        return any(_matches(pattern, number) for pattern in self.numbers)


def link_port(link: Link) -> int:
    return link.port or (TLS_PORT if link.transport == "tls" else 5060)


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
        if link.transport == "tls" and site.pbx.tls is None:
            yield Problem(("links", index, "transport"), "transport tls needs pbx.tls (the PBX's TLS transport and "
                          "its certificate) at both sites: add `tls: {}` under pbx")
        if link.ca and link.transport != "tls":
            yield Problem(("links", index, "ca"), "a CA certificate is for a TLS link only: set transport: tls")
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
