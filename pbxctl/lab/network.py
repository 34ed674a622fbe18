"""The lab LAN: one host bridge (the office switch) and the apt proxy that is the lab's only way out."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from pbxctl.lab import layout, processes
from pbxctl.lab.errors import LabError

PROXY_DIR = layout.STATE_DIR / "tinyproxy"
PROXY_CONF = PROXY_DIR / "tinyproxy.conf"
PROXY_FILTER = PROXY_DIR / "filter"
PROXY_PID = PROXY_DIR / "tinyproxy.pid"
PROXY_LOG = layout.LOG_DIR / "tinyproxy.log"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def bridge_exists() -> bool:
    return _ip("link", "show", "dev", layout.BRIDGE, check=False).returncode == 0


def ensure_bridge() -> None:
    if not bridge_exists():
        _ip("link", "add", layout.BRIDGE, "type", "bridge")
    add_host_address(layout.HOST_ADDRESS)
    _ip("link", "set", layout.BRIDGE, "up")


def remove_bridge() -> None:
    if bridge_exists():
        _ip("link", "delete", layout.BRIDGE)


def add_host_address(address: str) -> None:
    """Give the host another address on the lab LAN, e.g. a second "phone" with its own source address."""
    if address not in host_addresses():
        _ip("addr", "add", f"{address}/{layout.NETWORK_PREFIX}", "dev", layout.BRIDGE)


def remove_host_address(address: str) -> None:
    if address != layout.HOST_ADDRESS and address in host_addresses():
        _ip("addr", "del", f"{address}/{layout.NETWORK_PREFIX}", "dev", layout.BRIDGE)


def host_addresses() -> list[str]:
    out = _ip("-o", "-4", "addr", "show", "dev", layout.BRIDGE, check=False).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines()]


# --- apt proxy: a private tinyproxy instance, never the system's service ---

def proxy_pid() -> int | None:
    return processes.read_pid(PROXY_PID, str(PROXY_CONF))


def start_proxy() -> int:
    pid = proxy_pid()
    if pid:
        return pid
    for stray in processes.find_by_argument(str(PROXY_CONF)):  # ours, from a run whose state was lost
        processes.send(stray, signal.SIGKILL)
        processes.wait_gone(stray, timeout=5)
    _write_proxy_config()
    tinyproxy = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    pid = processes.spawn_detached([tinyproxy, "-d", "-c", str(PROXY_CONF)], PROXY_LOG)
    processes.write_pid(PROXY_PID, pid)
    listening = _wait_listening(layout.HOST_ADDRESS, layout.PROXY_PORT, timeout=10)
    if not listening or proxy_pid() is None:  # something else may hold the port while ours exited
        stop_proxy()
        raise LabError(
            f"the lab proxy did not start listening on {layout.HOST_ADDRESS}:{layout.PROXY_PORT} "
            f"(is another proxy bound to port {layout.PROXY_PORT}?); see {PROXY_LOG}"
        )
    return pid


def stop_proxy() -> None:
    pid = proxy_pid()
    if pid:
        processes.send(pid, signal.SIGTERM)
        if not processes.wait_gone(pid, timeout=5):
            processes.send(pid, signal.SIGKILL)
            processes.wait_gone(pid, timeout=5)
    PROXY_PID.unlink(missing_ok=True)


def _write_proxy_config() -> None:
    PROXY_DIR.mkdir(parents=True, exist_ok=True)
    PROXY_FILTER.write_text("".join(f"^{re.escape(host)}$\n" for host in layout.PROXY_ALLOWED_HOSTS))
    PROXY_CONF.write_text(
        "\n".join(
            [
                "User tinyproxy",
                "Group tinyproxy",
                f"Port {layout.PROXY_PORT}",
                f"Listen {layout.HOST_ADDRESS}",
                "Timeout 600",
                "MaxClients 100",
                "LogLevel Info",
                "Allow 10.253.0.0/16",
                "ConnectPort 443",
                f'Filter "{PROXY_FILTER}"',
                "FilterDefaultDeny Yes",
                "ViaProxyName \"pbxlab\"",
                "",
            ]
        )
    )


def _wait_listening(address: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def proxy_log_tail(lines: int = 20) -> str:
    path = Path(PROXY_LOG)
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
