"""PID files for what the lab starts, checked against the command line so a recycled PID is never killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from pbxctl.lab.errors import LabError


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def read_pid(pid_file: Path, must_contain: str) -> int | None:
    """The recorded PID if that process still runs and is still ours; else remove the stale file."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return None
    reap(pid)
    if is_alive(pid) and must_contain in cmdline(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def find_by_argument(argument: str) -> list[int]:
    """Live processes with this exact argument (e.g. our own config path): strays whose PID file was lost."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and argument in cmdline(int(entry.name)) and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")


def spawn_detached(argv: list[str], log_file: Path, env: dict[str, str] | None = None) -> int:
    """Start a long-running process in its own session, so it outlives the CLI that started it."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    return proc.pid


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap(pid)
        if not is_alive(pid):
            return True
        time.sleep(0.2)
    return not is_alive(pid)


def reap(pid: int) -> None:
    """Collect our own exited child, if it is one, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def send(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def run_logged(argv: list[str], log_file: Path, what: str, env: dict[str, str] | None = None) -> None:
    """Run a long build step with its chatter in a log file; on failure say what failed and show the end."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
        raise LabError(f"{what} failed (exit {result.returncode}); end of {log_file}:\n{tail}")
