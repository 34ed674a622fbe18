"""Call features proven by calls: the features site (tests/lab/sites/features/site.yml) applied once to the lab PBX,
the lab carrier as the office's provider and as the mobile network, baresip phones as the desk phones, and a
small HTTP server on the lab host as the CRM that takes the call records.

An extension's mobile (follow-me): the carrier answers every call the PBX places, so a mobile that is rung
answers; what it saw (the number dialled, the caller's number presented) and the record the CRM got say the rest.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from harness.carrier import TrunkAccount, pbx_catches_up
from harness.phone import registered_extension

from pbxctl import lab as lab_api
from pbxctl.compile import build_dir
from pbxctl.lab.retarget import SUFFIX as LAB_SUFFIX

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = Path(__file__).parent / "sites" / "features"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
WEBHOOK_PORT = 18092
CALLER = "+79165550000"
DID = {"100": "74951230000", "101": "74951230001", "102": "74951230002"}
MOBILE = {"100": "+79161230100", "101": "+79161230101"}


class Records(BaseHTTPRequestHandler):
    """The CRM: takes the call records the PBX posts."""

    posts: queue.Queue[dict] = queue.Queue()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.posts.put(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass

    @classmethod
    def record_for(cls, did: str, timeout: float = 30) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                post = cls.posts.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if post["direction"] == "inbound" and post["did"] == "+" + did:
                return post
        return None


@pytest.fixture(scope="module")
def crm(lab):
    server = ThreadingHTTPServer((lab_api.HOST_ADDRESS, WEBHOOK_PORT), Records)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Records
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site(lab, crm, tmp_path_factory) -> dict:
    """The features site applied to the lab PBX (the PBX part only); its compiled secrets."""
    work = tmp_path_factory.mktemp("features-site")
    shutil.copytree(SITE_DIR, work, dirs_exist_ok=True)
    data = yaml.safe_load((SITE_DIR / "site.yml").read_text())
    data["cdr"]["webhook"]["url"] = f"http://{lab_api.HOST_ADDRESS}:{WEBHOOK_PORT}/cdr"
    (work / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    started = time.monotonic()
    run = subprocess.run([PBXCTL, "apply", str(work / "site.yml"), "--only", "pbx", "--lab"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    secrets = yaml.safe_load((ROOT / build_dir("features-lab", LAB_SUFFIX) / "secrets.yml").read_text())
    return {"secrets": secrets, "apply_seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def provider(site, carrier):
    password = site["secrets"]["asterisk__trunk_secrets"]["city"]
    carrier.configure([TrunkAccount("city", "74951230000", password, dids=tuple(DID.values()))], answer_seconds=4)
    pbx_catches_up(carrier, ["74951230000"])
    return carrier


@pytest.fixture
def ext(site, phone_factory, provider):
    """ext("100", auto_answer=False) → a registered baresip phone on that extension."""

    def make(number: str, auto_answer: bool = True):
        return registered_extension(phone_factory, site["secrets"]["asterisk__extension_secrets"], number, auto_answer)

    provider.clear_calls()
    while not Records.posts.empty():
        Records.posts.get_nowait()
    return make


def call_in(provider, did: str, wait: float) -> dict:
    result: dict = {"started": time.monotonic()}
    thread = threading.Thread(target=lambda: result.update(call=provider.call_did(did, CALLER, wait=wait)))
    thread.start()
    result["thread"] = thread
    return result


def ringing(phone, timeout: float = 20) -> bool:
    return phone.wait_event({"CALL_INCOMING"}, timeout, direction="incoming") is not None


def _uri_user(header: str) -> str:
    match = re.search(r"sip:([^@>;]+)@", header)
    return match.group(1) if match else ""


def _mobile_calls(provider, number: str) -> list:
    return [c for c in provider.outbound_calls() if c.dialled == number]


def test_the_mobile_rings_with_the_desk_phone_shows_the_caller_and_the_record_names_the_extension(ext, provider,
                                                                                                  crm):
    desk = ext("100", auto_answer=False)
    call = call_in(provider, DID["100"], wait=6)
    assert ringing(desk), "the desk phone did not ring"
    call["thread"].join(timeout=90)
    assert call["call"].answered
    # the carrier as the mobile network: the mobile was called in the trunk's format, with the caller's number
    mobile = _mobile_calls(provider, MOBILE["100"])
    assert len(mobile) == 1, provider.outbound_calls()
    assert (mobile[0].account, _uri_user(mobile[0].p_asserted_identity), mobile[0].result) == (
        "city", CALLER, "answered")
    record = crm.record_for(DID["100"])
    assert record is not None, "no call record reached the CRM"
    assert (record["caller"], record["callee"], record["answered_on"], record["disposition"]) == (
        CALLER, "100", "mobile", "ANSWERED")
    # recorded by the extension's policy (always), under its name
    relative = record["recording_url"].split("/recordings/", 1)[1]
    assert re.search(rf"_\{CALLER}_100_", relative), relative
    size = int(lab_api.ssh_run("pbx", f"stat -c %s /var/spool/asterisk/monitor/{relative}").stdout.strip())
    assert size > 44 + 8000, f"the recording is only {size} bytes"


def test_a_later_mobile_rings_only_after_its_delay(ext, provider, crm):
    desk = ext("101", auto_answer=False)
    call = call_in(provider, DID["101"], wait=3)
    assert ringing(desk), "the desk phone did not ring"
    rang_desk = time.monotonic()
    assert _wait(lambda: _mobile_calls(provider, MOBILE["101"]), 30), "the mobile never rang"
    delay = time.monotonic() - rang_desk
    call["thread"].join(timeout=90)
    assert delay >= 5, f"the mobile rang {delay:.1f} s after the desk phone; after: 6"
    record = crm.record_for(DID["101"])
    assert record is not None and (record["callee"], record["answered_on"]) == ("101", "mobile")
    assert record["recording_url"] is None, "101 records nothing (recording: never)"


def test_the_desk_phone_answering_first_leaves_the_mobile_alone(ext, provider, crm):
    desk = ext("101")  # answers at once, before the mobile's 6 s are up
    call = call_in(provider, DID["101"], wait=3)
    assert desk.wait_incoming(timeout=20).answered
    call["thread"].join(timeout=90)
    assert _mobile_calls(provider, MOBILE["101"]) == []
    record = crm.record_for(DID["101"])
    assert record is not None and (record["callee"], record["answered_on"]) == ("101", None)


def _wait(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


# ---- pickup, parking, forward, do-not-disturb, conferences


def pbx_cli(command: str) -> str:
    return lab_api.ssh_run("pbx", ["asterisk", "-rx", command], check=False).stdout


def test_a_group_member_picks_up_a_ringing_call_with_star_8(ext, provider, crm):
    ringing_desk, colleague = ext("102", auto_answer=False), ext("103")
    call = call_in(provider, DID["102"], wait=4)
    assert ringing(ringing_desk), "102 did not ring"
    picked = colleague.call("*8")
    call["thread"].join(timeout=90)
    assert picked.answered, picked
    assert call["call"].answered


def test_any_extension_picks_up_a_named_one_with_star_star(ext, provider):
    ringing_desk, other = ext("102", auto_answer=False), ext("104")  # 104 is in no pickup group
    call = call_in(provider, DID["102"], wait=4)
    assert ringing(ringing_desk)
    assert not other.call("*8", timeout=5).answered, "*8 picked up a call of a group 104 is not in"
    picked = other.call("**102")
    call["thread"].join(timeout=90)
    assert picked.answered, picked


def test_a_parked_call_is_taken_back_from_its_slot(ext, provider):
    desk, colleague = ext("102"), ext("103")
    call = call_in(provider, DID["102"], wait=20)
    assert desk.wait_incoming(timeout=20).answered
    time.sleep(1)
    desk.send_dtmf("#700")  # blind transfer (features.conf) to the parking lot
    assert _wait(lambda: "701" in parked_calls(), 15), parked_calls()
    taken = colleague.call("701")
    assert taken.answered, taken
    assert _wait(lambda: "(none)" in parked_calls(), 10), parked_calls()
    call["thread"].join(timeout=90)
    assert call["call"].answered


def parked_calls() -> str:
    """The 'Parked Calls' part of the lot's status ("(none)" when empty)."""
    return pbx_cli("parking show default").partition("Parked Calls")[2]


def _set(phone, code: str) -> None:
    """Dial a feature code and let the PBX play its confirmation and hang up."""
    phone.call(code, timeout=10)
    phone.wait_closed(timeout=15)


def test_forward_always_to_an_extension_and_back(ext, provider):
    owner, target = ext("102", auto_answer=False), ext("103")
    _set(owner, "*72103")
    try:
        call = call_in(provider, DID["102"], wait=3)
        assert target.wait_incoming(timeout=20).answered
        call["thread"].join(timeout=90)
        assert not any(e.get("type") == "CALL_INCOMING" for e in owner.seen), "the forwarding desk rang"
    finally:
        _set(owner, "*73")
    call = call_in(provider, DID["102"], wait=2)
    assert ringing(owner), "after *73 the desk rings again"
    call["thread"].join(timeout=90)


def test_forward_outside_goes_through_the_route_with_the_callers_number(ext, provider, crm):
    owner = ext("102")
    _set(owner, "*72+79161239999")
    try:
        provider.clear_calls()
        call = call_in(provider, DID["102"], wait=4)
        call["thread"].join(timeout=90)
        assert call["call"].answered
        out = _mobile_calls(provider, "+79161239999")
        assert len(out) == 1 and _uri_user(out[0].p_asserted_identity) == CALLER, provider.outbound_calls()
        record = crm.record_for(DID["102"])
        assert record is not None and (record["callee"], record["answered_on"]) == ("102", "forward"), record
    finally:
        _set(owner, "*73")


@pytest.mark.parametrize("number", ["+78091234567", "+4930123456"], ids=["premium", "foreign"])
def test_a_forward_the_guard_refuses_is_never_stored(ext, provider, number):
    owner = ext("102")
    refused = owner.call(f"*72{number}", timeout=10)
    owner.wait_closed(timeout=15)
    assert refused.reason.startswith("403") or not refused.answered, refused
    assert "102" not in pbx_cli("database show pbxctl_cfa"), pbx_cli("database show pbxctl_cfa")
    assert provider.outbound_calls() == []


def test_do_not_disturb_keeps_the_desk_silent(ext, provider):
    desk = ext("102")
    _set(desk, "*78")
    try:
        call = call_in(provider, DID["102"], wait=2)
        call["thread"].join(timeout=90)
        assert not any(e.get("type") == "CALL_INCOMING" for e in desk.seen), "the desk rang under DND"
    finally:
        _set(desk, "*79")
    assert "102" not in pbx_cli("database show pbxctl_dnd")


def test_two_extensions_meet_in_the_conference_room(ext):
    first, second = ext("103"), ext("104")
    assert first.call("800").answered
    assert second.call("800").answered
    assert _wait(lambda: pbx_cli("confbridge list team").count("PJSIP/") == 2, 10), pbx_cli("confbridge list team")
    first.hangup()
    second.hangup()
