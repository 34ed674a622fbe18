"""The lab carrier's accounts for a site: one per registering trunk, its DIDs written the way the trunk sends them."""

from ..numbers import format_number, to_e164
from ..secrets import Secrets
from ..site import Site
from .carrier import TrunkAccount


def trunk_password(secrets: Secrets, trunk: str) -> str | None:
    return secrets.get("trunks", trunk, "password") or secrets.get("lab_trunks", trunk, "password")


def carrier_accounts(site: Site, secrets: Secrets, refusing: frozenset[str] = frozenset()) -> list[TrunkAccount]:
    """refusing: trunks whose account answers every call with 503, as a failing provider does."""
    country = site.site.country
    accounts = []
    for trunk in site.trunks:
        if trunk.type != "sip_register":
            continue
        dids = [format_number(to_e164(did, country), trunk.inbound_format, country) for did in trunk.dids]
        accounts.append(TrunkAccount(trunk.name, trunk.username, trunk_password(secrets, trunk.name) or "",
                                     tuple(dids), respond_503=trunk.name in refusing))
    return accounts


def as_delivered(site: Site, trunk_name: str, e164: str) -> str:
    """A number as this trunk's provider writes it on calls into the PBX."""
    trunk = next(t for t in site.trunks if t.name == trunk_name)
    return format_number(e164, trunk.inbound_format, site.site.country)
