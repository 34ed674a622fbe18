"""RouterOS API wire format: length-prefixed words, sentences ended by an empty word.

Kept separate from the server so the framing can be tested on its own, byte for byte.
"""

from __future__ import annotations

import socket

# RouterOS sends words as raw bytes; utf-8 with surrogateescape round-trips anything a client sends.
ENCODING = "utf-8"
ERRORS = "surrogateescape"


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid API word."""


class ConnectionClosed(Exception):
    """The peer closed the connection (cleanly between sentences or not)."""


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return length.to_bytes(1, "big")
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < 0x10000000:
        return (length | 0xE0000000).to_bytes(4, "big")
    if length < 0x100000000:
        return b"\xf0" + length.to_bytes(4, "big")
    raise ProtocolError(f"word too long: {length}")


def encode_word(word: str) -> bytes:
    data = word.encode(ENCODING, ERRORS)
    return encode_length(len(data)) + data


def encode_sentence(words: list[str]) -> bytes:
    return b"".join(encode_word(w) for w in words) + b"\x00"


class WireConnection:
    """Blocking sentence reader/writer over a (possibly TLS-wrapped) socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def _read_exact(self, count: int) -> bytes:
        data = bytearray()
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionClosed("peer closed the connection")
            data += chunk
        return bytes(data)

    def read_length(self) -> int:
        first = self._read_exact(1)[0]
        if first < 0x80:
            return first
        if first < 0xC0:
            return ((first & 0x3F) << 8) | self._read_exact(1)[0]
        if first < 0xE0:
            return ((first & 0x1F) << 16) | int.from_bytes(self._read_exact(2), "big")
        if first < 0xF0:
            return ((first & 0x0F) << 24) | int.from_bytes(self._read_exact(3), "big")
        if first == 0xF0:
            return int.from_bytes(self._read_exact(4), "big")
        # 0xF8..0xFF are reserved control bytes in the protocol.
        raise ProtocolError(f"unsupported control byte 0x{first:02x}")

    def read_word(self) -> str:
        length = self.read_length()
        if length == 0:
            return ""
        return self._read_exact(length).decode(ENCODING, ERRORS)

    def read_sentence(self) -> list[str]:
        """Read one sentence; empty sentences (stray terminators) are skipped like RouterOS does."""
        while True:
            words: list[str] = []
            while (word := self.read_word()) != "":
                words.append(word)
            if words:
                return words

    def write_sentence(self, words: list[str]) -> None:
        self.sock.sendall(encode_sentence(words))
