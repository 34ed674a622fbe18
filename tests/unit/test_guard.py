"""The toll-fraud guard as data: refused prefixes, compiled security variables, the rendered guard dialplan,
the firewall, the fail2ban filter against Asterisk 22's security log lines, and the doctor's parsing."""

import configparser
import re
from pathlib import Path

import jinja2
import pytest
from ansible.plugins.filter.core import FilterModule

from pbxctl.compile import site_vars
from pbxctl.doctor.security import contact_addresses, firewall_check, jail_checks, registrations_check
from pbxctl.load import load_site
from pbxctl.security import ALERT_EVENTS, e164_prefix, premium_prefixes, refused, refused_prefixes

ROOT = Path(__file__).resolve().parents[2]
OFFICE = ROOT / "inventories" / "example-office" / "site.yml"


@pytest.fixture(scope="module")
def office():
    return load_site(OFFICE)


@pytest.fixture(scope="module")
def variables(office):
    return site_vars(office)


def render(template: str, variables: dict, **extra) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             loader=jinja2.FileSystemLoader(str(ROOT / "roles")))
    # Ansible's filters that Jinja lacks (comment, to_nice_json…); Jinja's own default stays
    env.filters.update({k: v for k, v in FilterModule().filters().items() if k not in env.filters})
    return env.get_template(template).render(ansible_managed="managed by pbxctl", **variables, **extra)


# --- the refused-prefix list ---

def test_every_listed_prefix_is_e164_and_names_its_source():
    entries = premium_prefixes()
    assert len(entries) >= 30
    for entry in entries:
        assert re.fullmatch(r"\+[1-9]\d{1,6}", entry["prefix"]), entry
        assert entry["source"] in {"itu-e164", "national", "irsf"} and entry["name"], entry
    assert {"+979", "+881", "+882", "+883", "+7809"} <= {e["prefix"] for e in entries}


def test_the_scenario_countries_are_refused_by_default_deny_not_by_the_list():
    # Kenya, Algeria, Benin are ordinary destinations: a site may allow them; international is refused by default
    for number in ("+254712345678", "+213551234567", "+22997123456"):
        assert refused(number, list(premium_prefixes())) is None


@pytest.mark.parametrize(("text", "prefix"), [("+882", "+882"), ("882", "+882"), ("00882", "+882"),
                                              ("+7 809", "+7809"), ("+44 (70)", "+4470")])
def test_prefix_forms(text, prefix):
    assert e164_prefix(text) == prefix


@pytest.mark.parametrize("text", ["", "+", "0882", "abc", "+88x"])
def test_bad_prefixes(text):
    with pytest.raises(ValueError):
        e164_prefix(text)


def test_site_prefixes_join_the_list_and_covered_ones_drop():
    merged = refused_prefixes(["+254", "+88299", "0044 70 1"])
    prefixes = [p["prefix"] for p in merged]
    assert "+254" in prefixes
    assert "+88299" not in prefixes and "+44701" not in prefixes  # +882 and +4470 already refuse them
    assert refused("+254712345678", merged)["source"] == "site"
    assert refused("+254", merged) is None  # a prefix alone is not a number


# --- compiled variables ---

def test_security_vars(variables, office):
    assert variables["security__admin_networks"] == ["192.168.10.0/24"]
    assert variables["security__trunk_hosts"] == sorted({t.host for t in office.trunks})
    assert variables["security__max_outbound_calls"] == 10
    assert variables["security__alert_events"] == ALERT_EVENTS
    ports = {(s["proto"], s["port"]) for s in variables["security__services"]}
    assert ports == {("udp", 69), ("tcp", 443), ("tcp", 8088)}  # provisioning (TFTP, HTTPS), recordings (HTTPS)
    assert "+979" in variables["security__blocked_prefixes"]


def test_admin_networks_default_to_the_office(office):
    site = office.model_copy(deep=True)
    site.security.admin_networks = []
    assert site_vars(site)["security__admin_networks"] == ["192.168.10.0/24", "192.168.20.0/24"]


# --- the guard dialplan ---

@pytest.fixture(scope="module")
def guard(variables):
    return render("asterisk/templates/etc/asterisk/extensions_guard.conf.j2", variables)


def contexts(conf: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for line in conf.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            found[current] = []
        elif current and line.strip() and not line.lstrip().startswith(";"):
            found[current].append(line)
    return found


def test_guard_refuses_listed_prefixes_first(guard, variables):
    sections = contexts(guard)
    patterns = [line.split(",")[0].split("=> ")[1] for line in sections["guard-refused-prefixes"]]
    assert patterns == [f"_{p}." for p in variables["security__blocked_prefixes"]]
    steps = sections["sub-outbound-guard"]
    assert "guard-refused-prefixes" in steps[2]
    assert '"+7"]?limits' in steps[3]  # the home country skips the country check, never the list


def test_guard_allows_countries_per_route(guard):
    sections = contexts(guard)
    assert sections["guard-countries-international"] == ["exten => _+375.,1,Return()", "exten => _+7.,1,Return()"]
    assert sections["guard-countries-russia"] == []


def test_guard_caps_and_hours(guard):
    text = "\n".join(contexts(guard)["sub-outbound-guard"])
    assert "GROUP_COUNT(all@pbxctl_outbound)} > 10]?globalcap" in text
    assert 'ExecIf($["${route}" = "russia"]?Set(LOCAL(cap)=8))' in text
    assert 'ExecIf($["${route}" = "international"]?Set(LOCAL(cap)=2))' in text
    assert 'ExecIf($["${route}" = "international"]?Set(LOCAL(hours)=office))' in text
    assert "Gosub(schedule-${hours},s,1)" in text
    # refusals: announcement as early media, then the cause; an alert in the background
    assert "Progress()" in text and ",noanswer)" in text and "Hangup(${cause})" in text
    assert re.search(r"System\(/usr/local/sbin/pbxctl-security-alert \$\{event\} .*&\)", text)
    assert "hangup_handler_push" in text  # the site has an outbound minutes threshold


def test_labels_jumped_to_exist(guard):
    text = "\n".join(contexts(guard)["sub-outbound-guard"])
    targets = set(re.findall(r"\?(\w+)\)", text)) | set(re.findall(r"\?:(\w+)\)", text))
    targets |= set(re.findall(r"Goto\((\w+)\)", text))
    labels = set(re.findall(r"same => n\((\w+)\)", text))
    assert targets <= labels, targets - labels


def test_no_minutes_handler_without_a_threshold(office):
    site = office.model_copy(deep=True)
    site.security.alerts.outbound_minutes_per_hour = None
    guard = render("asterisk/templates/etc/asterisk/extensions_guard.conf.j2", site_vars(site))
    assert "hangup_handler_push" not in guard and "sub-outbound-guard-ended" not in guard


def test_route_hours_fall_back_to_the_site(office):
    site = office.model_copy(deep=True)
    site.security.international_hours = "office"
    for route in site.outbound_routes:
        route.international_hours = None
    guard = render("asterisk/templates/etc/asterisk/extensions_guard.conf.j2", site_vars(site))
    assert 'ExecIf($["${route}" = "russia"]?Set(LOCAL(hours)=office))' in guard


# --- firewall and fail2ban ---

def test_firewall_keeps_bans_and_allows_what_the_site_runs(variables):
    nft = render("security/templates/etc/pbxctl/security.nft.j2", variables, security__nft_table="pbxctl_security",
                 security__trunk_addresses=["198.51.100.7"], security__control_source="192.0.2.50")
    assert "delete table" not in nft  # the ban set survives a reload
    assert "flush set inet pbxctl_security banned" not in nft
    assert "policy drop;" in nft
    assert "elements = { 192.168.10.0/24, 192.168.20.0/24, 198.51.100.7 }" in nft  # SIP: office + trunks
    assert "elements = { 192.168.10.0/24, 192.0.2.50 }" in nft  # SSH: admin networks + the control host
    assert "udp dport 10000-10999 accept" in nft
    assert "udp dport 69 ip saddr @service1_sources accept" in nft
    assert nft.index("ip saddr @banned counter drop") < nft.index("ct state established,related accept")


ASTERISK_22_LINES = {
    "InvalidAccountID": True, "ChallengeResponseFailed": True, "InvalidPassword": True, "FailedACL": True,
    "ChallengeSent": False, "SuccessfulAuth": False,
}


def failregex(variables) -> re.Pattern:
    conf = configparser.ConfigParser(interpolation=configparser.BasicInterpolation())
    conf.read_string(render("security/templates/etc/fail2ban/filter.d/pbxctl-asterisk.conf.j2", variables))
    pattern = conf["Definition"]["failregex"].replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)")
    return re.compile(pattern)


@pytest.mark.parametrize(("event", "counts"), ASTERISK_22_LINES.items())
def test_filter_matches_asterisk_22_failures_only(variables, event, counts):
    line = (f' SECURITY[3232] res_security_log.c: SecurityEvent="{event}",EventTV="2026-11-22T01:30:40.420+0300",'
            'Severity="Error",Service="PJSIP",EventVersion="1",AccountID="201",SessionID="3322339951",'
            'LocalAddress="IPV4/UDP/10.253.2.10/5060",RemoteAddress="IPV4/UDP/203.0.113.9/5062",Challenge=""')
    match = failregex(variables).search(line)
    assert bool(match) is counts
    if counts:
        assert match.group("host") == "203.0.113.9"


# --- doctor ---

def test_doctor_firewall_and_jail():
    assert firewall_check(None).status == "fail"
    ruleset = ("table inet pbxctl_security {\n chain input {\n  type filter hook input priority filter - 10; "
               "policy drop;\n  counter packets 12 bytes 900 drop comment \"x\"\n }\n}\n")
    check = firewall_check(ruleset)
    assert check.status == "ok" and "12 packets" in check.message
    assert jail_checks(None)[0].status == "fail"
    status = ("Status for the jail: pbxctl-asterisk\n|- Filter\n|  |- Currently failed:\t1\n`- Actions\n"
              "   |- Currently banned:\t1\n   `- Banned IP list:\t203.0.113.9\n")
    jail, bans = jail_checks(status)
    assert jail.status == "ok" and bans.status == "warn" and "203.0.113.9" in bans.message


CONTACTS = """
  Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  101/sip:101@192.168.20.31:5060;ob            5e2c8a7a1d Avail         3.120
  Contact:  102/sip:ab12@203.0.113.77:5062               1c2d3e4f5a Avail        40.000
  Contact:  trunk-city/sip:sip.city-telecom.example:5060 a1b2c3d4e5 Avail        10.000
"""


def test_doctor_registrations_from_unexpected_networks(office):
    assert contact_addresses(CONTACTS) == [("101", "192.168.20.31"), ("102", "203.0.113.77"),
                                           ("trunk-city", "sip.city-telecom.example")]
    check = registrations_check(office, CONTACTS)
    assert check.status == "fail" and "102 from 203.0.113.77" in check.message and "101" not in check.message
    assert registrations_check(office, CONTACTS.replace("203.0.113.77", "192.168.10.40")).status == "ok"
