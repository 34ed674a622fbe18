"""`pbxctl test-calls --live` against the lab PBX as a live PBX: the routing lab site written for that machine
(pbx.host its address, the lab carrier as its providers, the lab's receiver as its CRM) and applied as any site
is, with no lab overlay (`apply` without --lab, the lab's SSH key given to Ansible as a user gives it). The calls
come from this machine through the run's test-call entry, not from the lab carrier. Afterwards the entry is gone;
while it is there it refuses another address, a wrong password and any number but the run's DIDs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pbxctl import lab as lab_api
from pbxctl.lab import webhooks
from pbxctl.lab.carrier import Carrier
from pbxctl.lab.phone import Phone
from pbxctl.lab.provider import as_delivered, carrier_accounts
from pbxctl.load import load_site
from pbxctl.secrets import read_secrets

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
SCENARIOS = Path(__file__).parent / "data" / "test_call_scenarios_routing.yml"
LIVE_SCENARIOS = [0, 3, 4, 6, 8]  # IVR key, the Moscow group, the hunt, the CRM's answer, a voicemail


def pbxctl(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_PRIVATE_KEY_FILE": str(lab_api.ssh.key_path()), "ANSIBLE_HOST_KEY_CHECKING": "False"}
    return subprocess.run([PBXCTL, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def as_live_site(work: Path) -> Path:
    """The routing site as its owner would write it for the lab machine "pbx": nothing retargeted by pbxctl."""
    found = lab_api.hosts(["pbx", "carrier"])
    pbx, carrier = found["pbx"].address, found["carrier"].address
    network = f"{lab_api.HOST_ADDRESS.rsplit('.', 1)[0]}.0/24"
    path = work / "site.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["site"]["apt_proxy"] = found["pbx"].proxy_url
    data["pbx"].update(host=pbx, address=pbx, local_networks=[network])
    for trunk in data["trunks"]:
        trunk.update(host=carrier, port=5060)
    data["cdr"]["webhook"]["url"] = f"{webhooks.BASE_URL}/cdr"
    data["crm"]["url"] = f"{webhooks.BASE_URL}/crm"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    # the providers' passwords, as the site's owner has them from the providers (here: made up, and given to the
    # lab carrier, which plays the providers)
    (work / "secrets.yml").write_text(yaml.safe_dump(
        {"trunks": {t["name"]: {"password": os.urandom(12).hex()} for t in data["trunks"]}}), encoding="utf-8")
    site = load_site(path)
    Carrier().configure(carrier_accounts(site, read_secrets(work / "secrets.yml", None)))
    return path


@pytest.fixture(scope="module")
def live_site(lab, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("routing-live")
    shutil.copytree(Path(__file__).parent / "sites" / "routing", work, dirs_exist_ok=True)
    site = as_live_site(work)
    # secrets are made here at the first apply, as on the workstation that keeps the site (CI freezes them)
    run = pbxctl("apply", str(site), "--only", "pbx", "--generate-secrets")
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    return site


def entry_files() -> str:
    return lab_api.ssh_run("pbx", "ls /run/pbxctl-testcalls 2>/dev/null; asterisk -rx 'pjsip show endpoints' | "
                           "grep -c pbxctl-test- ; asterisk -rx 'dialplan show pbxctl-testcalls' | head -1",
                           check=False).stdout


def test_live_replay_agrees_with_explain_and_leaves_no_entry(live_site, tmp_path):
    chosen = [yaml.safe_load(SCENARIOS.read_text())[i] for i in LIVE_SCENARIOS]
    scenarios = tmp_path / "scenarios.yml"
    scenarios.write_text(yaml.safe_dump(chosen, sort_keys=False))
    started = time.monotonic()
    run = pbxctl("test-calls", str(live_site), str(scenarios), "--live", "--json")
    assert run.stdout.strip(), run.stderr[-3000:]
    document = json.loads(run.stdout)
    print(json.dumps(document["counts"]), round(time.monotonic() - started, 1), "s",
          [s.get("seconds") for s in document["scenarios"]])
    assert document["counts"] == {"ok": len(chosen), "mismatch": 0, "not_replayed": 0}, json.dumps(
        document, indent=2, ensure_ascii=False)
    for scenario in document["scenarios"]:
        assert scenario["actual"] == scenario["explain"] == scenario["expected"]
        assert " on " in scenario["reason"]  # how it was placed
    assert run.returncode == 0
    # gone: the entry's files, its endpoint, its context, the log channel; its password in no build file
    left = entry_files()
    assert "pjsip.conf" not in left and "Context 'pbxctl-testcalls'" not in left, left
    assert left.split()[0] == "0", left
    assert "pbxctl-test-calls" not in lab_api.ssh_run("pbx", "asterisk -rx 'logger show channels'").stdout
    assert not list((ROOT / "build" / "routing-lab").glob("testcalls-entry.yml"))


OTHER_ADDRESS_SUFFIX = ".98"  # another machine on the office network: inside the firewall's SIP sources


def test_the_entry_refuses_another_address_a_wrong_password_and_other_numbers(live_site, tmp_path):
    """The entry a run makes (made here as a run makes it), tried by someone other than the run."""
    from pbxctl.compile import compile_site, load_with_secrets
    from pbxctl.testcalls import live

    compiled = compile_site(live_site, None, None)
    did = as_delivered(compiled.site, "msk-city", "+74957770100")
    entry = live.new_entry(compiled.site, lab_api.HOST_ADDRESS, [("msk-city", did)])
    other = lab_api.HOST_ADDRESS.rsplit(".", 1)[0] + OTHER_ADDRESS_SUFFIX
    lab_api.add_host_address(other)
    live.run_entry_playbook(compiled, "present", entry)
    carrier = Carrier()
    carrier.clear_calls()
    try:
        pbx = lab_api.hosts(["pbx"])["pbx"].address
        shown = lab_api.ssh_run("pbx", f"asterisk -rx 'pjsip show endpoint {entry['name']}'").stdout
        assert entry["name"] in shown and entry["password"] not in shown

        def attempt(number: str, password: str = entry["password"], source: str = lab_api.HOST_ADDRESS) -> str:
            with Phone(tmp_path / f"try-{len(list(tmp_path.iterdir()))}", "+79161234567", password, pbx,
                       local_address=source, registers=False, auto_answer=False, auth_user=entry["name"]) as phone:
                outcome = phone.call(number, timeout=15)
                phone.hangup()
                return "answered" if outcome.answered else outcome.reason

        # the run's own DID with the right login, from this machine: the Moscow group rings 201, who answers
        login = load_with_secrets(live_site)[1].section("extensions")["201"]
        with Phone(tmp_path / "ext-201", "201", login["password"], pbx, auth_user=login["username"]) as desk:
            assert desk.register()
            assert attempt(did) == "answered"
        # a wrong password: refused
        wrong = attempt(did, password=entry["password"][:-2] + "xx")
        print("wrong password:", wrong)
        assert "401" in wrong or "403" in wrong, wrong
        # the right login from another address: the endpoint's ACL refuses it
        elsewhere = attempt(did, source=other)
        print("another address:", elsewhere)
        assert "403" in elsewhere or "401" in elsewhere, elsewhere
        security = lab_api.ssh_run("pbx", f"grep -a 'FailedACL' /var/log/asterisk/security.log | grep -a "
                                   f"'AccountID=\"{entry['name']}\"' | grep -ac '/{other}/'", check=False).stdout
        assert int(security.strip() or 0) >= 1, "the PBX logged no ACL refusal of the entry from elsewhere"
        # any other number with the right login: no such extension in the entry's context (an external number
        # in two formats, an extension, a feature code), so nothing can be dialled out or reached through it
        for number in ("89161234567", "+79161234567", "201", "*97"):
            refused = attempt(number)
            print(number, refused)
            assert "404" in refused, (number, refused)
        assert carrier.outbound_calls() == []  # the providers saw no call from the PBX
    finally:
        live.remove(compiled)
    left = entry_files()
    assert "pjsip.conf" not in left and left.split()[0] == "0", left


def test_an_interrupted_run_removes_its_entry_and_apply_removes_a_leftover(live_site, tmp_path):
    """Ctrl-C in the middle of a call (to the whole process group, as a terminal sends it): the run's entry is
    gone when the command has stopped. A leftover (a run killed outright) is removed by the next apply."""
    from pbxctl.compile import compile_site
    from pbxctl.testcalls import live

    voicemail = [yaml.safe_load(SCENARIOS.read_text())[8]]  # the longest call: 301's voicemail
    scenarios = tmp_path / "scenarios.yml"
    scenarios.write_text(yaml.safe_dump(voicemail, sort_keys=False))
    env = {**os.environ, "ANSIBLE_PRIVATE_KEY_FILE": str(lab_api.ssh.key_path()), "ANSIBLE_HOST_KEY_CHECKING": "False"}
    process = subprocess.Popen([PBXCTL, "test-calls", str(live_site), str(scenarios), "--live"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "1 active call" not in lab_api.ssh_run("pbx", "asterisk -rx 'core show channels count'").stdout:
            assert time.monotonic() < deadline and process.poll() is None, "no call came"
            time.sleep(0.5)
        assert "pjsip.conf" in entry_files()
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    left = entry_files()
    assert "pjsip.conf" not in left and left.split()[0] == "0", left + output[-3000:]

    compiled = compile_site(live_site, None, None)
    live.run_entry_playbook(compiled, "present", live.new_entry(compiled.site, lab_api.HOST_ADDRESS,
                                                                [("msk-city", "74957770100")]))
    assert "pjsip.conf" in entry_files()
    run = pbxctl("apply", str(live_site), "--only", "pbx")
    assert run.returncode == 0, run.stdout[-3000:]
    left = entry_files()
    assert "pjsip.conf" not in left and left.split()[0] == "0", left
