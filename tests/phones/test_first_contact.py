"""A factory-new phone provisions itself: follow each model-level file the way the device does.

The model-level file (Cisco spa<PSN>.cfg, Panasonic {MODEL}.cfg) is fetched with no login; the URL it gives for
the device's own file must be one the device can fetch without one (TFTP, or HTTP when http_auth is off), and
that file must then set every later fetch to the resync protocol with the device's own login.
"""

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlsplit

import pytest

from pbxctl.load import load_site
from pbxctl.phones import cisco, panasonic
from pbxctl.phones.registry import MODELS
from pbxctl.secrets import read_secrets

from .helpers import CASES, CASES_DIR, render_case


def _site(case):
    directory = CASES_DIR / case
    return load_site(directory / "site.yml"), read_secrets(directory / "secrets.yml", None)


def _pq(text: str, name: str) -> str:
    match = re.search(rf'^{name}="([^"]*)"\r$', text, re.MULTILINE)
    assert match, name
    return match.group(1)


def _fetchable_without_login(url: str, site) -> bool:
    scheme = urlsplit(url).scheme
    return scheme == "tftp" or (scheme == "http" and not site.provisioning.http_auth)


def _served_name(url: str, mac: str, model) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path.replace("$MA", mac).replace("{MAC}", mac.upper()).replace("{MODEL}", model.product)


def _phones(vendor):
    return [(case, phone) for case in CASES for phone in _site(case)[0].phones if MODELS[phone.model].vendor == vendor]


@pytest.mark.parametrize(("case", "phone"), _phones("cisco"), ids=lambda x: getattr(x, "mac", x))
def test_cisco_bootstrap_then_own_profile(case, phone):
    site, secrets = _site(case)
    files = render_case(case)
    model = MODELS[phone.model]
    first = ET.fromstring(files[cisco.bootstrap_name(model)]).findtext("Profile_Rule")
    assert "--uid" not in first and "--pwd" not in first, "the bootstrap is shared: no login in it"
    assert _fetchable_without_login(first, site), first
    assert ("tftp" in site.provisioning.protocols) == first.startswith("tftp://"), first
    own = files[_served_name(first, phone.mac, model)]
    rule = ET.fromstring(own).findtext("Profile_Rule")
    if "http" in site.provisioning.protocols:
        assert "http://" in rule
    if site.provisioning.http_auth and "http" in site.provisioning.protocols:
        password = secrets.get("phones", phone.mac, "http_password")
        assert rule.startswith(f"[--uid {phone.mac} --pwd {password}]http://"), rule
    else:
        assert "--uid" not in rule
    assert urlsplit(rule.split("]")[-1]).path == "/spa$MA.xml"


@pytest.mark.parametrize(("case", "phone"), _phones("panasonic"), ids=lambda x: getattr(x, "mac", x))
def test_panasonic_model_file_then_own_file(case, phone):
    site, secrets = _site(case)
    files = render_case(case)
    model = MODELS[phone.model]
    first = _pq(files[panasonic.model_name(model)].decode(), "CFG_STANDARD_FILE_PATH")
    assert "@" not in first, "the model file is shared: no login in it"
    assert _fetchable_without_login(first, site), first
    assert ("tftp" in site.provisioning.protocols) == first.startswith("tftp://"), first
    own = files[_served_name(first, phone.mac, model)].decode()
    later = urlsplit(_pq(own, "CFG_STANDARD_FILE_PATH"))
    if "http" in site.provisioning.protocols:
        assert later.scheme == "http"
    if site.provisioning.http_auth and "http" in site.provisioning.protocols:
        assert (unquote(later.username), unquote(later.password)) == (
            phone.mac, secrets.get("phones", phone.mac, "http_password"))
    else:
        assert later.username is None
    assert later.path == "/Config{MAC}.cfg"


def test_every_case_has_a_phone_of_each_kind():
    # the tests above would pass vacuously otherwise
    assert len(_phones("cisco")) >= 3 and len(_phones("panasonic")) >= 3
    assert {tuple(_site(c)[0].provisioning.protocols) for c in CASES} >= {("tftp", "http"), ("tftp",), ("http",)}


@pytest.mark.parametrize("case", CASES)
def test_eltex_first_fetch_from_dhcp_option_43_needs_no_login(case):
    from pbxctl.router.config import dhcp_options

    site, _ = _site(case)
    if not any(MODELS[p.model].vendor == "eltex" for p in site.phones):
        pytest.skip("no Eltex device")
    value = next(o["value"] for o in dhcp_options(site) if o["code"] == "43")
    data = bytes.fromhex(value.removeprefix("0x"))
    assert data[0] == 5
    server_url = data[2:2 + data[1]].decode()
    assert _fetchable_without_login(server_url, site), server_url
    assert ("tftp" in site.provisioning.protocols) == server_url.startswith("tftp://")
