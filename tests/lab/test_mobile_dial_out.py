# ruff: noqa: F811 (the features site's fixtures, imported from test_features, are the tests' parameters)
"""A mobile dialling out as its extension, proven by calls: the features site (tests/lab/sites/features/site.yml),
whose extension 100 has `mobile: {number: 8 916 123-01-00, dial_out: true}`, applied to the lab PBX; the lab carrier
calls the office's DID from that mobile's number and keys the PIN and a number as DTMF, and answers the call the PBX
then places. The PIN is the one compile generated into secrets.yml.
"""

from __future__ import annotations

import queue
import re
import time

import pytest
from harness.phone import registered_extension
from test_features import DID, MOBILE, Records, _mobile_calls, _uri_user, crm, pbx_cli, provider, site  # noqa: F401

from pbxctl import lab as lab_api

pytestmark = pytest.mark.lab

SECURITY_LOG = "/var/log/asterisk/security.log"
OFFICE = "+74951230000"  # the trunk's first DID: what 100's own calls out show (the trunk has no number of its own)


def _clear_lock() -> None:
    for family in ("pbxctl_mobile_failures", "pbxctl_mobile_since", "pbxctl_mobile_lock"):
        pbx_cli(f"database deltree {family}")


@pytest.fixture
def dial_out(site, provider, crm):
    """call(dtmf, wait) → the carrier's result for a call from 100's mobile to the office's DID."""
    _clear_lock()
    provider.clear_calls()
    while not Records.posts.empty():
        Records.posts.get_nowait()
    pin = site["secrets"]["asterisk__extension_secrets"]["100"]["mobile_pin"]

    def call(dtmf: str, wait: float = 12, caller: str = MOBILE["100"], did: str = DID["102"]):
        return provider.call_did(did, caller, dtmf=dtmf.replace("PIN", pin), wait=wait)

    yield call
    _clear_lock()


def _bad_pin_lines() -> list[str]:
    text = lab_api.ssh_run("pbx", f"cat {SECURITY_LOG}", check=False).stdout
    return [line for line in text.splitlines() if "pbxctl_mobile: event=bad_pin extension=100" in line]


def _outbound_record(number: str, timeout: float = 30) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            post = Records.posts.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if post["direction"] == "outbound" and post["called"] == number:
            return post
    return None


def test_the_right_pin_and_a_number_call_out_as_the_extension(dial_out, provider):
    result = dial_out("PIN#ww84951239876#", wait=14)
    assert result.answered, result.events
    out = _mobile_calls(provider, "+74951239876")
    assert len(out) == 1, provider.outbound_calls()
    # the extension's own caller ID (its route's: the office's number), never the mobile's
    assert (out[0].account, _uri_user(out[0].p_asserted_identity), out[0].result) == ("city", OFFICE, "answered")
    record = _outbound_record("+74951239876")
    assert record is not None, "no call record reached the CRM"
    assert (record["caller"], record["direction"], record["disposition"]) == ("100", "outbound", "ANSWERED"), record
    # 100 records every call (recording: always): the call out is recorded under its number
    assert record["recording_url"] and re.search(r"_100_\+74951239876_", record["recording_url"]), record


def test_a_wrong_pin_three_times_hangs_up_with_no_call_out_and_a_security_log_line(dial_out, provider):
    before = len(_bad_pin_lines())
    result = dial_out("111111#wwwwww222222#wwwwww333333#wwww84951239876#", wait=22)
    assert result.answered
    assert provider.outbound_calls() == [], "a call went out without the right PIN"
    lines = _bad_pin_lines()[before:]
    assert len(lines) == 3, lines
    assert all(f"caller={MOBILE['100']} trunk=city" in line for line in lines), lines
    assert re.match(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] SECURITY\[pbxctl\] ", lines[0]), lines[0]
    assert pbx_cli("database get pbxctl_mobile_failures 100").strip().endswith("3")


def _desk(site, phone_factory, number: str = "102"):
    return registered_extension(phone_factory, site["secrets"]["asterisk__extension_secrets"], number,
                                auto_answer=False)


def _rang(desk, timeout: float = 20) -> bool:
    return desk.wait_event({"CALL_INCOMING"}, timeout, direction="incoming") is not None


def test_five_wrong_pins_lock_the_mobiles_dial_out_and_it_then_routes_as_any_caller(dial_out, provider, site,
                                                                                    phone_factory):
    dial_out("111111#wwwwww222222#wwwwww333333#", wait=16)
    dial_out("444444#wwwwww555555#", wait=12)
    locks = pbx_cli("database show pbxctl_mobile_lock")
    assert "/pbxctl_mobile_lock/100" in locks, locks
    desk = _desk(site, phone_factory)
    # locked: not asked for a PIN (the right one would not help); the call rings the DID's extension instead
    dial_out("PIN#ww84951239876#", wait=6)
    assert _rang(desk), "the locked mobile's call did not route to the DID's extension"
    assert _mobile_calls(provider, "+74951239876") == []


def test_a_premium_number_is_refused_by_the_extensions_guard(dial_out, provider):
    result = dial_out("PIN#ww88091234567#", wait=10)
    assert result.answered
    assert provider.outbound_calls() == [], "the guard let a premium-rate number out"
    record = _outbound_record("+78091234567")
    assert record is not None and record["caller"] == "100" and record["disposition"] != "ANSWERED", record


@pytest.mark.parametrize("caller", ["+79165550000", MOBILE["101"]], ids=["another-caller", "mobile-without-dial-out"])
def test_any_other_caller_routes_as_before_with_no_pin_prompt(dial_out, provider, site, phone_factory,
                                                              caller):
    desk = _desk(site, phone_factory)
    before = len(_bad_pin_lines())
    dial_out("PIN#ww84951239876#", wait=6, caller=caller)
    assert _rang(desk), "the DID's extension did not ring"
    assert _mobile_calls(provider, "+74951239876") == [] and len(_bad_pin_lines()) == before


def test_nothing_keyed_at_the_prompt_routes_the_mobile_as_any_caller(dial_out, provider, site,
                                                                     phone_factory):
    desk = _desk(site, phone_factory)
    before = len(_bad_pin_lines())
    result = dial_out("", wait=16)
    assert result.answered, "the mobile was not answered for its PIN"
    assert _rang(desk, timeout=5), "after the PIN prompt timed out the DID's extension did not ring"
    assert provider.outbound_calls() == [] and len(_bad_pin_lines()) == before
