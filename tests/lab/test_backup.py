"""Scheduled backups to the carrier machine (rsync over SSH with pbxctl's key, doctor telling their age); then
`pbxctl backup`, a bare server in place of the PBX (`lab.reset`, as new hardware), `pbxctl restore`: the office
answers again and its voicemail, recordings and call records are back byte for byte, with owners and modes.

The data is real where the PBX makes it: a call between two extensions (recording: always) leaves its recording
and a CSV call record; a voicemail message is put in 100's inbox as Asterisk stores one. The commands run as a
user runs them (the pbxctl CLI with --lab), so their output and exit codes are part of what is tested.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml
from harness.carrier import Carrier

from pbxctl import lab as lab_api
from pbxctl.backup import data_dirs
from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.lab.provider import carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.pki import ssh_public_key
from pbxctl.run import run_playbook

pytestmark = pytest.mark.lab

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-office" / "site.yml"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
INBOX = "/var/spool/asterisk/voicemail/default/100/INBOX"
TARGET_USER, TARGET_DIR = "pbxbackup", "/srv/pbx-backups"


def pbx(command: str, check: bool = True) -> str:
    return lab_api.ssh_run("pbx", command, timeout=120, check=check).stdout


def data_state(dirs: list[str]) -> str:
    """Every file and folder under the data folders: content hash, owner, group, mode, as an operator compares."""
    folders = " ".join(dirs)
    return pbx(f"cd / && find {folders} -printf '%p %u:%g %m %y\\n' | sort && "
               f"find {folders} -type f -print0 | sort -z | xargs -0r sha256sum")


def settled(state: str) -> list[str]:
    """A call record still waiting for the CRM when the backup ran is sent once the restored PBX is up: the same
    bytes move from the spool's pending/ into each target's queue and on to its sent/ (hard links, one per
    target). Any of those places is the record kept, once."""
    return sorted({re.sub(r"/pbxctl-cdr/(targets/[^/]+/)?(pending|sent)/([^/ ]+\.cdr)", r"/pbxctl-cdr/…/\3", line)
                   for line in state.splitlines()})


def pbxctl(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PBXCTL, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    print(done.stdout[-3000:], done.stderr[-3000:])
    return done


@pytest.fixture(scope="module")
def office(lab, carrier: Carrier, tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("backup-office")
    target = lab_retarget()
    data = yaml.safe_load(EXAMPLE.read_text())
    data["backup"] = {"target": f"{TARGET_USER}@{lab['carrier'].address}:{TARGET_DIR}", "schedule": "hourly",
                      "keep": 2, "full_every": 2}
    (site_dir / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    site, secrets, _ = load_with_secrets(site_dir / "site.yml", None, target)
    carrier.configure(carrier_accounts(site, secrets))
    compiled = compile_site(site_dir / "site.yml", None, None, target)
    for playbook in ("pbx.yml", "backup_schedule.yml"):  # what this module needs; restore applies the whole site
        result = run_playbook(compiled, playbook, quiet=True)
        assert result.returncode == 0, result.failures
    # the target: a user of its own on another machine, whose authorized_keys has the line pbxctl prints
    key = pbxctl("backup", str(site_dir / "site.yml"), "--public-key", timeout=120).stdout.strip()
    assert key == ssh_public_key(secrets.get("backup", "ssh", "private_key"), f"pbxctl-backup@{site.site.name}")
    lab_api.ssh_run("carrier", "command -v rsync >/dev/null || { apt-get update -q >/dev/null && "
                    "apt-get install -y -q rsync >/dev/null; } && "
                    f"id {TARGET_USER} >/dev/null 2>&1 || useradd -m {TARGET_USER}; "
                    f"install -d -o {TARGET_USER} -m 0700 {TARGET_DIR} ~{TARGET_USER}/.ssh && "
                    f"printf '%s\\n' '{key}' > ~{TARGET_USER}/.ssh/authorized_keys && "
                    f"chown {TARGET_USER} ~{TARGET_USER}/.ssh/authorized_keys && rm -f {TARGET_DIR}/*", timeout=300)
    # archives and the last-good note an earlier run of this module left on the PBX would be pushed and read too
    pbx("rm -f /var/backups/pbxctl/scheduled/* /var/lib/pbxctl/backup/last-good")
    return site_dir / "site.yml", site, secrets


def doctor_backup(site_file: Path) -> dict:
    done = pbxctl("doctor", str(site_file), "--lab", "--json", timeout=300)
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    return checks["backup"]


def on_carrier(command: str) -> str:
    return lab_api.ssh_run("carrier", command, timeout=60).stdout


def test_scheduled_backups_reach_the_target_keep_the_newest_and_doctor_tells_their_age(office):
    site_file, site, _ = office
    assert pbx("systemctl is-enabled pbxctl-backup.timer").strip() == "enabled"
    assert "OnCalendar=hourly" in pbx("systemctl cat pbxctl-backup.timer")
    before = doctor_backup(site_file)
    assert before["status"] == "fail" and "no good backup" in before["message"], before
    recordings = data_dirs(site)[1]
    assert "monitor" in recordings, data_dirs(site)
    scheduled = "/var/backups/pbxctl/scheduled"
    # the recordings a busy office already has, then one more call's between each run (a steady trickle)
    pbx(f"head -c 4000000 /dev/urandom > {recordings}/pbxctl-test-old.wav && chown asterisk: {recordings}/*.wav")
    made, seconds = [], []
    for run in range(4):  # full_every: 2 (full, incremental, full, incremental); keep: 2
        if run:
            time.sleep(1.1)  # archives are named by the second
            pbx(f"head -c 200000 /dev/urandom > {recordings}/pbxctl-test-call-{run}.wav")
        started = time.monotonic()
        pbx("systemctl start pbxctl-backup.service")  # what the timer starts; oneshot: returns when it is done
        seconds.append(time.monotonic() - started)
        made.append(pbx(f"ls {scheduled} | tail -1").strip())
    sizes = [int(pbx(f"stat -c %s {scheduled}/{name} 2>/dev/null || echo 0")) for name in made]
    kept = on_carrier(f"ls {TARGET_DIR}").split()
    # the newest two and what they draw on: the full third run and the fourth built on it
    assert kept == made[2:], (kept, made)
    assert sorted(pbx(f"ls {scheduled}").split()) == kept
    for name in kept:
        assert on_carrier(f"sha256sum < {TARGET_DIR}/{name}") == pbx(f"sha256sum < {scheduled}/{name}")
    stored = pbx(f"tar -tzf {scheduled}/{made[3]}").split()
    assert any(n.endswith("pbxctl-test-call-3.wav") for n in stored), stored
    assert not any(n.endswith(("pbxctl-test-old.wav", "pbxctl-test-call-2.wav")) for n in stored), stored
    assert sizes[3] < sizes[2] / 5, sizes  # the incremental holds one call, the full one every recording
    # the incremental one restores whole: the chain beside it is read back file by file
    whole, own = (json.loads(pbx(f"/usr/local/sbin/pbxctl-backup verify {scheduled}/{made[3]}{flag}"))["verified"]
                  for flag in ("", " --own"))
    assert whole > own, (whole, own)
    after = doctor_backup(site_file)
    assert after["status"] == "ok" and "min ago" in after["message"] and kept[-1] in after["message"], after
    pbx(f"rm -f {recordings}/pbxctl-test-*.wav")
    print(f"\nscheduled backups: {', '.join(f'{t:.1f} s' for t in seconds)} (full, incremental, full, incremental); "
          f"archives {', '.join(f'{b / 1e6:.2f} MB' for b in sizes[2:])}")


def register(phone_factory, secrets, number: str):
    credentials = secrets.section("extensions")[number]
    phone = phone_factory(number, credentials["password"], auth_user=credentials["username"])
    assert phone.register(), f"{number} did not register"
    return phone


def a_call_between_extensions(phone_factory, secrets) -> None:
    caller, callee = register(phone_factory, secrets, "100"), register(phone_factory, secrets, "101")
    outcome = caller.call("101")
    assert outcome.answered, outcome.reason
    assert callee.wait_incoming(timeout=5).answered
    time.sleep(2)
    caller.hangup()
    caller.wait_closed(timeout=10)
    # gone once the call is done: a phone left running registers again with the restored PBX and, answering by
    # itself, takes the next call meant for the new one
    caller.stop()
    callee.stop()


def test_backup_then_restore_onto_a_bare_server_gives_the_office_back(lab_owned, office, carrier, phone_factory,
                                                                       tmp_path):
    site_file, site, secrets = office
    a_call_between_extensions(phone_factory, secrets)
    pbx(f"install -d -o asterisk -g asterisk -m 0750 {INBOX}"
        f" && printf '[message]\\ncallerid=+79161234567\\nduration=7\\n' > {INBOX}/msg0000.txt"
        f" && head -c 48000 /dev/urandom > {INBOX}/msg0000.wav"
        f" && chown asterisk:asterisk {INBOX}/msg0000.* && chmod 0640 {INBOX}/msg0000.*")
    dirs = data_dirs(site)
    before = data_state(dirs)
    assert f"{INBOX}/msg0000.wav asterisk:asterisk 640 f" in before
    recordings = [line for line in before.splitlines() if line.startswith(str(site.recording.path) + "/")
                  and line.endswith(" f")]
    assert recordings, f"the call left no recording in {site.recording.path}"
    assert "/var/log/asterisk/cdr-csv/Master.csv" in before, "the call left no CSV call record"

    started = time.monotonic()
    made = pbxctl("backup", str(site_file), "--lab", "-o", str(tmp_path))
    backup_seconds = time.monotonic() - started
    assert made.returncode == 0 and "backed up" in made.stdout
    archive, = tmp_path.glob(f"{site.site.name}-*.tar.gz")
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        body = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isreg())
    assert "reference/etc/asterisk/extensions.conf" in names
    assert "reference/etc/asterisk/pjsip.conf" not in names
    for number in ("100", "101"):  # no SIP password in the archive, in any file
        assert secrets.section("extensions")[number]["password"].encode() not in body

    lab_api.reset("pbx")  # new hardware: a bare server at the same address
    assert "voicemail" not in pbx("ls /var/spool/asterisk 2>/dev/null || true")

    started = time.monotonic()
    done = pbxctl("restore", str(site_file), str(archive), "--lab")
    restore_seconds = time.monotonic() - started
    assert done.returncode == 0 and "restored" in done.stdout
    after = data_state(dirs)
    assert settled(after) == settled(before), "the restored data differ from what was backed up"
    print(f"\nbackup {backup_seconds:.1f} s ({archive.stat().st_size} bytes), restore onto a bare server "
          f"(apply included) {restore_seconds:.1f} s")

    a_call_between_extensions(phone_factory, secrets)
    assert all(carrier.wait_registered(a.username, timeout=40) for a in carrier.accounts.values())
    result = carrier.call_did("84952220000", "89161234567", wait=2)
    assert result.answered, result.events

