"""A packet capture on one of the host's lab interfaces (the bridge, or a machine's veth): each IPv4 packet that
passes is handed to `seen`, in a thread, for as long as the `with` block lasts. What tests count from it is what
was on the wire, not what a tool says it sent."""

from __future__ import annotations

import socket
import struct
import threading
import time

ETH_P_ALL = 0x0003  # a socket for IPv4 alone is not shown the frames this host sends


class Capture(threading.Thread):
    linger = 0.0  # seconds to keep capturing after the block: packets still in flight

    def __init__(self, interface: str) -> None:
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((interface, 0))
        self.sock.settimeout(0.2)

    def seen(self, ip: bytes, protocol: int, sport: int, dport: int, payload: bytes) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                frame = self.sock.recv(65535)
            except TimeoutError:
                continue
            ip = frame[14:]
            if frame[12:14] != b"\x08\x00" or len(ip) < 28:
                continue
            header = (ip[0] & 0x0F) * 4
            sport, dport = struct.unpack("!HH", ip[header:header + 4])
            transport = 8 if ip[9] == socket.IPPROTO_UDP else 0
            self.seen(ip, ip[9], sport, dport, ip[header + transport:] if transport else b"")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(self.linger)
        self.stopped.set()
        self.join(5)
        self.sock.close()
