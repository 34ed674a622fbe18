"""An office pair: the example office applied to two lab servers (pbx, standby) sharing a virtual address.

Calls go through the primary and its voicemail reaches the standby; the primary's power is cut and the standby
answers the provider's calls, registers the accounts and lets a phone call out, with the voicemail there; the
primary comes back and stays passive; `pbxctl failback` gives the office back to it with what the standby
recorded meanwhile. Everything runs as a user runs it (the pbxctl CLI with --lab) against real keepalived,
Asterisk and the lab carrier; the figures (takeover, replication lag) are printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harness.carrier import Carrier

from pbxctl import lab as lab_api
from pbxctl.compile import load_with_secrets
from pbxctl.lab.carrier import wait_until
from pbxctl.lab.layout import VIRTUAL_ADDRESS
from pbxctl.lab.provider import as_delivered, carrier_accounts
from pbxctl.lab.retarget import lab_retarget

pytestmark = pytest.mark.lab

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-office" / "site.yml"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
INBOX = "/var/spool/asterisk/voicemail/default/100/INBOX"
CALLER = "+79161234567"
DID = "+74954440000"  # regional's; in this site it goes straight to 100's voicemail, which answers at once
NODES = ("pbx", "standby")
FIGURES: dict[str, str] = {}


def on(machine: str, command: str, check: bool = True) -> str:
    return lab_api.ssh_run(machine, command, timeout=120, check=check).stdout


def pbxctl(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PBXCTL, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    print(done.stdout[-3000:], done.stderr[-3000:])
    return done


def holds(machine: str) -> bool:
    return f" {VIRTUAL_ADDRESS}/" in on(machine, "ip -o -4 addr show", check=False)


def registrations(machine: str) -> str:
    return on(machine, "asterisk -rx 'pjsip show registrations'", check=False)


def answered_did(carrier: Carrier, site) -> bool:
    return carrier.call_did(as_delivered(site, "regional", DID), as_delivered(site, "regional", CALLER), wait=1,
                            answer_timeout=5).answered


def leave_voicemail(machine: str, name: str) -> str:
    """A message as Asterisk stores one, in 100's inbox; returns its sound's checksum."""
    on(machine, f"install -d -o asterisk -g asterisk -m 0750 {INBOX}"
                f" && printf '[message]\\ncallerid={CALLER}\\nduration=7\\n' > {INBOX}/{name}.txt"
                f" && head -c 48000 /dev/urandom > {INBOX}/{name}.wav"
                f" && chown asterisk:asterisk {INBOX}/{name}.* && chmod 0640 {INBOX}/{name}.*")
    return on(machine, f"sha256sum < {INBOX}/{name}.wav")


def wait_for_file(machine: str, path: str, checksum: str, timeout: float) -> float | None:
    """Seconds until `path` on `machine` has `checksum`, or None."""
    started = time.monotonic()
    if wait_until(lambda: on(machine, f"sha256sum < {path} 2>/dev/null || true", check=False) == checksum,
                  timeout, interval=0.5):
        return time.monotonic() - started
    return None


@pytest.fixture(scope="module")
def pair(lab, carrier: Carrier, tmp_path_factory):
    lab_api.up(["standby"])
    site_dir = tmp_path_factory.mktemp("standby-office")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pbx"].pop("address")
    data["standby"] = {"host": "192.168.10.6", "virtual_address": "192.168.10.4"}
    for route in data["inbound_routes"]:
        if route["did"] == DID:
            route["target"] = "voicemail:100"
    (site_dir / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    site, secrets, _ = load_with_secrets(site_dir / "site.yml", None, lab_retarget())
    carrier.configure(carrier_accounts(site, secrets))
    on("pbx", "rm -f /var/lib/pbxctl/standby/received", check=False)
    started = time.monotonic()
    done = pbxctl("apply", str(site_dir / "site.yml"), "--lab")
    assert done.returncode == 0, "the pair's apply failed"
    FIGURES["apply of the pair (both nodes, one run)"] = f"{time.monotonic() - started:.0f} s"
    # a pair an earlier run left on its standby stays there (nopreempt): these tests start from the primary
    if wait_until(lambda: holds("pbx") or holds("standby"), 30) and holds("standby"):
        assert pbxctl("failback", str(site_dir / "site.yml"), "--lab", timeout=600).returncode == 0
    yield site_dir / "site.yml", site, secrets
    if lab.started_here:  # the lab is this session's: the second PBX is not needed after this module
        lab_api.down(["standby"])
    if FIGURES:
        print("\n" + "\n".join(f"{name}: {value}" for name, value in FIGURES.items()))


def phone(phone_factory, secrets, number: str):
    credentials = secrets.section("extensions")[number]
    made = phone_factory(number, credentials["password"], server=VIRTUAL_ADDRESS, auth_user=credentials["username"])
    assert made.register(), f"{number} did not register at {VIRTUAL_ADDRESS}"
    return made


def test_the_primary_holds_the_address_registers_the_providers_and_the_standby_waits(pair, carrier: Carrier):
    _, site, _ = pair
    assert wait_until(lambda: holds("pbx"), 30) and not holds("standby")
    for account in carrier.accounts.values():
        assert carrier.wait_registered(account.username, timeout=40), account.name
        assert all(f"@{VIRTUAL_ADDRESS}:" in uri for uri in carrier.contacts(account.username)), \
            carrier.contacts(account.username)
    assert wait_until(lambda: registrations("pbx").count(" Registered ") == len(carrier.accounts), 40), \
        registrations("pbx")
    assert "trunk-" not in registrations("standby"), "the passive node registers the providers too"
    assert answered_did(carrier, site)
    # the passive node takes nothing on its own address: SIP is bound to the virtual one
    assert f"{VIRTUAL_ADDRESS}:5060" in on("standby", "ss -lnu")


def test_the_replication_key_writes_data_and_can_neither_run_commands_nor_read(pair):
    """What a thief of one node's replication key gets on the other: rsync writes, nothing else."""
    ssh = ("ssh -i /etc/pbxctl/standby/sync_key -o BatchMode=yes "
           "-o UserKnownHostsFile=/etc/pbxctl/standby/known_hosts")
    peer = lab_api.hosts(["pbx"])["pbx"].address
    shell = lab_api.ssh_run("standby", f"{ssh} root@{peer} id", check=False)
    assert shell.returncode != 0 and "uid=" not in shell.stdout, shell.stdout
    read = lab_api.ssh_run("standby", f"rsync -a -e '{ssh}' root@{peer}:/etc/shadow /tmp/stolen", check=False)
    assert read.returncode != 0 and "write-only" in read.stderr, read.stderr
    assert on("standby", "test -e /tmp/stolen && echo stolen || true").strip() == ""


def test_recordings_trickling_in_reach_the_standby_within_the_sync_interval(pair):
    _, site, _ = pair
    folder = f"{site.recording.path}/standby-trickle"
    on("pbx", f"install -d -o asterisk -g asterisk {folder}")
    lags = []
    for index in range(6):  # one recording every 3 s, as a busy office makes them
        name = f"{folder}/r{index}.wav"
        checksum = on("pbx", f"head -c 16000 /dev/urandom > {name} && chown asterisk: {name} && sha256sum < {name}")
        lag = wait_for_file("standby", name, checksum, timeout=60)
        assert lag is not None, f"{name} never reached the standby"
        lags.append(lag)
        time.sleep(3)
    FIGURES["replication lag, a recording every ~3 s (every 10 s sync)"] = \
        f"max {max(lags):.1f} s, mean {sum(lags) / len(lags):.1f} s"
    assert max(lags) <= site.standby.sync_seconds + 20


def test_doctor_names_the_active_node_and_the_replication_lag(pair):
    import json

    site_file, _, _ = pair
    done = pbxctl("doctor", str(site_file), "--lab", "--json", timeout=300)
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["standby"]["status"] == "ok" and "the primary holds" in checks["standby"]["message"], checks
    assert checks["replication"]["status"] == "ok" and "s behind" in checks["replication"]["message"], checks


def test_failover_to_a_standby_that_is_not_healthy_moves_nothing(pair):
    site_file, _, _ = pair
    on("standby", "systemctl stop asterisk")
    try:
        done = pbxctl("failover", str(site_file), "--lab", timeout=600)
        assert done.returncode == 5 and "the pair is as it was" in done.stderr
        assert holds("pbx") and not holds("standby")
        assert on("pbx", "test -e /etc/pbxctl/standby/hold && echo held || true").strip() == ""
    finally:
        on("standby", "systemctl start asterisk")
    assert wait_until(lambda: "BACKUP" in on("standby", "cat /run/pbxctl-standby/state", check=False), 60)


def test_a_power_cut_of_the_primary_hands_the_office_to_the_standby_and_it_comes_back_passive(
        lab_owned, pair, carrier: Carrier, phone_factory):
    site_file, site, secrets = pair
    checksum = leave_voicemail("pbx", "msg0000")
    assert wait_for_file("standby", f"{INBOX}/msg0000.wav", checksum, timeout=60) is not None

    lab_api.power_cut("pbx")
    cut = time.monotonic()
    assert wait_until(lambda: holds("standby"), 30), "the standby did not take the virtual address"
    address_seconds = time.monotonic() - cut
    assert wait_until(lambda: answered_did(carrier, site), 60), "no DID call answered on the standby"
    FIGURES["takeover after a power cut: address moved"] = f"{address_seconds:.1f} s"
    FIGURES["takeover after a power cut: provider's call answered on the standby"] = f"{time.monotonic() - cut:.1f} s"
    # the provider's binding names the virtual address, so its calls reach the standby even before it registers
    assert wait_until(lambda: registrations("standby").count(" Registered ") == len(carrier.accounts), 40), \
        registrations("standby")
    FIGURES["takeover after a power cut: every provider account registered from the standby"] = \
        f"{time.monotonic() - cut:.1f} s"
    assert on("standby", f"sha256sum < {INBOX}/msg0000.wav") == checksum

    mobile = phone(phone_factory, secrets, "101")
    carrier.clear_calls()
    outcome = mobile.call("89161234567", timeout=30)
    assert outcome.answered, outcome.reason
    mobile.hangup()
    assert [c.dialled for c in carrier.outbound_calls()] == ["89161234567"]

    lab_api.restart("pbx")  # the power comes back
    assert wait_until(lambda: on("pbx", "systemctl is-active keepalived asterisk", check=False).split()
                      == ["active", "active"], 120)
    time.sleep(8)  # several VRRP adverts and health checks: long enough to see a wrong takeover
    assert holds("standby") and not holds("pbx"), "the primary took the address back by itself"
    assert "trunk-" not in registrations("pbx"), "the returning primary registers the providers"
    assert answered_did(carrier, site)

    # meanwhile the standby takes a message; failback brings it along
    later = leave_voicemail("standby", "msg0001")
    started = time.monotonic()
    done = pbxctl("failback", str(site_file), "--lab", timeout=600)
    assert done.returncode == 0 and "the primary holds" in done.stdout
    FIGURES["pbxctl failback"] = f"{time.monotonic() - started:.1f} s"
    assert holds("pbx") and not holds("standby")
    assert on("pbx", f"sha256sum < {INBOX}/msg0001.wav") == later
    assert on("pbx", f"sha256sum < {INBOX}/msg0000.wav") == checksum
    assert wait_until(lambda: registrations("pbx").count(" Registered ") == len(carrier.accounts), 40)
    assert wait_until(lambda: answered_did(carrier, site), 40)
    assert "trunk-" not in registrations("standby")


def test_a_site_without_its_standby_frees_the_address_and_takes_sip_on_every_address(pair, carrier: Carrier,
                                                                                     tmp_path):
    """Last here: the site's standby: section removed and applied; the pbx is a single server again."""
    single = tmp_path / "site.yml"
    single.write_text(EXAMPLE.read_text())
    site, secrets, _ = load_with_secrets(single, None, lab_retarget())
    carrier.configure(carrier_accounts(site, secrets))
    assert pbxctl("apply", str(single), "--lab").returncode == 0
    assert on("pbx", "systemctl is-active keepalived", check=False).strip() != "active"
    assert not holds("pbx")
    assert "0.0.0.0:5060" in on("pbx", "ss -lnu")
    assert on("pbx", "ls /etc/sysctl.d /etc/keepalived", check=False).count("pbxctl") == 0
    for account in carrier.accounts.values():
        assert carrier.wait_registered(account.username, timeout=40), account.name
