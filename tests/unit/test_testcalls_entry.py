"""The test-call entry of a `test-calls --live` run as rendered (roles/asterisk/templates/testcalls): one
endpoint known by its login and the control node's address only, a context holding the run's DIDs and nothing
else, a new name and password per run, written nowhere but the PBX's /run and a 0600 request file."""

import ipaddress
import re
import stat

import yaml

from pbxctl.compile import site_vars
from pbxctl.load import load_site
from pbxctl.site.extensions import Mobile
from pbxctl.testcalls import live

from .conftest import ROOT
from .test_guard import render

SITE = ROOT / "tests" / "lab" / "sites" / "routing" / "site.yml"
CONTROL = "10.0.0.50"
CALLS = [("freephone", "+78005550100"), ("spb-city", "88127770100")]


def entry() -> dict:
    return live.new_entry(load_site(SITE), CONTROL, CALLS)


def rendered(name: str, the_entry: dict) -> str:
    variables = site_vars(load_site(SITE))
    return render(f"asterisk/templates/testcalls/{name}.j2", variables, pbxctl_testcalls_entry=the_entry)


def sections(text: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("["):
            current = {}
            found.setdefault(line.strip("[]"), []).append(current)
        elif "=" in line and current is not None and not line.startswith(";"):
            key, value = line.split("=", 1)
            current.setdefault(key, []).append(value)
    return found


def test_each_run_has_its_own_name_and_password():
    first, second = entry(), entry()
    assert first["name"] != second["name"] and first["password"] != second["password"]
    assert first["name"].startswith(live.PREFIX) and len(first["password"]) >= 32


def test_the_endpoint_takes_the_control_node_only_and_authenticates_every_call():
    the_entry = entry()
    found = sections(rendered("pjsip.conf", the_entry))
    auth, endpoint = found[the_entry["name"]]
    assert auth["type"] == ["auth"] and auth["password"] == [the_entry["password"]]
    assert endpoint["type"] == ["endpoint"] and endpoint["auth"] == [the_entry["name"]]
    # no identify by address: a call must answer the challenge with the run's login
    assert endpoint["identify_by"] == ["auth_username"] and "type=identify" not in rendered("pjsip.conf", the_entry)
    assert endpoint["deny"] == ["0.0.0.0/0.0.0.0"] and endpoint["permit"] == [f"{CONTROL}/32"]
    assert endpoint["context"] == ["pbxctl-testcalls"] and endpoint["trust_id_inbound"] == ["no"]
    assert "aors" not in endpoint  # nothing registers as it, nothing dials it


def test_the_context_hands_the_runs_dids_to_their_trunks_and_holds_nothing_else():
    text = rendered("extensions.conf", entry())
    assert re.findall(r"^\[(.+)\]$", text, re.M) == ["pbxctl-testcalls"]
    extensions = re.findall(r"^exten => ([^,]+),", text, re.M)
    assert extensions == ["+78005550100", "88127770100"]  # literal numbers: no pattern reaches anything else
    assert "Goto(from-trunk-freephone,+78005550100,1)" in text
    assert "Goto(from-trunk-spb-city,88127770100,1)" in text
    assert "Gosub(sub-inbound-e164,s,1(${testcaller},national))" in text
    # the only ways on: the trunk's routing, or the refusal of a caller that may dial out from a mobile
    assert set(re.findall(r"(Goto|Gosub|Dial|GotoIf)\(([^,(]+)", text)) <= {
        ("Goto", "from-trunk-freephone"), ("Goto", "from-trunk-spb-city"), ("Gosub", "sub-inbound-e164"),
        ("GotoIf", "${DIALPLAN_EXISTS")}


def test_the_request_file_is_private_and_the_configuration_includes_the_entry_only_from_run(tmp_path):
    class Build:
        out_dir = tmp_path

    the_entry = entry()
    path = live.write_request(Build, "present", the_entry)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text())["pbxctl_testcalls_entry"] == the_entry
    templates = ROOT / "roles" / "asterisk" / "templates" / "etc" / "asterisk"
    assert "#tryinclude /run/pbxctl-testcalls/pjsip.conf" in (templates / "pjsip.conf.j2").read_text()
    assert "#tryinclude /run/pbxctl-testcalls/extensions.conf" in (templates / "extensions.conf.j2").read_text()


def test_a_live_run_does_not_place_what_would_reach_outside():
    from pbxctl.explain import explain
    from pbxctl.testcalls import load_scenarios
    from pbxctl.testcalls.replay import why_not_placed

    site = load_site(SITE)
    v = site_vars(site)
    caller = live.EntryCaller.__new__(live.EntryCaller)
    (case,) = [s for s in load_scenarios(ROOT / "tests" / "lab" / "data" / "test_call_scenarios_routing.yml",
                                         "routing-lab") if "Moscow group rings both" in s.name]
    path = explain(v, case.explain_call(v["asterisk__timezone"]))
    assert why_not_placed(site, v, case, path, caller) is None
    next(e for e in v["asterisk__extensions"] if e["number"] == "201")["mobile"] = {"number": "+79160000000"}
    assert "whose mobile a real call would ring" in why_not_placed(site, v, case, path, caller)
    # the caller (+79161234567) a mobile that may dial out: the entry would refuse it, so it is not placed
    site.extensions[0].mobile = Mobile(number="+79161234567", dial_out=True)
    assert "a mobile that may dial out" in why_not_placed(site, site_vars(site), case, path, caller)
    gsm = next(t for t in site.trunks if t.name == path.call["trunk"]).model_copy(update={"type": "gsm_dongle"})
    assert "GSM" in caller.why_not(site, gsm, path)


def test_the_control_node_must_be_on_the_office_network_and_not_behind_a_nat():
    import pytest

    from pbxctl.problems import UserError

    site = load_site(SITE)  # pbx.local_networks: 10.0.0.0/24
    with pytest.raises(UserError, match="does not have"):
        live.check_source(site, "10.0.0.77")  # an address of the office network, not this machine's
    site.pbx.local_networks = [ipaddress.IPv4Network("127.0.0.0/8")]
    live.check_source(site, "127.0.0.1")
    site.pbx.local_networks = [ipaddress.IPv4Network("10.0.0.0/24")]
    with pytest.raises(UserError, match="outside pbx.local_networks"):
        live.check_source(site, "127.0.0.1")
