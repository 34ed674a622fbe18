"""A small SIP user agent over TLS (or UDP) for the encrypted-links lab test: REGISTER and INVITE with digest
authentication, each request answered in order. Standard library only (ssl, socket, hashlib)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import socket
import ssl

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _token() -> str:
    return f"{random.getrandbits(48):x}"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - SIP digest is MD5 by definition


class Response:
    def __init__(self, raw: str):
        head, _, self.body = raw.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.code = int(lines[0].split(" ", 2)[1])
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), value.strip())


class SipClient:
    """One connection to the PBX as extension `user` (SIP user) logging in as auth user/password."""

    def __init__(self, sock: socket.socket, transport: str, local: str, target: str, user: str, auth: tuple[str, str]):
        self.sock, self.transport, self.local, self.target, self.user, self.auth = (
            sock, transport, local, target, user, auth)
        self.buffer = b""
        self.call_id, self.tag, self.cseq = _token(), _token(), 0

    @classmethod
    def tls(cls, target: str, port: int, context: ssl.SSLContext, user: str, auth: tuple[str, str]) -> SipClient:
        raw = socket.create_connection((target, port), timeout=10)
        sock = context.wrap_socket(raw, server_hostname=target)
        host, local_port = sock.getsockname()[:2]
        return cls(sock, "TLS", f"{host}:{local_port}", f"{target}:{port}", user, auth)

    @classmethod
    def udp(cls, target: str, port: int, source: str, user: str, auth: tuple[str, str]) -> SipClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((source, 0))
        sock.settimeout(10)
        sock.connect((target, port))
        return cls(sock, "UDP", f"{source}:{sock.getsockname()[1]}", f"{target}:{port}", user, auth)

    def close(self) -> None:
        self.sock.close()

    def _send(self, text: str) -> None:
        self.sock.sendall(text.encode()) if self.transport == "TLS" else self.sock.send(text.encode())

    def _receive(self) -> Response:
        if self.transport == "UDP":
            return Response(self.sock.recv(65535).decode(errors="replace"))
        while True:  # a stream: a message is its head and Content-Length bytes of body
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                length = re.search(rb"\r\n(?:Content-Length|l)\s*:\s*(\d+)", self.buffer[:head_end], re.I)
                total = head_end + 4 + (int(length.group(1)) if length else 0)
                if len(self.buffer) >= total:
                    message, self.buffer = self.buffer[:total], self.buffer[total:]
                    text = message.decode(errors="replace")
                    if text.startswith("SIP/2.0 "):
                        return Response(text)
                    continue  # a request from the PBX (OPTIONS, NOTIFY): not what we wait for
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("the PBX closed the connection")
            self.buffer += chunk

    def _request(self, method: str, ruri: str, to: str, body: str = "", extra: tuple[str, ...] = (),
                 cseq: int | None = None, branch: str | None = None) -> str:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        scheme = "sips" if self.transport == "TLS" else "sip"
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/{self.transport} {self.local};branch={branch or 'z9hG4bK' + _token()};rport",
                 "Max-Forwards: 70", f"From: <sip:{self.user}@{self.target.split(':')[0]}>;tag={self.tag}",
                 f"To: {to}", f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}",
                 f"Contact: <{scheme}:{self.user}@{self.local};transport={self.transport.lower()}>",
                 "User-Agent: pbxctl-tls-test", *extra]
        if body:
            lines.append("Content-Type: application/sdp")
        text = "\r\n".join([*lines, f"Content-Length: {len(body.encode())}", "", body])
        self._send(text)
        return text

    def _authorization(self, challenge: str, method: str, ruri: str) -> str:
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        user, password = self.auth
        ha1, ha2 = _md5(f"{user}:{fields['realm']}:{password}"), _md5(f"{method}:{ruri}")
        cnonce = _token()
        response = _md5(f"{ha1}:{fields['nonce']}:00000001:{cnonce}:auth:{ha2}")
        return (f'Authorization: Digest username="{user}",realm="{fields["realm"]}",nonce="{fields["nonce"]}",'
                f'uri="{ruri}",response="{response}",algorithm=MD5,qop=auth,nc=00000001,cnonce="{cnonce}"')

    def _final(self) -> Response:
        while True:
            response = self._receive()
            if response.code >= 200:
                return response

    def _authenticated(self, method: str, ruri: str, to: str, body: str = "", extra: tuple[str, ...] = ()) -> Response:
        self._request(method, ruri, to, body, extra)
        response = self._final()
        if response.code == 401 and method == "INVITE":
            self._ack(ruri, response)
        if response.code != 401:
            return response
        auth = self._authorization(response.headers["www-authenticate"], method, ruri)
        self._request(method, ruri, to, body, (*extra, auth))
        return self._final()

    def _ack(self, ruri: str, response: Response) -> None:
        self._request("ACK", ruri, response.headers["to"], cseq=self.cseq)

    def register(self) -> Response:
        ruri = f"sip:{self.target}"
        return self._authenticated("REGISTER", ruri, f"<sip:{self.user}@{self.target.split(':')[0]}>",
                                   extra=("Expires: 120",))

    def invite(self, number: str, sdp: str) -> Response:
        """INVITE number; a 2xx is acknowledged (the call stays up until hangup), a refusal too."""
        self.call_id = _token()
        ruri = f"sip:{number}@{self.target}"
        response = self._authenticated("INVITE", ruri, f"<sip:{number}@{self.target.split(':')[0]}>", sdp)
        self._ack(ruri, response)
        self.dialog = (ruri, response)
        return response

    def hangup(self) -> int:
        """BYE to the answered call; the PBX's answer code."""
        ruri, response = self.dialog
        contact = re.search(r"<([^>]+)>", response.headers.get("contact", f"<{ruri}>")).group(1)
        self._request("BYE", contact, response.headers["to"])
        return self._final().code


def offer(address: str, port: int, crypto_key: str | None) -> str:
    """An audio offer (PCMA): RTP/SAVP with an SDES key (base64 of 30 bytes) when given, else plain RTP/AVP."""
    profile = "RTP/SAVP" if crypto_key else "RTP/AVP"
    lines = ["v=0", f"o=test 1 1 IN IP4 {address}", "s=test", f"c=IN IP4 {address}", "t=0 0",
             f"m=audio {port} {profile} 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
             "a=sendrecv"]
    if crypto_key:
        lines.append(f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{crypto_key}")
    return "\r\n".join([*lines, ""])


def answer_key(sdp: str) -> str | None:
    """The SDES key (base64 of master key and salt) of an SDP answer's AES_CM_128_HMAC_SHA1_80 crypto line."""
    match = re.search(r"a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)", sdp)
    return match.group(1) if match else None


def _derive(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """RFC 3711 4.3.1 with a key derivation rate of 0: AES-CM over x = salt XOR (label << 48), IV = x * 2^16."""
    x = int.from_bytes(master_salt, "big") ^ (label << 48)
    encryptor = Cipher(algorithms.AES(master_key), modes.CTR((x << 16).to_bytes(16, "big"))).encryptor()
    return encryptor.update(bytes(length))


def srtp_authentic(packet: bytes, key_b64: str, tag_length: int = 10) -> bool:
    """Whether packet is SRTP under that SDES key: its trailing tag is HMAC-SHA1 over the packet and its rollover
    counter (0 at the start of a call) with the session's derived auth key (RFC 3711 4.2)."""
    material = base64.b64decode(key_b64)
    auth_key = _derive(material[:16], material[16:30], 0x01, 20)
    body, tag = packet[:-tag_length], packet[-tag_length:]
    expected = hmac.new(auth_key, body + bytes(4), hashlib.sha1).digest()[:tag_length]
    return hmac.compare_digest(expected, tag)
