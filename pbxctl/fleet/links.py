"""What a fleet knows about its links that one site alone does not: where the other end runs (its site's PBX
address, wherever an overlay put it) and the one shared password, written into both sites' secrets.yml."""

import secrets as random
from dataclasses import dataclass, field
from pathlib import Path

from ..compile import Overlay, secrets_path
from ..problems import SiteInvalid
from ..resolve import pbx_address
from ..secrets import Secrets, read_secrets, vault_password_file, write_secrets
from ..site import Site


def link_problems(files: list[Path], sites: list[Site]) -> list[str]:
    """A link's host, when given, must be where the fleet's other site is: two sources must not disagree."""
    by_name = {s.site.name: s for s in sites}
    problems = []
    for file, site in zip(files, sites, strict=True):
        for index, link in enumerate(site.links):
            peer = by_name.get(link.site)
            if peer and link.host and link.host not in (pbx_address(peer), peer.pbx.host):
                problems.append(f"{file}: links[{index}].host: '{link.host}' is not {link.site}'s PBX "
                                f"({pbx_address(peer)}); leave it out in a fleet, it is taken from there")
    return problems


def share_link_secrets(files: list[Path], sites: list[Site], vault_option: Path | None, frozen: bool) -> None:
    """One password per linked pair, the same in both sites' secrets.yml: kept if either has it, else made."""
    password_file = vault_password_file(vault_option)
    index = {s.site.name: i for i, s in enumerate(sites)}
    loaded: dict[int, Secrets] = {}
    changed: set[int] = set()

    def of(i: int) -> Secrets:
        if i not in loaded:
            loaded[i] = read_secrets(secrets_path(files[i]), password_file)
        return loaded[i]

    missing = []
    for a, site in enumerate(sites):
        for link in site.links:
            b = index.get(link.site)
            if b is None:
                continue
            mine, theirs = of(a).get("links", link.site, "password"), of(b).get("links", site.site.name, "password")
            value = mine or theirs
            if not value:
                if frozen:
                    missing.append(f"{secrets_path(files[a])}: links.{link.site}.password")
                    continue
                value = random.token_urlsafe(24)
            for i, peer in ((a, link.site), (b, site.site.name)):
                if of(i).get("links", peer, "password") != value:
                    of(i).section("links").setdefault(peer, {})["password"] = value
                    changed.add(i)
    if missing:
        raise SiteInvalid([f"{key}: missing and --frozen-secrets: run once without it to make the link's "
                           "shared password" for key in missing])
    for i in sorted(changed):
        write_secrets(secrets_path(files[i]), loaded[i], password_file)


@dataclass
class FleetOverlay:
    """The site as it runs in the fleet: the inner overlay's (the lab's) changes, then each link's host set to
    where the linked site's PBX runs."""

    inner: Overlay | None
    peers: dict[str, str] = field(default_factory=dict)  # site name → its PBX address as it runs

    @property
    def suffix(self) -> str:
        return self.inner.suffix if self.inner else "fleet"

    def site(self, site: Site) -> Site:
        site = self.inner.site(site) if self.inner else site.model_copy(deep=True)
        for link in site.links:
            if link.site in self.peers:
                link.host = self.peers[link.site]
        return site

    def pbx_host_vars(self) -> dict:
        return self.inner.pbx_host_vars() if self.inner else {}

    def secrets(self, site: Site, secrets: Secrets, missing: list[str]) -> tuple[Secrets, list[str]]:
        return self.inner.secrets(site, secrets, missing) if self.inner else (secrets, missing)
