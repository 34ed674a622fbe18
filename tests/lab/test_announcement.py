"""recording.announcement proven by calls: the announcement site applied to the lab PBX, the lab carrier as the
provider, baresip phones as the extensions.

What is observed is the PBX's own account of the call: a temporary verbose log channel on the lab's Asterisk
(`logger add channel`, gone at its next restart) shows the caller's channel playing the announcement after the
extension answered and before MixMonitor starts the recording; a call that is not recorded plays nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from harness.carrier import TrunkAccount, pbx_catches_up
from harness.phone import registered_extension

from pbxctl import lab as lab_api
from pbxctl.compile import build_dir
from pbxctl.lab.retarget import SUFFIX as LAB_SUFFIX

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = Path(__file__).parent / "sites" / "announcement"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
LOG = "/var/log/asterisk/pbxctl-lab-verbose.log"
SOUND = "conf-now-recording"
CALLER = "+79161234567"


def pbx_sh(script: str) -> str:
    return lab_api.ssh_run("pbx", script, timeout=60).stdout


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("announcement-site")
    shutil.copytree(SITE_DIR, work, dirs_exist_ok=True)
    run = subprocess.run([PBXCTL, "apply", str(work / "site.yml"), "--only", "pbx", "--lab"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    secrets = yaml.safe_load((ROOT / build_dir("announcement-lab", LAB_SUFFIX) / "secrets.yml").read_text())
    # a channel of its own verbosity: the messages of Dial (answered), Playback (Playing) and app execution
    pbx_sh(f"asterisk -rx 'logger remove channel {LOG}'; rm -f {LOG}; "
           f"asterisk -rx 'logger add channel {LOG} verbose(3)'")
    return {"secrets": secrets}


@pytest.fixture(scope="module")
def provider(site, carrier):
    secret = site["secrets"]["asterisk__trunk_secrets"]["city"]
    carrier.configure([TrunkAccount("city", "74957770100", secret, dids=("74957770100", "74957770101",
                                                                          "74957770102"))])
    pbx_catches_up(carrier, ["74957770100"])
    return carrier


@pytest.fixture
def ext(site, phone_factory, provider):
    def make(number: str):
        return registered_extension(phone_factory, site["secrets"]["asterisk__extension_secrets"], number)
    return make


def _call(provider, did: str, phone) -> list[str]:
    """An inbound call the phone answers; the verbose lines of the PBX's channels written during it."""
    before = int(pbx_sh(f"wc -l < {LOG}").strip() or 0)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(call=provider.call_did(did, CALLER, wait=6)))
    thread.start()
    assert phone.wait_incoming(timeout=20).answered, phone.seen
    thread.join(timeout=90)
    assert result["call"].answered
    time.sleep(1)
    return pbx_sh(f"tail -n +{before + 1} {LOG}").splitlines()


def _index(lines: list[str], *words: str) -> int:
    return next((i for i, line in enumerate(lines) if all(w in line for w in words)), -1)


@pytest.mark.parametrize(("did", "number"), [("74957770100", "301"), ("74957770102", "100")],
                         ids=["extension-always", "group-always"])
def test_a_recorded_inbound_call_plays_the_announcement_to_the_caller_before_the_bridge(ext, provider, did,
                                                                                        number):
    lines = _call(provider, did, ext(number))
    answered = _index(lines, f"PJSIP/{number}-", "answered")
    played = _index(lines, f"Playing '{SOUND}")
    recorded = _index(lines, "MixMonitor(")
    assert answered >= 0 and played >= 0 and recorded >= 0, "\n".join(lines[-60:])
    assert answered < played < recorded, "\n".join(lines[answered:recorded + 1])
    # the caller's channel (the provider's trunk) plays it, not the extension's
    assert f"PJSIP/{number}-" not in lines[played], lines[played]


def test_a_call_that_is_not_recorded_plays_nothing(ext, provider):
    lines = _call(provider, "74957770101", ext("100"))  # 100 records nothing
    assert _index(lines, "PJSIP/100-", "answered") >= 0, "\n".join(lines[-40:])
    assert _index(lines, f"Playing '{SOUND}") == -1
    assert _index(lines, "MixMonitor(") == -1


def test_an_internal_call_to_a_recording_extension_is_not_announced(ext):
    """Only inbound calls hear it: colleagues calling 301 are recorded without it (README, 'recording')."""
    before = int(pbx_sh(f"wc -l < {LOG}").strip() or 0)
    caller, _callee = ext("100"), ext("301")
    assert caller.call("301").answered
    time.sleep(3)
    caller.hangup()
    caller.wait_closed(timeout=10)
    lines = pbx_sh(f"tail -n +{before + 1} {LOG}").splitlines()
    assert _index(lines, "MixMonitor(") >= 0, "\n".join(lines[-40:])  # recorded
    assert _index(lines, f"Playing '{SOUND}") == -1
