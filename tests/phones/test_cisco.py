"""Cisco files parse as XML and use only parameter names from Cisco's published list."""

import xml.etree.ElementTree as ET

import pytest

from pbxctl.phones import cisco
from pbxctl.phones.timezones import parse_posix

from .helpers import render_case


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
    assert boot.findtext("Profile_Rule_B") == "[--uid $MA --pwd $A]https://192.168.10.5/spa$MA.xml"
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
    assert not tags & {"Station_Name", "Extension_1_", "Admin_Passwd", "Primary_NTP_Server", "Enable_VLAN"}
    assert "G722" not in {e.text for e in ata}


def test_ata_keeps_login_time_and_vlan_in_its_router_part():
    files = render_case("office")
    ata = ET.fromstring(files["spa000e08d10004.xml"])
    router = ata.find("router-configuration")
    assert router.findtext("Web_Login_Admin_Password") == "09e5aebdf00a3a98"
    assert router.findtext("Time_Setup/Time_Server_Mode") == "manual"
    assert router.findtext("Time_Setup/Time_Server") == "192.168.10.5"
    assert router.findtext("WAN_VLAN_Setting/WAN_VLAN_Enable") == "0"


def test_desk_phone_dial_plan_comes_from_the_site():
    profile = ET.fromstring(render_case("office")["spa000e08d10003.xml"])
    # voicemail, Russia's emergency numbers, the 1xx extensions, 8 + ten digits, 810 + an international number
    assert profile.findtext("Dial_Plan_1_") == "(*97|01|02|03|101|102|103|112|1xx|8xxxxxxxxxx|810xx.)"
    assert profile.findtext("Voice_Mail_Number") == "*97"
    assert profile.findtext("Default_Character_Encoding") == "UTF-8"
    assert profile.findtext("Auth_Resync-Reboot_1_") == "Yes"
    berlin = ET.fromstring(render_case("berlin-tftp")["spa000e08d20001.xml"])
    # Germany: 110/112, 2xx extensions, 0 + a national number of any length, 00 + international
    assert berlin.findtext("Dial_Plan_1_") == "(*97|110|112|2xx|0xx.|00xx.)"


def test_firmware_only_when_the_device_runs_another_version():
    berlin = ET.fromstring(render_case("berlin-tftp")["spa000e08d20001.xml"])
    assert berlin.findtext("Upgrade_Rule") == (
        "($SWVER ne 7.6.2e)? https://10.20.0.3/firmware/spa50x-30x-7-6-2e.bin")


def test_the_asterisk_endpoint_answers_the_phones_resync_challenge():
    # Auth_Resync-Reboot=Yes: the SPA challenges the NOTIFY with the line's credentials, so the endpoint must
    # answer with that same auth section
    from pbxctl.resources import roles_dir

    text = (roles_dir() / "asterisk/templates/etc/asterisk/pjsip.conf.j2").read_text()
    block = text[text.index("[{{ ext.number }}](endpoint-common)"):]
    block = block[:block.index("\n\n")]
    assert "outbound_auth={{ ext.number }}-auth" in block


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
