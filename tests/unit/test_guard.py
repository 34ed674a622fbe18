"""The toll-fraud guard as data: refused prefixes, compiled security variables, the rendered guard dialplan,
the firewall, the fail2ban filter against Asterisk 22's security log lines, and the doctor's parsing."""

import configparser
import random
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule

from pbxctl.compile import site_vars
from pbxctl.compile.pbx import dial_patterns
from pbxctl.doctor.security import contact_addresses, firewall_check, jail_checks, registrations_check
from pbxctl.load import load_site
from pbxctl.numbers import dialplan_plan, region_of
from pbxctl.security import ALERT_EVENTS, e164_prefix, premium_prefixes, refused, refused_prefixes
from pbxctl.security.guard import call, format_out, provider_reading
from pbxctl.security.ranges import allowed_entry_problem, region_by_tables, region_codes, tables

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
    listed = next(i for i, s in enumerate(steps) if "guard-refused-prefixes" in s)
    home = next(i for i, s in enumerate(steps) if '"RU"]?limits' in s)
    strict = next(i for i, s in enumerate(steps) if 'REGEX("^[+][1-9][0-9]{6,14}$" ${number})' in s)
    assert strict < listed < home  # strict E.164 first; the home country skips the country check, never the list


def test_guard_allows_regions_per_route(guard):
    sections = contexts(guard)
    # allowed_countries ["375", "7"]: calling codes, so every region sharing them (+7 is Russia and Kazakhstan)
    assert sections["guard-countries-international"] == [f"exten => {r},1,Return()" for r in ("BY", "RU", "KZ")]
    assert sections["guard-countries-russia"] == []


def test_guard_caps_and_hours(guard):
    sections = contexts(guard)
    text = "\n".join(sections["sub-outbound-guard"])
    assert "GROUP_COUNT(all@pbxctl_outbound)} > 10]?globalcap" in text
    assert 'ExecIf($["${route}" = "russia"]?Set(LOCAL(cap)=8))' in text
    assert 'ExecIf($["${route}" = "international"]?Set(LOCAL(cap)=2))' in text
    assert 'ExecIf($["${route}" = "international"]?Set(LOCAL(hours)=office))' in text
    assert "Gosub(schedule-${hours},s,1)" in text
    assert "hangup_handler_push" in text  # the site has an outbound minutes threshold
    # refusals: announcement as early media, then the cause; an alert in the background
    refuse = "\n".join(sections["sub-outbound-refuse"])
    assert "Progress()" in refuse and ",noanswer)" in refuse and "Hangup(${cause})" in refuse
    assert re.search(r"System\(/usr/local/sbin/pbxctl-security-alert \$\{event\} .*&\)", refuse)
    assert set(re.findall(r"sub-outbound-refuse,s,1\((\w+),", guard)) <= set(ALERT_EVENTS)


def test_labels_jumped_to_exist(guard, numbers):
    for name, steps in {**contexts(guard), **contexts(numbers)}.items():
        text = "\n".join(steps)
        targets = set(re.findall(r"\?(\w+)\)", text)) | set(re.findall(r"\?:(\w+)\)", text))
        targets |= set(re.findall(r"Goto\((\w+)\)", text))
        labels = set(re.findall(r"same => n\((\w+)\)", text))
        assert targets <= labels, (name, targets - labels)


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


# --- what a phone dials is judged as a number, never evaluated ---

@pytest.fixture(scope="module")
def numbers(variables):
    return render("asterisk/templates/etc/asterisk/extensions_numbers.conf.j2", variables)


def expressions(conf: str) -> list[str]:
    """Every $[ … ] expression (brackets balanced)."""
    found = []
    for start in [m.start() for m in re.finditer(r"\$\[", conf)]:
        depth, i = 0, start + 1
        while i < len(conf):
            depth += {"[": 1, "]": -1}.get(conf[i], 0)
            if depth == 0:
                break
            i += 1
        found.append(conf[start:i + 1])
    return found


OUTSIDE = ("${ARG", "${EXTEN", "${PBX_DIALLED", "${CALLERID", "${typed}")


def test_outside_strings_never_reach_an_expression(guard, numbers):
    """A dialled string, a subroutine argument or a caller's number appears in $[ ] only inside LEN() or FILTER()
    (which return digits or a filtered copy), never as itself: the expression parser would evaluate it."""
    for expression in expressions(guard + numbers):
        inner = re.sub(r"\$\{(LEN|FILTER)\((?:[^()]|\([^()]*\))*\)\}", "", expression)
        assert not any(word in inner for word in OUTSIDE), expression


def test_the_catch_all_filters_before_anything(variables):
    endpoints = {t["name"]: f"trunk-{t['name']}" for t in variables["asterisk__trunks"]}
    conf = render("asterisk/templates/etc/asterisk/extensions_routing.conf.j2", variables,
                  asterisk__trunk_endpoints=endpoints)
    steps = contexts(conf)["from-internal"]
    first = next(i for i, s in enumerate(steps) if s.startswith("exten => _[+0-9*#()].,1,"))
    assert "Set(PBX_DIALLED=${FILTER(" in steps[first] and "${EXTEN})})" in steps[first]
    # feature codes see only a filtered copy (PBX_FEATURE), then the guard
    assert steps[first + 2].endswith("Set(PBX_FEATURE=${FILTER(+0123456789*#,${PBX_DIALLED})})")
    assert "Gosub(sub-dialled,s,1)" in steps[first + 4]  # no arguments: a comma in what was dialled can't split them
    assert not any("${EXTEN}" in s for s in steps[first + 1:] if "LEN(${EXTEN})" not in s)


def test_route_patterns_are_strict(variables):
    for route in variables["asterisk__outbound_routes"]:
        for pattern in route["dial_patterns"]:
            assert re.fullmatch(r"_?\+[0-9XZN]{7,15}", pattern), pattern  # no '.', no letters, an E.164 length
    international = next(r for r in variables["asterisk__outbound_routes"] if r["name"] == "international")
    assert international["dial_patterns"] == ["_+Z" + "X" * n for n in range(6, 15)]


@pytest.mark.parametrize(("pattern", "strict"), [
    ("+7XXXXXXXXXX", ["_+7XXXXXXXXXX"]),
    ("+74951234567", ["+74951234567"]),
    ("+7495X.", [f"_+7495X{'X' * n}" for n in range(2, 11)]),
])
def test_dial_patterns(pattern, strict):
    assert dial_patterns(pattern) == strict


# --- numbering ranges compiled from libphonenumber's metadata ---

@pytest.mark.parametrize("code", ["7", "1", "49", "44", "375", "33"])
def test_compiled_ranges_agree_with_libphonenumber(code):
    compiled = tables([code])
    generator = random.Random(int(code))
    for _ in range(4000):
        number = f"+{code}" + "".join(generator.choice("0123456789") for _ in range(generator.randint(6, 12)))
        assert region_by_tables(number, compiled) == region_of(number), number


def test_shared_codes_are_told_apart_by_range(variables):
    compiled = variables["asterisk__number_ranges"]
    assert [e["code"] for e in compiled] == ["7", "375"]  # the site's own and what its routes allow
    assert region_by_tables("+77012345678", compiled) == "KZ"
    assert region_by_tables("+74951234567", compiled) == "RU"
    assert region_by_tables("+70000000000", compiled) is None
    kz = next(r for r in compiled[0]["regions"] if r["region"] == "KZ")
    assert kz["leading"] and all(p.startswith("_+7") and p.endswith("!") for p in kz["leading"])


@pytest.mark.parametrize(("entries", "regions"), [
    (["KZ"], ["KZ"]), (["7"], ["RU", "KZ"]), (["+49", "DE"], ["DE"]), (["375", "KZ"], ["BY", "KZ"]),
])
def test_allowed_countries_as_regions(entries, regions):
    assert region_codes(entries) == regions
    assert all(allowed_entry_problem(e) is None for e in entries)


@pytest.mark.parametrize("entry", ["Kazakhstan", "kz", "999", "+0", ""])
def test_allowed_countries_refused(entry):
    assert allowed_entry_problem(entry)


def test_abkhazia_is_refused_though_libphonenumber_counts_it_as_russia():
    assert region_of("+78409123456") == "RU"
    assert refused("+78409123456", list(premium_prefixes()))["prefix"] == "+7840"
    assert refused("+79409123456", list(premium_prefixes()))["prefix"] == "+7940"


# --- what each trunk is sent ---

RU = dialplan_plan("RU")


@pytest.mark.parametrize("fmt", ["e164", "international", "national", "subscriber"])
@pytest.mark.parametrize("number", ["+74951234567", "+77012345678", "+4930123456", "+375291234567"])
def test_the_provider_reads_back_the_number(number, fmt):
    assert provider_reading(format_out(number, fmt, RU), fmt, RU) == number


@pytest.mark.parametrize(("sent", "fmt", "read"), [
    ("8102901234", "subscriber", "+2901234"),    # +78102901234 written as a subscriber number: Saint Helena
    ("8104490912345", "national", "+4490912345"),
    ("+7+4490912345", "e164", None),
    ("7+4490912345", "international", None),
])
def test_strings_a_provider_reads_as_another_number(sent, fmt, read):
    assert provider_reading(sent, fmt, RU) == read


def test_the_sent_check_is_in_the_dialplan(guard, numbers):
    formatting = "\n".join(contexts(numbers)["sub-format-out"])
    assert "Gosub(sub-outbound-sent,s,1(${n},${out},${format}))" in formatting
    sent = "\n".join(contexts(guard)["sub-outbound-sent"])
    assert '"${sent:0:3}" = "810"' in sent and "dial_string_mismatch" in sent


# --- the lab's dial-string corpus, judged on the compiled tables ---

DIAL_SITE = ROOT / "tests" / "lab" / "sites" / "dial_strings" / "site.yml"
CORPUS = yaml.safe_load((ROOT / "tests" / "lab" / "data" / "dial_strings.yml").read_text())["cases"]


@pytest.fixture(scope="module")
def dial_variables():
    return site_vars(load_site(DIAL_SITE))


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: f"{c.get('caller', '201')}:{c['dial']}")
def test_dial_string_corpus_on_the_compiled_tables(dial_variables, case):
    event, _, sent = call(case["dial"], case.get("caller", "201"), dial_variables)
    assert (event, sent) == (case.get("refused"), case.get("sent", {}))


def test_corpus_covers_every_form():
    assert len(CORPUS) >= 60
    typed = [c["dial"] for c in CORPUS if "refused" in c]
    for form in ("00", "810", "8 10", "+", " ", "(", "-", "+7+", "*", "#"):
        assert any(form in d for d in typed), form
    assert {"blocked_destination", "international_refused", "unknown_destination", "invalid_number"} <= {
        c["refused"] for c in CORPUS if "refused" in c}


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
