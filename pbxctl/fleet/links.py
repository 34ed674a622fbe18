"""What a fleet knows about its links that one site alone does not: where the other end runs (its site's PBX
address and port, wherever an overlay put it), the one shared password, written into both sites' secrets.yml, and
for a TLS link each site's CA, copied into the other's secrets.yml (links.<site>.ca_cert) so each checks the other
PBX's certificate."""

import secrets as random
from dataclasses import dataclass, field
from pathlib import Path

from .. import pki
from ..compile import Overlay, secrets_path
from ..problems import SiteInvalid
from ..resolve import pbx_address
from ..secrets import Secrets, read_secrets, vault_password_file, write_secrets
from ..site import Site
from ..site.links import Link


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
            back = next((theirs for theirs in peer.links if theirs.site == site.site.name), None) if peer else None
            if back and back.transport != link.transport:
                problems.append(f"{file}: links[{index}].transport: {link.transport} here, {back.transport} at "
                                f"{link.site}: both ends of a link use one transport")
            if peer and link.transport == "tls" and peer.pbx.tls is None:
                problems.append(f"{file}: links[{index}].transport: tls needs pbx.tls at {link.site} too (its PBX "
                                "takes the link over TLS)")
    return problems


def peer_port(link: Link, peer: Site) -> int:
    """Where the other PBX takes the link: its TLS port for a TLS link, else its SIP port."""
    return peer.pbx.tls.port if link.transport == "tls" and peer.pbx.tls else peer.pbx.sip_port


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
            if link.transport == "tls":
                changed |= _copy_ca(of(b), of(a), link.site, (a, b), frozen, missing, secrets_path(files[b]))
    if missing:
        raise SiteInvalid([f"{key}: missing and --frozen-secrets: run once without it to make the link's "
                           "shared password and the sites' CAs" for key in missing])
    for i in sorted(changed):
        write_secrets(secrets_path(files[i]), loaded[i], password_file)


def _copy_ca(owner: Secrets, holder: Secrets, owner_name: str, indexes: tuple[int, int], frozen: bool,
             missing: list[str], owner_file: Path) -> set[int]:
    """owner's CA certificate into holder's links.<owner>.ca_cert; owner's CA made first if it has none yet (its
    own compile would make the same one a moment later)."""
    holder_index, owner_index = indexes
    changed = set()
    if not owner.get("tls", "ca", "cert"):
        if frozen:
            missing.append(f"{owner_file}: tls.ca.cert")
            return changed
        owner.ensure("tls", "ca", "key", pki.new_key)
        owner.ensure("tls", "ca", "cert", lambda: pki.new_ca(owner_name, owner.get("tls", "ca", "key")))
        changed.add(owner_index)
    cert = owner.get("tls", "ca", "cert")
    if holder.get("links", owner_name, "ca_cert") != cert:
        holder.section("links").setdefault(owner_name, {})["ca_cert"] = cert
        changed.add(holder_index)
    return changed


@dataclass
class FleetOverlay:
    """The site as it runs in the fleet: the inner overlay's (the lab's) changes, then each link's host set to
    where the linked site's PBX runs."""

    inner: Overlay | None
    peers: dict[str, str] = field(default_factory=dict)  # site name → its PBX address as it runs
    sites: dict[str, Site] = field(default_factory=dict)  # site name → the site (its ports)

    @property
    def suffix(self) -> str:
        return self.inner.suffix if self.inner else "fleet"

    def site(self, site: Site) -> Site:
        site = self.inner.site(site) if self.inner else site.model_copy(deep=True)
        for link in site.links:
            if link.site in self.peers:
                link.host = self.peers[link.site]
            if link.site in self.sites and link.port is None:
                link.port = peer_port(link, self.sites[link.site])
        return site

    def pbx_host_vars(self) -> dict:
        return self.inner.pbx_host_vars() if self.inner else {}

    def secrets(self, site: Site, secrets: Secrets, missing: list[str]) -> tuple[Secrets, list[str]]:
        return self.inner.secrets(site, secrets, missing) if self.inner else (secrets, missing)
