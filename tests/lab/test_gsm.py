"""A GSM trunk on a Debian 12 server with no modem: chan_quectel is built with pbxctl's Asterisk (from the source tree
the site names, with pbxctl's fixes in pbxctl/build/patches/chan_quectel), installed with it, loaded, reports the
trunk's modem as not connected, and `pbxctl doctor` names the trunk and says its modem (by IMEI) is not found, while
Asterisk keeps running (the driver's state of an absent modem crashed it before the enum2str_def fix) and still
carries calls.

The driver's source is the user's (no distribution packages it): the test reads it from
PBXCTL_GSM_SOURCE_CHAN_QUECTEL (a directory or .tar.gz of github.com/RoEdAl/asterisk-chan-quectel) and skips
without it. The build (Asterisk and the driver in one root) is cached like test_distributions' own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from harness.carrier import Carrier
from harness.phone import calls_out, registered_extension

from pbxctl import lab as lab_api
from pbxctl.build import asterisk
from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.doctor import diagnose
from pbxctl.lab.provider import carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.run import run_playbook

pytestmark = pytest.mark.lab

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-office" / "site.yml"
VERSION = "22.10.1"
SUITE = "bookworm"
MACHINE = "deb12"
IMEI = "860075031047294"
TRUNK = "gsm-a"
TIMES: dict[str, float] = {}


def on_pbx(command: str) -> str:
    return lab_api.ssh_run(MACHINE, command, check=False).stdout


def _asterisk_pid() -> str:
    return on_pbx("systemctl show -p MainPID --value asterisk").strip()


def _still_running(office) -> None:
    """The same Asterisk process as after the apply: a crash would have been restarted by systemd under a new PID."""
    assert _asterisk_pid() == office["asterisk_pid"] != "0", \
        on_pbx("journalctl -u asterisk --no-pager -o cat | tail -20")


@pytest.fixture(scope="module")
def source() -> Path:
    given = os.environ.get("PBXCTL_GSM_SOURCE_CHAN_QUECTEL")
    if not given:
        pytest.skip("PBXCTL_GSM_SOURCE_CHAN_QUECTEL is not set: it names chan_quectel's source (a directory or "
                    ".tar.gz of github.com/RoEdAl/asterisk-chan-quectel), which no distribution packages")
    path = Path(given)
    assert path.exists(), f"PBXCTL_GSM_SOURCE_CHAN_QUECTEL={given}: no such file or directory"
    return path


@pytest.fixture(scope="module")
def built(source: Path) -> Path:
    rel = asterisk.release(VERSION, gsm=(asterisk.gsm_source("chan_quectel", source),))
    if not asterisk.built(rel, SUITE, asterisk.host_arch()) and os.environ.get("PBXCTL_BUILD_COLD") != "1":
        pytest.skip(f"Asterisk {VERSION} with chan_quectel for {SUITE} is not built yet: `pbxctl build asterisk "
                    f"SITE --suite {SUITE}` on a site naming the source (or PBXCTL_BUILD_COLD=1 to build it here)")
    started = time.monotonic()
    directory = asterisk.ensure_built(rel, SUITE)
    TIMES["build"] = time.monotonic() - started
    return directory


@pytest.fixture(scope="module")
def office(lab, built, source: Path, carrier: Carrier, tmp_path_factory):
    server = lab_api.reset(MACHINE)  # a bare Debian 12: the first install, driver package included
    site_dir = tmp_path_factory.mktemp("gsm-office")
    name = "chan_quectel" + ("" if source.is_dir() else "".join(source.suffixes[-2:]))
    (shutil.copytree if source.is_dir() else shutil.copy)(source, site_dir / name)
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pbx"]["install"] = {"source": "build", "version": VERSION, "gsm_sources": {"chan_quectel": {"path": name}}}
    data["trunks"].append({"name": TRUNK, "type": "gsm_dongle", "imei": IMEI, "driver": "chan_quectel"})
    (site_dir / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    target = dataclasses.replace(lab_retarget(), pbx_host=server.address, suffix=f"{MACHINE}-gsm-lab")
    site, secrets, _ = load_with_secrets(site_dir / "site.yml", None, target)
    carrier.configure(carrier_accounts(site, secrets))
    compiled = compile_site(site_dir / "site.yml", site_dir / "build", None, target)
    started = time.monotonic()
    result = run_playbook(compiled, "pbx.yml", quiet=True)
    TIMES["apply"] = time.monotonic() - started
    assert result.returncode == 0, result.failures
    print(f"\nAsterisk {VERSION} + chan_quectel for {SUITE}: build/cache {TIMES['build']:.0f} s, "
          f"first apply {TIMES['apply']:.0f} s")
    yield {"compiled": compiled, "built": built, "site": site, "secrets": secrets, "address": server.address,
           "asterisk_pid": _asterisk_pid()}
    lab_api.down([MACHINE])


def test_the_driver_package_depends_on_exactly_its_asterisk(office):
    packages = on_pbx("dpkg-query -W -f '${Package} ${Version} ${Depends}\\n' asterisk asterisk-chan-quectel")
    asterisk_line = next(line for line in packages.splitlines() if line.startswith("asterisk "))
    driver_line = next(line for line in packages.splitlines() if line.startswith("asterisk-chan-quectel "))
    version = asterisk_line.split()[1]
    assert f"asterisk (= {version})" in driver_line, packages
    assert on_pbx("dpkg-query -W -f '${Status}' asterisk-chan-quectel").endswith("installed")


def test_the_driver_is_loaded(office):
    modules = on_pbx("asterisk -rx 'module show like quectel'")
    assert re.search(r"^chan_quectel\.so\s.*\sRunning\s", modules, re.M), modules
    assert "load => chan_quectel.so" in on_pbx("cat /etc/asterisk/modules.conf")


def test_the_trunk_is_reported_not_connected(office):
    devices = on_pbx("asterisk -rx 'quectel show devices'")
    row = next((line for line in devices.splitlines() if line.startswith(TRUNK + " ")), None)
    assert row is not None, f"chan_quectel lists no {TRUNK}:\n{devices}"
    assert "Not connec" in row, devices  # the column is 10 characters wide
    state = on_pbx(f"asterisk -rx 'quectel show device state {TRUNK}'")
    assert re.search(r"State\s+:\s+Not connected", state), state
    assert re.search(rf"Data\s+:\s+/dev/modem/by-imei/{IMEI}$", state, re.M), state
    assert f"/dev/modem/by-imei/{IMEI}" in on_pbx("cat /etc/asterisk/quectel.conf")
    # the state of a modem that never answered (registration -1) is what crashed Asterisk: ask it again, then look
    assert "GSM Registration Status : Unknown" in on_pbx(f"asterisk -rx 'quectel show device state {TRUNK}'")
    time.sleep(2)
    _still_running(office)


# chan_quectel's messages name their source file as src/<file>.c (its build maps the source path so); Asterisk's
# own files have no such prefix
COMPLAINT_RE = re.compile(r"(ERROR|WARNING)\[\d+\]:? src/\w+\.c:")


def _driver_complaints() -> list[str]:
    log = on_pbx("cat /var/log/asterisk/messages.log 2>/dev/null")
    # the one complaint to expect: the modem's port is not there (no modem in the lab)
    absent = f"/dev/modem/by-imei/{IMEI}: No such file or directory"
    return [line for line in log.splitlines() if COMPLAINT_RE.search(line) and absent not in line]


def test_the_drivers_configuration_check_passes(office):
    # the driver's own reload reads quectel.conf again; neither it nor the first load complained about the file
    reload = on_pbx("asterisk -rx 'quectel reload now'")
    assert "No such command" not in reload and "Usage" not in reload, reload
    # the driver retries the absent modem every interval (15 s): Asterisk must outlive a few of those
    time.sleep(40)
    complaints = _driver_complaints()
    assert not complaints, "\n".join(complaints)
    assert TRUNK in on_pbx("asterisk -rx 'quectel show devices'")
    assert on_pbx("systemctl show -p NRestarts asterisk").strip() == "NRestarts=0", \
        on_pbx("journalctl -u asterisk --no-pager -o cat | tail -20")


def test_doctor_names_the_trunk_and_its_missing_modem(office):
    checks = diagnose(office["compiled"])
    gsm = [c for c in checks if c.name == f"trunk {TRUNK}"]
    assert len(gsm) == 1, checks
    assert gsm[0].status == "fail", gsm
    assert f"IMEI {IMEI} not found" in gsm[0].message, gsm
    _still_running(office)


def register(phone_factory, office, number: str):
    return registered_extension(phone_factory, office["secrets"].section("extensions"), number,
                                server=office["address"])


def test_two_extensions_still_call_each_other(office, phone_factory):
    caller, callee = register(phone_factory, office, "100"), register(phone_factory, office, "101")
    outcome = caller.call("101")
    assert outcome.answered, outcome.reason
    assert callee.wait_incoming(timeout=5).answered
    _still_running(office)


def test_an_outbound_call_still_reaches_the_carrier(office, carrier: Carrier, phone_factory):
    phone = register(phone_factory, office, "101")
    assert calls_out(phone, carrier) == [("cheap", "89161234567")]
    _still_running(office)
