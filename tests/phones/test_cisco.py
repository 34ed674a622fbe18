"""Cisco files parse as XML and use only parameter names from Cisco's published list."""

import xml.etree.ElementTree as ET

import pytest

from pbxctl.phones import cisco
from pbxctl.phones.timezones import parse_posix

from .helpers import all_files, render_case
from .params import names

CISCO = [f for f in all_files() if f[1].startswith("spa")]


@pytest.mark.parametrize(("case", "name", "data"), CISCO, ids=[f"{c}/{n}" for c, n, _ in CISCO])
def test_flat_profile_parses_and_uses_known_parameters(case, name, data):
    root = ET.fromstring(data)
    assert root.tag == "flat-profile"
    assert all(len(element) == 0 for element in root), "a flat profile is one level deep"
    unknown = sorted({e.tag for e in root} - names("cisco_spa_params.txt", 12))
    assert not unknown, f"not Cisco SPA parameters: {unknown}"


def test_every_device_profile_resyncs_from_our_server_with_its_own_credentials():
    files = render_case("office")
    profile = ET.fromstring(files["spa000e08d10003.xml"])
    rule = profile.findtext("Profile_Rule")
    assert rule.startswith("[--uid 000e08d10003 --pwd ") and rule.endswith("]https://192.168.10.5/spa$MA.xml")
    assert profile.findtext("Custom_CA_Rule") == "tftp://192.168.10.5/pbxctl-ca.pem"
    assert profile.findtext("Resync_From_SIP") == "Yes"
    assert profile.findtext("Resync_Periodic") == "3600"


def test_bootstrap_holds_no_secret():
    files = render_case("office")
    boot = ET.fromstring(files["spa504G.cfg"])
    # the login is the device's own MAC and the GPP_A value staged on it: macros, no value
    assert boot.findtext("Profile_Rule") == "[--uid $MA --pwd $A]https://192.168.10.5/spa$MA.xml"
    assert boot.findtext("Custom_CA_Rule") == "tftp://192.168.10.5/pbxctl-ca.pem"
    assert {e.tag for e in boot}.isdisjoint({"Admin_Passwd", "Password_1_", "Auth_ID_1_", "GPP_A"})


def test_blf_and_speed_dial_keys_follow_the_lines():
    profile = ET.fromstring(render_case("office")["spa000e08d10003.xml"])
    assert profile.findtext("Extension_1_") == "1"
    assert profile.findtext("Extended_Function_2_") == "fnc=blf+sd;sub=101@192.168.10.5;nme=Anna, desk"
    assert profile.findtext("Extended_Function_3_").startswith("fnc=blf+sd;sub=102@")
    assert profile.findtext("Extended_Function_4_") == "fnc=sd;ext=+74952220000@$PROXY;nme=City"


def test_values_are_escaped_not_injected():
    profile = ET.fromstring(render_case("office")["spa000e08d10001.xml"])
    assert profile.findtext("Display_Name_1_") == "Анна Смирнова"


def test_ata_gets_no_desk_phone_parameters_and_no_g722():
    ata = ET.fromstring(render_case("office")["spa000e08d10004.xml"])
    tags = {e.tag for e in ata}
    assert "Station_Name" not in tags and "Extension_1_" not in tags
    assert "G722" not in {e.text for e in ata}


@pytest.mark.parametrize(("posix", "expected"), [
    ("CET-1CEST,M3.5.0,M10.5.0/3", "start=3/-1/7/2:0:0;end=10/-1/7/3:0:0;save=1:0:0"),
    ("EST5EDT,M3.2.0,M11.1.0", "start=3/8/7/2:0:0;end=11/1/7/2:0:0;save=1:0:0"),
    ("MSK-3", None),
])
def test_dst_rule(posix, expected):
    assert cisco.dst_rule(parse_posix("x", posix)) == expected


@pytest.mark.parametrize(("offset", "text"), [(180, "GMT+03:00"), (-300, "GMT-05:00"), (330, "GMT+05:30"),
                                              (0, "GMT+00:00")])
def test_time_zone(offset, text):
    assert cisco.time_zone(offset) == text
