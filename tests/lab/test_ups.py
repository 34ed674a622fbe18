"""Power cuts (issue 7): NUT on the lab PBX with dummy-ups playing the UPS, then the PBX stopped and started again.

The UPS state is driven by rewriting dummy-ups' .dev file (the driver re-reads it when it changes). upsmon's
SHUTDOWNCMD is a harmless script that appends a line to a log, as NUT's own integration tests do. The tests run in
file order; the restart of the shared lab PBX is the last one and happens once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import yaml

from pbxctl import lab
from pbxctl.compile import compile_site
from pbxctl.doctor.ups import power_on_checks
from pbxctl.lab import webhooks
from pbxctl.load import load_site
from pbxctl.run import run_playbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventories" / "example-office"
UPS = "pbxctl-test"
MONITOR = f"{UPS}@localhost"
DEV_FILE = f"/etc/nut/{UPS}.dev"
SHUTDOWN_SCRIPT = "/usr/local/sbin/pbxctl-test-shutdown"
SHUTDOWN_LOG = "/var/lib/pbxctl-test/shutdown.log"
FLAG = "/run/killpower"
HOSTSYNC, FINALDELAY = 15, 5  # upsmon.conf: FSD waits HOSTSYNC at most, then FINALDELAY before SHUTDOWNCMD


# ---------------------------------------------------------------------------------------------------- no lab needed


def _site_with(ups: dict | None, **extra):
    data = yaml.safe_load((EXAMPLE / "site.yml").read_text())
    data["ups"] = ups
    data.update(extra)
    return data


def _load(tmp_path: Path, data: dict):
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_site(path)


def test_power_on_without_bmc_asks_for_the_bios_setting(tmp_path):
    ups = {"name": "u", "bios_power_restore": False}
    checks = {c.name: c for c in power_on_checks(_load(tmp_path, _site_with(ups)))}
    assert checks["power-on"].status == "fail"
    assert "Restore on AC power loss" in checks["power-on"].message
    assert checks["wake-on-lan"].status == "ok" and "Wake-on-LAN watchdog" in checks["wake-on-lan"].message


def test_power_on_with_bmc_reads_the_chassis_policy(tmp_path):
    site = _load(tmp_path, _site_with({"name": "u", "ipmi": {}}))
    assert power_on_checks(site)[0].status == "ok"
    status = "System Power : on\nPower Restore Policy : always-off\n"
    assert power_on_checks(site, status)[0].status == "fail"
    assert power_on_checks(site, status.replace("always-off", "always-on"))[0].status == "ok"


def test_no_wake_on_lan_fallback_is_said(tmp_path):
    data = _site_with({"name": "u", "bios_power_restore": True})
    data.pop("router", None)
    checks = {c.name: c for c in power_on_checks(_load(tmp_path, data))}
    assert checks["power-on"].status == "ok"
    assert checks["wake-on-lan"].status == "warn"


def test_the_lab_overlay_plays_the_ups_and_receives_the_webhooks():
    """The office's USB UPS and webhook hosts don't exist in the lab: dummy-ups and the lab's receiver stand in;
    a URL already on the lab network (a test's own receiver) is kept."""
    from pbxctl.lab.retarget import Retarget, retarget

    site = load_site(EXAMPLE / "site.yml")
    target = Retarget(pbx_host="10.77.0.2", ssh_private_key="k", lab_network="10.77.0.0/24",
                      webhooks="http://10.77.0.1:18180", dummy_ups=True)
    moved = retarget(site, target)
    assert (moved.ups.driver, moved.ups.port) == ("dummy-ups", "office-ups.dev")
    assert moved.ups.shutdown == site.ups.shutdown and site.ups.driver == "usbhid-ups"
    assert moved.cdr.webhook.url == "http://10.77.0.1:18180/cdr"
    assert moved.security.alerts.webhook == "http://10.77.0.1:18180/alerts"
    site.security.alerts.webhook = "http://10.77.0.1:9999/mine"
    assert retarget(site, target).security.alerts.webhook == "http://10.77.0.1:9999/mine"


# ---------------------------------------------------------------------------------------------------- lab

def pbx(command: str, check: bool = True, timeout: float = 120) -> str:
    return lab.ssh_run("pbx", command, check=check, timeout=timeout).stdout


def set_ups(status: str, charge: int = 100) -> None:
    pbx(f"printf 'ups.status: {status}\\nbattery.charge: {charge}\\nups.mfr: pbxctl\\nups.model: dummy\\n'"
        f" > {DEV_FILE}.new && chmod 0644 {DEV_FILE}.new && mv {DEV_FILE}.new {DEV_FILE}")


def ups_status() -> str:
    return pbx(f"upsc {MONITOR} ups.status 2>/dev/null", check=False).strip()


def wait_status(expected: set[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = ups_status()
        if set(status.split()) >= expected or time.monotonic() > deadline:
            assert set(status.split()) >= expected, f"ups.status {status!r}, expected {expected}"
            return status
        time.sleep(0.5)


def shutdowns() -> list[float]:
    return [float(line) for line in pbx(f"cat {SHUTDOWN_LOG} 2>/dev/null", check=False).split()]


def flag_exists() -> bool:
    return pbx(f"test -e {FLAG} && echo yes", check=False).strip() == "yes"


def wait_shutdown(timeout: float) -> list[float]:
    deadline = time.monotonic() + timeout
    while not shutdowns() and time.monotonic() < deadline:
        time.sleep(1)
    return shutdowns()


def rearm() -> None:
    """Mains back and NUT as after a boot: no FSD in upsd, no flag, upsmon watching again, an empty log."""
    set_ups("OL")
    # FSD is latched by the driver and upsd until they restart (a real power cycle clears it)
    pbx(f"rm -f {FLAG} {SHUTDOWN_LOG}; systemctl restart nut-driver@{UPS}.service && sleep 1"
        " && systemctl restart nut-server.service && systemctl start nut-monitor.service")
    deadline = time.monotonic() + 20
    while (status := ups_status().split()) != ["OL"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == ["OL"]
    pbx("systemctl is-active nut-monitor.service")
    time.sleep(6)  # one upsmon poll (POLLFREQ 5) so it has seen OL before the next change


class LabAlerts:
    """The UPS events the lab's webhook receiver got since the last clear(): the lab overlay points the site's
    alert webhook at it, as a real office's alert endpoint would receive them."""

    def __init__(self) -> None:
        self.since = time.time()

    def clear(self) -> None:
        self.since = time.time()

    def __iter__(self):
        return iter([r["body"] for r in webhooks.received("/alerts")
                     if r["time"] >= self.since and isinstance(r["body"], dict)])


@pytest.fixture(scope="module")
def webhook():
    return LabAlerts()


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    """A copy of the example office (and its secrets) whose UPS is dummy-ups, compiled for the lab."""
    if lab.preflight_problem():
        pytest.skip(lab.preflight_problem())
    from pbxctl.lab.retarget import lab_retarget

    target = lab_retarget()  # boots the lab if it is down; never takes it down
    # a bare pbx: a demo or an earlier run leaves NUT running with its own UPS, which these tests must not inherit
    lab.reset("pbx")
    directory = tmp_path_factory.mktemp("ups-site")
    if (EXAMPLE / "secrets.yml").exists():  # the demo's, when it ran first; else the lab compile makes them
        shutil.copy(EXAMPLE / "secrets.yml", directory / "secrets.yml")
    pbx(f"install -d -m 0755 /var/lib/pbxctl-test && printf '#!/bin/sh\\ndate +%%s.%%N >> {SHUTDOWN_LOG}\\n'"
        f" > {SHUTDOWN_SCRIPT} && chmod 0755 {SHUTDOWN_SCRIPT} && install -d -m 0755 /etc/nut")
    set_ups("OL")
    # the office's PBX first, as a site is applied: the UPS plays then find the server they protect
    apply((directory, target), dummy({"when": "low_battery"}), playbook="pbx.yml")
    return directory, target


def apply(site_dir, ups: dict, playbook: str = "ups.yml", lab_ups: bool = True):
    """lab_ups=False: the site's own UPS driver, not the dummy-ups the lab overlay puts in its place."""
    directory, target = site_dir
    target = target if lab_ups else dataclasses.replace(target, dummy_ups=False)
    data = _site_with(ups)
    (directory / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    compiled = compile_site(directory / "site.yml", directory / "build", None, target)
    vars_file = compiled.out_dir / "vars.yml"  # JSON, which is YAML: read and written whole, never appended to
    vars_file.write_text(yaml.safe_dump({**yaml.safe_load(vars_file.read_text()),
                                         "nut__shutdown_command": SHUTDOWN_SCRIPT}))
    result = run_playbook(compiled, playbook, quiet=True)
    assert result.returncode == 0, result.failures
    return result


def dummy(policy: dict) -> dict:
    return {"name": UPS, "driver": "dummy-ups", "port": f"{UPS}.dev", "description": "dummy-ups playing the UPS",
            "shutdown": policy, "offdelay": 20, "ondelay": 30, "poweroff_wait": 45, "finaldelay": FINALDELAY}


@pytest.mark.lab
@pytest.mark.skipif(lab.preflight_problem() is not None, reason=str(lab.preflight_problem()))
def test_usb_ups_site_configures_killpower_and_second_apply_changes_nothing(site_dir):
    """The example office as written (usbhid-ups, absent in the lab): delays passed, hook installed, idempotent."""
    ups = yaml.safe_load((EXAMPLE / "site.yml").read_text())["ups"]
    apply(site_dir, ups, lab_ups=False)  # the lab has no USB UPS: the run warns and still succeeds
    conf = pbx("cat /etc/nut/ups.conf")
    assert re.search(r"^\s*driver = usbhid-ups$", conf, re.M)
    assert re.search(r"^\s*offdelay = 60$", conf, re.M) and re.search(r"^\s*ondelay = 120$", conf, re.M)
    assert "POWEROFF_WAIT=300" in pbx("cat /etc/nut/nut.conf").splitlines()
    upsmon = pbx("cat /etc/nut/upsmon.conf")
    assert f'POWERDOWNFLAG "{FLAG}"' in upsmon and "NOTIFYFLAG ONBATT SYSLOG+EXEC" in upsmon
    assert 'SHUTDOWNCMD "/usr/local/sbin/pbxctl-test-shutdown"' in upsmon
    assert "AT ONBATT office-ups@localhost START-TIMER shutdown-timer 300" in pbx("cat /etc/nut/upssched.conf")
    hook = pbx("cat /usr/lib/systemd/system-shutdown/nutshutdown")
    assert "upsmon -K" in hook and "upsdrvctl shutdown" in hook and "POWEROFF_WAIT" in hook
    pbx("test -x /usr/lib/systemd/system-shutdown/nutshutdown")
    assert pbx("systemctl is-enabled asterisk.service nut-server.service nut-monitor.service").split() == [
        "enabled"] * 3
    assert apply(site_dir, ups, lab_ups=False).changed == 0


@pytest.mark.lab
@pytest.mark.skipif(lab.preflight_problem() is not None, reason=str(lab.preflight_problem()))
def test_low_battery_policy(site_dir, webhook):
    set_ups("OL")
    apply(site_dir, dummy({"when": "low_battery"}))
    assert apply(site_dir, dummy({"when": "low_battery"})).changed == 0
    rearm()
    webhook.clear()

    set_ups("OB", 60)
    wait_status({"OB"})
    time.sleep(15)
    assert shutdowns() == [] and not flag_exists(), "on battery, not low yet: nothing may happen"

    low = time.time()
    set_ups("OB LB", 9)
    ran = wait_shutdown(30)
    assert len(ran) == 1 and flag_exists()
    time.sleep(15)
    assert len(shutdowns()) == 1, "the shutdown command must run once"
    print(f"\nlow battery → shutdown command: {ran[0] - low:.1f} s (FINALDELAY {FINALDELAY} s)")
    events = [e["event"] for e in webhook]
    assert {"ONBATT", "LOWBATT", "FSD", "SHUTDOWN"} <= set(events), events
    rearm()


@pytest.mark.lab
@pytest.mark.skipif(lab.preflight_problem() is not None, reason=str(lab.preflight_problem()))
def test_on_battery_for_policy(site_dir):
    """minutes: 1 (the model's minimum): the real path, seconds from the site file, at the cost of ~3 minutes."""
    set_ups("OL")
    apply(site_dir, dummy({"when": "on_battery_for", "minutes": 1}))
    rearm()

    # mains back before the timer runs out: cancelled
    set_ups("OB", 80)
    wait_status({"OB"})
    time.sleep(30)
    assert shutdowns() == []
    set_ups("OL")
    wait_status({"OL"})
    time.sleep(45)  # well past the 60 s the timer would have needed
    assert shutdowns() == [] and not flag_exists(), "mains came back: the shutdown must be cancelled"

    # on battery for the whole minute: shutdown, once
    start = time.time()
    set_ups("OB", 70)
    wait_status({"OB"})
    time.sleep(40)
    assert shutdowns() == [], "before the timer runs out nothing may happen"
    ran = wait_shutdown(60 + HOSTSYNC + FINALDELAY + 20 - 40)
    assert len(ran) == 1 and flag_exists()
    elapsed = ran[0] - start
    assert 60 <= elapsed <= 60 + HOSTSYNC + FINALDELAY + 10
    time.sleep(10)
    assert len(shutdowns()) == 1
    print(f"\non battery → shutdown command: {elapsed:.1f} s (timer 60 s + FINALDELAY {FINALDELAY} s)")
    rearm()


# ---------------------------------------------------------------------------------------------------- power back


def _digest(user: str, password: str, realm: str, nonce: str, uri: str, qop: str | None) -> str:
    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (SIP digest is MD5)

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"REGISTER:{uri}")
    if qop:
        cnonce = os.urandom(8).hex()
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}", '
                f'algorithm=MD5, qop=auth, nc=00000001, cnonce="{cnonce}"')
    response = md5(f"{ha1}:{nonce}:{ha2}")
    return f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}"'


def register(extension: str, user: str, password: str, server: str, timeout: float = 1.0) -> bool:
    """One REGISTER with digest auth over UDP from the host; True on 200 OK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.bind((lab.HOST_ADDRESS, 0))
        port = sock.getsockname()[1]
        uri, call_id, tag = f"sip:{server}", f"{os.urandom(8).hex()}@{lab.HOST_ADDRESS}", os.urandom(4).hex()
        auth = None
        for cseq in (1, 2):
            lines = [f"REGISTER {uri} SIP/2.0",
                     f"Via: SIP/2.0/UDP {lab.HOST_ADDRESS}:{port};rport;branch=z9hG4bK{random.getrandbits(48):x}",
                     "Max-Forwards: 70", f"From: <sip:{extension}@{server}>;tag={tag}",
                     f"To: <sip:{extension}@{server}>", f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER",
                     f"Contact: <sip:{extension}@{lab.HOST_ADDRESS}:{port}>",
                     "Expires: 60", "User-Agent: pbxctl-test"]
            if auth:
                lines.append(f"Authorization: {auth}")
            lines.append("Content-Length: 0")
            sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), (server, 5060))
            while True:
                reply = sock.recv(65535).decode(errors="replace")
                code = int(reply.split(" ", 2)[1])
                if code >= 200:
                    break
            if code == 200:
                return True
            challenge = re.search(r"^WWW-Authenticate:\s*Digest (.*)$", reply, re.M | re.I)
            if code != 401 or not challenge or auth:
                return False
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.group(1)))
            qop = "auth" if "auth" in params.get("qop", "").split(",") else None
            auth = _digest(user, password, params["realm"], params["nonce"], uri, qop)
        return False
    except (OSError, ValueError, IndexError):
        return False
    finally:
        sock.close()


@pytest.mark.lab
@pytest.mark.skipif(lab.preflight_problem() is not None, reason=str(lab.preflight_problem()))
def test_zz_power_back_asterisk_registers_after_restart(site_dir):
    """Last, and once: the lab PBX is stopped and started again; Asterisk must accept a REGISTER by itself."""
    from pbxctl.lab import machine

    directory, target = site_dir
    if not (directory / "site.yml").exists():  # this test alone: compile the site for its build secrets
        (directory / "site.yml").write_text(yaml.safe_dump(_site_with(dummy({"when": "low_battery"})), sort_keys=False))
        compile_site(directory / "site.yml", directory / "build", None, target)
    # other test modules may have applied other sites since: put this site's PBX part on first
    result = run_playbook(compile_site(directory / "site.yml", directory / "build", None, target), "pbx.yml",
                          quiet=True)
    assert result.returncode == 0, result.failures
    secrets = yaml.safe_load((directory / "build" / "secrets.yml").read_text())["asterisk__extension_secrets"]
    extension = sorted(secrets)[0]
    creds = (extension, secrets[extension]["username"], secrets[extension]["password"])
    server = lab.hosts(["pbx"])["pbx"].address
    if not register(*creds, server):
        pytest.fail(f"extension {extension} cannot register before the restart: is the lab PBX applied with "
                    "the example office (`pbxctl apply inventories/example-office/site.yml --lab --only pbx`)?")
    assert pbx("systemctl is-enabled asterisk.service").strip() == "enabled"
    assert flag_exists() is False, "a stale POWERDOWNFLAG would power-cycle the UPS on this ordinary shutdown"

    old_pid = machine.running_pid("pbx")
    restarted: dict = {}
    thread = threading.Thread(target=lambda: restarted.update(host=lab.restart("pbx")), daemon=True)
    thread.start()
    started = None
    registered = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        pid = machine.running_pid("pbx")
        if started is None and pid and pid != old_pid:
            started = time.monotonic()
        if started is not None and register(*creds, server, timeout=0.5):
            registered = time.monotonic()
            break
        time.sleep(0.2)
    thread.join(timeout=240)
    assert started is not None, "the lab PBX did not start again"
    assert registered is not None, "Asterisk did not accept a registration after the restart"
    seconds = registered - started
    # the machine's own view: how long PID 1 had been running when the registration succeeded
    pid1_age = float(pbx("ps -o etimes= -p 1").strip()) - (time.monotonic() - registered)
    print(f"\ncontainer start → first successful REGISTER: {seconds:.1f} s (PID 1 age then: {pid1_age:.0f} s)")
    assert pbx("systemctl is-active asterisk.service nut-server.service nut-monitor.service").split() == [
        "active"] * 3
    assert not flag_exists()
    assert seconds < 20
