"""Call features as the dialplan has them (pickup, parking, conferences, forward, do-not-disturb): what compile
works out and what the rendered files hold; bad sites (tests/bad_sites: pickup_*, parking_*, conference_*) hold
what validate refuses."""

import pytest

from pbxctl.compile import site_vars
from pbxctl.load import load_site

from .conftest import MINIMAL, write_site
from .test_dialplan import dialplan
from .test_guard import contexts

SITE = MINIMAL + """\
extensions:
  - {number: "101", name: Anna}
  - {number: "102", name: Boris}
  - {number: "103", name: Clara}
trunks:
  - {name: city, type: sip_register, host: sip.a.example, username: a}
outbound_routes:
  - {name: city, patterns: ["+7XXXXXXXXXX"], trunks: [city], extensions: ["101", "102"]}
  - {name: world, patterns: ["+X."], trunks: [city], extensions: ["101"], allowed_countries: [DE]}
features:
  pickup_groups: [{name: sales, members: ["101", "102"]}]
  parking: {number: "700", slots: 3, timeout: 45}
  conferences: [{number: "800", name: team, max_members: 5}]
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, dict[str, str]]:
    variables = site_vars(load_site(write_site(tmp_path_factory.mktemp("features"), SITE)))
    names = ["pjsip.conf", "res_parking.conf", "confbridge.conf", "modules.conf"]
    return variables, dialplan(variables) | {name: _render(name, variables) for name in names}


def _render(name: str, variables: dict) -> str:
    from .test_guard import render
    extra = {"asterisk__extension_secrets": {e["number"]: {"username": "u", "password": "p"}
                                             for e in variables["asterisk__extensions"]},
             "asterisk__trunk_endpoints": {t["name"]: f"trunk-{t['name']}-x" for t in variables["asterisk__trunks"]},
             "asterisk__trunk_secrets": {t["name"]: "x" for t in variables["asterisk__trunks"]},
             "asterisk__sip_allowed_networks": [], "asterisk__dongle_modules_present": []}
    return render(f"asterisk/templates/etc/asterisk/{name}.j2", variables | extra)


def test_pickup_groups_are_the_members_call_and_pickup_groups(compiled):
    variables, files = compiled
    groups = {e["number"]: e["pickup_groups"] for e in variables["asterisk__extensions"]}
    assert groups == {"101": ["sales"], "102": ["sales"], "103": []}
    endpoints = files["pjsip.conf"].split("\n[")
    anna = next(e for e in endpoints if e.startswith("101](endpoint-common)"))
    clara = next(e for e in endpoints if e.startswith("103](endpoint-common)"))
    assert "named_call_group=sales" in anna and "named_pickup_group=sales" in anna
    assert "pickup_group" not in clara


def test_the_parking_lot_and_its_slots(compiled):
    variables, files = compiled
    assert variables["asterisk__features"]["parking"] == {"number": "700", "first": "701", "last": "703",
                                                           "slots": ["701", "702", "703"], "timeout": 45}
    lot = files["res_parking.conf"]
    assert "parkpos => 701-703" in lot and "parkingtime => 45" in lot
    # the lot's own extensions, not res_parking's parkedcalls context (the checker refuses an include of it)
    features = "\n".join(contexts(files["extensions_features.conf"])["pbx-features"])
    assert "exten => 700,1,Park(default)" in features
    assert all(f"exten => {slot},1,ParkedCall(default,{slot})" in features for slot in ("701", "702", "703"))
    assert "load => res_parking.so" in files["modules.conf"]


def test_a_conference_room_is_a_confbridge_with_its_limit(compiled):
    _, files = compiled
    features = "\n".join(contexts(files["extensions_features.conf"])["pbx-features"])
    assert "exten => 800,1,Answer()" in features and "ConfBridge(team,pbxctl-team,pbxctl-user)" in features
    assert "[pbxctl-team]\ntype=bridge\nmax_members=5" in files["confbridge.conf"]
    assert "load => app_confbridge.so" in files["modules.conf"]


def test_feature_codes_are_reached_only_as_a_filtered_copy(compiled):
    _, files = compiled
    internal = contexts(files["extensions_routing.conf"])["from-internal"]
    step = next(s for s in internal if "pbx-features" in s)
    assert "?pbx-features,${PBX_FEATURE},1)" in step and "${EXTEN}" not in step
    codes = [s.split(",")[0].removeprefix("exten => ")
             for s in contexts(files["extensions_features.conf"])["pbx-features"] if s.startswith("exten")]
    assert {"*8", "_**X.", "*78", "*79", "_*72X.", "*73", "_*90X.", "*91", "_*52X.", "*53", "800"} <= set(codes)


def test_a_forward_outside_is_judged_by_the_guard_before_it_is_stored(compiled):
    _, files = compiled
    steps = contexts(files["extensions_features.conf"])["sub-forward-set"]
    text = "\n".join(steps)
    assert text.index("Gosub(sub-dialled,s,1)") < text.index("Gosub(sub-outbound-guard,s,1(${target},${route}))") \
        < text.index("(store),Set(DB(pbxctl_${kind}/${self})=${target})")


def test_the_route_of_a_forward_is_the_extensions_own(compiled):
    """which-outbound-N: the same routes, in the same order, as the extension's outbound-N context."""
    variables, files = compiled
    found = contexts(files["extensions_features.conf"])
    for outbound_set in variables["asterisk__outbound_sets"]:
        includes = [s for s in found[f"which-{outbound_set['name']}"] if s.startswith("include")]
        assert includes == [f"include => which-route-{r}" for r in outbound_set["routes"]]
    assert "exten => _+7XXXXXXXXXX,1,Return(city)" in found["which-route-city"]


def test_every_extension_checks_do_not_disturb_and_forwards(compiled):
    _, files = compiled
    targets = "\n".join(contexts(files["extensions_targets.conf"])["t-extension"])
    for number in ("101", "102", "103"):
        assert f"exten => {number},1,Gosub(sub-extension-state,s,1({number}))" in targets
        assert f"Gosub(sub-extension-after,s,1({number}))" in targets
