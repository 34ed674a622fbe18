"""The PBX firewall as rendered: per-source SIP rate limit, trust of authenticated phones, the guard that puts a
deleted table back, and the order that has the firewall up before Asterisk. Checked by nft itself where it runs."""

import configparser
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from pbxctl.compile import site_vars
from pbxctl.load import load_site

from .test_guard import render as render_role

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "security"
OFFICE = ROOT / "inventories" / "example-office" / "site.yml"
TRUNK_ADDRESS = "198.51.100.7"
CONTROL = "192.0.2.50"


def compiled() -> dict:
    variables = {**yaml.safe_load((ROLE / "defaults" / "main.yml").read_text()), **site_vars(load_site(OFFICE))}
    variables["security__trunk_networks"] = ["203.0.113.16/28"]  # a sip_ip trunk's match network
    return variables


VARIABLES = compiled()


def render(template: str, **extra) -> str:
    return render_role(template, VARIABLES, **extra)


@pytest.fixture(scope="module")
def nft_text() -> str:
    return render("security/templates/etc/pbxctl/security.nft.j2", security__trunk_addresses=[TRUNK_ADDRESS],
                  security__control_source=CONTROL)


def input_chain(nft: str) -> list[str]:
    body = nft.split("chain input {")[-1].split("\n    }")[0]
    return [line.strip() for line in body.splitlines() if line.strip()]


def test_sip_is_rate_checked_before_conntrack_lets_a_flow_through(nft_text):
    rules = input_chain(nft_text)
    jump = next(i for i, r in enumerate(rules) if r.endswith("jump sip_rate"))
    assert "th dport 5060 ip saddr @sip_sources" in rules[jump]
    # a scanner sends every guess down one UDP flow: were the check after this, only its first packet would count
    assert jump < rules.index("ct state established,related accept")
    assert rules.index("ip saddr @banned counter drop") < jump


def test_rate_chain_exempts_trunks_control_host_and_trusted_then_drops_flooders(nft_text):
    chain = nft_text.split("chain sip_rate {")[-1].split("}\n}")[0]
    lines = [line.strip() for line in chain.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[:3] == ["ip saddr @sip_unmetered return", "ip saddr @sip_trusted return",
                         'ip saddr @sip_flood counter drop comment "SIP flood"']
    rate = VARIABLES["security__sip_rate"]
    limit = f"limit rate over {rate['per_second']}/second burst {rate['burst']} packets"
    hold = f"add @sip_flood {{ ip saddr timeout {rate['hold']}s }} counter drop"
    meter = f"update @sip_meter {{ ip saddr {limit} }} {hold}"
    assert meter in lines[-1]
    # what is never answered does not use up the allowance: ACKs and responses (UDP payload at bit 64)
    assert lines[3:5] == ['udp dport 5060 @th,64,32 0x41434b20 return comment "ACK"',
                          'udp dport 5060 @th,64,64 0x5349502f322e3020 return comment "SIP/2.0 response"']
    assert bytes.fromhex("41434b20") == b"ACK " and bytes.fromhex("5349502f322e3020") == b"SIP/2.0 "
    # trunks and the control host are unmetered; the office LAN is not (that is where a scanner sits)
    unmetered = re.search(r"set sip_unmetered \{[^}]*elements = \{ ([^}]*) \}", nft_text).group(1).split(", ")
    assert sorted(unmetered) == sorted(["203.0.113.16/28", TRUNK_ADDRESS, CONTROL])
    assert not any(n in unmetered for n in VARIABLES["security__local_networks"])


def test_thresholds_let_a_phone_in_and_a_scanner_not():
    rate = VARIABLES["security__sip_rate"]
    # a phone's first contact (REGISTER, challenged REGISTER, maybe its first SUBSCRIBE) fits in the burst;
    # a full-speed scanner is cut after about as many answers (at most 5, the lab test counts them)
    assert 3 <= rate["burst"] + 1 <= 5
    # the paced guessing that fail2ban already bans at its 5th failure stays under the rate: the two never race
    assert rate["per_second"] >= 2
    # trust outlives any registration interval (Asterisk's maximum is 7200 s): phones never fall back to the meter
    assert rate["trust"] > 7200


def test_reload_keeps_timed_sets_and_refills_the_static_ones(nft_text):
    for kept in ("banned", "sip_trusted", "sip_flood"):
        assert f"flush set inet pbxctl_security {kept}" not in nft_text
    for refilled in ("sip_sources", "sip_unmetered", "sip_meter"):
        assert f"flush set inet pbxctl_security {refilled}" in nft_text
    assert "delete table" not in nft_text


@pytest.mark.skipif(not shutil.which("nft") or os.geteuid() != 0, reason="needs nft and root (nft -c)")
def test_nft_accepts_the_rendered_table(nft_text, tmp_path):
    path = tmp_path / "security.nft"
    path.write_text(nft_text)
    check = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def trust_regex() -> re.Pattern:
    conf = configparser.ConfigParser(interpolation=configparser.BasicInterpolation())
    conf.read_string(render("security/templates/etc/fail2ban/filter.d/pbxctl-asterisk-trust.conf.j2"))
    return re.compile(conf["Definition"]["failregex"].replace("<HOST>", r"(?P<host>[0-9.]+)"))


@pytest.mark.parametrize(("event", "trusted"), [("SuccessfulAuth", True), ("ChallengeSent", False),
                                                ("ChallengeResponseFailed", False), ("InvalidAccountID", False)])
def test_only_a_successful_digest_earns_trust(event, trusted):
    line = (f' SECURITY[3232] res_security_log.c: SecurityEvent="{event}",EventTV="2026-11-22T01:30:40.420+0300",'
            'Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="201",SessionID="3322339951",'
            'LocalAddress="IPV4/UDP/10.253.2.10/5060",RemoteAddress="IPV4/UDP/192.168.10.31/5060",UsingPassword="1"')
    match = trust_regex().search(line)
    assert bool(match) is trusted
    if trusted:
        assert match.group("host") == "192.168.10.31"


def test_trust_action_renews_the_timeout_in_one_transaction():
    action = render("security/templates/etc/fail2ban/action.d/pbxctl-nftables-trust.conf.j2")
    ban = next(line for line in action.splitlines() if line.startswith("actionban"))
    trust = VARIABLES["security__sip_rate"]["trust"]
    assert ban.count("'") == 2  # one nft invocation: add, delete, add with the new timeout
    assert ban.endswith(f"add element inet pbxctl_security sip_trusted {{ <ip> timeout {trust}s }}'")
    assert re.search(r"^actionunban =\s*$", action, re.MULTILINE)


def guard_module():
    script = ROLE / "files" / "pbxctl-security-guard"
    loader = importlib.machinery.SourceFileLoader("pbxctl_security_guard", str(script))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_guard_restores_elements_with_the_time_they_had_left():
    guard = guard_module()
    now = time.time()
    sets = {"banned": {"10.0.0.7": now + 100.5, "10.0.0.8": now - 1}, "sip_trusted": {"10.0.0.9": None}}
    lines = guard.element_lines("pbxctl_security", sets)
    assert lines == ["add element inet pbxctl_security banned { 10.0.0.7 timeout 100s }",
                     "add element inet pbxctl_security sip_trusted { 10.0.0.9 }"]  # the expired ban is gone
    # after a reboot only what the table lacks is added
    assert guard.element_lines("pbxctl_security", sets, {"banned": {"10.0.0.7": now + 50}}) == lines[1:]


def test_asterisk_is_bound_to_the_firewall_and_the_guard_to_its_unit():
    dropin = render("security/templates/etc/systemd/system/asterisk.service.d/pbxctl-firewall.conf.j2")
    assert "Requires=pbxctl-security-firewall.service" in dropin
    assert "After=pbxctl-security-firewall.service" in dropin
    guard = render("security/templates/etc/systemd/system/pbxctl-security-guard.service.j2")
    assert "BindsTo=pbxctl-security-firewall.service" in guard and "After=pbxctl-security-firewall.service" in guard
    assert "Restart=always" in guard
    assert "TimeoutStopSec=5" in guard  # a stuck `nft monitor` must not hold Asterisk's and the firewall's stop


def test_firewall_plays_before_asterisk_and_needs_nothing_of_it():
    plays = yaml.safe_load((ROOT / "playbooks" / "pbx.yml").read_text())
    first = [t.get("ansible.builtin.import_role", {}) for t in plays[0]["tasks"]]
    assert {"name": "security", "tasks_from": "firewall"} in first
    assert plays[1]["roles"] == [{"role": "asterisk"}]
    firewall = (ROLE / "tasks" / "firewall.yml").read_text()
    assert "asterisk -rx" not in firewall and "fail2ban" not in firewall.split("asterisk.service.d")[0]
    # the site playbook reaches Asterisk only through pbx.yml
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    assert site[0]["ansible.builtin.import_playbook"] == "pbx.yml"


def test_doctor_reports_the_rate_limit_and_the_guard(nft_text):
    from pbxctl.doctor.security import guard_check, sip_rate_check

    assert sip_rate_check(nft_text).status == "ok"
    assert sip_rate_check(nft_text.replace("jump sip_rate", "accept")).status == "fail"
    flooded = nft_text.replace("flags dynamic,timeout\n    }", "flags dynamic,timeout\n"
                               "        elements = { 10.1.2.3 timeout 1m expires 40s }\n    }", 1)
    check = sip_rate_check(flooded)
    assert check.status == "warn" and "10.1.2.3" in check.message
    assert guard_check("active\n").status == "ok"
    assert guard_check(None).status == "fail"


def test_guard_writes_its_state_only_when_it_changes():
    guard = guard_module()
    kept = {"banned": {"10.0.0.7": 1000.0}, "sip_trusted": {}, "sip_flood": {}}
    assert not guard.changed(kept, {**kept, "banned": {"10.0.0.7": 1000.4}})  # the same ban, read again
    assert guard.changed(kept, {**kept, "banned": {"10.0.0.7": 5000.0}})  # renewed
    assert guard.changed(kept, {**kept, "banned": {}})  # unbanned
    assert guard.changed(kept, {**kept, "sip_trusted": {"10.0.0.9": None}})
