"""Hand-built SIP INVITEs with hostile values, sent over UDP; every answer is collected and closed properly.

Standard library only: the same file runs on the lab host and, copied there, on the lab's carrier, so a probe can
come from a trunk's own address. `run(target, cases)` returns one result per case: the status codes the
PBX answered with (an empty list when it never answered, e.g. the firewall dropped the packet).
"""

from __future__ import annotations

import json
import random
import socket
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

# what a SIP URI's user part may carry unescaped (RFC 3261 25.1), minus what makes the payloads harmless
URI_SAFE = "()!*'-_.~+"
ANSWER_WAIT = 6.0


def uri_user(value: str) -> str:
    return urllib.parse.quote(value, safe=URI_SAFE)


def quoted(value: str) -> str:
    """A display name as a SIP quoted-string: backslash and quote escaped, line breaks kept out of the header."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
    return f'"{text}"'


def _token() -> str:
    return f"{random.getrandbits(48):x}"


def _headers(message: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in message.split("\r\n")[1:]:
        if not line:
            break
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), value.strip())
    return found


def _request(method: str, ruri: str, via: str, from_: str, to: str, call_id: str, cseq: int, local: str,
             extra: list[str], body: str = "") -> bytes:
    lines = [f"{method} {ruri} SIP/2.0", f"Via: {via}", "Max-Forwards: 70", f"From: {from_}", f"To: {to}",
             f"Call-ID: {call_id}", f"CSeq: {cseq} {method}", f"Contact: <sip:probe@{local}>", *extra,
             "User-Agent: pbxctl-probe"]
    if body:
        lines += ["Content-Type: application/sdp"]
    lines += [f"Content-Length: {len(body.encode())}", "", body]
    return "\r\n".join(lines).encode()


def _sdp(address: str) -> str:
    return "\r\n".join(["v=0", f"o=probe 1 1 IN IP4 {address}", "s=probe", f"c=IN IP4 {address}", "t=0 0",
                        "m=audio 40000 RTP/AVP 8 0 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000",
                        "a=rtpmap:101 telephone-event/8000", "a=sendrecv", ""])


def probe(target: str, port: int, source: str, case: dict) -> dict:
    """One INVITE built from case {name, ruri, to, from, display, pai}; returns {name, codes}."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.settimeout(0.5)
    local = f"{source}:{sock.getsockname()[1]}"
    call_id, tag, branch = _token() + "@probe", _token(), "z9hG4bK" + _token()
    ruri = f"sip:{uri_user(case['ruri'])}@{target}:{port}"
    via = f"SIP/2.0/UDP {local};branch={branch};rport"
    from_ = f"{quoted(case.get('display', ''))} <sip:{uri_user(case['from'])}@{source}>;tag={tag}"
    to = f"<sip:{uri_user(case['to'])}@{target}>"
    extra = [f"P-Asserted-Identity: <sip:{uri_user(case['pai'])}@{source}>"] if case.get("pai") else []
    sock.sendto(_request("INVITE", ruri, via, from_, to, call_id, 1, local, extra, _sdp(source)), (target, port))
    codes: list[int] = []
    deadline = time.monotonic() + ANSWER_WAIT
    try:
        while time.monotonic() < deadline:
            try:
                data, _ = sock.recvfrom(65535)
            except TimeoutError:
                continue
            message = data.decode(errors="replace")
            if not message.startswith("SIP/2.0 "):
                continue
            headers = _headers(message)
            if headers.get("call-id") != call_id:
                continue
            code = int(message.split(" ", 2)[1])
            codes.append(code)
            if code < 200:
                continue
            if code < 300:  # answered: acknowledge, then hang up at once
                contact = headers.get("contact", f"<{ruri}>").split("<", 1)[-1].split(">", 1)[0]
                ack_via = f"SIP/2.0/UDP {local};branch=z9hG4bK{_token()};rport"
                sock.sendto(_request("ACK", contact, ack_via, from_, headers["to"], call_id, 1, local, []),
                            (target, port))
                bye_via = f"SIP/2.0/UDP {local};branch=z9hG4bK{_token()};rport"
                sock.sendto(_request("BYE", contact, bye_via, from_, headers["to"], call_id, 2, local, []),
                            (target, port))
            else:  # refused: the ACK of a final answer reuses the INVITE's branch (RFC 3261 17.1.1.3)
                sock.sendto(_request("ACK", ruri, via, from_, headers["to"], call_id, 1, local, []), (target, port))
            break
    finally:
        sock.close()
    return {"name": case["name"], "codes": codes}


def run(target: str, port: int, source: str, cases: list[dict], parallel: int = 6) -> list[dict]:
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda case: probe(target, port, source, case), cases))


if __name__ == "__main__":
    # on another machine: the job comes as one JSON line on stdin, the results go out as one on stdout
    job = json.loads(sys.stdin.readline())
    print(json.dumps(run(job["target"], job["port"], job["source"], job["cases"])))
