"""What each device is given once, at staging, so that its first HTTPS fetch carries its own login.

No file anyone can fetch without a login may hold a device's password, so a factory-new device can't learn it
from the network: the integrator enters it once (the device's web page or keypad), and every fetch after that
is HTTPS with it. What to enter is the vendor's own way to hold a provisioning login.
"""

from ..secrets import Secrets
from ..site import Site
from ..site.catalogue import MODELS
from . import grandstream, panasonic
from .context import device_context, site_context


def staging(site: Site, secrets: Secrets, mac: str | None = None) -> list[dict]:
    """One entry per device: its MAC, model and the one setting to enter (which holds its password)."""
    shared = site_context(site, secrets)
    rows = []
    for phone in site.phones:
        if mac and phone.mac != mac:
            continue
        ctx = device_context(shared, phone, secrets)
        vendor = MODELS[phone.model].vendor
        if vendor == "cisco":
            # the model file's Profile_Rule reads [--uid $MA --pwd $A]: $A is GPP_A (Provisioning tab)
            setting, value = "GPP_A", ctx["http_password"]
        elif vendor == "panasonic":
            # web programming outranks provisioning: this URL (with the login) stays the one the phone uses
            setting, value = "Standard File URL", panasonic.staged_url(ctx)
        elif vendor == "yealink":
            # Settings > Auto Provision: the login it fetches <mac>.cfg with (the server URL comes by option 66)
            setting, value = "Auto Provision user name / password", f"{ctx['http_user']} / {ctx['http_password']}"
            if ctx["aes_key"]:  # the same page: the key its own file is encrypted with
                setting, value = setting + " / MAC-Oriented AES Key", f"{value} / {ctx['aes_key']}"
        elif vendor == "grandstream":
            # Maintenance > Upgrade and Provisioning: HTTPS, the Config Server Path, the HTTP/HTTPS user and password
            setting, value = ("Config Server Path (HTTPS) / HTTP user / HTTP password",
                              f"{grandstream.config_path(ctx)} / {ctx['http_user']} / {ctx['http_password']}")
        else:
            setting, value = "auto-update login", f"{ctx['http_user']} / {ctx['http_password']}"
        rows.append({"mac": phone.mac, "model": phone.model, "setting": setting, "value": value})
    return rows
