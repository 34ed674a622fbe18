"""A factory-new phone provisions itself: follow each model-level file the way the device does.

The model-level file (Cisco spa<PSN>.cfg, Panasonic {MODEL}.cfg) is fetched with no login, over TFTP or HTTPS,
and is shared by every device of the model: no secret may be in it, and it is the only kind of file TFTP serves.
The URL it gives for the device's own file is HTTPS, and the login it fetches with is what the device holds from
staging (its MAC, and its password from secrets.yml), never a value from the file; the device file then keeps
every later fetch on HTTPS with that same login, trusting the site CA.
"""

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlsplit

import pytest

from pbxctl.load import load_site
from pbxctl.phones import cisco, panasonic
from pbxctl.phones.render import tftp_names
from pbxctl.secrets import read_secrets
from pbxctl.site.catalogue import MODELS

from .helpers import CASES, CASES_DIR, render_case


def _site(case):
    directory = CASES_DIR / case
    return load_site(directory / "site.yml"), read_secrets(directory / "secrets.yml", None)


def _pq(text: str, name: str) -> str:
    match = re.search(rf'^{name}="([^"]*)"\r$', text, re.MULTILINE)
    assert match, name
    return match.group(1)


def _served_name(url: str, mac: str, model) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path.replace("$MA", mac).replace("{MAC}", mac.upper()).replace("{MODEL}", model.product)


def _https_base(site) -> str:
    server = str(site.provisioning.server or site.pbx.address or site.pbx.host)
    port = site.provisioning.https_port
    return f"https://{server}" + (f":{port}" if port != 443 else "")


def _phones(vendor):
    return [(case, phone) for case in CASES for phone in _site(case)[0].phones if MODELS[phone.model].vendor == vendor]


def _secret_values(secrets) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, str):
            found.add(node)
    walk({k: v for k, v in secrets.data.items() if k != "tls"})
    found.add(secrets.get("tls", "ca", "key"))
    found.add(secrets.get("tls", "server", "key"))
    return found


@pytest.mark.parametrize("case", CASES)
def test_tftp_files_are_model_level_and_hold_no_secret(case):
    site, secrets = _site(case)
    files = render_case(case)
    names = tftp_names(site)
    assert set(names) <= set(files)
    assert not any(phone.mac in name.lower() for name in names for phone in site.phones)
    for name in names:
        text = files[name].decode()
        for value in _secret_values(secrets):
            assert value not in text, f"{case}/{name} carries a value of secrets.yml"
    # and every file left out of TFTP carries one (so the split is not too generous either)
    for name in set(files) - set(names):
        if not name.endswith(".tar.gz"):
            assert any(v in files[name].decode() for v in _secret_values(secrets)), name


@pytest.mark.parametrize(("case", "phone"), _phones("cisco"), ids=lambda x: getattr(x, "mac", x))
def test_cisco_bootstrap_then_own_profile(case, phone):
    site, secrets = _site(case)
    files = render_case(case)
    model = MODELS[phone.model]
    boot = ET.fromstring(files[cisco.bootstrap_name(model)])
    # the factory Profile_Rule (this file) stays; rule B runs next in the same resync and fetches the device's own
    assert boot.find("Profile_Rule") is None
    first = boot.findtext("Profile_Rule_B")
    # the login is the device's own: its MAC and the GPP_A value set at staging; only macros in the shared file
    assert first == f"[--uid $MA --pwd $A]{_https_base(site)}/spa$MA.xml", first
    ca = boot.findtext("Custom_CA_Rule")
    assert _served_name(ca, phone.mac, model) == "pbxctl-ca.pem"
    assert files["pbxctl-ca.pem"].startswith(b"-----BEGIN CERTIFICATE-----")
    own = files[_served_name(first.split("]")[-1], phone.mac, model)]
    profile = ET.fromstring(own)
    rule = profile.findtext("Profile_Rule")
    password = secrets.get("phones", phone.mac, "http_password")
    assert rule == f"[--uid {phone.mac} --pwd {password}]{_https_base(site)}/spa$MA.xml", rule
    assert profile.findtext("Profile_Rule_B") in ("", None), "one fetch of its own file per resync"
    admin = "router-configuration/Web_Login_Admin_Password" if model.product in cisco.ATAS else "Admin_Passwd"
    assert profile.findtext(admin) == secrets.get("phones", phone.mac, "admin_password")


@pytest.mark.parametrize(("case", "phone"), _phones("panasonic"), ids=lambda x: getattr(x, "mac", x))
def test_panasonic_model_file_then_own_file(case, phone):
    site, secrets = _site(case)
    files = render_case(case)
    model = MODELS[phone.model]
    shared = files[panasonic.model_name(model)].decode()
    first = _pq(shared, "CFG_STANDARD_FILE_PATH")
    assert "@" not in first, "the model file is shared: no login in it"
    assert first == f"{_https_base(site)}/Config{{MAC}}.cfg"
    assert _served_name(_pq(shared, "CFG_ROOT_CERTIFICATE_PATH"), phone.mac, model) == "pbxctl-ca.pem"
    own = files[_served_name(first, phone.mac, model)].decode()
    later = urlsplit(_pq(own, "CFG_STANDARD_FILE_PATH"))
    assert later.scheme == "https" and later.path == "/Config{MAC}.cfg"
    assert (unquote(later.username), unquote(later.password)) == (
        phone.mac, secrets.get("phones", phone.mac, "http_password"))
    assert _pq(own, "ADMIN_PASS") == secrets.get("phones", phone.mac, "admin_password")


def test_every_case_has_a_phone_of_each_kind():
    # the tests above would pass vacuously otherwise
    assert len(_phones("cisco")) >= 3 and len(_phones("panasonic")) >= 3
    assert {tuple(_site(c)[0].provisioning.protocols) for c in CASES} >= {("tftp", "https"), ("https",)}


def test_admin_passwords_differ_per_phone():
    for case in CASES:
        site, secrets = _site(case)
        values = [secrets.get("phones", p.mac, "admin_password") for p in site.phones]
        assert len(set(values)) == len(values) and all(values)
        assert "admin" not in secrets.data


@pytest.mark.parametrize("case", CASES)
def test_eltex_first_fetch_from_dhcp_option_43_is_https(case):
    from pbxctl.router.config import dhcp_options

    site, _ = _site(case)
    if not any(MODELS[p.model].vendor == "eltex" for p in site.phones):
        pytest.skip("no Eltex device")
    # experimental: real devices are sent to these files only when the site opts in
    assert "43" not in {o["code"] for o in dhcp_options(site)}
    site.provisioning.eltex_option43 = True
    value = next(o["value"] for o in dhcp_options(site) if o["code"] == "43")
    data = bytes.fromhex(value.removeprefix("0x"))
    assert data[0] == 5
    assert data[2:2 + data[1]].decode() == _https_base(site)


def _kv(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9_.]+) = ?(.*)$", text, re.MULTILINE))


@pytest.mark.parametrize(("case", "phone"), _phones("yealink"), ids=lambda x: getattr(x, "mac", x))
def test_yealink_common_file_then_own_file(case, phone):
    from pbxctl.phones import yealink

    site, secrets = _site(case)
    files = render_case(case)
    common = files[yealink.COMMON].decode()
    assert common.startswith("#!version:1.0.0.1\n"), "Yealink reads a file only with its version line first"
    value = _kv(common)
    assert value["static.auto_provision.server.url"] == _https_base(site) + "/"
    assert "username" not in common and "password" not in common, "the common file is shared: no login in it"
    assert yealink.COMMON in tftp_names(site) and yealink.device_name(phone.mac) not in tftp_names(site)
    own = _kv(files[yealink.device_name(phone.mac)].decode())
    assert (own["static.auto_provision.server.username"], own["static.auto_provision.server.password"]) == (
        phone.mac, secrets.get("phones", phone.mac, "http_password"))
    assert own["static.security.user_password"] == "admin:" + secrets.get("phones", phone.mac, "admin_password")


@pytest.mark.parametrize(("case", "phone"), _phones("grandstream"), ids=lambda x: getattr(x, "mac", x))
def test_grandstream_own_file_keeps_https_and_its_login(case, phone):
    from pbxctl.phones import grandstream

    site, secrets = _site(case)
    config = ET.fromstring(render_case(case)[grandstream.device_name(phone.mac)]).find("config")
    assert config.findtext("P212") == "2", "HTTPS"
    assert "https://" + config.findtext("P237") == _https_base(site)
    assert (config.findtext("P1360"), config.findtext("P1361")) == (
        phone.mac, secrets.get("phones", phone.mac, "http_password"))
    assert config.findtext("P2") == secrets.get("phones", phone.mac, "admin_password")
