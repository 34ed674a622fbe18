"""`pbxctl explain` on the example sites: each call of tests/data/call_scenarios.yml goes where a reader of the
site expects (schedule, trail, end); forks where the call decides; bad input is a user error (exit 3)."""

import json
import re
from functools import cache
from pathlib import Path as FilePath

import pytest
import yaml

from pbxctl.compile import site_vars
from pbxctl.explain import Call, Path, explain, parse_at, parse_presses
from pbxctl.explain.text import lines
from pbxctl.load import load_site

from .conftest import ROOT

SCENARIOS = yaml.safe_load((ROOT / "tests" / "data" / "call_scenarios.yml").read_text(encoding="utf-8"))


@cache
def variables(site: str) -> dict:
    return site_vars(load_site(ROOT / "inventories" / site / "site.yml"))


def site_file(site: str) -> str:
    return str(ROOT / "inventories" / site / "site.yml")


def walk(site: str, **given):
    v = variables(site)
    return explain(v, Call(given["did"], given.get("from"), parse_at(given.get("at"), v["asterisk__timezone"]),
                           given.get("trunk"), given.get("crm_answer"), parse_presses(given.get("press")),
                           given.get("answer"), given.get("no_answer", False)))


@pytest.mark.parametrize("case", SCENARIOS, ids=[f"{c['site']}: {c['name']}" for c in SCENARIOS])
def test_a_call_goes_where_the_site_says(case):
    path = walk(case["site"], **case["call"])
    expect = case["expect"]
    # each schedule the call meets, in order (the route's, an IVR key's, a group's): "open", or "name: open"
    met = [re.search(r"schedule (\S+): (open|closed)", s.text).groups() for s in path.steps if s.kind == "schedule"]
    wanted = expect.get("schedule", [])
    wanted = [wanted] if isinstance(wanted, str) else wanted
    assert len(met) == len(wanted), met
    for want, (name, verdict) in zip(wanted, met, strict=True):
        assert want in (verdict, f"{name}: {verdict}"), met
    assert path.trail() == expect["trail"], "\n".join(lines(path))
    assert path.outcome.result == expect["result"]
    assert path.outcome.extension == expect.get("extension")
    assert path.outcome.recording == expect.get("recording")
    assert not path.outcome.if_nobody_answers  # every scenario says who answers, or that nobody does


def test_every_example_site_has_scenarios():
    assert {c["site"] for c in SCENARIOS} == {p.parent.name for p in ROOT.glob("inventories/*/site.yml")}


def test_without_the_callers_choices_every_way_is_shown():
    """The 8-800 line asks the CRM, then the IVR: both forks, each IVR key a branch, silence and a wrong key."""
    path = walk("example-branches", did="+78005550100", at="2026-12-01T10:00", no_answer=True)
    assert path.outcome is None
    crm = path.steps[-1]
    assert crm.kind == "choice" and [b.choice for b in crm.branches] == ["crm:extension", "crm:none"]
    for branch in crm.branches:
        ivr = branch.steps[-1]
        assert ivr.kind == "choice"
        assert [b.choice for b in ivr.branches] == ["press:1", "press:2", "press:3", "press:4", "press:0",
                                                    "press:none", "press:other"]
        ends = {b.choice: [s.target for s in b.steps if s.kind == "ring"] for b in ivr.branches}
        assert ends["press:2"] == ["group:spb", "extension:100", "extension:100"]
        assert ends["press:none"] == ends["press:other"] == ["extension:100", "extension:100"]
        assert all(b.outcome.result == "hangup" for b in ivr.branches)
    assert crm.branches[0].steps[0].kind == "ring" and crm.branches[0].steps[0].seconds == 20


def test_a_groups_recording_policy_wins_over_the_answering_extensions():
    v = json.loads(json.dumps(variables("example-office")))
    next(g for g in v["asterisk__ring_groups"] if g["name"] == "ops")["recording"] = "always"
    call = {"did": "+74953330000", "at": parse_at("2026-12-01T10:00", "Europe/Moscow"), "answer": "112"}
    assert explain(v, Call(**call)).outcome.recording == "always"  # 112's own: on_demand
    assert walk("example-office", **call | {"at": "2026-12-01T10:00"}).outcome.recording == "on_demand"


def test_when_nobody_says_who_answers_each_ring_may_end_the_call():
    path = walk("example-office", did="+74951110001", at="2026-12-01T10:00")
    rings = [s for s in path.steps if s.kind == "ring"]
    assert [s.answered for s in rings] == [None, None, None]
    assert [s.seconds for s in rings] == [25, 30, 30]  # the group's ring_time, then t-extension's 30 s
    assert rings[0].extensions == [str(n) for n in range(101, 111)]
    assert path.outcome.result == "hangup" and path.outcome.if_nobody_answers
    assert lines(path)[-1].endswith("unless a phone above is answered")


def test_the_ivr_repeats_as_often_as_retries_says():
    path = walk("example-branches", did="+78005550100", at="2026-12-01T10:00", crm_answer="none", press="-",
                no_answer=True)
    presses = [s.text for s in path.steps if s.kind == "press"]
    assert presses == ["no key in 6 s: the prompt again (1 of 1)", "no key in 6 s: on_timeout extension:100"]


def test_json_document(runner):
    from pbxctl.cli import app

    result = runner.invoke(app, ["explain", site_file("example-contact-centre"), "--did", "+79160010101",
                                 "--at", "2026-12-01T12:00", "--no-answer", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["version"] == 1 and document["command"] == "explain"
    assert document["call"]["did"] == "+79160010101" and document["call"]["at"] == "2026-12-01T12:00:00+03:00"
    assert [s["target"] for s in document["steps"] if s["kind"] in ("queue", "ring")] == [
        "queue:msk", "queue:all", "extension:100"]
    assert all(s["answered"] is False for s in document["steps"] if s["kind"] in ("queue", "ring"))
    assert document["outcome"] == {"result": "hangup", "reason": "nobody answered"}


def test_text(runner):
    from pbxctl.cli import app

    result = runner.invoke(app, ["explain", site_file("example-office"), "--did", "+74951110001",
                                 "--at", "2026-12-31T11:00"])
    assert result.exit_code == 0, result.output
    assert "schedule office: closed (thu 2026-12-31 11:00 Europe/Moscow is a holiday)" in result.stdout
    assert result.stdout.rstrip().endswith("→ voicemail of 100")


@pytest.mark.parametrize("arguments, message", [
    (["--did", "+74950000000"], "--did: +74950000000 has no inbound route; the site's DIDs: +74951110001"),
    (["--did", "8 495 000-00-00"], "--did: 8 495 000-00-00 (read as +74950000000) has no inbound route"),
    (["--did", "+74951110001", "--at", "tomorrow"], "--at: 'tomorrow' is not a date and time"),
    (["--did", "+74951110001", "--at", "2026-12-01"], "--at: '2026-12-01' has no time of day"),
    (["--did", "+74951110001", "--at", "2026-12-01T25:00"], "is not a date and time"),
    (["--did", "+74951110001", "--press", "1,x"], "--press: 'x': one key per prompt"),
    (["--did", "+74951110001", "--trunk", "nowhere"], "--trunk: 'nowhere' is no trunk of this site"),
    (["--did", "+74951110001", "--answer", "999"], "--answer: '999' is no extension of this site"),
    (["--did", "+74951110001", "--answer", "101", "--no-answer"], "give one of them"),
    (["--did", "+74951110001", "--crm-answer", "boss"], "--crm-answer: 'boss'"),
])
def test_bad_input_is_a_user_error(runner, arguments, message):
    from pbxctl.cli import app

    result = runner.invoke(app, ["explain", site_file("example-office"), *arguments])
    assert result.exit_code == 3
    assert message in result.stderr
    json_result = runner.invoke(app, ["explain", site_file("example-office"), *arguments, "--json"])
    assert json_result.exit_code == 3 and message in json.loads(json_result.stdout)["errors"][0]


def test_explain_reads_the_compiled_variables_not_the_site():
    """A change compile makes (here: a group's steps) is what explain follows."""
    v = json.loads(json.dumps(variables("example-office")))
    group = next(g for g in v["asterisk__ring_groups"] if g["name"] == "sales")
    group["steps"] = ["PJSIP/105"]
    path = explain(v, Call("+74951110001", at=parse_at("2026-12-01T10:00", "Europe/Moscow"), answer="105"))
    assert path.steps[2].extensions == ["105"] and path.outcome.extension == "105"


def test_an_invalid_site_is_refused(runner, tmp_path):
    from pbxctl.cli import app

    site = tmp_path / "site.yml"
    site.write_text(FilePath(site_file("example-office")).read_text().replace("target: group:sales", "target: group:x",
                                                                          1))
    result = runner.invoke(app, ["explain", str(site), "--did", "+74951110001"])
    assert result.exit_code == 3
    assert re.search(r"site\.yml:\d+:\d+: inbound_routes\[0\]\.target: group 'x' is not defined", result.stderr)


@pytest.mark.parametrize("site", sorted({c["site"] for c in SCENARIOS}))
def test_explain_knows_every_step_compile_writes_for_a_target(site):
    """A new kind of target step in pbxctl.compile.dialplan fails here, not on some call."""
    from pbxctl.explain.walk import STEP

    v = variables(site)
    items = [*v["asterisk__inbound_routes"], *v["asterisk__ring_groups"], *v["asterisk__queues"]]
    steps = [value for item in items for key, value in item.items() if key.endswith("_call")]
    for ivr in v["asterisk__ivrs"]:
        steps += [ivr["on_timeout_call"], ivr["on_invalid_call"], *(o["call"] for o in ivr["options"])]
    assert steps
    assert not [s for s in steps if s != "Hangup()" and not STEP.match(s)]


@pytest.mark.parametrize("site, call", [
    ("example-branches", {"did": "+78005550100", "at": "2026-12-01T10:00"}),  # forks within forks
    *((c["site"], c["call"]) for c in SCENARIOS),
])
def test_a_json_document_reads_back_as_the_same_path(site, call):
    document = json.loads(json.dumps(walk(site, **call).as_json()))
    again = Path.from_json(document)
    assert again.as_json() == document
    assert again.outcome == walk(site, **call).outcome


def test_a_document_of_another_version_is_refused():
    with pytest.raises(ValueError, match="version 1 expected"):
        Path.from_json({"version": 2, "call": {}, "steps": [], "outcome": None})


# --- explain follows the dialplan the role renders from the same variables ---

def _app(line: str) -> str:
    """The application of a dialplan line: 'same => n(end),Hangup()' → 'Hangup()'."""
    return re.sub(r"^\s*(exten => [^,]+,1|same => n(\([a-z0-9]+\))?),", "", line)


def _extens(lines_: list[str]) -> dict[str, list[str]]:
    """A context's lines by extension (a 'same' line belongs to the exten above it)."""
    found: dict[str, list[str]] = {}
    for line in lines_:
        if line.startswith("exten => "):
            current = line.split("=> ", 1)[1].split(",", 1)[0]
            found[current] = []
        found[current].append(_app(line))
    return found


@pytest.fixture(scope="module", params=sorted({c["site"] for c in SCENARIOS}))
def rendered(request) -> tuple[dict, dict[str, list[str]]]:
    from .test_dialplan import dialplan
    from .test_guard import contexts

    v = variables(request.param)
    found: dict[str, list[str]] = {}
    for text in dialplan(v).values():
        found |= contexts(text)
    return v, found


def test_an_inbound_route_runs_in_the_order_explain_walks_it(rendered):
    """[inbound]: schedule, CRM, target, fallback, end; closed: the after-hours target, end."""
    v, found = rendered
    extens = _extens(found["inbound"])
    for route in v["asterisk__inbound_routes"]:
        steps = [app for app in extens[route["did"]] if app.startswith(("Gosub(", "Hangup("))]
        expected = [f"Gosub(schedule-{route['schedule']},s,1)"] if "schedule" in route else []
        expected += ["Gosub(sub-crm-lookup,s,1)"] if route["crm_lookup"] and v["asterisk__crm"] else []
        expected += [route["target_call"], *([route["fallback_call"]] if "fallback_call" in route else []), "Hangup()"]
        expected += [route["after_hours_call"], "Hangup()"] if "schedule" in route else []
        assert steps == expected


def test_targets_ring_what_and_as_long_as_explain_says(rendered):
    from pbxctl.explain.walk import CRM_RING, EXTENSION_RING

    v, found = rendered
    for number, apps in _extens(found["t-extension"]).items():
        # do-not-disturb and forward-always first (sub-extension-state), then the ring explain describes
        assert apps[0] == f"Gosub(sub-extension-state,s,1({number}))"
        assert apps[2].startswith(f"Dial(PJSIP/{number},${{IF($[\"${{RING_TIME}}\" = \"\"]?{EXTENSION_RING}:")
    if v["asterisk__crm"]:
        assert f"Set(LOCAL(RING_TIME)={CRM_RING})" in [_app(line) for line in found["sub-crm-lookup"]]
    groups = _extens(found.get("t-group", []))
    for group in v["asterisk__ring_groups"]:
        dials = [re.match(r"Dial\(([^,]+),(\d+),", app).groups() for app in groups[group["name"]]
                 if app.startswith("Dial(")]
        assert dials == [(step, str(group["ring_time"])) for step in group["steps"]]
        policy = f"U(sub-answered^{group.get('recording', '')})"  # the policy explain gives a group's answer
        assert all(app.endswith(f",t${{PBX_CALLER_OPTS}}{policy})") for app in groups[group["name"]]
                   if app.startswith("Dial("))
        assert ("overflow_call" in group) == any(app == group.get("overflow_call") for app in groups[group["name"]])
    queues = _extens(found.get("t-queue", []))
    for queue in v["asterisk__queues"]:
        name = queue["name"]
        assert f"Queue({name},t,,,{queue['max_wait']},,queue-answered-{name})" in queues[name]
    for ivr in v["asterisk__ivrs"]:
        extens = _extens(found[f"ivr-{ivr['name']}"])
        assert f"WaitExten({ivr['timeout']})" in extens["s"]
        for option in ivr["options"]:
            assert option["call"] in extens[option["digit"]]
        assert f"GotoIf($[${{IVR_TRIES}} <= {ivr['retries']}]?s,ask)" in extens["t"]
        assert f"GotoIf($[${{IVR_TRIES}} <= {ivr['retries']}]?s,ask)" in extens["i"]
        assert ivr["on_timeout_call"] in extens["t"] and ivr["on_invalid_call"] in extens["i"]


def test_a_schedule_is_decided_on_the_ranges_and_holidays_explain_reads(rendered):
    v, found = rendered
    for schedule in v["asterisk__schedules"]:
        apps = [_app(line) for line in found[f"schedule-{schedule['name']}"]]
        zone = schedule["timezone"]
        assert apps[0] == f"Set(LOCAL(today)=${{STRFTIME(${{EPOCH}},{zone},%F)}})"
        assert [a for a in apps if a.startswith("GotoIfTime(")] == [
            f"GotoIfTime({r['time']},{r['days']},*,*,{zone}?open)" for r in schedule["ranges"]]
        assert [a for a in apps if "today" in a and a.startswith("GotoIf(")] == [
            f'GotoIf($["${{today}}" = "{day}"]?closed)' for day in schedule["holidays"]]


def test_a_build_directory_explains_the_routing_it_was_compiled_with(tmp_path, runner):
    from pbxctl.cli import app

    from .conftest import copy_example
    from .test_compile import set_external_secrets

    site = copy_example("example-office", tmp_path)
    set_external_secrets(runner, site)
    build = tmp_path / "build"
    assert runner.invoke(app, ["compile", str(site), "-o", str(build)]).exit_code == 0
    site.write_text(site.read_text(encoding="utf-8").replace("after_hours: voicemail:100", "after_hours: hangup"))
    call = ["--did", "+74951110001", "--at", "2026-12-31T10:00", "--json"]
    built = json.loads(runner.invoke(app, ["explain", str(build), *call]).stdout)
    now = json.loads(runner.invoke(app, ["explain", str(site), *call]).stdout)
    assert built["outcome"] == {"result": "voicemail", "extension": "100"}  # what the build would install
    assert now["outcome"] == {"result": "hangup", "reason": "after hours says hangup"}  # the site as edited since
    result = runner.invoke(app, ["explain", str(tmp_path), "--did", "+74951110001"])
    assert result.exit_code == 3 and "no build (no vars.yml)" in result.stderr


LOOPING_IVR = """\
site:
  name: loop
pbx:
  host: 192.0.2.10
extensions:
  - {number: "100", name: Reception}
trunks:
  - {name: city, type: sip_register, host: sip.example.net, username: "74951234567", dids: ["+74951234567"]}
inbound_routes:
  - {did: "+74951234567", target: "ivr:main"}
ivrs:
  - name: main
    prompt: custom/main
    options:
      - {digit: "1", target: "extension:100"}
      - {digit: "9", target: "ivr:main"}
    on_timeout: hangup
"""


def test_a_menu_that_leads_back_to_itself(tmp_path):
    """9 plays the menu again: shown once as a way back; with the keys given, followed as the caller goes."""
    from .conftest import write_site

    v = site_vars(load_site(write_site(tmp_path, LOOPING_IVR)))
    at = parse_at("2026-12-01T10:00", "Europe/Moscow")
    fork = explain(v, Call("+74951234567", at=at, no_answer=True)).steps[-1]
    again = next(b for b in fork.branches if b.choice == "press:9")
    assert again.steps[-1].kind == "loop" and again.outcome.result == "loop"
    assert next(b for b in fork.branches if b.choice == "press:none").outcome.reason == "IVR timeout says hangup"
    path = explain(v, Call("+74951234567", at=at, presses=["9", "9", "1"], answer="100"))
    assert path.trail() == ["ivr:main", "ivr:main", "ivr:main", "extension:100"]
    assert path.outcome.extension == "100"
