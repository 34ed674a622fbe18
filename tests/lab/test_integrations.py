"""Call records to several systems, proven by calls: the integrations site (tests/lab/sites/integrations/site.yml)
applied to the lab PBX, the lab carrier as the office's provider, a baresip phone answering, and two HTTP servers
on the lab host as two systems with their own tokens: `crm` (pbxctl's record, X-Api-Key) and `amo` (amoCRM's
POST /api/v4/calls body, Authorization: Bearer). One of them down holds back nothing for the other, and gets
its record when it is back.

The AMI account (integrations.ami) is proven the same way: a client on the lab host logs in and sees the
Newchannel and Hangup events of a real call; Command and Originate are refused; a wrong secret is refused, and
the carrier (not in the account's networks) does not get through the firewall at all.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
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
SITE_DIR = Path(__file__).parent / "sites" / "integrations"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
PORTS = {"crm": 18093, "amo": 18094}
TOKENS = {"crm": "crm-token-5d1e9b", "amo": "Bearer amo-token-77c2aa"}
CALLER = "+79165550000"
DID = "74951230000"
SPOOL = "/var/spool/asterisk/pbxctl-cdr"


class Receiver:
    """One outside system: an HTTP server on the lab host that keeps every POST (path, headers, JSON body)."""

    def __init__(self, port: int) -> None:
        self.port, self.posts, self.server = port, [], None
        self.lock = threading.Lock()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with receiver.lock:
                    receiver.posts.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((lab_api.HOST_ADDRESS, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_for(self, match, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [p for p in self.posts if match(p)]
            if found:
                return found[0]
            time.sleep(0.3)
        return None


@pytest.fixture(scope="module")
def receivers(lab):
    both = {name: Receiver(port) for name, port in PORTS.items()}
    for receiver in both.values():
        receiver.start()
    yield both
    for receiver in both.values():
        receiver.stop()


@pytest.fixture(scope="module")
def site(lab, receivers, tmp_path_factory) -> dict:
    """The integrations site applied to the lab PBX (the PBX part only), each target's token set with
    `pbxctl secrets set`; its compiled secrets."""
    work = tmp_path_factory.mktemp("integrations-site")
    shutil.copytree(SITE_DIR, work, dirs_exist_ok=True)
    data = yaml.safe_load((SITE_DIR / "site.yml").read_text())
    for target in data["cdr"]["webhooks"]:
        path = "/api/v4/calls" if target.get("format") == "amocrm" else "/cdr"
        target["url"] = f"http://{lab_api.HOST_ADDRESS}:{PORTS[target['name']]}{path}"
    data["integrations"]["ami"]["networks"] = [f"{lab_api.HOST_ADDRESS}/32"]
    (work / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    for name, token in TOKENS.items():
        run = subprocess.run([PBXCTL, "secrets", "set", str(work / "site.yml"), f"integrations.cdr_{name}.token"],
                             input=token + "\n", cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
    started = time.monotonic()
    run = subprocess.run([PBXCTL, "apply", str(work / "site.yml"), "--only", "pbx", "--lab"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    for token in TOKENS.values():  # what apply printed (its plan, its events) never shows a token
        assert token.split()[-1] not in run.stdout + run.stderr
    build = ROOT / build_dir("integrations-lab", LAB_SUFFIX)
    for plain in ("vars.yml", "inventory.yml"):
        if (build / plain).exists():
            assert not any(t.split()[-1] in (build / plain).read_text() for t in TOKENS.values()), plain
    secrets = yaml.safe_load((build / "secrets.yml").read_text())
    assert secrets["asterisk__ami_secret"] not in run.stdout + run.stderr
    return {"secrets": secrets, "apply_seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def provider(site, carrier):
    password = site["secrets"]["asterisk__trunk_secrets"]["city"]
    carrier.configure([TrunkAccount("city", DID, password, dids=(DID,))], answer_seconds=3)
    pbx_catches_up(carrier, [DID])
    return carrier


@pytest.fixture
def desk(site, phone_factory, provider):
    return registered_extension(phone_factory, site["secrets"]["asterisk__extension_secrets"], "100", True)


def _answered_call(provider) -> float:
    """A call from the provider to the office DID, answered by the desk phone; when it began (time.time())."""
    began = time.time()
    result = provider.call_did(DID, CALLER, wait=3)
    assert result.answered, result.events
    return began


def _crm_record(receivers, began: float, timeout: float = 30) -> dict | None:
    return receivers["crm"].wait_for(
        lambda p: p["body"].get("caller") == CALLER and p["body"].get("start")
        and dt.datetime.fromisoformat(p["body"]["start"]).timestamp() >= began - 2, timeout)


def test_each_system_gets_the_record_with_its_own_token(desk, provider, receivers):
    began = _answered_call(provider)
    crm = _crm_record(receivers, began)
    assert crm is not None, "no call record reached the crm target"
    assert crm["path"] == "/cdr" and crm["headers"].get("X-Api-Key") == TOKENS["crm"]
    assert "Authorization" not in crm["headers"]
    record = crm["body"]
    assert (record["direction"], record["callee"], record["disposition"]) == ("inbound", "100", "ANSWERED")
    assert record["recording_url"] and "/recordings/" in record["recording_url"]
    amo = receivers["amo"].wait_for(lambda p: p["body"][0]["uniq"] == record["uniqueid"], 30)
    assert amo is not None, "no call record reached the amo target"
    assert amo["path"] == "/api/v4/calls" and amo["headers"].get("Authorization") == TOKENS["amo"]
    assert "X-Api-Key" not in amo["headers"]
    (call,) = amo["body"]
    assert (call["direction"], call["phone"], call["call_status"], call["source"]) == ("inbound", CALLER, 4, "pbxctl")
    assert call["link"] == record["recording_url"] and call["duration"] == record["billsec"] > 0
    # the tokens are in the sender's own file (0640 asterisk), and in none of its log lines
    mode = lab_api.ssh_run("pbx", "stat -c '%a %G' /etc/pbxctl/cdr-webhook.json").stdout.split()
    assert mode == ["640", "asterisk"]
    journal = lab_api.ssh_run("pbx", "journalctl -u pbxctl-cdr-webhook --no-pager -o cat").stdout
    assert f"crm: sent {record['uniqueid']}.cdr" in journal and f"amo: sent {record['uniqueid']}.cdr" in journal
    assert not any(t.split()[-1] in journal for t in TOKENS.values())


def test_one_system_down_holds_back_nothing_and_gets_the_record_when_back(desk, provider, receivers):
    receivers["amo"].stop()
    try:
        began = _answered_call(provider)
        crm = _crm_record(receivers, began)
        assert crm is not None, "the crm target did not get its record while the amo target was down"
        uniqueid = crm["body"]["uniqueid"]
        queued = lab_api.ssh_run("pbx", f"ls {SPOOL}/targets/amo/pending").stdout.split()
        assert f"{uniqueid}.cdr" in queued, queued
        assert f"{uniqueid}.cdr" in lab_api.ssh_run("pbx", f"ls {SPOOL}/targets/crm/sent").stdout.split()
        time.sleep(5)  # a few more tries fail
        journal = lab_api.ssh_run("pbx", "journalctl -u pbxctl-cdr-webhook --no-pager -o cat").stdout
        assert f"amo: not sent {uniqueid}.cdr" in journal
    finally:
        receivers["amo"].start()
    back = time.monotonic()
    amo = receivers["amo"].wait_for(lambda p: p["body"][0]["uniq"] == uniqueid, 150)
    assert amo is not None, "the amo target did not get the record once it was back"
    assert amo["headers"].get("Authorization") == TOKENS["amo"]
    print(f"amo got the queued record {time.monotonic() - back:.1f} s after it was back")
    assert f"{uniqueid}.cdr" not in lab_api.ssh_run("pbx", f"ls {SPOOL}/targets/amo/pending").stdout.split()


# --- the AMI account for live events ---------------------------------------------------------------------------

class Ami:
    """A plain AMI client: messages are blocks of 'Key: value' lines ended by an empty line."""

    def __init__(self, host: str, timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, 5038), timeout=timeout)
        self.buffer = b""
        self.greeting = self._line()

    def _line(self) -> str:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the manager closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def message(self) -> dict:
        fields: dict = {}
        while (line := self._line()) or not fields:
            if ": " in line:
                key, value = line.split(": ", 1)
                fields.setdefault(key, value)
        return fields

    def send(self, **fields: str) -> dict:
        """Send an action; its response (events that come first are kept in self.events)."""
        action_id = uuid_hex()
        self.sock.sendall("".join(f"{k}: {v}\r\n" for k, v in {**fields, "ActionID": action_id}.items())
                          .encode() + b"\r\n")
        while True:
            message = self.message()
            if message.get("ActionID") == action_id and "Response" in message:
                return message
            self.events.append(message)

    events: list[dict]

    def close(self) -> None:
        self.sock.close()


def uuid_hex() -> str:
    return f"{time.time_ns():x}"


@pytest.fixture(scope="module")
def pbx_address(lab) -> str:
    return lab_api.hosts(["pbx"])["pbx"].address


def _login(address: str, secret: str) -> tuple[Ami, dict]:
    client = Ami(address)
    client.events = []
    return client, client.send(Action="Login", Username="screenpop", Secret=secret)


def test_the_ami_client_sees_a_real_call_and_may_change_nothing(site, desk, provider, pbx_address):
    client, answer = _login(pbx_address, site["secrets"]["asterisk__ami_secret"])
    try:
        assert client.greeting.startswith("Asterisk Call Manager/"), client.greeting
        assert answer["Response"] == "Success", answer
        done = threading.Event()
        threading.Thread(target=lambda: (_answered_call(provider), done.set()), daemon=True).start()
        # the caller's number as the channel carries it (before or after the dialplan wrote it as E.164)
        ours = CALLER[-10:]
        seen: list[dict] = []
        client.sock.settimeout(1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (done.is_set() and any(
                e.get("Event") == "Hangup" and ours in e.get("CallerIDNum", "") for e in seen)):
            try:
                seen.append(client.message())
            except TimeoutError:
                continue
        assert done.is_set(), f"the call was not answered; events: {seen[:10]}"
        names = {e.get("Event") for e in seen}
        assert {"Newchannel", "Hangup"} <= names, names
        assert any(e.get("Event") == "Newchannel" and ours in e.get("CallerIDNum", "") for e in seen), seen[:5]
        # no class of the system kind was let through: the account reads call and cdr only
        assert not names & {"FullyBooted", "Reload", "Shutdown"}, names
        for action in ({"Action": "Command", "Command": "core show channels"},
                       {"Action": "Originate", "Channel": "Local/100@default", "Application": "Playback",
                        "Data": "beep"},
                       {"Action": "Redirect", "Channel": "PJSIP/100-00000001", "Exten": "100", "Context": "x",
                        "Priority": "1"}):
            refused = client.send(**action)
            assert (refused["Response"], refused.get("Message")) == ("Error", "Permission denied"), (action, refused)
    finally:
        client.close()


def test_a_wrong_secret_is_refused(pbx_address):
    client, answer = _login(pbx_address, "not-the-secret-0000")
    try:
        assert (answer["Response"], answer.get("Message")) == ("Error", "Authentication failed"), answer
    finally:
        client.close()


def test_from_elsewhere_the_manager_port_is_closed(pbx_address):
    # the carrier is a lab machine outside the account's networks: the firewall drops it before Asterisk
    probe = ("import socket,sys\ntry:\n socket.create_connection((sys.argv[1], 5038), timeout=5)\n"
             " print('connected')\nexcept OSError as e:\n print(type(e).__name__)\n")
    result = lab_api.ssh_run("carrier", ["python3", "-c", probe, pbx_address], check=False)
    assert result.stdout.strip() in ("TimeoutError", "timeout"), result.stdout + result.stderr
    # while the port is open on the PBX itself
    listening = lab_api.ssh_run("pbx", "ss -ltnH 'sport = :5038'").stdout
    assert "5038" in listening, listening
