"""`pbxctl plan`'s routing diff: two versions of a site, compiled, and what changes for callers between them as
explain walks them (every way: in and outside each schedule's hours, each key, nobody answering); the base
plan compares with (the last apply's routing, else the build before this compile)."""

import io
from pathlib import Path

import yaml
from rich.console import Console

from pbxctl.compile import Compiled, compile_site, site_vars
from pbxctl.explain.diff import routing_changes
from pbxctl.load import load_site
from pbxctl.plan import APPLIED, print_routing, record_applied, routing_base, routing_plan

from .conftest import write_site

V1 = """\
site:
  name: diffs
  timezone: Europe/Moscow
pbx:
  host: 192.0.2.10
extensions:
  - {number: "100", name: Duty, voicemail: true}
  - {number: "201", name: Anna}
  - {number: "202", name: Boris}
trunks:
  - {name: city, type: sip_ip, host: 192.0.2.50, match: [192.0.2.50/32],
     dids: ["+74951230000", "+74951230001", "+74951230002"]}
schedules:
  - name: office
    open: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}]
ivrs:
  - name: main
    prompt: custom/main
    options:
      - {digit: "1", target: extension:201}
      - {digit: "2", target: extension:202}
    on_timeout: extension:100
ring_groups:
  - {name: sales, members: ["201", "202"]}
inbound_routes:
  - {did: "+74951230000", target: group:sales, schedule: office, after_hours: voicemail:100}
  - {did: "+74951230001", target: ivr:main}
"""


def _vars(tmp_path: Path, text: str, name: str) -> dict:
    return site_vars(load_site(write_site(tmp_path, text, name)))


def _lines(tmp_path: Path, old: str, new: str) -> list[str]:
    return [c.line() for c in routing_changes(_vars(tmp_path, old, "old.yml"), _vars(tmp_path, new, "new.yml"))]


def test_the_same_routing_changes_nothing(tmp_path):
    assert _lines(tmp_path, V1, V1) == []


def test_an_after_hours_target_that_changes_is_one_line(tmp_path):
    new = V1.replace("schedule: office, after_hours: voicemail:100}", "schedule: office, after_hours: group:sales}")
    assert _lines(tmp_path, V1, new) == [
        "+74951230000 outside office hours: voicemail:100 → group:sales › hangup"]


def test_a_key_that_leads_elsewhere(tmp_path):
    new = V1.replace('{digit: "2", target: extension:202}', '{digit: "2", target: voicemail:100}')
    assert _lines(tmp_path, V1, new) == [
        "+74951230001 key 2: ivr:main › extension:202 › hangup → ivr:main › voicemail:100"]


def test_hours_given_to_a_key_show_only_the_hours_that_differ(tmp_path):
    new = V1.replace('{digit: "2", target: extension:202}',
                     '{digit: "2", target: extension:202, schedule: office, after_hours: voicemail:100}')
    assert _lines(tmp_path, V1, new) == [
        "+74951230001 key 2, outside office hours: ivr:main › extension:202 › hangup → ivr:main › voicemail:100"]


def test_hours_taken_from_a_route_merge_back(tmp_path):
    new = V1.replace("target: group:sales, schedule: office, after_hours: voicemail:100}", "target: group:sales}")
    assert _lines(tmp_path, V1, new) == ["+74951230000 outside office hours: voicemail:100 → group:sales › hangup"]


def test_a_route_added_and_one_removed(tmp_path):
    new = V1.replace('  - {did: "+74951230001", target: ivr:main}\n',
                     '  - {did: "+74951230002", target: extension:100}\n')
    lines = _lines(tmp_path, V1, new)
    assert "+74951230002: (no route) → extension:100 › hangup" in lines
    assert "+74951230001 key 1: ivr:main › extension:201 › hangup → (no route)" in lines
    assert all(line.startswith(("+74951230002", "+74951230001")) for line in lines)


def test_a_change_deep_in_a_group_shows_on_every_way_that_reaches_it(tmp_path):
    new = V1.replace('{name: sales, members: ["201", "202"]}', '{name: sales, members: ["201", "202"], '
                     'overflow: voicemail:100}')
    assert _lines(tmp_path, V1, new) == [
        "+74951230000 in office hours: group:sales › hangup → group:sales › voicemail:100"]


def _compiled(tmp_path: Path, text: str) -> Compiled:
    return compile_site(write_site(tmp_path, text), tmp_path / "build")


def test_plan_compares_with_the_build_before_then_with_the_last_apply(tmp_path):
    first = _compiled(tmp_path, V1)
    changes, against = routing_plan(first)
    assert against == "nothing (a first build)" and len(changes) == 6  # every way of both routes is new (2 + 4)
    new = V1.replace("after_hours: voicemail:100}", "after_hours: group:sales}")
    second = _compiled(tmp_path, new)
    changes, against = routing_plan(second)
    assert against == "the last build" and [c.as_json() for c in changes] == [
        {"did": "+74951230000", "when": "outside office hours", "before": "voicemail:100",
         "after": "group:sales › hangup"}]
    record_applied(second)  # an apply of it succeeded
    assert routing_base(second)[1] == "the last apply"
    stored = yaml.safe_load((tmp_path / "build" / APPLIED).read_text())
    assert set(stored) <= {"asterisk__inbound_routes", "asterisk__ivrs", "asterisk__ring_groups", "asterisk__queues",
                           "asterisk__schedules", "asterisk__extensions", "asterisk__crm", "asterisk__timezone"}
    third = _compiled(tmp_path, V1)  # plan of the old site again: against what was applied, not the build
    assert [c.line() for c in routing_plan(third)[0]] == [
        "+74951230000 outside office hours: group:sales › hangup → voicemail:100"]
    assert routing_plan(_compiled(tmp_path, V1))[0]  # a second plan still compares with the apply


def test_the_plan_text_lists_each_change(tmp_path):
    first = _compiled(tmp_path, V1)
    second = _compiled(tmp_path, V1.replace("after_hours: voicemail:100}", "after_hours: group:sales}"))
    assert first.out_dir == second.out_dir
    buffer = io.StringIO()
    print_routing(*routing_plan(second), Console(file=buffer, width=200, color_system=None))
    assert buffer.getvalue().splitlines() == [
        "routing: 1 change(s) for callers (against the last build)",
        "  ~ +74951230000 outside office hours: voicemail:100 → group:sales › hangup"]
    buffer = io.StringIO()
    print_routing([], "the last apply", Console(file=buffer, width=200, color_system=None))
    assert buffer.getvalue().strip() == "routing: no change for callers (against the last apply)"
