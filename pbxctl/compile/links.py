"""The asterisk role's share of a site's links: each other PBX's trunk, its numbers, the shared secret, and for a
TLS link the other site's CA its PBX's certificate is checked against."""

from pathlib import Path

from cryptography import x509

from ..problems import SiteInvalid
from ..secrets import Secrets
from ..site import Site
from ..site.links import dial_pattern, link_port


def link_vars(site: Site) -> dict:
    missing = [link.site for link in site.links if not link.host]
    if missing:
        raise SiteInvalid([f"links: {', '.join(missing)}: no host; give links[].host, or run the site in a fleet "
                           "with those sites (their pbx.address is the link's host)"])
    return {"asterisk__links": [
        {"site": link.site, "host": link.host, "port": link_port(link), "own_name": site.site.name,
         "transport": link.transport, "patterns": [dial_pattern(numbers) for numbers in link.numbers]}
        for link in site.links]}


def link_secrets(site: Site, secrets: Secrets) -> dict:
    missing = [f"links.{link.site}.password" for link in site.links if not secrets.get("links", link.site,
                                                                                       "password")]
    if missing:
        raise SiteInvalid([f"secrets.yml: {key}: missing; run the linked sites together (pbxctl apply A/site.yml "
                           "B/site.yml writes one shared password into both) or set the other end's with `pbxctl "
                           "secrets set`" for key in missing])
    return {"asterisk__link_secrets": {link.site: secrets.get("links", link.site, "password") for link in site.links}}


def link_cas(site: Site, secrets: Secrets, site_dir: Path) -> dict:
    """Each TLS link's trusted CA: the links[].ca file, else the copy a fleet run kept in secrets.yml. Without
    one the link is refused: a TLS link that trusts any certificate would hand the calls to whoever answers."""
    found, problems = {}, []
    for index, link in enumerate(site.links):
        if link.transport != "tls":
            continue
        where = f"links[{index}].ca" if link.ca else f"secrets.yml: links.{link.site}.ca_cert"
        pem = (site_dir / link.ca).read_text(encoding="utf-8") if link.ca else secrets.get("links", link.site,
                                                                                          "ca_cert")
        if not pem:
            problems.append(f"links[{index}]: a TLS link to '{link.site}' has no CA to check its PBX against: run "
                            f"the two sites together (a fleet run copies each site's CA into the other's "
                            f"secrets.yml) or give links[{index}].ca, {link.site}'s CA certificate (its secrets.yml "
                            "tls.ca.cert) as a file beside the site file")
        elif why := _not_a_ca(pem):
            problems.append(f"{where}: {why}")
        else:
            found[link.site] = pem.strip() + "\n"
    if problems:
        raise SiteInvalid(problems)
    return {"asterisk__link_cas": found}


def _not_a_ca(pem: str) -> str | None:
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return "not a PEM certificate"
    for cert in certs:
        try:
            if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return f"'{cert.subject.rfc4514_string()}' is not a CA certificate (basicConstraints CA:FALSE)"
        except x509.ExtensionNotFound:
            return f"'{cert.subject.rfc4514_string()}' is not a CA certificate (no basicConstraints)"
    return None
