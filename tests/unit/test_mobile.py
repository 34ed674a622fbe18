"""An extension's mobile (follow-me): what validate refuses (tests/bad_sites/mobile_*.yml), what compile works out
(the route that rings it) and what the dialplan does with it, as rendered."""

import pytest

from pbxctl.compile import site_vars
from pbxctl.explain import Call, explain
from pbxctl.explain.text import lines
from pbxctl.load import load_site

from .conftest import MINIMAL, write_site
from .test_dialplan import dialplan
from .test_guard import contexts

SITE = MINIMAL + """\
extensions:
  - {number: "101", name: Anna, recording: always, mobile: {number: "8 916 123-45-67"}}
  - {number: "102", name: Boris, mobile: {number: "+79161234568", after: 10}}
  - {number: "103", name: Clara}
trunks:
  # a trunk with a number of its own presents only that; the other one may show the caller
  - {name: fixed, type: sip_register, host: sip.a.example, username: a, dids: ["+74951110000"],
     caller_id: "+74951110000"}
  - {name: open, type: sip_register, host: sip.b.example, username: b, dids: ["+74952220000"]}
inbound_routes:
  - {did: "+74952220000", target: extension:101}
outbound_routes:
  - {name: sales, patterns: ["+7XXXXXXXXXX"], trunks: [fixed], extensions: ["102"]}
  - {name: city, patterns: ["+7XXXXXXXXXX"], trunks: [open, fixed]}
cdr:
  webhook: {url: "https://crm.example/cdr"}
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, dict[str, str]]:
    variables = site_vars(load_site(write_site(tmp_path_factory.mktemp("mobile"), SITE)))
    return variables, dialplan(variables)


def test_the_mobile_takes_the_first_route_open_to_its_extension(compiled):
    variables, _ = compiled
    mobiles = {e["number"]: e.get("mobile") for e in variables["asterisk__extensions"]}
    assert mobiles == {"101": {"number": "+79161234567", "after": 0, "route": "city"},
                       "102": {"number": "+79161234568", "after": 10, "route": "sales"}, "103": None}


def test_the_desk_phone_and_the_mobile_ring_in_one_dial(compiled):
    _, files = compiled
    dials = [s for s in contexts(files["extensions_targets.conf"])["t-extension"] if ",Dial(" in s]
    assert any("Dial(PJSIP/101&Local/101@t-mobile/n," in s for s in dials), dials
    assert any("Dial(PJSIP/103," in s for s in dials) and not any("Local/103" in s for s in dials)


def test_the_mobile_leg_waits_then_calls_out_through_its_route_and_guard(compiled):
    _, files = compiled
    mobile = contexts(files["extensions_features.conf"])["t-mobile"]
    text = "\n".join(mobile)
    assert "exten => 101,1,Set(_PBX_FOR=101)" in text
    assert "Gosub(route-city,s,1(+79161234567))" in text
    assert "Wait(10)" in text and "Gosub(route-sales,s,1(+79161234568))" in text
    assert text.count("Wait(") == 1, "a mobile rung together with the desk phone waits for nothing"
    # the route is the one every call out takes: it starts with the toll-fraud guard
    route = contexts(files["extensions_trunks.conf"])["route-city"]
    assert any("Gosub(sub-outbound-guard,s,1(${number},city))" in step for step in route)


def test_only_a_trunk_without_a_number_of_its_own_shows_the_caller_on_the_mobile(compiled):
    _, files = compiled
    routes = contexts(files["extensions_trunks.conf"])
    city = "\n".join(routes["route-city"])
    open_leg, fixed_leg = city.split("(leg2)")
    assert "PBX_FOR" in open_leg and "Set(LOCAL(present)=${own})" in open_leg
    assert "PBX_FOR" not in fixed_leg
    assert "PBX_FOR" not in "\n".join(routes["route-sales"])


def test_the_answer_on_a_mobile_is_the_extensions_and_reaches_the_call_record(compiled):
    _, files = compiled
    answered = "\n".join(contexts(files["extensions_recording.conf"])["sub-answered"])
    # the Local half returns at once: only the trunk channel behind it (or the desk phone) decides
    assert answered.splitlines()[0].endswith('GotoIf($["${CHANNEL(channeltype)}" = "Local"]?local)')
    assert "Set(MASTER_CHANNEL(PBX_ANSWERED_ON)=${IF($[\"${mobile}\" != \"\"]?${FILTER(a-z,${PBX_ON})}:)})" in answered
    assert "|answered_on=${FILTER(a-z,${PBX_ANSWERED_ON})}|" in files["extensions_calls.conf"]


def test_explain_says_the_mobile_rings_too(compiled):
    variables, _ = compiled
    text = "\n".join(lines(explain(variables, Call("+74952220000", "+79160000000"))))
    assert "ring extension 101 (Anna) and its mobile +79161234567 at the same time (route city)" in text
