"""The asterisk role's share of a site's links: each other PBX's trunk, its numbers, the shared secret."""

from ..problems import SiteInvalid
from ..secrets import Secrets
from ..site import Site
from ..site.links import dial_pattern


def link_vars(site: Site) -> dict:
    missing = [link.site for link in site.links if not link.host]
    if missing:
        raise SiteInvalid([f"links: {', '.join(missing)}: no host; give links[].host, or run the site in a fleet "
                           "with those sites (their pbx.address is the link's host)"])
    return {"asterisk__links": [
        {"site": link.site, "host": link.host, "port": link.port, "own_name": site.site.name,
         "patterns": [dial_pattern(numbers) for numbers in link.numbers]}
        for link in site.links]}


def link_secrets(site: Site, secrets: Secrets) -> dict:
    missing = [f"links.{link.site}.password" for link in site.links if not secrets.get("links", link.site,
                                                                                       "password")]
    if missing:
        raise SiteInvalid([f"secrets.yml: {key}: missing; run the linked sites together (pbxctl apply A/site.yml "
                           "B/site.yml writes one shared password into both) or set the other end's with `pbxctl "
                           "secrets set`" for key in missing])
    return {"asterisk__link_secrets": {link.site: secrets.get("links", link.site, "password") for link in site.links}}
