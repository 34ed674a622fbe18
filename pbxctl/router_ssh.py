"""Push the exported .rsc to a router whose API is closed: SSH (netmiko), upload over SFTP, /import."""

import io
from collections.abc import Callable
from pathlib import Path

from .site import Site

SCRIPT_NAME = "pbxctl.rsc"
SUCCESS = "Script file loaded and executed successfully"
FAILURE_WORDS = ("failure:", "syntax error", "expected end of command", "no such item", "bad command name",
                 "input does not match")


class ImportFailed(Exception):
    pass


def _connect(site: Site, password: str, connect: Callable | None, site_dir: Path | None = None):
    if connect is None:
        from netmiko import ConnectHandler as connect
    from netmiko.exceptions import NetmikoBaseException
    from paramiko.ssh_exception import SSHException

    router = site.router
    # the router's host key must already be known: a first connection never trusts whoever answers
    known = {"alt_host_keys": True, "alt_key_file": str((site_dir or Path()) / router.known_hosts)} \
        if router.known_hosts else {}
    try:
        return connect(device_type="mikrotik_routeros", host=router.host, port=router.ssh_port,
                       username=router.username, password=password, fast_cli=False,
                       ssh_strict=True, system_host_keys=True, **known)
    except (OSError, SSHException, NetmikoBaseException) as error:
        raise ImportFailed(f"cannot log in over SSH: {error}") from None


def _check(output: str) -> str:
    low = output.lower()
    bad = [line for line in output.splitlines() if any(word in line.lower() for word in FAILURE_WORDS)]
    if bad or ("script file" in low and SUCCESS.lower() not in low):
        raise ImportFailed("\n".join(bad) or output.strip()[-2000:])
    return output


def import_over_ssh(site: Site, password: str, script: str, line_by_line: bool = False,
                    connect: Callable | None = None, site_dir: Path | None = None) -> str:
    """Run the script on the router; returns RouterOS's output, raises ImportFailed on an error it printed."""
    conn = _connect(site, password, connect, site_dir)
    try:
        if line_by_line:
            lines = [line for line in script.splitlines() if line.strip() and not line.startswith("#")]
            return _check(conn.send_config_set(lines, cmd_verify=False))
        # a file import is one script: RouterOS stops at the first error instead of running on half-applied
        with conn.remote_conn_pre.open_sftp() as sftp:
            sftp.putfo(io.BytesIO(script.encode()), SCRIPT_NAME)
        try:
            return _check(conn.send_command(f"/import file-name={SCRIPT_NAME} verbose=no", read_timeout=120))
        finally:
            conn.send_command(f"/file remove [find where name={SCRIPT_NAME}]")
    finally:
        conn.disconnect()
