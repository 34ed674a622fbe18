"""`pbxctl doctor` judging live state read from a PBX (samples are Asterisk 22's own output)."""

from pathlib import Path

import pytest
import yaml

from pbxctl.doctor.pbx import pbx_checks, pbx_commands
from pbxctl.load import load_site

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "inventories"

REGISTRATIONS = """
 <Registration/ServerURI..............................>  <Auth....................>  <Status.......>
==========================================================================================

 trunk-calltrack/sip:10.253.3.20:5060                    trunk-calltrack-auth        Registered        (exp. 203s)
 trunk-cheap/sip:10.253.3.20:5060                        trunk-cheap-auth            Rejected
 trunk-city/sip:10.253.3.20:5060                         trunk-city-auth             Registered        (exp. 207s)
 trunk-city2/sip:10.253.3.20:5060                        trunk-city2-auth            Registered        (exp. 208s)

Objects found: 4"""

def _by_name(checks):
    return {check.name: check for check in checks}


def test_trunks_not_registered_fail_by_name(office_site):
    checks = _by_name(pbx_checks(office_site, {"asterisk_active": "active\n", "registrations": REGISTRATIONS,
                                               "enabled": "enabled\n"}))
    assert checks["asterisk"].status == "ok"
    assert checks["trunk calltrack"].status == "ok"
    assert checks["trunk cheap"].status == "fail" and "Rejected" in checks["trunk cheap"].message
    assert checks["trunk regional"].status == "fail" and "missing" in checks["trunk regional"].message


def test_stopped_asterisk_and_missing_ups_fail(office_site):
    checks = _by_name(pbx_checks(office_site, {"asterisk_active": "inactive", "enabled": "disabled", "ups": ""}))
    assert checks["asterisk"].status == "fail"
    assert checks["boot"].status == "fail"
    assert checks["ups"].status == "fail"
    on_battery = _by_name(pbx_checks(office_site, {"asterisk_active": "active", "enabled": "enabled",
                                                   "ups": "== office-ups\nbattery.charge: 80\nups.status: OB\n"}))
    assert on_battery["ups"].status == "warn" and "OB" in on_battery["ups"].message


@pytest.fixture
def office_site():
    return load_site(EXAMPLES_DIR / "example-office" / "site.yml")


def _site_with(tmp_path, provisioning: dict):
    from .conftest import copy_example
    path = copy_example("example-office", tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["provisioning"] = provisioning
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_site(path)


def test_provisioning_is_read_on_the_sites_port(tmp_path):
    site = _site_with(tmp_path, {"protocols": ["tftp", "https"], "https_port": 8443})
    commands = pbx_commands(site)
    assert "https://127.0.0.1:8443/" in commands["provisioning_https"]
    assert ":69" in commands["provisioning_tftp"]
    checks = _by_name(pbx_checks(site, {"asterisk_active": "active", "enabled": "enabled",
                                        "provisioning_https": "000", "provisioning_tftp": ""}))
    assert checks["provisioning https"].status == "fail" and "8443" in checks["provisioning https"].message
    assert checks["provisioning tftp"].status == "fail"
    answering = _by_name(pbx_checks(site, {"asterisk_active": "active", "enabled": "enabled",
                                           "provisioning_https": "404", "provisioning_tftp":
                                           "UNCONN 0 0 0.0.0.0:69 0.0.0.0:*"}))
    assert answering["provisioning https"].status == "ok" and answering["provisioning tftp"].status == "ok"


def test_only_the_servers_the_site_lists_are_checked(tmp_path):
    site = _site_with(tmp_path, {"protocols": ["https"]})
    assert "provisioning_tftp" not in pbx_commands(site)
    checks = _by_name(pbx_checks(site, {"asterisk_active": "active", "enabled": "enabled",
                                        "provisioning_https": "200"}))
    assert "provisioning tftp" not in checks and checks["provisioning https"].status == "ok"
