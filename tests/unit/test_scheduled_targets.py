"""Schedules on IVR keys and ring groups: what compile writes (the same schedule-<name> check inbound routes use),
the rendered dialplan's order (the check before the target, `closed` leading to after_hours), explain's walk of a
site written here, and what validate refuses (unknown schedule, a schedule without after_hours and the other
way round, targets that lead back into each other)."""

import re

import pytest

from pbxctl.compile import site_vars
from pbxctl.explain import Call, explain, parse_at, parse_presses
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid

from .conftest import write_site
from .test_dialplan import dialplan
from .test_guard import contexts

SITE = """\
site:
  name: hours
  timezone: Europe/Moscow
pbx:
  host: 192.0.2.10
extensions:
  - {number: "100", name: Duty, voicemail: true}
  - {number: "201", name: Anna}
  - {number: "202", name: Boris}
trunks:
  - {name: city, type: sip_register, host: sip.a.example, username: a, dids: ["+74951230000", "+74951230001"]}
schedules:
  - name: day
    open: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}]
    holidays: [2026-12-31]
  - name: support
    timezone: Asia/Yekaterinburg
    open: [{days: [mon, tue, wed, thu, fri], from: "10:00", to: "12:00"}]
ivrs:
  - name: main
    prompt: custom/main
    options:
      - {digit: "1", target: group:sales}
      - {digit: "2", target: extension:202, schedule: support, after_hours: voicemail:100}
    on_timeout: extension:100
ring_groups:
  - {name: sales, members: ["201", "202"], schedule: day, after_hours: extension:100, overflow: voicemail:100}
inbound_routes:
  - {did: "+74951230000", target: ivr:main}
  - {did: "+74951230001", target: group:sales}
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, dict[str, list[str]]]:
    variables = site_vars(load_site(write_site(tmp_path_factory.mktemp("hours"), SITE)))
    files = dialplan(variables)
    return variables, contexts(files["extensions_ivrs.conf"]) | contexts(files["extensions_targets.conf"])


CHECK = {"day": ["Gosub(schedule-day,s,1)", 'GotoIf($["${GOSUB_RETVAL}" = "closed"]?closed)'],
         "support": ["Gosub(schedule-support,s,1)", 'GotoIf($["${GOSUB_RETVAL}" = "closed"]?closed)']}


def test_compile_gives_keys_and_groups_the_schedule_check_and_the_after_hours_step(compiled):
    variables, _ = compiled
    one, two = variables["asterisk__ivrs"][0]["options"]
    assert "open_check" not in one and "after_hours_call" not in one
    assert two["open_check"] == CHECK["support"] and two["after_hours_call"] == "Gosub(t-voicemail,100,1)"
    group = variables["asterisk__ring_groups"][0]
    assert group["open_check"] == CHECK["day"] and group["after_hours_call"] == "Gosub(t-extension,100,1)"


def _steps(lines: list[str], exten: str) -> list[str]:
    """The steps of one extension in a context: its first line and the `same` lines after it."""
    out, inside = [], False
    for line in lines:
        if line.startswith("exten => "):
            inside = line.startswith(f"exten => {exten},")
        if inside:
            out.append(line.split(",", 2)[2] if line.startswith("exten") else line.split("n", 1)[1].lstrip(","))
    return out


def test_a_scheduled_key_asks_its_schedule_before_its_target(compiled):
    _, ctx = compiled
    key = _steps(ctx["ivr-main"], "2")
    assert key[1:5] == [*CHECK["support"], "Gosub(t-extension,202,1)", "Return()"]
    assert key[5].startswith("(closed),Verbose(1,ivr main: 2 closed (support)") and key[6:] == [
        "Gosub(t-voicemail,100,1)", "Return()"]
    assert _steps(ctx["ivr-main"], "1")[1:] == ["Gosub(t-group,sales,1)", "Return()"]  # no hours: as before


def test_a_scheduled_group_is_not_rung_outside_its_hours(compiled):
    _, ctx = compiled
    group = _steps(ctx["t-group"], "sales")
    assert group[1:3] == CHECK["day"]
    assert group[3].startswith("Dial(PJSIP/201&PJSIP/202,")  # the Dial comes after the check
    closed = next(i for i, step in enumerate(group) if step.startswith("(closed)"))
    assert group[closed + 1:] == ["Gosub(t-extension,100,1)", "Return()"]
    assert all(not step.startswith("Dial(") for step in group[closed:])


def _walk(variables: dict, did: str, at: str, **given):
    return explain(variables, Call(did, None, parse_at(at, "Europe/Moscow"), None, None,
                                   parse_presses(given.get("press")), given.get("answer"),
                                   given.get("no_answer", False)))


@pytest.mark.parametrize(("at", "verdict", "trail", "result"), [
    ("2026-12-01T08:30", "open", ["ivr:main", "extension:202"], "answered"),  # 10:30 in Yekaterinburg
    ("2026-12-01T10:30", "closed", ["ivr:main", "voicemail:100"], "voicemail"),  # 12:30 there
])
def test_explain_follows_a_keys_hours_in_the_schedules_zone(compiled, at, verdict, trail, result):
    variables, _ = compiled
    path = _walk(variables, "+74951230000", at, press="2", answer="202")
    assert [re.search(r"schedule support: (\w+)", s.text)[1] for s in path.steps if s.kind == "schedule"] == [verdict]
    assert path.trail() == trail and path.outcome.result == result


@pytest.mark.parametrize(("at", "trail"), [
    ("2026-12-01T10:00", ["group:sales", "voicemail:100"]),  # rung, nobody answers: overflow
    ("2026-12-01T19:00", ["extension:100"]),  # closed: not rung, after_hours
    ("2026-12-31T10:00", ["extension:100"]),  # the schedule's holiday
])
def test_explain_rings_a_group_only_in_its_hours(compiled, at, trail):
    variables, _ = compiled
    path = _walk(variables, "+74951230001", at, no_answer=True)
    assert path.trail() == trail


@pytest.mark.parametrize(("change", "expected"), [
    (("- {digit: \"2\", target: extension:202, schedule: support, after_hours: voicemail:100}",
      "- {digit: \"2\", target: extension:202, schedule: night, after_hours: voicemail:100}"),
     "ivrs[0].options[1].schedule: schedule 'night' is not defined"),
    ((", schedule: support, after_hours: voicemail:100}", ", schedule: support}"),
     "ivrs[0].options[1].after_hours: a key with a schedule needs after_hours"),
    ((", schedule: support, after_hours: voicemail:100}", ", after_hours: voicemail:100}"),
     "ivrs[0].options[1].after_hours: after_hours is only taken outside a schedule's hours"),
    ((", schedule: day, after_hours: extension:100,", ", schedule: day,"),
     "ring_groups[0].after_hours: a ring group with a schedule needs after_hours"),
    ((", schedule: day, after_hours: extension:100,", ", after_hours: extension:100,"),
     "ring_groups[0].after_hours: after_hours is only taken outside a schedule's hours"),
    (("after_hours: extension:100,", "after_hours: extension:999,"),
     "ring_groups[0].after_hours: extension '999' is not defined"),
    (("after_hours: extension:100,", "after_hours: group:sales,"),
     "ring_groups[0].after_hours: a call nobody answers goes round group:sales → group:sales forever"),
])
def test_validate_refuses_what_a_key_or_group_cannot_do(tmp_path, change, expected):
    text = SITE.replace(*change)
    assert text != SITE
    with pytest.raises(SiteInvalid) as raised:
        load_site(write_site(tmp_path, text))
    assert any(expected in line for line in raised.value.lines), raised.value.lines


def test_a_loop_through_an_ivrs_timeout_is_refused_a_key_back_is_not(tmp_path):
    """group → overflow ivr:main → key 1 → group is the caller's choice each time; main's on_timeout back to the
    group rings round with nobody pressing anything."""
    back = SITE.replace("overflow: voicemail:100}", "overflow: ivr:main}")
    assert load_site(write_site(tmp_path, back, "back.yml")).ring_groups[0].overflow == "ivr:main"
    loop = back.replace("on_timeout: extension:100", "on_timeout: group:sales")
    with pytest.raises(SiteInvalid) as raised:
        load_site(write_site(tmp_path, loop, "loop.yml"))
    assert any("ivrs[0].on_timeout: a call nobody answers goes round group:sales → ivr:main → group:sales"
               in line for line in raised.value.lines), raised.value.lines
