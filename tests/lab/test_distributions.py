"""The example office on Debian 12 and 13 servers, which have no Asterisk package: `pbx.install.source: build`
makes one.

The build runs once per suite on the control node and is cached (~/.cache/pbxctl/asterisk, keyed by release,
suite, architecture and recipe): cold it takes 4-5 minutes on 2 cores, so a run with an empty cache builds it.
The apply copies the .deb and installs it with its libraries from the suite. Then the calls an office makes:
internal, inbound, outbound. One apply per suite, on the on-demand machines deb12 and deb13 (their own
addresses, so the sid pbx is left alone).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from harness.carrier import Carrier
from harness.phone import calls_out, registered_extension

from pbxctl import lab as lab_api
from pbxctl.build import asterisk
from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.lab import layout as lab_layout
from pbxctl.lab.carrier import wait_until
from pbxctl.lab.provider import as_delivered, carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.run import run_playbook

pytestmark = pytest.mark.lab

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-office" / "site.yml"
VERSION = "22.10.1"
CALLER = "+79161234567"
# suite → (the lab machine of that Debian release, what /etc/debian_version starts with)
SUITES = {"bookworm": ("deb12", "12."), "trixie": ("deb13", "13.")}


def on_pbx(office: dict, command: str) -> str:
    return lab_api.ssh_run(office["machine"], command, check=False).stdout


@pytest.fixture(scope="module", params=list(SUITES))
def office(request, lab, carrier: Carrier, tmp_path_factory):
    suite = request.param
    machine, _ = SUITES[suite]
    started = time.monotonic()
    built = asterisk.ensure_built(asterisk.release(VERSION), suite)  # from the cache, or built now (once per recipe)
    build_seconds = time.monotonic() - started
    server = lab_api.reset(machine)  # a bare server of that release every run: the first-install path
    site_dir = tmp_path_factory.mktemp(f"{suite}-office")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pbx"]["install"] = {"source": "build", "version": VERSION}
    (site_dir / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    target = dataclasses.replace(lab_retarget(), pbx_host=server.address, suffix=f"{machine}-lab")
    site, secrets, _ = load_with_secrets(site_dir / "site.yml", None, target)
    carrier.configure(carrier_accounts(site, secrets))
    compiled = compile_site(site_dir / "site.yml", site_dir / "build", None, target)
    started = time.monotonic()
    result = run_playbook(compiled, "pbx.yml", quiet=True)
    apply_seconds = time.monotonic() - started
    assert result.returncode == 0, result.failures
    print(f"\nAsterisk {VERSION} for {suite}: build or cache {build_seconds:.0f} s, first apply {apply_seconds:.0f} s")
    manifest = json.loads((built / "manifest.json").read_text())
    yield {"site": site, "secrets": secrets, "address": server.address, "suite": suite, "machine": machine,
           "package_version": manifest["package_version"], "built": built, "compiled": compiled}
    lab_api.down([machine])


def register(phone_factory, office, number: str):
    return registered_extension(phone_factory, office["secrets"].section("extensions"), number,
                                server=office["address"])


def test_the_server_runs_the_built_release_from_a_held_package(office):
    assert on_pbx(office, "cat /etc/debian_version").startswith(SUITES[office["suite"]][1])
    assert f"Asterisk {VERSION}" in on_pbx(office, "asterisk -rx 'core show version'")
    assert on_pbx(office, "dpkg-query -W -f '${Version}' asterisk") == office["package_version"]
    assert "asterisk" in on_pbx(office, "apt-mark showhold").split()
    # the trimmed build: what the configuration loads, and nothing the configuration never asks for
    modules = on_pbx(office, "ls /usr/lib/*/asterisk/modules/")
    assert "chan_pjsip.so" in modules and "chan_iax2.so" not in modules and "res_ari.so" not in modules


def test_two_extensions_call_each_other(office, phone_factory):
    caller, callee = register(phone_factory, office, "100"), register(phone_factory, office, "101")
    outcome = caller.call("101")
    assert outcome.answered, outcome.reason
    assert callee.wait_incoming(timeout=5).answered


def test_a_did_reaches_its_extension(office, carrier: Carrier, phone_factory):
    phone = register(phone_factory, office, "101")
    for account in carrier.accounts.values():
        # registered from this server: the carrier keeps the other suite's server's binding until it re-registers
        def from_here(username: str = account.username) -> bool:
            return any(f"@{office['address']}" in uri for uri in carrier.contacts(username))
        assert wait_until(from_here, 40), account.name
    did = as_delivered(office["site"], "regional", "+74954440000")
    result = carrier.call_did(did, as_delivered(office["site"], "regional", CALLER), wait=2)
    assert result.answered, result.events
    seen = phone.wait_incoming(timeout=5)
    assert seen.answered and f"sip:{CALLER}@" in seen.peer_uri


def test_an_outbound_call_reaches_the_carrier(office, carrier: Carrier, phone_factory):
    phone = register(phone_factory, office, "101")
    assert calls_out(phone, carrier) == [("cheap", "89161234567")]


# --- upgrades. Only one Asterisk release is reachable here (22.10.1 in sid's pool; the mirror serves no other suite's
# pool), so the next build of the release stands in for the next release: the same package under a later version,
# which the role treats exactly as it treats a new release (copy, install, check the live configuration with the new
# binary, restart, wait for it to answer; or put the release before back).

def repackaged(deb: Path, directory: Path, version: str, without: str | None = None) -> Path:
    """The built package under another version; without one of its modules, as a build that fails here would be."""
    tree = directory / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", control.read_text()))
    if without:
        next(tree.glob(f"usr/lib/*/asterisk/modules/{without}.so")).unlink()
    arch = re.search(r"(?m)^Architecture: (\S+)", control.read_text()).group(1)
    out = directory / f"asterisk_{version.partition(':')[2]}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(out)], check=True,
                   capture_output=True)
    shutil.rmtree(tree)
    return out


def next_build(office: dict, directory: Path, tag: str, without: str | None = None) -> Path:
    """A package cache (XDG_CACHE_HOME) whose build of the release is the package under the version + tag."""
    cache = directory / f"cache-{tag}"
    (cache / "pbxctl").mkdir(parents=True)
    (cache / "pbxctl" / "lab").symlink_to(lab_layout.cache_dir())
    entry = cache / "pbxctl" / "asterisk" / office["built"].name
    entry.mkdir(parents=True)
    manifest = json.loads((office["built"] / "manifest.json").read_text())
    suite = office["suite"]
    version = manifest["package_version"].replace(f"~{suite}", f"+{tag}~{suite}")
    deb = repackaged(office["built"] / manifest["debs"][0], entry, version, without)
    manifest |= {"package_version": version, "debs": [deb.name]}
    (entry / "manifest.json").write_text(json.dumps(manifest))
    return cache


def live_configuration(office: dict) -> str:
    return on_pbx(office, "/usr/local/sbin/pbxctl-asterisk-check --hashes /etc/asterisk")


def asterisk_started(office: dict) -> str:
    return on_pbx(office, "systemctl show -p ActiveEnterTimestampMonotonic --value asterisk").strip()


@pytest.mark.parametrize("office", ["bookworm"], indirect=True)
def test_a_new_build_is_checked_then_restarted_onto_keeping_configuration_and_calls(
        office, tmp_path, monkeypatch, phone_factory):
    before, started = live_configuration(office), asterisk_started(office)
    monkeypatch.setenv("XDG_CACHE_HOME", str(next_build(office, tmp_path, "upgrade")))
    result = run_playbook(office["compiled"], "pbx.yml", quiet=True)
    assert result.returncode == 0, result.failures
    installed = on_pbx(office, "dpkg-query -W -f '${Version}' asterisk")
    assert installed.endswith(f"+upgrade~{office['suite']}"), installed
    assert "asterisk" in on_pbx(office, "apt-mark showhold").split()
    assert asterisk_started(office) != started, "the new package was installed but Asterisk was not restarted"
    assert live_configuration(office) == before
    caller, callee = register(phone_factory, office, "100"), register(phone_factory, office, "101")
    assert caller.call("101").answered
    assert callee.wait_incoming(timeout=5).answered
    office["package_version"] = installed  # the release before, for the next test


@pytest.mark.parametrize("office", ["bookworm"], indirect=True)
def test_a_build_that_fails_its_check_puts_the_release_before_back(office, tmp_path, monkeypatch, phone_factory):
    before = live_configuration(office)
    # a release lacking the SIP channel driver the configuration loads: the check with its binary must refuse it
    monkeypatch.setenv("XDG_CACHE_HOME", str(next_build(office, tmp_path, "broken", without="chan_pjsip")))
    result = run_playbook(office["compiled"], "pbx.yml", quiet=True)
    assert result.returncode != 0
    assert any("the release before" in failure for failure in map(str, result.failures)), result.failures
    assert on_pbx(office, "dpkg-query -W -f '${Version}' asterisk") == office["package_version"]
    assert "asterisk" in on_pbx(office, "apt-mark showhold").split()
    assert live_configuration(office) == before
    assert on_pbx(office, "ls /usr/lib/*/asterisk/modules/chan_pjsip.so").strip()
    caller, callee = register(phone_factory, office, "100"), register(phone_factory, office, "101")
    assert caller.call("101").answered
    assert callee.wait_incoming(timeout=5).answered
