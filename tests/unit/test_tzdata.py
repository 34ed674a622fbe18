"""Time zones on a host without a system tz database: zoneinfo falls back to the tzdata package (a dependency),
and so do validate and the phones' DST rules."""

import zoneinfo

import pytest

from pbxctl.cli import app
from pbxctl.phones import timezones

from .conftest import write_site


@pytest.fixture
def no_system_tzdata():
    saved = zoneinfo.TZPATH
    zoneinfo.reset_tzpath(to=())
    timezones.zone.cache_clear()
    yield
    zoneinfo.reset_tzpath(to=saved)
    timezones.zone.cache_clear()


def test_zones_come_from_the_tzdata_package(no_system_tzdata):
    assert zoneinfo.TZPATH == ()
    assert "Europe/Moscow" in zoneinfo.available_timezones()
    moscow = timezones.zone("Europe/Moscow")
    assert (moscow.posix, moscow.offset, moscow.dst) == ("MSK-3", 180, None)
    berlin = timezones.zone("Europe/Berlin")
    assert berlin.posix == "CET-1CEST,M3.5.0,M10.5.0/3" and berlin.dst.save == 60
    with pytest.raises(ValueError, match="nor in the tzdata package"):
        timezones.zone("Mars/Olympus_Mons")


def test_validate_and_render_without_system_tzdata(no_system_tzdata, tmp_path, runner):
    site = write_site(tmp_path, """\
site:
  name: moscow
  timezone: Europe/Moscow
pbx:
  host: 192.0.2.10
extensions:
  - number: "100"
    name: Anna
phones:
  - mac: "00:0e:08:d1:00:01"
    model: cisco-spa303
    lines:
      - extension: "100"
""")
    result = runner.invoke(app, ["validate", str(site)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["phones", "render", str(site), "-o", str(tmp_path / "tftp")])
    assert result.exit_code == 0, result.output
    assert "<Time_Zone>GMT+03:00</Time_Zone>" in (tmp_path / "tftp" / "spa000e08d10001.xml").read_text()
