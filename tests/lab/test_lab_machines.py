"""The lab itself: real systemd servers on one bridge, an apt proxy, a carrier Asterisk, clean power-off."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from harness.carrier import PROBE_HEADER

from pbxctl import lab as lab_api
from pbxctl.lab import layout, machine, network, processes

pytestmark = pytest.mark.lab

APT_THROUGH_PROXY = [
    "apt-get", "-q", "-o", f"Acquire::http::Proxy={lab_api.PROXY_URL}",
    # The mirror is a dated snapshot: its Release file is past Valid-Until.
    "-o", "Acquire::Check-Valid-Until=false", "update",
]


@pytest.mark.parametrize("name", [spec.name for spec in layout.MACHINES if not spec.on_demand])
def test_machine_boots_to_a_running_systemd(lab, name):
    state = lab_api.ssh_run(name, "systemctl is-system-running", check=False).stdout.strip()
    assert state in ("running", "degraded"), state


def test_machines_are_distinct_servers(lab):
    identities = {name: lab_api.ssh_run(name, "hostname; cat /etc/machine-id").stdout for name in lab}
    assert len(set(identities.values())) == len(identities)


def test_apt_works_through_the_lab_proxy(lab):
    result = lab_api.ssh_run("pbx", APT_THROUGH_PROXY, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Err:" not in result.stdout


def test_proxy_refuses_hosts_other_than_the_mirror(lab):
    # The filter answers before any connection is made: nothing leaves this machine.
    status = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", lab_api.PROXY_URL, "http://example.org/"],
        capture_output=True, text=True, timeout=30, check=False,
    ).stdout
    assert status == "403"


def test_pbx_reaches_carrier_over_the_lab_lan(lab):
    result = lab_api.ssh_run("pbx", ["ping", "-c", "2", "-W", "2", lab["carrier"].address], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_carrier_asterisk_runs_and_answers_sip_options(lab):
    assert lab_api.ssh_run("carrier", "systemctl is-active asterisk").stdout.strip() == "active"
    probe = subprocess.run(
        ["sipsak", "-v", "-s", f"sip:ping@{lab['carrier'].address}", "-j", PROBE_HEADER],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert any(code in probe.stdout for code in ("SIP/2.0 200", "SIP/2.0 404")), probe.stdout + probe.stderr


def test_power_cut_and_back(lab_owned, carrier):
    """The carrier loses power (no clean shutdown) and boots again from the same disk."""
    marker = "/root/survives-power-cut"
    lab_api.ssh_run("carrier", f"touch {marker} && sync")
    lab_api.power_cut("carrier")
    assert lab_api.status(["carrier"])["carrier"] is None
    assert machine.container_leaders("carrier") == []
    lab_api.restart("carrier")
    assert lab_api.ssh_run("carrier", f"test -e {marker}", check=False).returncode == 0
    carrier.wait_ready()  # Asterisk comes back by itself: it is enabled, as on a real server


def test_reset_gives_a_fresh_disk(lab_owned, carrier):
    lab_api.ssh_run("carrier", "touch /root/left-from-before")
    lab_api.reset("carrier")
    assert lab_api.ssh_run("carrier", "test -e /root/left-from-before", check=False).returncode != 0
    carrier.wait_ready()


def test_stopping_one_machine_leaves_nothing_of_it(lab_owned):
    nspawn_pid = lab_api.status(["carrier"])["carrier"].pid
    lab_api.down(["carrier"])
    try:
        assert not processes.is_alive(nspawn_pid)
        assert machine.container_leaders("carrier") == []
        assert lab_api.status(["pbx"])["pbx"] is not None, "stopping the carrier must not touch the pbx"
    finally:
        lab_api.up(["carrier"])


def test_lab_down_leaves_no_process_of_ours(lab_owned):
    lab_api.down()
    try:
        ours = [
            pid for pid in _all_pids()
            # the trailing / keeps another lab instance's machines (/var/lib/pbxctl/lab-2/…) out of the count
            if any(f"{layout.MACHINES_DIR}/" in arg or str(network.PROXY_CONF) in arg
                   for arg in processes.cmdline(pid))
        ]
        assert ours == []
        assert all(machine.container_leaders(spec.name) == [] for spec in layout.MACHINES)
        assert not network.bridge_exists()
    finally:
        lab_api.up()  # later tests in this session still need the lab


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def test_the_address_unit_retries_until_the_link_is_there(lab):
    """Once a pbx came up without its address and `lab up` gave up: the unit waits for host0 and retries."""
    shown = lab_api.ssh_run("pbx", f"systemctl show -p Restart -p ExecStartPre {machine.ADDRESS_UNIT}").stdout
    assert "Restart=on-failure" in shown and "ip link show host0" in shown
    assert lab_api.ssh_run("pbx", f"systemctl is-active {machine.ADDRESS_UNIT}").stdout.strip() == "active"


def test_webhooks_from_a_machine_reach_the_lab_receiver(lab):
    """The receiver the lab overlay points a site's webhooks at, as the pbx's senders reach it."""
    from pbxctl.lab import webhooks

    marker = f"probe-{time.time()}"
    post = ("import json, urllib.request; urllib.request.urlopen(urllib.request.Request("
            f"'{webhooks.url('lab-probe')}', data=json.dumps({{'marker': '{marker}'}}).encode(), method='POST',"
            " headers={'Content-Type': 'application/json'}), timeout=10)")
    lab_api.ssh_run("pbx", ["python3", "-c", post])
    assert any(r["body"] == {"marker": marker} for r in webhooks.received("/lab-probe"))


def test_a_machine_boots_with_mains_on(lab_owned, carrier):
    """A dummy UPS left on low battery by a stopped test would make NUT shut the machine down at its next boot."""
    lab_api.ssh_run("carrier", "mkdir -p /etc/nut && printf 'ups.status: OB LB\\nbattery.charge: 5\\n'"
                    " > /etc/nut/lab-test.dev")
    lab_api.restart("carrier")
    try:
        state = lab_api.ssh_run("carrier", "cat /etc/nut/lab-test.dev").stdout
        assert "ups.status: OL" in state and "battery.charge: 100" in state
    finally:
        lab_api.ssh_run("carrier", "rm -f /etc/nut/lab-test.dev")
        carrier.wait_ready()
