"""A RouterOS API server double: the real wire protocol over TCP (or TLS), backed by RouterState.

Real clients (librouteros, community.routeros' api_* modules) talk to it unmodified. Start it from
tests with the fixtures in conftest.py, or by hand:

    python -m tests.routeros.api_server --port 8728 --state /tmp/router.json --password secret
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import socket
import socketserver
import ssl
import tempfile
import threading
from pathlib import Path

from . import defaults, tls
from .query import QueryError, matches
from .state import RouterState, Trap
from .wire import ConnectionClosed, ProtocolError, WireConnection

PRINT_OPTIONS = {".proplist", "count-only", "detail", "without-paging", "terse", "stats", ".id"}
MUTATING = {"add", "set", "remove", "move", "enable", "disable", "unset"}


class _Session:
    """One API connection: login first, then one command sentence at a time."""

    def __init__(self, server: RouterOSApiServer, conn: WireConnection) -> None:
        self.server = server
        self.conn = conn
        self.user: str | None = None
        self.challenge: bytes | None = None

    def send(self, reply: str, attrs: dict[str, str] | None = None, tag: str | None = None) -> None:
        words = [reply] + [f"={k}={v}" for k, v in (attrs or {}).items()]
        if tag is not None:
            words.append(f".tag={tag}")
        self.conn.write_sentence(words)

    def run(self) -> None:
        while True:
            try:
                words = self.conn.read_sentence()
            except (ConnectionClosed, OSError):
                return
            except ProtocolError as exc:
                self.conn.write_sentence(["!fatal", str(exc)])
                return
            if not self.handle(words):
                return

    def handle(self, words: list[str]) -> bool:
        command, attrs, queries, tag = words[0], {}, [], None
        for word in words[1:]:
            if word.startswith("="):
                key, _, value = word[1:].partition("=")
                attrs[key] = value
            elif word.startswith("?"):
                queries.append(word)
            elif word.startswith(".tag="):
                tag = word[5:]
            else:
                attrs[word] = ""  # RouterOS rejects bare words below as unknown parameters
        if command == "/login":
            self.login(attrs, tag)
            return True
        if self.user is None:
            # RouterOS drops sessions that issue commands before logging in.
            self.conn.write_sentence(["!fatal", "not logged in"])
            return False
        if command == "/quit":
            self.conn.write_sentence(["!fatal", "session terminated on request"])
            return False
        if command == "/cancel":
            self.send("!done", None, tag)
            return True
        self.server.record(command, attrs, queries)
        try:
            rows, ret = self.execute(command, attrs, queries)
        except Trap as trap:
            details = {"message": trap.message}
            if trap.category is not None:
                details = {"category": str(trap.category), **details}
            self.send("!trap", details, tag)
            self.send("!done", None, tag)
            return True
        for row in rows:
            self.send("!re", row, tag)
        self.send("!done", {"ret": ret} if ret is not None else None, tag)
        return True

    def login(self, attrs: dict[str, str], tag: str | None) -> None:
        name = attrs.get("name")
        if name is None:
            # Pre-6.43 clients ask for a challenge first.
            self.challenge = os.urandom(16)
            self.send("!done", {"ret": self.challenge.hex()}, tag)
            return
        expected = self.server.users.get(name)
        if "response" in attrs and self.challenge is not None and expected is not None:
            digest = hashlib.md5(b"\x00" + expected.encode() + self.challenge, usedforsecurity=False)
            ok = attrs["response"] == "00" + digest.hexdigest()
        else:
            ok = expected is not None and attrs.get("password") == expected
        if not ok:
            self.send("!trap", {"message": "invalid user name or password (6)"}, tag)
            self.send("!done", None, tag)
            return
        self.user = name
        self.send("!done", None, tag)

    def execute(self, command: str, attrs: dict[str, str], queries: list[str]):
        path, _, verb = command.rpartition("/")
        state = self.server.state
        if not path or state.spec(path) is None:
            raise Trap("no such command prefix")
        if verb in ("print", "getall"):
            rows = self.print(path, attrs, queries)
            if "count-only" in attrs:
                return [], str(len(rows))
            return rows, None
        if queries:
            raise Trap("unknown parameter " + queries[0])
        if verb == "add":
            ret = state.add(path, attrs)
            self.server.saved()
            return [], ret
        if verb in MUTATING:
            self.mutate(path, verb, attrs)
            self.server.saved()
            return [], None
        raise Trap("no such command")

    def print(self, path: str, attrs: dict[str, str], queries: list[str]) -> list[dict[str, str]]:
        for key in attrs:
            if key not in PRINT_OPTIONS:
                raise Trap(f"unknown parameter {key}")
        rows = self.server.state.print(path)
        if ".id" in attrs:
            rows = [r for r in rows if r.get(".id") in attrs[".id"].split(",")]
        try:
            rows = [r for r in rows if matches(r, queries)]
        except QueryError as exc:
            raise Trap(str(exc)) from None
        if ".proplist" in attrs:
            wanted = [p for p in attrs[".proplist"].split(",") if p]
            rows = [{p: r[p] for p in wanted if p in r} for r in rows]
        return rows

    def mutate(self, path: str, verb: str, attrs: dict[str, str]) -> None:
        state = self.server.state
        if verb == "set":
            state.set(path, attrs)
        elif verb == "remove":
            ids = attrs.pop(".id", None) or attrs.pop("numbers", None)
            if ids is None or attrs:
                raise Trap("unknown parameter " + next(iter(attrs))) if attrs else Trap("no such item")
            state.remove(path, ids)
        elif verb == "move":
            numbers = attrs.pop("numbers", None) or attrs.pop(".id", None)
            destination = attrs.pop("destination", None)
            if attrs:
                raise Trap("unknown parameter " + next(iter(attrs)))
            if numbers is None:
                raise Trap("no such item")
            state.move(path, numbers, destination)
        elif verb in ("enable", "disable"):
            ids = attrs.pop(".id", None) or attrs.pop("numbers", None)
            state.set(path, {".id": ids or "", "disabled": "false" if verb == "enable" else "true"})
        elif verb == "unset":
            ids = attrs.pop(".id", None) or attrs.pop("numbers", None)
            name = attrs.pop("value-name", "")
            state.set(path, {".id": ids or "", "!" + name: ""})


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        sock: socket.socket = self.request
        # one sentence per write: without NODELAY each reply waits on the client's delayed ACK (~40 ms)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if owner.tls_context is not None:
            try:
                sock = owner.tls_context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
        owner.track(sock, add=True)
        try:
            _Session(owner, WireConnection(sock)).run()
        except ConnectionClosed:
            pass
        finally:
            owner.track(sock, add=False)
            with contextlib.suppress(OSError):
                sock.close()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, owner: RouterOSApiServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class RouterOSApiServer:
    """Threaded RouterOS API listener on host:port (port 0 picks a free one)."""

    def __init__(
        self,
        state: RouterState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: dict[str, str] | None = None,
        use_tls: bool = False,
        cert_dir: Path | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.state = state or RouterState.default()
        self.users = users if users is not None else {"admin": ""}
        self.state_file = state_file
        self.history: list[tuple[str, dict[str, str], list[str]]] = []
        self.cert_path: Path | None = None
        self.tls_context: ssl.SSLContext | None = None
        if use_tls:
            directory = cert_dir or Path(tempfile.mkdtemp(prefix="routeros-tls-"))
            self.cert_path, key = tls.make_certificate(directory)
            self.tls_context = tls.server_context(self.cert_path, key)
        self._tcp = _TCPServer((host, port), self)
        self._thread: threading.Thread | None = None
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._tcp.server_address[0]

    @property
    def port(self) -> int:
        return self._tcp.server_address[1]

    def start(self) -> RouterOSApiServer:
        self._thread = threading.Thread(target=self._tcp.serve_forever, name="routeros-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._tcp.shutdown()
        self._tcp.server_close()
        with self._live_lock:
            for sock in list(self._live):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.saved()

    def __enter__(self) -> RouterOSApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._live_lock:
            (self._live.add if add else self._live.discard)(sock)

    def record(self, command: str, attrs: dict[str, str], queries: list[str]) -> None:
        with self.state.lock:
            self.history.append((command, dict(attrs), list(queries)))

    def commands(self, verb: str | None = None) -> list[str]:
        """Commands received so far (optionally only those ending in /verb), for assertions."""
        return [c for c, _, _ in self.history if verb is None or c.endswith("/" + verb)]

    def saved(self) -> None:
        if self.state_file is not None:
            self.state.dump(self.state_file)

    def snapshot(self) -> dict[str, list[dict[str, str]]]:
        return self.state.snapshot()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="RouterOS API test double")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8728)
    parser.add_argument("--state", type=Path, help="JSON state file: loaded if present, rewritten on change")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="")
    parser.add_argument("--tls", action="store_true", help="serve api-ssl with a fresh self-signed cert")
    parser.add_argument("--ros-version", default=defaults.DEFAULT_VERSION)
    args = parser.parse_args(argv)
    if args.state is not None and args.state.exists():
        state = RouterState.load(args.state)
    else:
        state = RouterState.default(args.ros_version)
    server = RouterOSApiServer(
        state,
        host=args.host,
        port=args.port,
        users={args.user: args.password},
        use_tls=args.tls,
        state_file=args.state,
    )
    server.saved()
    print(
        f"RouterOS API double on {server.host}:{server.port}"
        + (f" (TLS, cert {server.cert_path})" if server.cert_path else ""),
        flush=True,
    )
    try:
        server._tcp.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._tcp.server_close()
        server.saved()


if __name__ == "__main__":
    main()
