"""Time zones: a DST zone gets each vendor's DST rule, Moscow (no DST since 2014) gets none."""

import xml.etree.ElementTree as ET

import pytest

from pbxctl.phones.timezones import zone

from .helpers import render_case


def test_berlin_gets_dst_everywhere():
    files = render_case("berlin-tftp")
    spa = ET.fromstring(files["spa000e08d20001.xml"])
    assert spa.findtext("Time_Zone") == "GMT+01:00"
    assert spa.findtext("Daylight_Saving_Time_Enable") == "Yes"
    assert spa.findtext("Daylight_Saving_Time_Rule") == "start=3/-1/7/2:0:0;end=10/-1/7/3:0:0;save=1:0:0"
    product = files["KX-UT136.cfg"].decode()
    for line in ('TIME_ZONE="60"', 'DST_ENABLE="Y"', 'DST_OFFSET="60"', 'DST_START_MONTH="3"',
                 'DST_START_ORDINAL_DAY="5"', 'DST_START_DAY_OF_WEEK="0"', 'DST_START_TIME="120"',
                 'DST_STOP_MONTH="10"', 'DST_STOP_TIME="180"'):
        assert line + "\r\n" in product


def test_moscow_gets_no_dst():
    files = render_case("office")
    spa = ET.fromstring(files["spa000e08d10001.xml"])
    assert spa.findtext("Time_Zone") == "GMT+03:00"
    assert spa.findtext("Daylight_Saving_Time_Enable") == "No"
    assert spa.find("Daylight_Saving_Time_Rule") is None
    product = files["KX-HDV130.cfg"].decode()
    assert 'TIME_ZONE="180"' in product and 'DST_ENABLE="N"' in product and "DST_START" not in product


@pytest.mark.parametrize(("name", "offset", "has_dst"), [
    ("Europe/Moscow", 180, False), ("Europe/Samara", 240, False), ("Asia/Kolkata", 330, False),
    ("Europe/Berlin", 60, True), ("America/New_York", -300, True), ("Australia/Sydney", 600, True),
    # rules no phone here can express (change at 24:00+ or before midnight): standard time only
    ("Asia/Jerusalem", 120, False), ("America/Nuuk", -120, False),
])
def test_zone_rules(name, offset, has_dst):
    z = zone(name)
    assert z.offset == offset
    assert (z.dst is not None) == has_dst


def test_southern_hemisphere_rule():
    dst = zone("Australia/Sydney").dst
    assert (dst.start.month, dst.start.ordinal, dst.end.month, dst.end.minutes) == (10, 1, 4, 180)
