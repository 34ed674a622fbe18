"""`pbxctl test-calls`, the parts that need no PBX: the scenario file, which scenarios can be replayed now (the
PBX's clock), the trail read back from the PBX's log, and the comparison."""

import datetime as dt
import json
from functools import cache

import pytest
import yaml

from pbxctl.compile import site_vars
from pbxctl.explain import explain
from pbxctl.load import load_site
from pbxctl.problems import UserError
from pbxctl.testcalls import load_scenarios
from pbxctl.testcalls.report import Expected, compare
from pbxctl.testcalls.timing import why_not_now
from pbxctl.testcalls.trail import read

from .conftest import ROOT

SCENARIOS = ROOT / "tests" / "data" / "call_scenarios.yml"
MOSCOW = dt.timezone(dt.timedelta(hours=3))


@cache
def office() -> dict:
    return site_vars(load_site(ROOT / "inventories" / "example-office" / "site.yml"))


def scenario(name_part: str):
    return next(s for s in load_scenarios(SCENARIOS, "example-office") if name_part in s.name)


def test_the_scenarios_of_one_site_are_chosen_in_file_order():
    found = load_scenarios(SCENARIOS, "example-office")
    assert [s.site for s in found] == ["example-office"] * 15
    assert found[0].index == 1 and found[-1].index == 15
    assert load_scenarios(SCENARIOS, "nowhere") == []


@pytest.mark.parametrize("text, said", [
    ("- {site: s, name: n, call: {did: '1', when: '10:00'}}", "call.when: unknown"),
    ("- {site: s, name: n, call: {from: '1'}}", "needs site, name and call (with did)"),
    ("- {site: s, name: n, call: {did: '1'}, expect: {reslt: hangup}}", "expect takes"),
    ("{site: s}", "a list of scenarios expected"),
])
def test_a_bad_scenario_file_is_a_user_error_naming_the_entry(tmp_path, text, said):
    path = tmp_path / "scenarios.yml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_scenarios(path, "s")
    assert said in "\n".join(error.value.lines)


def _at(case, when=None):
    v = office()
    return explain(v, case.explain_call(v["asterisk__timezone"], when))


def test_an_open_hours_scenario_is_not_replayed_at_night_and_says_why():
    case = scenario("answered in the group")  # Tue 10:00, open
    night = dt.datetime(2026, 12, 2, 3, 0, tzinfo=MOSCOW)  # Wed 03:00: closed
    reason = why_not_now(office(), case, _at(case), night)
    assert reason == ("at its time office open, on the PBX's clock (2026-12-02 03:00 Europe/Moscow) office closed: "
                      "the PBX's clock can't be moved per call; replay it when the same holds")
    assert why_not_now(office(), case, _at(case), dt.datetime(2026, 12, 2, 11, 0, tzinfo=MOSCOW)) is None


def test_a_closed_scenario_is_replayed_at_night_but_not_just_before_opening():
    case = scenario("Sunday is closed")
    assert why_not_now(office(), case, _at(case), dt.datetime(2026, 12, 2, 3, 0, tzinfo=MOSCOW)) is None
    # at 08:55 the office opens within the run's margin: the verdict would not hold while the calls run
    assert why_not_now(office(), case, _at(case), dt.datetime(2026, 12, 2, 8, 55, tzinfo=MOSCOW))


def test_a_route_without_a_schedule_is_replayed_at_any_hour():
    case = scenario("regional number has no schedule")
    for hour in (3, 12, 22):
        assert why_not_now(office(), case, _at(case), dt.datetime(2026, 12, 2, hour, tzinfo=MOSCOW)) is None


PREFIX = "[2026-12-02 01:40:00] VERBOSE[900][C-00000001] pbx.c: "  # as the log channel writes them
LOG = [PREFIX + line for line in [
    'Executing [+74953330000@from-trunk-city2:1] Set("PJSIP/city2-00000001", "raw=74953330000") in new stack',
    'Executing [s@schedule-office:4] Return("PJSIP/city2-00000001", "open") in new stack',
    'Executing [ops@t-group:2] Dial("PJSIP/city2-00000001", "PJSIP/111,15,tU(sub-answered^)") in new stack',
    'Executing [s@sub-answered:1] Set("PJSIP/111-00000002", "x=1") in new stack',
    'Executing [ops@t-group:4] Dial("PJSIP/city2-00000001", "PJSIP/112,15,tU(sub-answered^)") in new stack',
    "PJSIP/112-00000003 answered PJSIP/city2-00000001",
    'Executing [ops@t-group:5] GotoIf("PJSIP/city2-00000001", "1?done") in new stack',
]]


def test_the_trail_is_read_from_the_pbxs_log_of_the_call():
    actual = read(LOG, {"ops": 3})
    assert actual == Expected(["office: open"], ["group:ops 111", "group:ops 112"], "answered", "112")


def test_voicemail_ivr_and_a_call_nobody_answers():
    lines = [
        '-- Executing [+78005550100@from-trunk-free:1] NoOp("PJSIP/free-00000009", "") in new stack',
        '-- Executing [s@ivr-regions:1] Answer("PJSIP/free-00000009", "") in new stack',
        '-- Executing [s@ivr-regions:3] Background("PJSIP/free-00000009", "custom/regions") in new stack',
        '-- Executing [s@ivr-regions:1] Answer("PJSIP/free-0000000a", "") in new stack',  # another call's
        '-- Executing [100@t-voicemail:2] VoiceMail("PJSIP/free-00000009", "100@default,u") in new stack',
    ]
    assert read(lines, {}) == Expected([], ["ivr:regions", "voicemail:100"], "voicemail", "100")
    assert read(lines[:1], {}) == Expected([], [], "hangup", None)
    assert read(["nothing of a call"], {}) is None


def test_a_difference_names_the_fact_and_who_says_what():
    want = Expected(["office: open"], ["group:sales"], "answered", "104")
    got = Expected(["office: closed"], ["voicemail:100"], "voicemail", "100")
    found = compare(want, want, got)
    assert found[0] == "schedule: expected [office: open], the PBX [office: closed]"
    assert len(found) == 4
    assert compare(want, got, want)[0] == "schedule: expected [office: open], explain says [office: closed]"
    assert compare(want, want, want) == []


def test_a_scenario_names_a_verdict_or_a_schedule_with_it_as_explain_meets_them():
    explained = Expected(["freephone: open", "sgt: closed"], ["voicemail:100"], "voicemail", "100")
    both = Expected.of_expect({"schedule": ["open", "sgt: closed"]}, explained)
    assert both.schedule == ["freephone: open", "sgt: closed"]
    assert Expected.of_expect({"schedule": "sgt: closed"}, explained).schedule == ["sgt: closed"]
    assert Expected.of_expect({}, explained).schedule == explained.schedule


def test_every_scenario_file_entry_loads():
    entries = yaml.safe_load(SCENARIOS.read_text())
    sites = {e["site"] for e in entries}
    assert sum(len(load_scenarios(SCENARIOS, s)) for s in sites) == len(entries)


def test_the_command_needs_the_lab_and_a_scenario_for_the_site(runner, tmp_path):
    from pbxctl.cli import app

    office_file = str(ROOT / "inventories" / "example-office" / "site.yml")
    result = runner.invoke(app, ["test-calls", office_file, str(SCENARIOS)])
    assert result.exit_code == 3 and "give --lab" in result.output and "--live" in result.output
    both = runner.invoke(app, ["test-calls", office_file, str(SCENARIOS), "--lab", "--live"])
    assert both.exit_code == 3 and "give --lab" in both.output
    other = tmp_path / "other.yml"
    other.write_text("- {site: somewhere-else, name: n, call: {did: '+74951110001'}}\n")
    result = runner.invoke(app, ["test-calls", office_file, str(other), "--lab", "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["errors"] == [f"{other}: no scenario for site example-office"]


def test_what_the_lab_cant_place_or_the_log_cant_tell_is_not_replayed():
    from pbxctl.testcalls.replay import why_not_placed

    site = load_site(ROOT / "inventories" / "example-office" / "site.yml")
    case = scenario("regional number has no schedule")
    assert why_not_placed(site, office(), case, _at(case)) is None
    silent_first = type(case)(case.index, case.site, case.name, {**case.call, "press": "-,1"})
    assert "a key after a prompt left silent" in why_not_placed(site, office(), silent_first, _at(case))
    v = yaml.safe_load(yaml.safe_dump(office()))
    next(r for r in v["asterisk__inbound_routes"] if r["did"] == "+74954440000")["target_call"] = "Hangup()"
    hangs_up = explain(v, case.explain_call(v["asterisk__timezone"]))
    assert "a target that hangs up" in why_not_placed(site, v, case, hangs_up)
    next(e for e in v["asterisk__extensions"] if e["number"] == "101")["mobile"] = {"number": "+79160000000"}
    assert "whose mobile the lab carrier would answer" in why_not_placed(site, v, case, _at(case))


def test_a_crm_the_lab_does_not_answer_for_is_not_replayed():
    from pbxctl.testcalls.replay import why_not_placed

    site = load_site(ROOT / "tests" / "lab" / "sites" / "routing" / "site.yml")  # its own CRM, not retargeted
    v = site_vars(site)
    (case,) = [s for s in load_scenarios(ROOT / "tests" / "lab" / "data" / "test_call_scenarios_routing.yml",
                                         "routing-lab") if "names 202" in s.name]
    path = explain(v, case.explain_call(v["asterisk__timezone"]))
    assert why_not_placed(site, v, case, path) == ("the CRM lookup goes to the site's own CRM, whose answer a "
                                                   "replay can't set")


@pytest.mark.parametrize("site", ["example-office", "example-branches", "example-contact-centre"])
def test_every_scenario_says_at_any_hour_whether_it_can_be_replayed(site):
    """A call that forks at the PBX's hour (a group ringing by day that the scenario meets closed) is a reason
    not to replay it, never a crash: the whole run of test-calls stopped on one such scenario by day."""
    variables = site_vars(load_site(ROOT / "inventories" / site / "site.yml"))
    zone = variables["asterisk__timezone"]
    for case in load_scenarios(SCENARIOS, site):
        at_path = explain(variables, case.explain_call(zone))
        if at_path.outcome is None:
            continue  # forks at its own time: the replay reports that before asking the hour
        for hour in range(24):
            reason = why_not_now(variables, case, at_path, dt.datetime(2026, 12, 2, hour, 5, tzinfo=MOSCOW))
            assert reason is None or "clock can't be moved" in reason, (case.name, hour, reason)


def test_a_queue_agent_the_pbx_may_not_ring_in_time_is_not_replayed_and_one_it_will_is_waited_for():
    """A queue rings one agent at a time in an order the PBX picks: the caller waits for the worst order, and a
    scenario whose agent may not ring before the queue gives up is not placed (it would fail by chance)."""
    from pbxctl.testcalls.replay import agent_rung_within, why_not_placed

    site = load_site(ROOT / "inventories" / "example-contact-centre" / "site.yml")
    v = site_vars(site)
    queues = {q["name"]: q for q in v["asterisk__queues"]}
    assert agent_rung_within(queues["msk"]) == 2 * (15 + 2) + 5  # two others may ring out first
    assert agent_rung_within({**queues["msk"], "strategy": "ringall"}) == 5
    cases = {s.name: s for s in load_scenarios(SCENARIOS, "example-contact-centre")}
    moscow = cases["a Moscow agent answers in the Moscow queue"]
    assert why_not_placed(site, v, moscow, explain(v, moscow.explain_call(v["asterisk__timezone"]))) is None
    overflow = next(s for n, s in cases.items() if "waits out" in n)
    reason = why_not_placed(site, v, overflow, explain(v, overflow.explain_call(v["asterisk__timezone"])))
    assert reason and "queue all rings its 30 agents one at a time (leastrecent" in reason and "300 s" in reason
