"""A SIP phone for lab tests: a headless baresip on the host, driven through its ctrl_tcp socket.

Each phone gets its own config directory, SIP port and control port, answers incoming calls by itself,
sends a 440 Hz tone as its microphone, and is stopped (by its own PID) when the test is done.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pbxctl import lab

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULE_PATH = "/usr/lib/baresip/modules"


@dataclass(frozen=True)
class CallOutcome:
    answered: bool
    reason: str  # why it ended or failed, as baresip reports it ("" while still up)
    call_id: str = ""
    peer_uri: str = ""  # the other side: for an incoming call, the caller as the PBX presented them

    @classmethod
    def from_event(cls, event: dict, answered: bool) -> CallOutcome:
        reason = "" if answered else event.get("param", "")
        return cls(answered, reason, event.get("id", ""), event.get("peeruri", ""))


class Phone:
    def __init__(
        self,
        workdir: Path,
        user: str,
        password: str,
        server: str,
        local_address: str = lab.HOST_ADDRESS,
        server_port: int = 5060,
        auto_answer: bool = True,
        registers: bool = True,
        auth_user: str | None = None,
        max_lifetime: int = 900,
    ) -> None:
        self.user = user
        self.auth_user = auth_user or user  # PBXs often give a phone a login other than its extension
        self.max_lifetime = max_lifetime  # baresip quits by itself after this, even if the test crashed
        self.password = password
        self.server = server
        self.server_port = server_port
        self.local_address = local_address
        self.auto_answer = auto_answer
        self.registers = registers
        self.workdir = workdir
        self.sip_port = _free_port_pair(local_address)
        self.ctrl_port = _free_port_pair("127.0.0.1")
        self.events: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []  # every event so far, for assertions and failure messages
        self._responses: dict[str, dict] = {}
        self._token = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None

    # --- life cycle ---

    def start(self, timeout: float = 10) -> Phone:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        log = (self.workdir / "baresip.log").open("wb")
        # Unbuffered, so the RTP summary is in the log as soon as a call ends.
        argv = ["stdbuf", "-o0", "-e0", BARESIP, "-f", str(self.workdir), "-t", str(self.max_lifetime)]
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._sock = self._connect_ctrl(timeout)
        self._reader = threading.Thread(target=self._read_events, daemon=True)
        self._reader.start()
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            try:
                self.command("quit", wait=False)
                self._process.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                self._process.terminate()
                try:
                    self._process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=3)
        if self._sock:
            self._sock.close()
        self._process = None

    def __enter__(self) -> Phone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.server}"

    def log(self) -> str:
        return (self.workdir / "baresip.log").read_text(errors="replace")

    # --- SIP ---

    def register(self, timeout: float = 15) -> bool:
        """The outcome of the registration the phone sends at start: True on 200 OK, False otherwise.

        Polls `reginfo`: the registration starts before the control socket connects, so its events are missed.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = str(self.command("reginfo").get("data", ""))
            if " OK " in _without_colours(status):
                return True
            if " ERR" in _without_colours(status):
                return False
            time.sleep(0.3)
        return False

    def call(self, number: str, timeout: float = 20) -> CallOutcome:
        """Dial an extension or number on the server and wait for the answer (or the failure)."""
        self.command("dial", f"sip:{number}@{self.server}:{self.server_port}")
        event = self.wait_event({"CALL_ESTABLISHED", "CALL_CLOSED"}, timeout)
        if event is None:
            self.hangup()
            return CallOutcome(False, "no answer within timeout")
        return CallOutcome.from_event(event, answered=event["type"] == "CALL_ESTABLISHED")

    def wait_incoming(self, timeout: float = 20) -> CallOutcome:
        """Wait for a call to ring here and be answered (phones answer by themselves unless told not to)."""
        event = self.wait_event({"CALL_ESTABLISHED"}, timeout, direction="incoming")
        if event is None:
            return CallOutcome(False, "no incoming call within timeout")
        return CallOutcome.from_event(event, answered=True)

    def wait_closed(self, timeout: float = 30) -> CallOutcome:
        """Wait for the current call to end; reason says why (e.g. "Connection reset by peer" = they hung up)."""
        event = self.wait_event({"CALL_CLOSED"}, timeout)
        return CallOutcome.from_event(event, answered=False) if event else CallOutcome(False, "still up")

    def hangup(self) -> None:
        self.command("hangup", wait=False)

    def send_dtmf(self, digits: str) -> None:
        for digit in digits:
            self.command("sndcode", digit, wait=False)
            time.sleep(0.25)

    def dtmf_received(self) -> str:
        """Digits the far end sent (RFC 4733) during this phone's calls, in order."""
        return "".join(event.get("param", "") for event in self.seen if event.get("type") == "CALL_DTMF_START")

    def rtp_packets(self) -> list[tuple[int, int]]:
        """(sent, received) audio RTP packets of each finished call, from the summary baresip prints."""
        counts = []
        for line in self.log().splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[0] == "packets:" and fields[1].isdigit() and fields[2].isdigit():
                counts.append((int(fields[1]), int(fields[2])))
        return counts

    def last_call_rtp(self, timeout: float = 5) -> tuple[int, int]:
        """RTP (sent, received) of the last finished call; waits briefly for baresip to print it."""
        deadline = time.monotonic() + timeout
        while not self.rtp_packets() and time.monotonic() < deadline:
            time.sleep(0.2)
        packets = self.rtp_packets()
        return packets[-1] if packets else (0, 0)

    # --- control socket ---

    def command(self, name: str, params: str = "", wait: bool = True, timeout: float = 5) -> dict:
        assert self._sock is not None, "phone not started"
        self._token += 1
        token = str(self._token)
        self._sock.sendall(_netstring({"command": name, "params": params, "token": token}))
        if not wait:
            return {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if token in self._responses:
                return self._responses.pop(token)
            time.sleep(0.05)
        raise TimeoutError(f"baresip did not answer command {name!r}")

    def wait_event(self, types: set[str], timeout: float, **match: str) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                return None
            if event.get("type") in types and all(event.get(key) == value for key, value in match.items()):
                return event

    def _read_events(self) -> None:
        buffer = b""
        assert self._sock is not None
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                message, buffer = _take_netstring(buffer)
                if message is None:
                    break
                if message.get("response"):
                    self._responses[str(message.get("token"))] = message
                elif message.get("event"):
                    self.seen.append(message)
                    self.events.put(message)

    def _connect_ctrl(self, timeout: float) -> socket.socket:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"baresip exited at start:\n{self.log()[-2000:]}")
            try:
                sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
            except OSError:
                time.sleep(0.1)
                continue
            sock.settimeout(None)  # the event reader blocks until baresip says something
            return sock
        raise TimeoutError(f"baresip control socket not up:\n{self.log()[-2000:]}")

    def _write_config(self) -> None:
        config = {
            "poll_method": "epoll",
            "sip_listen": f"{self.local_address}:{self.sip_port}",
            "net_interface": self.local_address,
            # No sound card here: a tone is the microphone, a discarding bridge the speaker.
            "audio_source": "ausine,440",
            "audio_player": "aubridge,lab",
            "audio_alert": "aubridge,lab",
            "ausrc_srate": "48000",
            "ausrc_channels": "2",  # ausine only makes stereo; baresip downmixes
            "rtp_stats": "yes",
            "rtp_timeout": "10",
            "module_path": MODULE_PATH,
            "ctrl_tcp_listen": f"127.0.0.1:{self.ctrl_port}",
        }
        lines = [f"{key}\t{value}" for key, value in config.items()]
        lines += [f"module\t{name}" for name in ("g711.so", "ausine.so", "aubridge.so")]
        lines += [f"module_app\t{name}" for name in ("account.so", "menu.so", "ctrl_tcp.so")]
        (self.workdir / "config").write_text("\n".join(lines) + "\n")
        answermode = "auto" if self.auto_answer else "manual"
        (self.workdir / "accounts").write_text(
            f"<sip:{self.user}@{self.server}:{self.server_port};transport=udp>"
            f";auth_user={self.auth_user};auth_pass={self.password}"
            f";answermode={answermode};regint={300 if self.registers else 0}"
            ";audio_codecs=PCMA,PCMU\n"
        )
        (self.workdir / "contacts").write_text("")


def _without_colours(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _netstring(message: dict) -> bytes:
    payload = json.dumps(message).encode()
    return str(len(payload)).encode() + b":" + payload + b","


def _take_netstring(buffer: bytes) -> tuple[dict | None, bytes]:
    head, colon, rest = buffer.partition(b":")
    if not colon or not head.isdigit() or len(rest) < int(head) + 1:
        return None, buffer
    size = int(head)
    return json.loads(rest[:size]), rest[size + 1 :]


_handed_out: set[tuple[str, int]] = set()  # phones created but not yet bound must not get the same port


def _free_port_pair(address: str, start: int = 15060) -> int:
    """A port p with p and p+1 free for UDP and TCP: baresip also opens SIP/TLS on p+1."""
    for port in range(start, start + 2000, 2):
        if (address, port) in _handed_out:
            continue
        if all(_bindable(address, candidate, kind) for candidate in (port, port + 1)
               for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM)):
            _handed_out.add((address, port))
            return port
    raise RuntimeError(f"no free port pair on {address}")


def _bindable(address: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True
