"""An office pair (standby:) as validated and compiled: both servers in the PBX plays, each the other's peer,
SIP and RTP on the virtual address, registrations only through the active node's link, keepalived without
preemption, the firewall open to the peer alone; doctor's reading of the two nodes."""

import pytest
import yaml

from pbxctl.compile import compile_site
from pbxctl.doctor.standby import standby_checks
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid

from .conftest import write_site
from .test_guard import ROOT, render
from .test_install_options import render_pjsip, sections

PAIR = """\
site:
  name: tiny
pbx:
  host: 192.0.2.10
  local_networks: [192.0.2.0/24]
standby:
  host: 192.0.2.11
  virtual_address: 192.0.2.9
trunks:
  - {name: city, type: sip_register, host: sip.city.example, username: "7495", dids: ["+74952220000"]}
extensions:
  - {number: "100", name: Anna}
"""


@pytest.fixture
def built(tmp_path):
    site_file = write_site(tmp_path, PAIR)
    (tmp_path / "secrets.yml").write_text("trunks: {city: {password: pw}}\n")
    out = compile_site(site_file, tmp_path / "build").out_dir
    variables = yaml.safe_load((out / "vars.yml").read_text()) | yaml.safe_load((out / "secrets.yml").read_text())
    return variables, yaml.safe_load((out / "inventory.yml").read_text())


def test_both_servers_run_the_pbx_plays_each_knowing_the_other(built):
    _, inventory = built
    groups = inventory["all"]["children"]
    hosts = groups["pbx"]["hosts"]
    assert sorted(hosts) == ["tiny-pbx", "tiny-standby"]
    assert sorted(groups["provisioning"]["hosts"]) == ["tiny-pbx", "tiny-standby"]
    assert (hosts["tiny-pbx"]["standby__peer"], hosts["tiny-standby"]["standby__peer"]) == ("192.0.2.11",
                                                                                           "192.0.2.10")
    assert hosts["tiny-pbx"]["standby__priority"] > hosts["tiny-standby"]["standby__priority"]
    assert hosts["tiny-standby"]["ansible_host"] == "192.0.2.11"


def test_sip_and_audio_live_on_the_virtual_address_and_registrations_on_the_active_node_only(built):
    variables, _ = built
    text = render("asterisk/templates/etc/asterisk/pjsip.conf.j2", variables)
    found = dict(sections(text))
    assert found["transport-udp"]["bind"] == "192.0.2.9:5060"
    endpoint = next(options for name, options in sections(text) if name == "100" and options["type"] == "endpoint")
    assert (endpoint["media_address"], endpoint["bind_rtp_to_media_address"]) == ("192.0.2.9", "yes")
    assert "type=registration" not in text
    assert "#tryinclude /run/pbxctl-standby/pjsip_registrations.conf" in text
    assert "#include pjsip_registrations.conf" not in text
    registrations = render("asterisk/templates/etc/asterisk/pjsip_registrations.conf.j2", variables)
    assert dict(sections(registrations))["trunk-city"]["type"] == "registration"
    # phones re-register at least every minute, so after a takeover each finds the new active node soon
    assert (found["100"]["type"], found["100"]["maximum_expiration"]) == ("aor", "60")
    assert variables["backup__active_address"] == "192.0.2.9"


def test_a_single_server_includes_its_registrations_as_before(tmp_path):
    site_file = write_site(tmp_path, PAIR.split("standby:")[0] + "trunks:" + PAIR.split("trunks:")[1])
    (tmp_path / "secrets.yml").write_text("trunks: {city: {password: pw}}\n")
    out = compile_site(site_file, tmp_path / "build").out_dir
    variables = yaml.safe_load((out / "vars.yml").read_text()) | yaml.safe_load((out / "secrets.yml").read_text())
    text = render_pjsip(variables)
    assert "bind=0.0.0.0:5060" in text and "#include pjsip_registrations.conf" in text
    assert "[trunk-city]" in text and "/run/pbxctl-standby" not in text
    assert variables["standby__enabled"] is False and variables["security__pair"] == []


def test_keepalived_never_preempts_and_speaks_to_the_peer_only(built):
    variables, inventory = built
    host = inventory["all"]["children"]["pbx"]["hosts"]["tiny-standby"]
    defaults = yaml.safe_load((ROOT / "roles/standby/defaults/main.yml").read_text())
    conf = render("standby/templates/etc/keepalived/keepalived.conf.j2", defaults | variables | host,
                  inventory_hostname="tiny-standby", standby__interface="eth0", standby__self="192.0.2.11")
    body = [line.strip() for line in conf.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "state BACKUP" in body and "nopreempt" in body
    assert body[body.index("unicast_peer {") + 1] == "192.0.2.10"
    assert "192.0.2.9/24 dev eth0" in body and f"priority {host['standby__priority']}" in body
    sync = render("standby/templates/usr/local/sbin/pbxctl-standby-sync.j2", defaults | variables | host)
    assert "grep -q \" 192.0.2.9/\" || exit 0" in sync  # only the node holding the address pushes
    assert "--delete-after" in sync.split("/var/spool/asterisk/voicemail/")[0].splitlines()[-1]
    assert "root@192.0.2.10:/var/spool/asterisk/monitor/" in sync


def test_the_firewall_lets_the_peer_in_for_vrrp_and_replication(built):
    variables, _ = built
    defaults = yaml.safe_load((ROOT / "roles/security/defaults/main.yml").read_text())
    nft = render("security/templates/etc/pbxctl/security.nft.j2", defaults | variables, security__trunk_addresses=[],
                 security__control_source=None)
    assert "ip saddr { 192.0.2.10, 192.0.2.11 } ip protocol vrrp accept" in nft
    assert "ip saddr { 192.0.2.10, 192.0.2.11 } tcp dport 22 accept" in nft


def test_the_replication_key_is_a_secret_and_its_public_half_is_authorised(built, tmp_path):
    variables, _ = built
    assert variables["standby__ssh_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert variables["standby__ssh_public_key"].startswith("ssh-ed25519 ")
    assert "standby__ssh_key" not in (tmp_path / "build" / "vars.yml").read_text()


@pytest.mark.parametrize(("old", "new", "where"), [
    ("virtual_address: 192.0.2.9", "virtual_address: 198.51.100.9", "standby.virtual_address"),
    ("virtual_address: 192.0.2.9", "virtual_address: 192.0.2.11", "standby.virtual_address"),
    ("host: 192.0.2.11", "host: 192.0.2.10", "standby.host"),
    ("host: 192.0.2.11", "host: standby.office.example", "standby.host"),
])
def test_validate_refuses(tmp_path, old, new, where):
    with pytest.raises(SiteInvalid) as error:
        load_site(write_site(tmp_path, PAIR.replace(old, new)))
    assert where in str(error.value) and "site.yml:" in str(error.value), str(error.value)


def test_validate_refuses_a_pbx_address_other_than_the_virtual_one_and_gsm_trunks(tmp_path):
    text = PAIR.replace("  host: 192.0.2.10\n", "  host: 192.0.2.10\n  address: 192.0.2.10\n")
    with pytest.raises(SiteInvalid, match="pbx.address"):
        load_site(write_site(tmp_path, text))
    gsm = PAIR.replace("extensions:", "  - {name: gsm, type: gsm_dongle, imei: \"860075031047294\"}\nextensions:")
    with pytest.raises(SiteInvalid, match="modem plugged into one server"):
        load_site(write_site(tmp_path, gsm))


def _node(holds: bool, received: int | None = None) -> dict:
    return {"standby_holds": "yes" if holds else "no", "standby_keepalived": "active",
            "standby_received": str(received) if received is not None else ""}


def test_doctor_reads_the_pair(tmp_path):
    site = load_site(write_site(tmp_path, PAIR))
    now = 1_000_000
    ok = standby_checks(site, {"tiny-pbx": _node(True), "tiny-standby": _node(False, now - 7)}, now)
    assert [(c.name, c.status) for c in ok] == [("standby", "ok"), ("replication", "ok")]
    assert "the primary holds 192.0.2.9" in ok[0].message and "7 s behind" in ok[1].message
    split = standby_checks(site, {"tiny-pbx": _node(True), "tiny-standby": _node(True)}, now)
    assert split[0].status == "fail" and "split brain" in split[0].message
    after_cut = standby_checks(site, {"tiny-standby": _node(True)}, now)
    assert after_cut[0].status == "warn" and "the primary does not answer" in after_cut[0].message
    stale = standby_checks(site, {"tiny-pbx": _node(False, now - 4000), "tiny-standby": _node(True)}, now)
    assert stale[1].status == "fail" and "the primary's" in stale[1].message
