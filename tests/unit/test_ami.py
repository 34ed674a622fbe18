"""integrations.ami: a read-only AMI account for live events, off by default; its secret only in secrets.yml and
manager.conf; the firewall opens 5038/tcp to its networks alone."""

import re

import pytest
import yaml

from pbxctl.compile import compile_site
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid
from pbxctl.secrets import read_secrets, write_secrets

from .conftest import MINIMAL, write_site
from .test_guard import ROOT, render

AMI = """\
site:
  name: tiny
pbx:
  host: 192.0.2.10
  local_networks: [192.0.2.0/24]
integrations:
  ami:
    networks: [198.51.100.0/28, 203.0.113.7/32]
"""


def _compiled(tmp_path, text):
    site_file = write_site(tmp_path, text)
    out = compile_site(site_file, tmp_path / "build").out_dir
    plain = (out / "vars.yml").read_text()
    return yaml.safe_load(plain) | yaml.safe_load((out / "secrets.yml").read_text()), plain, site_file


def test_off_by_default(tmp_path):
    variables, _, _ = _compiled(tmp_path, MINIMAL)
    manager = render("asterisk/templates/etc/asterisk/manager.conf.j2", variables)
    assert "enabled = no" in manager and "secret" not in manager
    services = [s["port"] for s in variables["security__services"]]
    assert 5038 not in services


def test_one_read_only_account_from_its_networks(tmp_path):
    variables, plain, site_file = _compiled(tmp_path, AMI)
    secret = read_secrets(site_file.parent / "secrets.yml", None).get("integrations", "ami", "secret")
    assert secret and len(secret) >= 16 and secret not in plain
    manager = render("asterisk/templates/etc/asterisk/manager.conf.j2", variables)
    lines = [line.strip() for line in manager.splitlines() if line.strip() and not line.startswith(";")]
    assert lines == ["[general]", "enabled = yes", "port = 5038", "bindaddr = 0.0.0.0", "displayconnects = no",
                     "authtimeout = 10", "authlimit = 20", "[pbxctl-events]", f"secret = {secret}",
                     "deny = 0.0.0.0/0.0.0.0", "permit = 198.51.100.0/28", "permit = 203.0.113.7/32",
                     "read = call,cdr"]
    assert not any(line.startswith("write") for line in lines)  # no action that needs a class
    (ami,) = [s for s in variables["security__services"] if s["port"] == 5038]
    assert (ami["proto"], ami["from"]) == ("tcp", ["198.51.100.0/28", "203.0.113.7/32"])
    defaults = yaml.safe_load((ROOT / "roles/security/defaults/main.yml").read_text())
    nft = render("security/templates/etc/pbxctl/security.nft.j2", defaults | variables, security__trunk_addresses=[],
                 security__control_source=None)
    assert "198.51.100.0/28" in nft and "203.0.113.7" in nft and "dport 5038" in nft


def test_a_secret_that_would_break_manager_conf_is_refused(tmp_path):
    _, _, site_file = _compiled(tmp_path, AMI)
    secrets = read_secrets(site_file.parent / "secrets.yml", None)
    secrets.section("integrations")["ami"]["secret"] = "abcdefghijklmnop;x"
    write_secrets(site_file.parent / "secrets.yml", secrets, None)
    with pytest.raises(SiteInvalid, match="integrations.ami.secret"):
        compile_site(site_file, tmp_path / "build")


@pytest.mark.parametrize(("ami", "where"), [
    ("    networks: [0.0.0.0/0]\n", "integrations.ami.networks"),
    ("    networks: []\n", "integrations.ami.networks"),
    ("    networks: [10.0.0.0/8]\n    events: [call, system]\n", "integrations.ami.events[1]"),
    ("    networks: [10.0.0.0/8]\n    events: [command]\n", "integrations.ami.events[0]"),
    ("    networks: [10.0.0.0/8]\n    write: [originate]\n", "integrations.ami.write"),
    ("    networks: [10.0.0.0/8]\n    username: \"x]\\n[admin\"\n", "integrations.ami.username"),
])
def test_validate_refuses(tmp_path, ami, where):
    site_file = write_site(tmp_path, MINIMAL + "integrations:\n  ami:\n" + ami)
    with pytest.raises(SiteInvalid) as error:
        load_site(site_file)
    assert where in str(error.value), str(error.value)


def test_the_firewall_rule_for_5038_uses_the_set_of_the_ami_networks(tmp_path):
    # no office networks: the services before it have no sources, and their sets stay empty; the numbering of
    # the sets and of the rules must still agree
    site = "site:\n  name: tiny\npbx:\n  host: 192.0.2.10\nintegrations:\n  ami:\n    networks: [198.51.100.0/28]\n"
    variables, _, _ = _compiled(tmp_path, site)
    defaults = yaml.safe_load((ROOT / "roles/security/defaults/main.yml").read_text())
    nft = render("security/templates/etc/pbxctl/security.nft.j2", defaults | variables, security__trunk_addresses=[],
                 security__control_source=None)
    (rule_set,) = re.findall(r"tcp dport 5038 ip saddr @(service\d+)_sources accept", nft)
    filled = dict(re.findall(r"set (service\d+)_sources \{[^}]*?elements = \{ ([^}]*) \}", nft))
    assert filled == {rule_set: "198.51.100.0/28"}
