"""Site + secrets → plain dicts the templates read: one shared per site, one per device.

Everything a template prints comes from here, already in the site's terms (addresses, extensions, secrets);
vendor modules turn it into their own vocabulary. Building a device context is a few dict lookups, so a
thousand phones cost milliseconds.
"""

from ..problems import SiteInvalid
from ..resolve import https_base, pbx_address, provisioning_server
from ..secrets import Secrets
from ..site import Site
from ..site.catalogue import MODELS
from ..site.checks import phone_problems
from ..site.phones import Phone
from .digits import VOICEMAIL, digit_map
from .timezones import zone


def http_user(phone: Phone) -> str:
    """The HTTP user a device fetches its files as: its MAC (the provisioning server's htpasswd uses the same)."""
    return phone.mac


CA_FILE = "pbxctl-ca.pem"  # the site CA's certificate, public: served over TFTP and HTTPS for phones to trust


def site_context(site: Site, secrets: Secrets) -> dict:
    prov = site.provisioning
    server = provisioning_server(site)
    base = https_base(site)
    # TFTP (answered only on the phones' networks) carries only the model-level files and the CA certificate:
    # nothing with a credential. Every device file comes over HTTPS with the device's own login, which the device
    # holds from staging (pbxctl phones logins), never from a file anyone could fetch.
    model_base = f"tftp://{server}" if "tftp" in prov.protocols else base
    return {
        "name": site.site.name,
        "language": site.site.language,
        "zone": zone(site.site.timezone),
        "pbx": {
            "address": pbx_address(site),
            "port": site.pbx.sip_port,
            "transport": "udp",
            "codecs": list(site.pbx.codecs),
        },
        "prov": {
            "server": server,
            "scheme": "https",
            "base_url": base,
            "model_base": model_base,
            "ca_url": f"{model_base}/{CA_FILE}",
            "http_auth": True,
            "resync_minutes": prov.resync_minutes,
            "firmware_base": (prov.firmware_url or f"{base}/firmware").rstrip("/"),
            "yealink_aes": prov.yealink_aes,
        },
        "ntp": prov.ntp_server or pbx_address(site),
        "ca_cert": secrets.get("tls", "ca", "cert"),
        "extension_names": {e.number: e.name for e in site.extensions},
        # extensions with transport: tls register on the TLS port (validate allows it only where the model's
        # reference cites the transport parameter)
        "tls_port": {e.number: site.pbx.tls.port for e in site.extensions if e.transport == "tls" and site.pbx.tls},
        "voicemail": {e.number for e in site.extensions if e.voicemail},
        "digits": digit_map([e.number for e in site.extensions], site.site.country),
    }


def _line(index: int, line, names: dict, secrets: Secrets) -> dict:
    return {
        "index": index,
        "extension": line.extension,
        "display_name": line.label or names[line.extension],
        "auth_user": secrets.get("extensions", line.extension, "username"),
        "password": secrets.get("extensions", line.extension, "password"),
    }


def _key(index: int, key, names: dict, line_of: dict) -> dict:
    if key.type == "blf":
        return {"index": index, "type": "blf", "target": key.extension,
                "label": key.label or names[key.extension]}
    if key.type == "speed_dial":
        return {"index": index, "type": "speed_dial", "target": key.number, "label": key.label or key.number}
    return {"index": index, "type": "line", "target": line_of[key.extension],
            "label": key.label or names[key.extension]}


def device_context(shared: dict, phone: Phone, secrets: Secrets) -> dict:
    model = MODELS[phone.model]
    names = shared["extension_names"]
    lines = [_line(i, line, names, secrets) for i, line in enumerate(phone.lines, 1)]
    line_of = {line["extension"]: line["index"] for line in lines}
    for line in lines:
        line["tls"] = line["extension"] in shared["tls_port"]
        line["port"] = shared["tls_port"].get(line["extension"], shared["pbx"]["port"])
    keys = [_key(i, key, names, line_of) for i, key in enumerate(phone.keys, 1)]
    language = phone.language or shared["language"]
    return {
        "site": shared,
        "model": model,
        "mac": phone.mac,
        "name": phone.name or (lines[0]["display_name"] if lines else phone.mac),
        "language": language if (language == "en" or model.russian) else "en",
        "vlan": phone.vlan,
        "lines": lines,
        "keys": keys,
        "http_user": http_user(phone),
        "http_password": secrets.get("phones", phone.mac, "http_password"),
        "admin_password": secrets.get("phones", phone.mac, "admin_password"),
        "aes_key": secrets.get("phones", phone.mac, "aes_key") if _encrypted(shared, model) else None,
        "firmware_url": f"{shared['prov']['firmware_base']}/{phone.firmware}" if phone.firmware else None,
        "firmware_version": phone.firmware_version,
        # the voicemail key calls the dialplan's code where the first line has a box
        "voicemail": VOICEMAIL if lines and lines[0]["extension"] in shared["voicemail"] else None,
        "handsets": [_handset(i, handset, line_of) for i, handset in enumerate(phone.handsets, 1)],
    }


def _encrypted(shared: dict, model) -> bool:
    """Whether this device's own file goes out encrypted with its key (Yealink, when the site asks for it)."""
    return shared["prov"]["yealink_aes"] and model.vendor == "yealink"


def _handset(index: int, handset, line_of: dict) -> dict:
    lines = [line_of[extension] for extension in handset.lines]
    return {"index": index, "lines": lines, "name": handset.name,
            "outgoing": line_of[handset.outgoing] if handset.outgoing else lines[0]}


def check_devices(site: Site, secrets: Secrets) -> None:
    """Refuse what secrets.yml lacks, naming the key, never a value; and what `validate` refuses about phones
    (a key that doesn't fit, a line key on another phone's line) when the site was built without loading a file."""
    problems = [f"{p.dotted}: {p.message}" for p in phone_problems(site)]
    for phone in site.phones:
        for line in phone.lines:
            for item in ("username", "password"):
                if not secrets.get("extensions", line.extension, item):
                    problems.append(f"secrets: extensions.{line.extension}.{item}: missing")
        needed = ["http_password", "admin_password"]
        if site.provisioning.yealink_aes and MODELS[phone.model].vendor == "yealink":
            needed.append("aes_key")
        for item in needed:
            if not secrets.get("phones", phone.mac, item):
                problems.append(f"secrets: phones.{phone.mac}.{item}: missing")
    if not secrets.get("tls", "ca", "cert"):
        problems.append("secrets: tls.ca.cert: missing (run `pbxctl compile` to generate it)")
    if problems:
        raise SiteInvalid(sorted(set(problems), key=problems.index))
