"""A mobile dialling out as its extension (extensions[].mobile.dial_out): its PIN (generated into secrets.yml, a weak
one set by hand refused), what the dialplan does with a call from it, and that nothing else routes differently.
The calls themselves: tests/lab/test_mobile_dial_out.py."""

import re

import pytest
import yaml

from pbxctl.compile import compile_site
from pbxctl.problems import SiteInvalid
from pbxctl.secrets import read_secrets, weak_pin, write_secrets
from pbxctl.security import ALERT_EVENTS

from .conftest import MINIMAL, write_site
from .test_dialplan import included
from .test_guard import contexts, render

SITE = MINIMAL + """\
extensions:
  - {number: "101", name: Anna, recording: always, mobile: {number: "8 916 123-45-67", dial_out: true}}
  - {number: "102", name: Boris, mobile: {number: "+79161234568"}}
  - {number: "103", name: Clara}
trunks:
  - {name: city, type: sip_register, host: sip.a.example, username: a, dids: ["+74951110000"]}
inbound_routes:
  - {did: "+74951110000", target: extension:103}
outbound_routes:
  - {name: sales, patterns: ["+7XXXXXXXXXX"], trunks: [city], extensions: ["102"]}
  - {name: city, patterns: ["+7XXXXXXXXXX"], trunks: [city]}
"""


def _compile(tmp_path, text: str = SITE) -> tuple[dict, dict[str, str]]:
    site_file = write_site(tmp_path, text)
    secrets = read_secrets(tmp_path / "secrets.yml", None)
    secrets.section("trunks")["city"] = {"password": "provider-password"}
    write_secrets(tmp_path / "secrets.yml", secrets, None)
    out = compile_site(site_file, tmp_path / "build").out_dir
    variables = yaml.safe_load((out / "vars.yml").read_text()) | yaml.safe_load((out / "secrets.yml").read_text())
    files = {name: render(f"asterisk/templates/etc/asterisk/{name}.j2", variables)
             for name in ["extensions.conf", "modules.conf", *included()]}
    return variables, files


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return _compile(tmp_path_factory.mktemp("dial-out"))


def test_a_pin_is_generated_for_a_dial_out_mobile_only_and_kept(tmp_path):
    _compile(tmp_path)
    secrets = read_secrets(tmp_path / "secrets.yml", None)
    pin = secrets.get("extensions", "101", "mobile_pin")
    assert re.fullmatch(r"[0-9]{6}", pin) and weak_pin(pin) is None
    assert secrets.get("extensions", "102", "mobile_pin") is None, "102's mobile does not dial out"
    _compile(tmp_path)
    assert read_secrets(tmp_path / "secrets.yml", None).get("extensions", "101", "mobile_pin") == pin


@pytest.mark.parametrize(("pin", "why"), [
    ("12345", "6-12 digits"), ("1234567890123", "6-12 digits"), ("12a456", "6-12 digits"), ("12 3456", "6-12"),
    ("１２３４５６", "6-12 digits"), (True, "6-12 digits"), ("777777", "repeated"), ("123456", "straight run"),
    ("987654", "straight run"), ("890123", "straight run"),
])
def test_weak_pins_are_refused(pin, why):
    assert why in (weak_pin(pin) or "")


@pytest.mark.parametrize("pin", ["927971", "20190817", 480213])
def test_a_pin_of_six_or_more_unpatterned_digits_is_taken(pin):
    assert weak_pin(pin) is None


def test_compile_refuses_a_weak_pin_set_by_hand(tmp_path):
    _compile(tmp_path)
    secrets = read_secrets(tmp_path / "secrets.yml", None)
    secrets.section("extensions")["101"]["mobile_pin"] = "111111"
    write_secrets(tmp_path / "secrets.yml", secrets, None)
    with pytest.raises(SiteInvalid, match=r"extensions\.101\.mobile_pin: one digit repeated"):
        compile_site(tmp_path / "site.yml", tmp_path / "build")


def test_the_pin_is_only_in_the_secret_file_of_the_dialplan(compiled):
    variables, files = compiled
    pin = variables["asterisk__extension_secrets"]["101"]["mobile_pin"]
    assert f"PBX_MOBILE_PIN_101={pin}" in files["extensions_secrets.conf"].splitlines()
    assert not [name for name, text in files.items() if pin in text and name != "extensions_secrets.conf"]
    assert "PBX_MOBILE_PIN_102" not in files["extensions_secrets.conf"]
    mobiles = {e["number"]: e.get("mobile") for e in variables["asterisk__extensions"]}
    assert mobiles["101"] == {"number": "+79161234567", "after": 0, "route": "city", "dial_out": True}
    assert "dial_out" not in mobiles["102"]


def test_a_call_from_the_mobile_on_a_did_is_sent_to_the_pin_prompt_before_any_routing(compiled):
    _, files = compiled
    trunk = contexts(files["extensions_trunks.conf"])["from-trunk-city"]
    hook = next(i for i, step in enumerate(trunk) if "mobile-dial-out,${CALLERID(num)}" in step)
    assert "DIALPLAN_EXISTS(inbound,${did},1)" in trunk[hook], "only on one of the site's DIDs"
    start = next(i for i, step in enumerate(trunk) if "sub-call-start" in step)
    # the caller's number is the filtered, E.164 copy by then
    normalised = next(i for i, step in enumerate(trunk) if "Set(CALLERID(num)=${FILTER(" in step)
    assert normalised < hook < start
    # only the dial-out mobile is known there, by its E.164 number
    mobiles = contexts(files["extensions_features.conf"])["mobile-dial-out"]
    assert mobiles == ["exten => +79161234567,1,Gosub(sub-mobile-dial-out,s,1(101))", " same => n,Return()"]


def test_without_a_dial_out_mobile_the_trunk_context_is_as_before(tmp_path, compiled):
    _, files = _compile(tmp_path, SITE.replace(", dial_out: true", ""))
    # Read() and PJSIP_ENDPOINT() are loaded only for a site that needs them
    assert "app_read.so" not in files["modules.conf"] and "func_pjsip_endpoint.so" not in files["modules.conf"]
    assert {"load => app_read.so", "load => func_pjsip_endpoint.so"} <= set(compiled[1]["modules.conf"].splitlines())
    assert "mobile-dial-out" not in files["extensions_trunks.conf"]
    assert contexts(files["extensions_features.conf"])["mobile-dial-out"] == []


def test_the_pin_is_asked_three_times_and_compared_as_digits_only(compiled):
    _, files = compiled
    sub = "\n".join(contexts(files["extensions_features.conf"])["sub-mobile-dial-out"])
    assert "Read(PBX_MOBILE_TYPED,vm-password,12,,1,10)" in sub
    assert "Set(LOCAL(pin)=${FILTER(0123456789,${typed})})" in sub
    assert '${LEN(${pin})} = ${LEN(${typed})} & ${LEN(${pin})} >= 6 & "${pin}" = "${PBX_MOBILE_PIN_${ext}}"' in sub
    assert "GotoIf($[${try} > 3]?bye)" in sub
    # a locked mobile is not asked at all
    assert sub.index("pbxctl_mobile_lock") < sub.index("Answer()")


def test_the_number_goes_out_as_the_extensions_own_call(compiled):
    _, files = compiled
    sub = contexts(files["extensions_features.conf"])["sub-mobile-dial-out"]
    text = "\n".join(sub)
    # digits only: '*' makes the lengths differ, and sub-dialled refuses it
    assert "Set(PBX_DIALLED=${FILTER(0123456789,${typed})})" in text
    order = ["Set(PBX_EXTENSION=${ext})", "Set(CALLERID(all)=${PJSIP_ENDPOINT(${ext},callerid)})",
             "Gosub(sub-dialled,s,1)", "Gosub(sub-forward-route,s,1(${ext},${number}))",
             "Gosub(sub-call-start,s,1(outbound,${ext},${number}))", "Gosub(route-${route},s,1(${number}))"]
    at = [next(i for i, step in enumerate(sub) if part in step) for part in order]
    assert at == sorted(at), order
    # the route is chosen among the extension's own (its outbound set), and starts with the guard
    features = contexts(files["extensions_features.conf"])
    assert "OUTSET_${FILTER(0123456789,${ARG1})}" in "\n".join(features["sub-forward-route"])
    assert "OUTSET_101=" in files["extensions.conf"]
    route = contexts(files["extensions_trunks.conf"])["route-city"]
    assert any("Gosub(sub-outbound-guard,s,1(${number},city))" in step for step in route)


def test_a_wrong_pin_is_logged_alerted_and_counted_towards_a_lock(compiled):
    _, files = compiled
    features = contexts(files["extensions_features.conf"])
    failed = "\n".join(features["sub-mobile-pin-failed"])
    assert "pbxctl-security-alert mobile_pin_failed number=${from} extension=${ext}" in failed
    assert "GotoIf($[${count} < 5]?done)" in failed
    assert "Set(DB(pbxctl_mobile_lock/${ext})=$[${EPOCH} + 1800])" in failed
    assert "< 900]?count)" in failed
    log = "\n".join(features["sub-mobile-security-log"])
    assert "FILE(/var/log/asterisk/security.log,,,al,u)" in log
    # nothing from the caller reaches the log line unfiltered
    arguments = re.findall(r"\$\{ARG\d\}", log)
    assert len(arguments) == 5 and len(re.findall(r"FILTER\([^,]+,\$\{ARG\d\}\)", log)) == 5, log
    assert {"mobile_pin_failed", "mobile_dial_out_locked"} <= set(ALERT_EVENTS)
