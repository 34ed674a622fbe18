"""The lab's stand-in for a site's webhook receivers (CRM call records, alerts, UPS events).

A site's webhooks name the office's real hosts, which the lab can't reach: its senders would retry forever on DNS
failures. The lab overlay points every webhook at this receiver on the host's lab address instead; it answers
204 and appends each request as one JSON line to a file tests and the demo read back.

    start() / stop()     (by `lab up` and `lab down`); received() reads what came in
    answer(path, body)   what a request to that path gets back instead of 204 (a CRM lookup's answer)
"""

from __future__ import annotations

import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pbxctl.lab import layout, processes

PORT = 18180  # on each instance's own host address, so instances never share it
BASE_URL = f"http://{layout.HOST_ADDRESS}:{PORT}"
PID_FILE = layout.STATE_DIR / "webhooks.pid"
RECEIVED = layout.LOG_DIR / "webhooks.jsonl"
LOG = layout.LOG_DIR / "webhooks.log"
ANSWERS = layout.STATE_DIR / "webhook-answers.json"  # {path: JSON body}, read at each request


def url(path: str) -> str:
    """Where the overlay sends a webhook: the receiver, with a path saying which one it was (/cdr, /alerts)."""
    return f"{BASE_URL}/{path.lstrip('/')}"


def received(path: str | None = None) -> list[dict]:
    """Every request received so far (optionally only those to one path): path, headers, body (JSON when it is)."""
    if not RECEIVED.exists():
        return []
    requests = [json.loads(line) for line in RECEIVED.read_text().splitlines() if line.strip()]
    return [r for r in requests if path is None or r["path"].split("?")[0] == path]


def answer(path: str, body: dict | None) -> None:
    """From now on a request to path gets 200 with this JSON body (None: the usual 204 again)."""
    answers = json.loads(ANSWERS.read_text()) if ANSWERS.exists() else {}
    if body is None:
        answers.pop(path, None)
    else:
        answers[path] = body
    ANSWERS.parent.mkdir(parents=True, exist_ok=True)
    partial = ANSWERS.with_suffix(".partial")
    partial.write_text(json.dumps(answers))
    partial.replace(ANSWERS)  # whole, never half-written, when the receiver reads it


def _answer_for(path: str) -> bytes | None:
    try:
        answers = json.loads(ANSWERS.read_text())
    except (OSError, ValueError):
        return None
    body = answers.get(path.split("?")[0])
    return None if body is None else json.dumps(body).encode()


def start() -> int:
    pid = processes.read_pid(PID_FILE, str(RECEIVED))
    if pid:
        return pid
    layout.LOG_DIR.mkdir(parents=True, exist_ok=True)
    # -c rather than -m: pbxctl.lab imports this module, and runpy warns when run as the package's own module
    argv = [sys.executable, "-c", "import sys; from pbxctl.lab.webhooks import main; main(sys.argv[1:])",
            layout.HOST_ADDRESS, str(PORT), str(RECEIVED)]
    pid = processes.spawn_detached(argv, LOG)
    processes.write_pid(PID_FILE, pid)
    return pid


def stop() -> None:
    pid = processes.read_pid(PID_FILE, str(RECEIVED))
    if pid:
        processes.send(pid, signal.SIGTERM)
        if not processes.wait_gone(pid, timeout=5):
            processes.send(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)


class _Handler(BaseHTTPRequestHandler):
    log_file: Path

    def _receive(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        entry = {"time": time.time(), "method": self.command, "path": self.path,
                 "headers": dict(self.headers.items()), "body": body}
        with self.log_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        answer = _answer_for(self.path)
        if answer is None:
            self.send_response(204)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = do_PUT = do_GET = _receive  # noqa: N815 (http.server's naming)

    def log_message(self, *args: object) -> None:
        pass


def main(argv: list[str]) -> None:
    address, port, log_file = argv
    _Handler.log_file = Path(log_file)
    server = ThreadingHTTPServer((address, int(port)), _Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
