"""Applies stopped dead at their worst moments, then applied again: the PBX converges and nothing is lost.

A run is killed (SIGKILL of ansible-playbook's whole process group, as a lost CI worker or a closed laptop would)
when the callback reports a given task starting or finishing. The next run must finish the change, the one after
must change nothing, calls must work, voicemail and recordings must be untouched, and a configuration only the
running Asterisk refuses must leave /etc/asterisk exactly as it was, file by file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pbxctl import lab as lab_api
from pbxctl.compile import Compiled, compile_site, load_with_secrets
from pbxctl.lab.provider import carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.run import ansible_env, playbook_argv, run_playbook

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventories" / "example-office"
RUN_TIMEOUT = 600
CHECKER = "/usr/local/sbin/pbxctl-asterisk-check"
STATE = "/var/lib/pbxctl/asterisk/previous"


@dataclass(frozen=True)
class KillPoint:
    """Kill when `task` (a substring of the task's name) starts, or when it reports `on` ("changed"), after `delay`."""

    name: str
    task: str
    on: str = "task"
    delay: float = 0.0


# a first apply on a bare server, in the order the run reaches them; each run goes further than the last
FIRST_APPLY = (
    KillPoint("during the package install", "asterisk : Install Asterisk from the distribution", delay=8),
    KillPoint("after staging, before the install", "asterisk : Check the staged configuration"),
    KillPoint("after the install, before the reload", "asterisk : Check the staged configuration", on="changed"),
    KillPoint("during the reload", "asterisk : Put the new configuration in service", delay=1),
    KillPoint("mid-provisioning", "provisioning : Put the phone files in place", delay=0.3),
)
CHANGE = (
    KillPoint("after the install, before the reload", "asterisk : Check the staged configuration", on="changed"),
    KillPoint("during the reload", "asterisk : Put the new configuration in service", delay=0.5),
)


def pbx(command: str, timeout: float = 120) -> str:
    return lab_api.ssh_run("pbx", command, timeout=timeout).stdout


def run_until_killed(compiled: Compiled, playbook: str, point: KillPoint) -> list[str]:
    """Run the playbook and SIGKILL its process group at the kill point; returns the tasks seen. Fails if the run
    ended before reaching the point (the test would then prove nothing)."""
    argv = playbook_argv(compiled, playbook, False, None)
    out_dir = compiled.out_dir.resolve()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=ansible_env(out_dir), cwd=out_dir, start_new_session=True)
    killed = threading.Event()
    watchdog = threading.Timer(RUN_TIMEOUT, lambda: _kill(proc))
    watchdog.start()
    seen: list[str] = []
    failures: list[str] = []  # what a run that ended too soon failed at
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            name = event.get("name") if event.get("event") == "task" else event.get("task")
            if event.get("event") == "task":
                seen.append(name)
            if event.get("event") == "failed":
                failures.append(f"{name}: {(event.get('result') or {}).get('msg')}")
            if not killed.is_set() and event.get("event") == point.on and point.task in (name or ""):
                killed.set()
                threading.Timer(point.delay, lambda: _kill(proc)).start()
        proc.wait()
    finally:
        watchdog.cancel()
        _kill_workers(out_dir)
    assert killed.is_set() and proc.returncode == -signal.SIGKILL, (
        f"the run ended (rc {proc.returncode}) before {point.name!r}; last tasks: {seen[-5:]}; failures: {failures}")
    return seen


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill_workers(out_dir: Path) -> None:
    """Ansible's workers start sessions of their own, so the group kill misses them: a lost worker would outlive
    its run (idle, holding an SSH connection) as it does on a real control node. End those of this build."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if str(out_dir).encode() in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)


def converges(compiled: Compiled, playbook: str) -> tuple[int, int]:
    """The apply after the kills succeeds, and the one after it changes nothing: (changes, seconds) of the first."""
    second = run_playbook(compiled, playbook, quiet=True)
    assert second.returncode == 0, second.failures
    third = run_playbook(compiled, playbook, quiet=True)
    assert third.returncode == 0, third.failures
    changes = [c["task"] for c in third.changes]
    assert third.changed == 0, f"a third apply still changed {third.changed}: {changes}"
    assert not pbx(f"ls {STATE}/pending 2>/dev/null || true").strip(), "a change is still marked pending"
    return second.changed, round(second.seconds)


def config_hashes() -> str:
    return pbx(f"{CHECKER} --hashes /etc/asterisk")


def data_hashes(recordings: str) -> str:
    """Voicemail and recordings: content of every file, as an operator would compare them."""
    return pbx(f"cd / && find /var/spool/asterisk/voicemail {recordings} -type f -print0 | sort -z "
               "| xargs -0r sha256sum")


@dataclass
class Office:
    site_file: Path
    compiled: Compiled
    secrets: object

    def compile(self) -> Compiled:
        self.compiled = compile_site(self.site_file, self.compiled.out_dir, None, lab_retarget())
        return self.compiled

    def set_vars(self, **changes) -> None:
        """Edit the compiled variables as a template or compile bug would, behind validation's back."""
        path = self.compiled.out_dir / "vars.yml"
        variables = yaml.safe_load(path.read_text())
        for key, edit in changes.items():
            variables[key] = edit(variables[key])
        path.write_text(yaml.safe_dump(variables, sort_keys=False, allow_unicode=True))


@pytest.fixture(scope="module")
def office(lab, carrier, tmp_path_factory) -> Office:
    directory = tmp_path_factory.mktemp("fault-injection")
    shutil.copy(EXAMPLE / "site.yml", directory / "site.yml")
    if (EXAMPLE / "secrets.yml").exists():
        shutil.copy(EXAMPLE / "secrets.yml", directory / "secrets.yml")
    target = lab_retarget()
    compiled = compile_site(directory / "site.yml", directory / "build", None, target)
    site, secrets, _ = load_with_secrets(directory / "site.yml", None, target)
    carrier.configure(carrier_accounts(site, secrets))
    return Office(directory / "site.yml", compiled, secrets)


def calls_work(office: Office, phone_factory, carrier) -> None:
    phones = []
    for number in ("100", "101"):
        credentials = office.secrets.section("extensions")[number]
        phone = phone_factory(number, credentials["password"], auth_user=credentials["username"])
        assert phone.register(), f"{number} did not register after the interrupted applies"
        phones.append(phone)
    outcome = phones[0].call("101")
    assert outcome.answered, outcome.reason
    phones[0].hangup()
    assert all(carrier.wait_registered(a.username, timeout=40) for a in carrier.accounts.values()), (
        "a trunk did not register")


def test_first_apply_killed_at_five_points_converges(lab_owned, office, phone_factory, carrier):
    """A bare server; site.yml killed at each point in turn (each run resumes further), then applied whole."""
    lab_api.reset("pbx")
    started = time.monotonic()
    for point in FIRST_APPLY:
        # the PBX's own points are reached sooner by its own playbook; provisioning comes after it in site.yml
        playbook = "site.yml" if point.task.startswith("provisioning") else "pbx.yml"
        seen = run_until_killed(office.compile(), playbook, point)
        print(f"\nkilled {point.name} after {len(seen)} tasks of {playbook}")
    changes, seconds = converges(office.compiled, "site.yml")
    print(f"\nafter five kills: the next apply made {changes} changes in {seconds} s, the one after none "
          f"({time.monotonic() - started:.0f} s in all)")
    calls_work(office, phone_factory, carrier)


def test_a_change_killed_before_and_during_the_reload_converges_and_keeps_voicemail(office, phone_factory, carrier):
    """A change (an extension renamed) stopped after the install and during the reload: the next run reloads."""
    office.compile()
    assert run_playbook(office.compiled, "pbx.yml", quiet=True).returncode == 0
    recordings = yaml.safe_load((office.compiled.out_dir / "vars.yml").read_text())["asterisk__recording"]["path"]
    pbx("install -d -o asterisk -g asterisk /var/spool/asterisk/voicemail/default/100/INBOX"
        " && printf 'callerid=+79161234567\\n' > /var/spool/asterisk/voicemail/default/100/INBOX/msg0000.txt"
        " && head -c 16000 /dev/urandom > /var/spool/asterisk/voicemail/default/100/INBOX/msg0000.wav"
        f" && head -c 32000 /dev/urandom > {recordings}/fault-injection-test.wav && chown -R asterisk "
        "/var/spool/asterisk/voicemail/default/100")
    data_before = data_hashes(recordings)
    for round_, point in enumerate(CHANGE, 1):
        site = yaml.safe_load(office.site_file.read_text())
        site["extensions"][1]["name"] = f"Anna Smirnova {round_}"
        office.site_file.write_text(yaml.safe_dump(site, sort_keys=False, allow_unicode=True))
        run_until_killed(office.compile(), "pbx.yml", point)
        assert pbx(f"test -e {STATE}/pending && echo pending || echo none").strip() == "pending" or \
            point.on != "changed", "a change installed but not yet verified must be marked pending"
    converges(office.compiled, "pbx.yml")
    assert f"Anna Smirnova {len(CHANGE)}" in pbx("asterisk -rx 'pjsip show endpoint 101'")
    assert data_hashes(recordings) == data_before, "voicemail or recordings changed"
    calls_work(office, phone_factory, carrier)


def test_a_configuration_only_asterisk_refuses_rolls_back_to_exactly_the_previous_set(office):
    """A trunk network no address parser accepts passes the checker; Asterisk refuses it on reload. The rollback
    must leave every file under /etc/asterisk as it was, and remove a file the failed run added."""
    office.compile()
    if pbx(f"test -e {CHECKER} && echo yes || true").strip() != "yes":  # run alone on a bare pbx
        assert run_playbook(office.compiled, "pbx.yml", quiet=True).returncode == 0
    pbx("rm /etc/asterisk/quectel.conf")  # so the failed run adds a file, which the rollback must take away
    before = config_hashes()
    pid_before = pbx("systemctl show -p MainPID --value asterisk").strip()
    endpoints_before = pbx("asterisk -rx 'pjsip list endpoints' | grep -c Endpoint:")

    def bad_network(trunks):
        trunks[0]["networks"] = ["10.253.0.300/32"]  # an address with a wrong octet: its endpoint fails to load
        return trunks

    office.set_vars(asterisk__trunks=bad_network)
    result = run_playbook(office.compiled, "pbx.yml", quiet=True)
    assert result.returncode != 0
    message = " ".join(f["message"] for f in result.failures)
    # the reload refuses the identify object and keeps the old one running: only Asterisk's log tells
    assert "previous one is back" in message and "10.253.0.300" in message, message
    after = config_hashes()
    assert after == before, "\n".join(
        sorted(set(after.splitlines()) ^ set(before.splitlines())))
    assert pbx("systemctl show -p MainPID --value asterisk").strip() == pid_before, "the rollback restarted Asterisk"
    assert pbx("asterisk -rx 'pjsip list endpoints' | grep -c Endpoint:") == endpoints_before
    assert not pbx(f"ls {STATE}/pending 2>/dev/null || true").strip()
    office.compile()  # the site as written again, for whatever runs next (the PBX runs it already)


VALID_SET = {"extensions.conf": "[general]\n[from-internal]\nexten => 100,1,NoOp()\n",
             "voicemail.conf": "[general]\nformat=wav\n[default]\n100 => 1234,Test\n",
             "queues.conf": "[general]\n[sales]\nstrategy=ringall\n"}
REFUSALS = yaml.safe_load((Path(__file__).parent / "data" / "checker_refusals.yml").read_text())


@pytest.mark.parametrize("case", REFUSALS, ids=[c["name"] for c in REFUSALS])
def test_the_checker_refuses_what_the_module_reading_a_file_would(lab, case):
    """On the carrier (any Asterisk will do): the checker's private Asterisk binds nothing and shares nothing."""
    checker = (ROOT / "roles/asterisk/files/pbxctl-asterisk-check").read_text()
    lab_api.ssh_run("carrier", "cat > /tmp/pbxctl-asterisk-check", input=checker)
    files = {**VALID_SET, case["file"]: case["content"]}
    script = "rm -rf /tmp/staged && mkdir /tmp/staged && " + " && ".join(
        f"printf %s {shlex.quote(text)} > /tmp/staged/{name}" for name, text in files.items())
    lab_api.ssh_run("carrier", script)
    result = lab_api.ssh_run("carrier", "python3 /tmp/pbxctl-asterisk-check /tmp/staged", check=False)
    if case["says"] is None:
        assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stdout
    else:
        assert result.returncode == 1 and case["says"] in result.stdout, result.stdout
