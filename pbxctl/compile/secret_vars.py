"""The secrets each role needs, kept apart from vars.yml so that file can be read and diffed freely."""

import re

from ..problems import SiteInvalid
from ..resolve import sip_tls_names, tls_names
from ..secrets import Secrets, integrations_with_auth, tls_server, weak_pin
from ..site import Site

AMI_SECRET = re.compile(r"[A-Za-z0-9._~+-]{16,128}")


def _integration_auth(site: Site, secrets: Secrets) -> dict:
    """{name: {header, query, token}} for each outside system the site logs in to."""
    return {name: {"header": auth.header, "query": auth.query, "token": secrets.get("integrations", name, "token")}
            for name, (_, auth) in integrations_with_auth(site).items()}


def _sip_tls(site: Site, secrets: Secrets) -> dict | None:
    """The TLS transport's CA (the site's: clients are verified against it), key and certificate: the site CA's
    for the PBX's addresses, else the site's own files (read by the templates) with the key from secrets.yml when
    no key file is named."""
    tls = site.pbx.tls
    if tls is None:
        return None
    if tls.certificate is None:
        return tls_server(secrets, sip_tls_names(site))
    key = None if tls.key else secrets.get("tls", "sip", "key")
    return {"ca_cert": secrets.get("tls", "ca", "cert"), "cert": None, "key": key}


def _ami_secret(site: Site, secrets: Secrets) -> str | None:
    """The AMI account's secret, written into manager.conf: one a user set must not end the line or start a comment
    there."""
    if not site.integrations.ami:
        return None
    value = secrets.get("integrations", "ami", "secret")
    if not AMI_SECRET.fullmatch(value or ""):
        raise SiteInvalid(["secrets.yml: integrations.ami.secret: 16-128 letters, digits or . _ ~ + - (it is written "
                           "into manager.conf)"])
    return value


def _extension_secrets(site: Site, secrets: Secrets) -> dict:
    """Each extension's SIP login and voicemail PIN; a dial-out mobile's PIN too, refused when one set by hand in
    secrets.yml is weak (it is the only thing a spoofed caller ID does not give away)."""
    found, problems = {}, []
    for e in site.extensions:
        found[e.number] = {item: secrets.get("extensions", e.number, item)
                           for item in ("username", "password", "voicemail_pin")}
        if e.mobile is not None and e.mobile.dial_out:
            pin = secrets.get("extensions", e.number, "mobile_pin")
            if why := weak_pin(pin):
                problems.append(f"secrets.yml: extensions.{e.number}.mobile_pin: {why} (remove it and compile "
                                f"to get a random one, or `pbxctl secrets set SITE extensions.{e.number}.mobile_pin`)")
            found[e.number]["mobile_pin"] = str(pin)
    if problems:
        raise SiteInvalid(problems)
    return found


def role_secrets(site: Site, secrets: Secrets) -> dict:
    tls = tls_server(secrets, tls_names(site))
    integrations = _integration_auth(site, secrets)
    return {
        "asterisk__extension_secrets": _extension_secrets(site, secrets),
        "asterisk__trunk_secrets": {
            t.name: secrets.get("trunks", t.name, "password")
            for t in site.trunks if secrets.get("trunks", t.name, "password")
        },
        # trunk endpoint names carry a random part kept in secrets.yml, so nobody can guess one
        "asterisk__trunk_endpoints": {
            t.name: f"trunk-{t.name}-{secrets.get('trunk_endpoints', t.name, 'id')}"
            for t in site.trunks if t.type != "gsm_dongle"
        },
        "asterisk__integration_auth": {k: v for k, v in integrations.items() if k != "alerts_webhook"},
        "security__alerts_webhook_auth": integrations.get("alerts_webhook", {}),
        "asterisk__recordings_http_password": secrets.get("cdr", "recordings", "http_password"),
        "asterisk__ami_secret": _ami_secret(site, secrets),
        "provisioning__http_passwords": {p.mac: secrets.get("phones", p.mac, "http_password") for p in site.phones},
        # one key and certificate (the site CA's, for the PBX's and provisioning server's addresses) for both
        # HTTPS servers: the phones' files and the recordings
        "provisioning__tls": tls,
        "asterisk__recordings_tls": tls,
        "asterisk__sip_tls_keys": _sip_tls(site, secrets),
        "routeros__password": secrets.get("router", "api", "password") if site.router else None,
        "nut__upsmon_password": secrets.get("ups", site.ups.name, "upsmon_password") if site.ups else None,
        "backup__ssh_key": secrets.get("backup", "ssh", "private_key") if site.backup else None,
    }
