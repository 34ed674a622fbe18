"""A bounded SIP registration generator: many accounts REGISTER over one UDP socket, answering digest challenges.

Just enough SIP (RFC 3261 REGISTER, RFC 2617/7616 MD5 digest with or without qop=auth, a non-INVITE client
transaction's timers over UDP) to load a registrar with thousands of phones; OPTIONS qualify pings get a 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from dataclasses import dataclass, field

# RFC 3261 17.1.2: a non-INVITE request over UDP is sent again after Timer E, which starts at T1 and doubles up to
# T2 (at T2 at once after a provisional answer); the transaction gives up when Timer F (64*T1) fires. A shorter
# window counts a registrar that is slow under load but answers as a failure, which a phone would not.
T1, T2 = 0.5, 4.0
TIMER_F = 64 * T1


@dataclass
class Account:
    user: str  # the SIP user (To/From, the AOR)
    auth_user: str
    password: str
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cseq: int = 0


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - SIP digest is MD5 by definition


def digest(account: Account, challenge: str, uri: str) -> str:
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    ha1 = md5(f"{account.auth_user}:{params['realm']}:{account.password}")
    ha2 = md5(f"REGISTER:{uri}")
    parts = [f'username="{account.auth_user}"', f'realm="{params["realm"]}"', f'nonce="{params["nonce"]}"',
             f'uri="{uri}"', 'algorithm=MD5']
    if "auth" in params.get("qop", "").split(","):
        cnonce = uuid.uuid4().hex[:16]
        response = md5(f"{ha1}:{params['nonce']}:00000001:{cnonce}:auth:{ha2}")
        parts += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = md5(f"{ha1}:{params['nonce']}:{ha2}")
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts + [f'response="{response}"'])


class Registrar(asyncio.DatagramProtocol):
    def __init__(self, server: str, port: int, local: str) -> None:
        self.server, self.port, self.local = server, port, local
        self.waiting: dict[str, asyncio.Future] = {}
        self.provisional: set[str] = set()  # transactions a 1xx answered: they retransmit at T2
        self.transport: asyncio.DatagramTransport | None = None
        self.local_port = 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.local_port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr) -> None:
        text = data.decode(errors="replace")
        head, _, _ = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        if lines[0].startswith("OPTIONS "):  # the registrar qualifies its contacts
            echoed = ("via", "from", "to", "call-id", "cseq")
            keep = [line for line in lines[1:] if line.split(":")[0].lower() in echoed]
            answer = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
            self.transport.sendto(answer.encode(), addr)
            return
        key = f"{headers.get('call-id')} {headers.get('cseq')}"
        future = self.waiting.get(key)
        if lines[0].startswith("SIP/2.0 ") and future and not future.done():
            status = int(lines[0].split()[1])
            if status >= 200:
                future.set_result((status, headers))
            else:
                self.provisional.add(key)

    def request(self, account: Account, expires: int, authorization: str | None) -> str:
        account.cseq += 1
        uri = f"sip:{self.server}"
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        lines = [f"REGISTER {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.local}:{self.local_port};branch={branch};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:{account.user}@{self.server}>;tag={account.call_id[:10]}",
                 f"To: <sip:{account.user}@{self.server}>",
                 f"Call-ID: {account.call_id}", f"CSeq: {account.cseq} REGISTER",
                 f"Contact: <sip:{account.user}@{self.local}:{self.local_port}>",
                 f"Expires: {expires}", "User-Agent: pbxctl-bench"]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        return "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"

    async def transaction(self, account: Account, expires: int, authorization: str | None):
        message = self.request(account, expires, authorization)
        key = f"{account.call_id} {account.cseq} REGISTER"
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        loop = asyncio.get_running_loop()
        give_up, interval = loop.time() + TIMER_F, T1
        try:
            while (left := give_up - loop.time()) > 0:
                self.transport.sendto(message.encode(), (self.server, self.port))
                try:
                    return await asyncio.wait_for(asyncio.shield(future), min(interval, left))
                except TimeoutError:
                    interval = T2 if key in self.provisional else min(interval * 2, T2)
            return None
        finally:
            del self.waiting[key]
            self.provisional.discard(key)

    async def register(self, account: Account, expires: int = 3600) -> str:
        """'ok', or the kind of failure: 'timeout' (no final answer within Timer F), 'challenged again' (a 401/407
        to the authorised request: the password was refused), or the final status of a 3xx-6xx answer."""
        answer = await self.transaction(account, expires, None)
        if answer and answer[0] in (401, 407):
            challenge = answer[1].get("www-authenticate") or answer[1].get("proxy-authenticate", "")
            answer = await self.transaction(account, expires, digest(account, challenge, f"sip:{self.server}"))
        if answer is None:
            return "timeout"
        if answer[0] in (401, 407):
            return "challenged again"
        return "ok" if 200 <= answer[0] < 300 else str(answer[0])


async def register_all(server: str, port: int, local: str, accounts: list[Account], parallel: int,
                       phases: list[int], between=None) -> list[tuple[float, list[str]]]:
    """Register every account once per phase (its Expires: 0 unregisters), `parallel` at a time, from one socket
    (which must stay open while the registrar qualifies). between(phase) runs after each phase, in a thread.
    Returns (seconds, results) per phase."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: Registrar(server, port, local),
                                                              local_addr=(local, 0))
    gate = asyncio.Semaphore(parallel)

    async def one(account: Account, expires: int) -> str:
        async with gate:
            return await protocol.register(account, expires)
    figures = []
    try:
        for expires in phases:
            started = loop.time()
            results = await asyncio.gather(*(one(account, expires) for account in accounts))
            figures.append((loop.time() - started, list(results)))
            if between:
                await asyncio.to_thread(between, expires)
        return figures
    finally:
        transport.close()
