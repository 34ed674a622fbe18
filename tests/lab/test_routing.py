"""Call routing proven by calls: the routing test site applied to the lab PBX, the lab carrier as every provider,
baresip phones as the extensions, and small HTTP servers on the lab host as the CRM.

The site (tests/lab/sites/routing/site.yml) is copied before the run with its schedules made open or closed
*now*, and its CRM addresses pointed at this lab host.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import queue
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo
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
SITE_DIR = Path(__file__).parent / "sites" / "routing"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
WEBHOOK_PORT = 18090
CRM_PORT = 18091
CALLER = "+79161234567"
RETURNING_CUSTOMER = "+79169990000"


def pbxctl(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBXCTL, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _closed_now(timezone: str) -> list[dict]:
    """Office hours on every day that exclude the current time in that zone by hours either way."""
    now = dt.datetime.now(zoneinfo.ZoneInfo(timezone))
    window = {"from": "00:00", "to": "06:00"} if now.hour >= 12 else {"from": "18:00", "to": "23:59"}
    return [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], **window}]


class Recorder(BaseHTTPRequestHandler):
    """The CRM: takes CDR POSTs, answers who handles a returning customer."""

    posts: queue.Queue[dict] = queue.Queue()
    lookups: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.posts.put(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        number = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("number", [""])[0]
        self.lookups.append(number)
        answer = json.dumps({"extension": "202"} if number == RETURNING_CUSTOMER else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def crm(lab):
    servers = [ThreadingHTTPServer((lab_api.HOST_ADDRESS, port), Recorder) for port in (WEBHOOK_PORT, CRM_PORT)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Recorder
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(lab, crm, tmp_path_factory) -> dict:
    """The routing site applied to the lab PBX; its compiled secrets and the path of its copy."""
    work = tmp_path_factory.mktemp("routing-site")
    shutil.copytree(SITE_DIR, work, dirs_exist_ok=True)
    data = yaml.safe_load((SITE_DIR / "site.yml").read_text())
    today = dt.datetime.now(zoneinfo.ZoneInfo(data["site"]["timezone"])).date()
    for schedule in data["schedules"]:
        if schedule["name"] == "closed-now":
            schedule["open"] = _closed_now(schedule["timezone"])
        if schedule["name"] == "holiday":
            schedule["holidays"] = [today]
    data["cdr"]["webhook"]["url"] = f"http://{lab_api.HOST_ADDRESS}:{WEBHOOK_PORT}/cdr"
    data["crm"]["url"] = f"http://{lab_api.HOST_ADDRESS}:{CRM_PORT}/responsible"
    (work / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    started = time.monotonic()
    run = pbxctl("apply", str(work / "site.yml"), "--only", "pbx", "--lab")
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    secrets = yaml.safe_load((ROOT / build_dir("routing-lab", LAB_SUFFIX) / "secrets.yml").read_text())
    return {"path": work / "site.yml", "secrets": secrets, "apply_seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def provider(site, carrier):
    trunk = site["secrets"]["asterisk__trunk_secrets"]
    accounts = {
        "freephone": TrunkAccount("freephone", "78005550100", trunk["freephone"], dids=("78005550100",)),
        # the city provider sends its DIDs in E.164 without '+', as many do
        "msk-city": TrunkAccount("msk-city", "74957770100", trunk["msk-city"],
                                 dids=tuple(f"7495777010{n}" for n in range(8))),
        # this one writes every number the national way: 8 812 …
        "spb-city": TrunkAccount("spb-city", "spb-warehouse", trunk["spb-city"], dids=("88127770100",)),
        "cheap": TrunkAccount("cheap", "cheap-out", trunk["cheap"], respond_503=True),
    }
    carrier.configure(list(accounts.values()))
    pbx_catches_up(carrier, [account.username for account in accounts.values()])
    return carrier


@pytest.fixture
def ext(site, phone_factory, provider):
    """ext("201", auto_answer=False) → a registered baresip phone on that extension."""

    def make(number: str, auto_answer: bool = True):
        return registered_extension(phone_factory, site["secrets"]["asterisk__extension_secrets"], number, auto_answer)

    provider.clear_calls()
    return make


def call_in(provider, did: str, caller: str = CALLER, **options) -> dict:
    """Call the PBX from the provider in the background; result["call"] is set when the call is over."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(call=provider.call_did(did, caller, **options)))
    thread.start()
    result["thread"] = thread
    return result


def finish(result: dict) -> None:
    result["thread"].join(timeout=90)


def pbx_sh(script: str) -> str:
    return lab_api.ssh_run("pbx", script, timeout=60).stdout


# ---- inbound: IVR, hours, groups, queue, CRM


def test_8800_with_digit_2_lands_on_region_2_group(ext, provider):
    spb, msk = ext("301"), ext("201")
    call = call_in(provider, "78005550100", dtmf="2", wait=10)
    incoming = spb.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered, spb.seen
    assert call["call"].answered
    assert not any(e.get("direction") == "incoming" for e in msk.seen), "region 1's group rang too"


def test_8800_without_a_digit_goes_to_the_duty_manager(ext, provider):
    duty, spb = ext("100"), ext("301")
    call = call_in(provider, "78005550100", wait=12)
    incoming = duty.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered, duty.seen
    assert not any(e.get("direction") == "incoming" for e in spb.seen)


@pytest.mark.parametrize("did", ["74957770103", "74957770104"], ids=["outside-hours", "holiday"])
def test_closed_office_sends_calls_to_the_after_hours_target(ext, provider, did):
    duty, target = ext("100"), ext("201")
    call = call_in(provider, did, wait=2)
    incoming = duty.wait_incoming(timeout=15)
    finish(call)
    assert incoming.answered, duty.seen
    assert not any(e.get("direction") == "incoming" for e in target.seen), "the day-time target rang"


def test_open_office_rings_the_day_target(ext, provider):
    # the 8-800 route's schedule is open every day: the IVR answers and a digit reaches a group
    group_member = ext("202")
    call = call_in(provider, "78005550100", dtmf="1", wait=10)
    assert group_member.wait_incoming(timeout=20).answered
    finish(call)


def _rang(phone) -> bool:
    return any(e.get("direction") == "incoming" or e.get("type") == "CALL_INCOMING" for e in phone.seen)


@pytest.mark.parametrize(("key", "hours"), [("3", "open"), ("4", "closed")])
def test_an_ivr_key_leads_to_its_target_in_hours_and_after_hours_outside(ext, provider, key, hours):
    """Keys 3 and 4 both lead to 201, else to the duty manager; they differ only in their schedule: 3's is open
    now, 4's closed now (the site is written so before the apply)."""
    day, duty = ext("201"), ext("100")
    call = call_in(provider, "78005550100", dtmf=key, wait=10)
    reached, other = (day, duty) if hours == "open" else (duty, day)
    incoming = reached.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered, reached.seen
    assert not _rang(other), f"key {key} ({hours}) rang the other target too: {other.seen}"


@pytest.mark.parametrize(("did", "hours"), [("74957770106", "open"), ("74957770107", "closed")])
def test_a_ring_group_rings_in_its_hours_and_is_skipped_outside(ext, provider, did, hours):
    """Groups day and late both hold 202 and go to the duty manager after hours: day is open now, late closed."""
    member, duty = ext("202"), ext("100")
    call = call_in(provider, did, wait=2)
    reached, other = (member, duty) if hours == "open" else (duty, member)
    incoming = reached.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered, reached.seen
    assert not _rang(other), f"{did} ({hours}) rang the other target too: {other.seen}"


def test_hunt_group_goes_on_when_the_first_member_does_not_answer(ext, provider):
    first, second = ext("201", auto_answer=False), ext("202")
    started = time.monotonic()
    call = call_in(provider, "74957770101", wait=2)
    incoming = second.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered
    assert time.monotonic() - started >= 5, "the second member rang before the first one's ring time was over"
    assert any(e.get("type") == "CALL_INCOMING" for e in first.seen), "the first member never rang"


def test_group_nobody_answers_overflows_to_its_target(ext, provider):
    ext("201", auto_answer=False)  # 202 is not registered at all
    duty = ext("100")
    call = call_in(provider, "74957770101", wait=2)
    incoming = duty.wait_incoming(timeout=30)
    finish(call)
    assert incoming.answered, duty.seen


def test_queue_call_is_answered_by_an_agent(ext, provider):
    agent = ext("401")
    call = call_in(provider, "74957770102", wait=10)
    incoming = agent.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered, agent.seen
    assert call["call"].answered
    assert incoming.peer_uri.startswith(f"sip:{CALLER}@")


def test_queue_without_agents_overflows(ext, provider):
    duty = ext("100")  # neither agent is registered
    call = call_in(provider, "74957770102", wait=10)
    assert duty.wait_incoming(timeout=15).answered
    finish(call)


def test_crm_names_the_manager_of_a_returning_customer(ext, provider, crm):
    other, manager = ext("201"), ext("202")
    call = call_in(provider, "74957770105", caller="89169990000", wait=2)
    incoming = manager.wait_incoming(timeout=20)
    finish(call)
    assert incoming.answered
    assert RETURNING_CUSTOMER in crm.lookups
    assert not any(e.get("direction") == "incoming" for e in other.seen), "the whole group rang"


def test_crm_without_an_answer_keeps_the_normal_route(ext, provider, crm):
    member = ext("201")
    call = call_in(provider, "74957770105", caller="+79165550000", wait=2)
    assert member.wait_incoming(timeout=20).answered
    finish(call)
    assert "+79165550000" in crm.lookups


# ---- numbers


def test_national_caller_number_reaches_the_extension_as_e164(ext, provider):
    phone = ext("301")
    call = call_in(provider, "88127770100", caller="89161234567", wait=2)
    incoming = phone.wait_incoming(timeout=20)
    finish(call)
    assert incoming.peer_uri.startswith("sip:+79161234567@"), incoming.peer_uri


def test_caller_number_is_read_in_the_trunks_inbound_format(ext, provider):
    """The 8-800 provider writes numbers international (inbound_format): its 4930123456 is a Berlin number, where
    read without the format it would be a Russian one (+7 493 …)."""
    phone = ext("301")
    call = call_in(provider, "78005550100", caller="4930123456", dtmf="2", wait=10)
    incoming = phone.wait_incoming(timeout=20)
    finish(call)
    assert incoming.peer_uri.startswith("sip:+4930123456@"), incoming.peer_uri


def test_outbound_fails_over_from_503_and_shows_each_city_number(ext, provider):
    msk, spb = ext("201"), ext("301")
    assert msk.call("89161234567").answered
    msk.wait_closed(timeout=20)
    assert spb.call("+79161234568").answered
    spb.wait_closed(timeout=20)
    # the account stays in From; the number each city presents is in P-Asserted-Identity, in the trunk's format
    calls = [(c.account, c.dialled, _uri_user(c.p_asserted_identity), c.result) for c in provider.outbound_calls()]
    assert calls == [
        ("cheap", "79161234567", "74957770100", "503"),
        ("msk-city", "+79161234567", "+74957770100", "answered"),
        ("cheap", "79161234568", "78127770100", "503"),
        ("spb-city", "89161234568", "88127770100", "answered"),
    ]


def _uri_user(header: str) -> str:
    match = re.search(r"sip:([^@>;]+)@", header)
    return match.group(1) if match else ""


def test_a_route_at_its_max_channels_refuses_the_next_call(ext, provider):
    """spb-out carries one call at a time (max_channels: 1): while one is up, the guard answers the next with 503,
    and nothing of it reaches a provider."""
    first, second = ext("301"), ext("302")
    assert first.call("+79161234570").answered
    refused = second.call("+79161234571", timeout=15)
    first.wait_closed(timeout=20)
    assert refused.reason.startswith("503"), refused
    dialled = [c.dialled for c in provider.outbound_calls()]
    assert "89161234570" in dialled and not any(d.endswith("9161234571") for d in dialled), dialled


def test_extension_without_a_route_cannot_call_out(ext, provider):
    agent = ext("401")
    assert not agent.call("+79161234569", timeout=10).answered
    assert provider.outbound_calls() == []


# ---- recording and the CRM webhook


def test_recorded_call_leaves_a_named_file_and_the_crm_gets_cdr_and_recording(ext, provider, crm, site):
    while not crm.posts.empty():
        crm.posts.get_nowait()
    phone = ext("301")  # recording: always
    call = call_in(provider, "88127770100", caller="89161234567", wait=4)
    assert phone.wait_incoming(timeout=20).answered
    finish(call)
    cdr = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        post = crm.posts.get(timeout=max(0.1, deadline - time.monotonic()))
        if post["direction"] == "inbound" and post["callee"] == "301":
            cdr = post
            break
    assert cdr is not None
    assert (cdr["caller"], cdr["did"], cdr["disposition"]) == (CALLER, "+78127770100", "ANSWERED")
    assert cdr["duration"] >= cdr["billsec"] >= 3
    url = cdr["recording_url"]
    pattern = (rf"^https://{re.escape(lab_api.hosts(['pbx'])['pbx'].address)}:8088/recordings/"
               rf"(\d{{4}})/(\d\d)/(\d\d)/(\1\2\3)-\d{{6}}_\+79161234567_301_{re.escape(cdr['uniqueid'])}\.wav$")
    assert re.match(pattern, url), url
    relative = url.split("/recordings/", 1)[1]
    size = int(pbx_sh(f"stat -c %s /var/spool/asterisk/monitor/{relative}").strip())
    assert size > 44 + 8000, f"recording is only {size} bytes"

    password = site["secrets"]["asterisk__recordings_http_password"]
    ca = site["secrets"]["asterisk__recordings_tls"]["ca_cert"]  # HTTPS with the site CA's certificate
    status, body = http_get(url, ("crm", password), ca)
    assert status == 200 and body[:4] == b"RIFF" and len(body) == size
    assert http_get(url, ("crm", "wrong-password"), ca)[0] == 401
    assert http_get(url, None, ca)[0] == 401


def test_on_demand_recording_starts_with_star_1(ext):
    caller, callee = ext("201"), ext("302")  # 302 records on demand
    before = set(pbx_sh("find /var/spool/asterisk/monitor -name '*_201_302_*' -type f").split())
    assert caller.call("302").answered
    time.sleep(1)
    callee.send_dtmf("*1")
    time.sleep(4)
    caller.hangup()
    caller.wait_closed(timeout=10)
    time.sleep(1)
    after = pbx_sh("find /var/spool/asterisk/monitor -name '*_201_302_*' -type f -printf '%s %p\\n'").splitlines()
    new = [line.split() for line in after if line.split()[1] not in before]
    assert len(new) == 1, after
    size, path = int(new[0][0]), new[0][1]
    assert re.search(r"/\d{4}/\d\d/\d\d/\d{8}-\d{6}_201_302_[0-9.]+\.wav$", path), path
    assert size > 44 + 8000


def test_never_policy_records_nothing(ext):
    caller, _callee = ext("201"), ext("202")
    assert caller.call("202").answered
    time.sleep(2)
    caller.hangup()
    caller.wait_closed(timeout=10)
    assert pbx_sh("find /var/spool/asterisk/monitor -name '*_201_202_*' -type f") == ""


def http_get(url: str, login: tuple[str, str] | None, ca: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if login:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(login).encode()).decode())
    context = ssl.create_default_context(cadata=ca) if ca else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_cdr_csv_has_the_calls():
    text = pbx_sh("cat /var/log/asterisk/cdr-csv/Master.csv")
    assert "+79161234567" in text


# ---- idempotence


def test_second_apply_changes_nothing(site):
    run = pbxctl("apply", str(site["path"]), "--only", "pbx", "--lab", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["changed"] == 0, summary["changes"]
