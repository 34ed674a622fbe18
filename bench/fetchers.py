"""Many devices fetching files at once, as phones do after a power cut: HTTPS GETs with a device's own login,
and TFTP read requests (RFC 1350, octet mode, 512-byte blocks), each device on its own connection or port."""

from __future__ import annotations

import asyncio
import ssl
import time
from base64 import b64encode

TFTP_RETRIES = (1.0, 2.0, 4.0)  # seconds waited for a block before the request is sent again, then given up


async def https_get(host: str, port: int, path: str, login: tuple[str, str] | None, context: ssl.SSLContext,
                    timeout: float = 30) -> tuple[int, int]:
    """(status, body bytes) of one GET on a connection of its own; status 0 when the server never answered."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError):
        return 0, 0
    try:
        auth = f"Authorization: Basic {b64encode(':'.join(login).encode()).decode()}\r\n" if login else ""
        writer.write(f"GET /{path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, TimeoutError, ssl.SSLError):
        return 0, 0
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), len(body)
    except (IndexError, ValueError):
        return 0, 0


class _Tftp(asyncio.DatagramProtocol):
    def __init__(self, name: str, server: tuple[str, int]) -> None:
        self.name, self.server = name, server
        self.data = bytearray()
        self.block = 0
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.progress = asyncio.Event()
        self.peer: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.last = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.send(b"\x00\x01" + self.name.encode() + b"\x00octet\x00", self.server)

    def send(self, packet: bytes, to) -> None:
        self.last, self.last_to = packet, to
        self.transport.sendto(packet, to)

    def datagram_received(self, packet: bytes, addr) -> None:
        opcode = packet[:2]
        if opcode == b"\x00\x05" and not self.done.done():  # ERROR
            self.done.set_result(f"error {int.from_bytes(packet[2:4], 'big')}")
        if opcode != b"\x00\x03":
            return
        self.peer = self.peer or addr  # the server answers from a port of its own for the transfer
        block = int.from_bytes(packet[2:4], "big")
        if block == self.block + 1:
            self.block = block
            self.data += packet[4:]
            self.progress.set()
        self.send(b"\x00\x04" + packet[2:4], self.peer)  # ACK (again, for a repeated block)
        if len(packet) - 4 < 512 and block == self.block and not self.done.done():
            self.done.set_result("ok")


async def tftp_get(host: str, name: str, local: str, port: int = 69) -> tuple[str, int]:
    """('ok', bytes) or (what went wrong, bytes got)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Tftp(name, (host, port)),
                                                              local_addr=(local, 0))
    try:
        tries = 0
        while not protocol.done.done():
            protocol.progress.clear()
            waiter = asyncio.ensure_future(protocol.progress.wait())
            finished, _ = await asyncio.wait({protocol.done, waiter}, timeout=TFTP_RETRIES[min(tries, 2)],
                                             return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if protocol.done.done():
                break
            if waiter in finished:
                tries = 0
                continue
            tries += 1
            if tries > len(TFTP_RETRIES):
                return "timeout", len(protocol.data)
            transport.sendto(protocol.last, protocol.last_to)  # the request or the last ACK was lost
        return protocol.done.result(), len(protocol.data)
    finally:
        transport.close()


async def herd(jobs, parallel: int) -> tuple[float, list]:
    """Run the coroutines `parallel` at a time; (seconds for all, their results)."""
    gate = asyncio.Semaphore(parallel)

    async def one(job):
        async with gate:
            return await job
    started = time.perf_counter()
    results = await asyncio.gather(*(one(job) for job in jobs))
    return time.perf_counter() - started, list(results)
