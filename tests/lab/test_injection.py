"""Hostile SIP against the generated configuration in a real Asterisk: nothing a caller sends is ever run.

Every payload of data/injection_payloads.yml goes in each place a request carries outside data — request-URI user,
To user, From user, display name, P-Asserted-Identity — from the trunk's own address (the carrier: these reach
the dialplan), from another host on the office LAN and from a host the site doesn't know. DTMF strings go to an
IVR over a real call. After each batch: no canary file exists anywhere on the PBX, the test's HTTP receiver got
no request a payload asked for, the carrier saw no call, and Asterisk is the same process, still answering.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from harness import sip_probe
from harness.carrier import pbx_catches_up

from pbxctl import lab as lab_api
from pbxctl.lab.layout import INSTANCE, SUBNET

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
PAYLOADS = yaml.safe_load((Path(__file__).parent / "data" / "injection_payloads.yml").read_text())["payloads"]
DID, IVR_DID = "74951110000", "74951110001"
CALLER = "+79161234567"
LAN_ATTACKER = f"{SUBNET}.66"  # inside the office network the site allows
LAN_PRETENDER = f"{SUBNET}.67"  # another one, not slowed down by the first one's flood
# pretenders each come from an address of their own: the firewall's per-source rate limit must not be what
# refuses them, Asterisk must
PRETENDERS = [f"{SUBNET}.{n}" for n in range(70, 80)]
STRANGER = f"10.252.{INSTANCE}.66"  # outside every network the site names
CANARY_DIRS = "/tmp /var/tmp /var/lib/asterisk /var/spool/asterisk"
FIELDS = ("ruri", "to", "from", "display", "pai")
DTMF_STRINGS = ("*", "#", "**#", "1#", "#1", "*1", "0" * 20, "9" * 40, "A", "D", "ABCD", "1*2#3", "12", "11")

SITE = """
site: {{name: injection-lab, timezone: Europe/Moscow, language: en, country: RU}}
pbx: {{host: 192.168.60.5, local_networks: [192.168.60.0/24]}}
extensions:
  - {{number: "201", name: Alice}}
trunks:
  - {{name: city, type: sip_register, host: 192.0.2.1, username: office-city, dids: ["+{did}", "+{ivr_did}"]}}
  - {{name: operator, type: sip_ip, host: 192.0.2.2, match: [192.0.2.0/24], dids: ["+74951110002"]}}
inbound_routes:
  - {{did: "+{did}", target: hangup, caller_name_prefix: "IN:", crm_lookup: true}}
  - {{did: "+{ivr_did}", target: "ivr:menu"}}
  - {{did: "+74951110002", target: hangup, caller_name_prefix: "OP:"}}
ivrs:
  - name: menu
    prompt: beep
    timeout: 2
    retries: 1
    options: [{{digit: "1", target: hangup}}, {{digit: "2", target: "extension:201"}}]
    on_timeout: hangup
outbound_routes:
  - {{name: russia, patterns: ["+7XXXXXXXXXX"], trunks: [city]}}
crm: {{url: "{crm}"}}
security:
  # as many hostile requests as possible should meet Asterisk, not an early ban (the ban: test_security)
  fail2ban: {{maxretry: 100, findtime: 10, bantime: 10}}
"""


class Receiver(BaseHTTPRequestHandler):
    """The site's CRM and the address payloads try to reach: every path requested is kept."""

    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver(lab):
    server = ThreadingHTTPServer((lab_api.HOST_ADDRESS, 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{lab_api.HOST_ADDRESS}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site(lab, carrier, receiver, tmp_path_factory) -> dict:
    from pbxctl.lab.provider import carrier_accounts
    from pbxctl.load import load_site
    from pbxctl.secrets import read_secrets

    directory = tmp_path_factory.mktemp("injection-site")
    site_file = directory / "site.yml"
    site_file.write_text(SITE.format(did=DID, ivr_did=IVR_DID, crm=f"{receiver}/crm"))
    run = subprocess.run([PBXCTL, "apply", str(site_file), "--lab", "--only", "pbx"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    run = subprocess.run([PBXCTL, "apply", str(site_file), "--lab", "--only", "security"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    model = load_site(site_file)
    carrier.configure(carrier_accounts(model, read_secrets(directory / "secrets.yml", None)))
    pbx_catches_up(carrier, ["office-city"])
    lab_api.add_host_address(LAN_ATTACKER)
    lab_api.add_host_address(LAN_PRETENDER)
    for address in PRETENDERS:
        lab_api.add_host_address(address)
    lab_api.add_host_address(STRANGER)
    lab_api.ssh_run("carrier", "cat > /tmp/sip_probe.py", input=Path(sip_probe.__file__).read_text())
    return {"file": site_file}


def pbx(script: str) -> str:
    return lab_api.ssh_run("pbx", script, timeout=60).stdout


def asterisk_pid() -> str:
    return pbx("systemctl show -p MainPID --value asterisk").strip()


def cases(source: str, receiver: str) -> list[dict]:
    """Each payload in each field; the other fields carry what a provider normally sends."""
    made = []
    for index, raw in enumerate(PAYLOADS):
        for field in FIELDS:
            name = f"{source}-{field}-{index}"
            value = (raw.replace("{canary}", f"/tmp/pbxctl-canary-{name}")
                     .replace("{url}", f"{receiver}/canary-{name}")
                     .replace("{long_digits}", "7" * 300).replace("{long_text}", "A" * 3000))
            case = {"name": name, "ruri": DID, "to": DID, "from": CALLER, "display": "Caller", "pai": None}
            if field == "to":
                case["ruri"] = "office-city"  # a provider calling the registered contact names the DID in To
            case[field] = value
            made.append(case)
    return made


def send_from_carrier(batch: list[dict]) -> list[dict]:
    carrier_address = lab_api.hosts(["carrier"])["carrier"].address
    job = {"target": lab_api.hosts(["pbx"])["pbx"].address, "port": 5060, "source": carrier_address,
           "cases": batch}
    out = lab_api.ssh_run("carrier", "python3 /tmp/sip_probe.py", input=json.dumps(job) + "\n", timeout=600)
    return json.loads(out.stdout)


def send_from_host(source: str, batch: list[dict]) -> list[dict]:
    return sip_probe.run(lab_api.hosts(["pbx"])["pbx"].address, 5060, source, batch)


def assert_nothing_happened(receiver_paths: list[str], carrier) -> None:
    found = pbx(f"find {CANARY_DIRS} -name 'pbxctl-canary-*' 2>/dev/null || true").split()
    assert not found, f"payloads ran: {found}"
    fetched = [p for p in receiver_paths if p.startswith("/canary")]
    assert not fetched, f"payloads made the PBX fetch: {fetched}"
    assert carrier.outbound_calls() == [], "a hostile request made the PBX call out"


@pytest.fixture
def watched(site, carrier):
    """Asterisk's process before and after: a payload that crashed or restarted it fails the test."""
    carrier.clear_calls()
    Receiver.paths.clear()
    before = asterisk_pid()
    yield
    assert asterisk_pid() == before, "Asterisk restarted or died"
    assert "uptime" in pbx("asterisk -rx 'core show uptime'").lower()


def test_payloads_from_the_trunk_address_reach_the_dialplan_and_do_nothing(site, receiver, carrier, watched):
    control = send_from_carrier([{"name": "control", "ruri": DID, "to": DID, "from": CALLER,
                                  "display": "Caller", "pai": None}])[0]
    assert control["codes"] and control["codes"][-1] >= 400, control  # the route hangs up: a final refusal
    routed = control["codes"][-1]
    results = send_from_carrier(cases("trunk", receiver))
    assert len(results) >= 40 * len(FIELDS)
    assert_nothing_happened(Receiver.paths, carrier)
    # every request was answered: it met Asterisk (a silent drop would prove nothing)
    unanswered = [r["name"] for r in results if not r["codes"]]
    assert not unanswered, f"no answer at all to {unanswered}"
    # each one is refused (4xx/5xx/6xx) or routed as the clean call was; none is answered
    answered = [r for r in results if 200 <= r["codes"][-1] < 300]
    assert not answered, f"hostile requests were answered: {answered[:5]}"
    codes = {r["codes"][-1] for r in results}
    assert routed in codes, "no request was routed: the payloads never reached the dialplan"
    # the CRM was asked only for numbers, whatever the caller fields held
    lookups = [p for p in Receiver.paths if p.startswith("/crm")]
    assert lookups, "the CRM lookup never ran"
    odd = [p for p in lookups if not re.fullmatch(r"\+?[0-9A-Za-z]*", urllib.parse.unquote(p.split("number=")[1]))]
    assert not odd, odd


def test_payloads_from_a_lan_host_never_reach_a_trunk_context(site, receiver, carrier, watched):
    results = send_from_host(LAN_ATTACKER, cases("lan", receiver))
    assert_nothing_happened(Receiver.paths, carrier)
    reached = [r for r in results if r["codes"] and r["codes"][-1] not in (400, 401, 403, 404, 407)]
    assert not reached, f"a LAN host got past identification: {reached[:5]}"
    assert not [p for p in Receiver.paths if p.startswith("/crm")], "a LAN host's INVITE reached the dialplan"


def test_payloads_from_an_unknown_host_get_no_answer(site, receiver, carrier, watched):
    results = send_from_host(STRANGER, cases("stranger", receiver)[:: len(FIELDS)])
    assert_nothing_happened(Receiver.paths, carrier)
    assert all(not r["codes"] for r in results), [r for r in results if r["codes"]][:5]


def test_a_lan_host_using_the_trunks_name_is_refused_and_logged(site, carrier, watched):
    endpoint_names = pbx("asterisk -rx 'pjsip list endpoints'")
    trunk_names = sorted({w for w in endpoint_names.split() if w.startswith("trunk-")})
    assert trunk_names and all(len(name) > len("trunk-operator-") for name in trunk_names), trunk_names
    users = ["trunk-city", "trunk-operator", "city", "operator", "office-city", *trunk_names]
    assert len(users) <= len(PRETENDERS)
    for user, source in zip(users, PRETENDERS, strict=False):
        result = send_from_host(source, [{"name": f"as-{user}", "ruri": DID, "to": DID, "from": user, "display": "",
                                          "pai": None}])[0]
        assert result["codes"] and result["codes"][-1] in (401, 403), (user, result)
        events = pbx(f"grep -c 'RemoteAddress=\"IPV4/UDP/{source}/' /var/log/asterisk/security.log || true")
        assert int(events.strip() or 0) >= 1, f"{user} from {source} left no security event"
    assert not [p for p in Receiver.paths if p.startswith("/crm")]


def test_the_ip_trunk_answers_only_its_own_address(site, carrier, watched):
    call = {"ruri": "74951110002", "to": "74951110002", "from": CALLER, "display": "", "pai": None}
    from_carrier = send_from_carrier([{"name": "carrier", **call}])[0]
    from_lan = send_from_host(LAN_PRETENDER, [{"name": "lan", **call}])[0]
    assert from_carrier["codes"] and from_carrier["codes"][-1] not in (401, 403), from_carrier
    assert from_lan["codes"] and from_lan["codes"][-1] in (401, 403), from_lan


@pytest.mark.parametrize("digits", DTMF_STRINGS)
def test_dtmf_into_the_ivr_only_chooses_an_option(site, carrier, watched, digits):
    result = carrier.call_did("+" + IVR_DID, CALLER, dtmf=digits, wait=4)
    assert result.answered, result.events
    assert_nothing_happened(Receiver.paths, carrier)
