"""Every rendered file of every golden case uses only names its vendor's reference lists, with values that fit the
documented format; and the reference itself cites a source for each entry."""

import re

import pytest

from pbxctl.phones import reference
from pbxctl.site.catalogue import MODELS

from .helpers import CASES, render_case

VENDORS = sorted({m.vendor for m in MODELS.values()})


def _vendor(name: str) -> str | None:
    if name.startswith("spa"):
        return "cisco"
    if name.startswith("eltex/"):
        return "eltex"
    if name.endswith(".cfg") and (name.startswith("Config") or name.startswith("KX-")):
        return "panasonic"
    if re.fullmatch(r"(y000000000000|[0-9a-f]{12})\.cfg", name):  # the common file and <mac>.cfg
        return "yealink"
    if name.startswith("cfg") and name.endswith(".xml"):
        return "grandstream"
    return None


FILES = [(case, name) for case in CASES for name in render_case(case) if _vendor(name)]


def test_every_rendered_file_is_checked():
    unchecked = [(case, name) for case in CASES for name in render_case(case)
                 if _vendor(name) is None and name != "pbxctl-ca.pem"]
    assert not unchecked
    assert {_vendor(name) for _, name in FILES} == set(VENDORS), "a golden case for every vendor"


@pytest.mark.parametrize(("case", "name"), FILES, ids=[f"{c}/{n}" for c, n in FILES])
def test_names_and_values_follow_the_vendor_reference(case, name):
    data = render_case(case)[name]
    assert reference.problems(_vendor(name), data) == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_reference_entries_cite_a_source(vendor):
    params = reference.reference(vendor)
    assert params
    for param in params.values():
        assert param.source and param.meaning, param.name
    if any(m.vendor == vendor and not m.experimental for m in MODELS.values()):
        # a vendor pbxctl calls verified rests mostly on sources read, not on names of its own
        assert sum(p.checked == "unverified" for p in params.values()) == 0


@pytest.mark.parametrize(("vendor", "data", "problem"), [
    ("cisco", b"<flat-profile><Resync_Periodc>60</Resync_Periodc></flat-profile>", "not in"),
    ("cisco", b"<flat-profile><Provision_Enable>yes</Provision_Enable></flat-profile>", "does not fit"),
    ("cisco", b"<flat-profile><Upgrade_Rule>https://x/fw.bin</Upgrade_Rule></flat-profile>", "does not fit"),
    ("panasonic", b'# Panasonic SIP Phone Standard Format File #\r\nWEB_LANGUAGE="en"\r\n\r\n', "not in"),
    ("panasonic", b'# Panasonic SIP Phone Standard Format File #\r\nVLAN_ID_IP_PHONE="5000"\r\n\r\n', "does not fit"),
])
def test_the_check_catches_an_unknown_name_or_a_bad_value(vendor, data, problem):
    assert any(problem in p for p in reference.problems(vendor, data))
