"""Three branch PBXs from one repository, applied in one run and linked (inventories/example-fleet).

The fleet (Moscow, St Petersburg, Surgut: a few extensions and a provider each, Moscow with the 8-800 IVR) goes
onto the lab's pbx, branch-b and branch-c in ONE `pbxctl apply` (--only pbx); the lab carrier is every provider.
Then, with baresip phones on each PBX: a Moscow extension rings a St Petersburg one over the link; the 8-800 IVR
reaches St Petersburg's manager on that PBX; a call arriving over a link can't go out through a provider; with
the link firewalled, each branch still makes its local and outbound calls and a call to the other side is busy
at once; ansible-runner applies the same fleet build. Figures (printed): three sites vs one, re-applied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pbxctl import lab as lab_api
from pbxctl.fleet.build import fleet_dir
from pbxctl.fleet.sites import site_files
from pbxctl.lab.carrier import wait_until
from pbxctl.lab.retarget import SUFFIX as LAB_SUFFIX
from pbxctl.load import load_site

# Not in the default run yet: its first apply of three bare PBXs failed in 2 of 4 runs (a firewall reload on one
# branch, once a trunk that never registered). The calls out answered 503 with the trunk Registered came from the
# carrier being configured after the apply (see the fleet fixture): with it configured first, 3 of 3 runs on a fresh
# lab passed (the old order: 2 of 2 failed so). Run it with `bash scripts/test.sh -m fleet tests/lab/test_fleet.py`.
pytestmark = [pytest.mark.lab, pytest.mark.fleet]

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "inventories" / "example-fleet"
BIN = Path(sys.executable).parent
MACHINES = {"fleet-moscow": "pbx", "fleet-spb": "branch-b", "fleet-surgut": "branch-c"}
CALLER = "+79161234567"
FIGURES: dict[str, float] = {}


def pbxctl(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pbxctl"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def on(machine: str, script: str, check: bool = True) -> str:
    return lab_api.ssh_run(machine, script, timeout=60, check=check).stdout


def contact_state(machine: str, endpoint: str) -> str:
    return on(machine, f"asterisk -rx 'pjsip show contacts' | grep ' {endpoint}/' || true")


@pytest.fixture(scope="module")
def fleet(lab, carrier, tmp_path_factory) -> dict:
    from pbxctl.fleet.build import compile_fleet
    from pbxctl.lab.fleet import lab_fleet
    from pbxctl.lab.provider import carrier_accounts
    from pbxctl.secrets import read_secrets

    work = tmp_path_factory.mktemp("fleet") / "example-fleet"
    shutil.copytree(FLEET, work, ignore=shutil.ignore_patterns("secrets.yml"))
    files = site_files([work])
    # The providers exist before the PBXs, as in an office: the carrier gets the accounts (the lab invents their
    # passwords at compile, into each site's secrets.yml) before the apply. Configured afterwards, each PBX's
    # first qualify of its trunk went to a carrier with no SIP listener, so the trunk stayed Unavailable until the
    # next qualify (60 s): calls out got 503 while the registration, re-sent by hand, showed Registered.
    compile_fleet(files, overlays=lab_fleet, out_dir=tmp_path_factory.mktemp("fleet-accounts"))
    models = {load_site(f).site.name: load_site(f) for f in files}
    secrets = {name: read_secrets(f.parent / "secrets.yml", None) for name, f in
               zip(models, files, strict=True)}
    carrier.configure([a for name, model in models.items() for a in carrier_accounts(model, secrets[name])])
    started = time.monotonic()
    run = pbxctl("apply", str(work), "--lab", "--only", "pbx")
    FIGURES["fleet apply, 3 sites, first"] = time.monotonic() - started
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-5000:]}\n{run.stderr[-3000:]}"
    for name in MACHINES:  # the per-site summary
        assert f"{name}: ok" in run.stdout, run.stdout
    build = ROOT / fleet_dir(list(models.values()), LAB_SUFFIX)
    assert {name: read_secrets(f.parent / "secrets.yml", None).data for name, f in
            zip(models, files, strict=True)} == {name: kept.data for name, kept in secrets.items()}  # the same logins
    built = {name: read_secrets(build / "sites" / name / "secrets.yml", None) for name in models}
    # the link's one password, the same at both ends
    assert secrets["fleet-moscow"].get("links", "fleet-spb", "password") == secrets["fleet-spb"].get(
        "links", "fleet-moscow", "password")
    addresses = {name: host.address for name, host in
                 ((site, lab_api.hosts([machine])[machine]) for site, machine in MACHINES.items())}
    for name, model in models.items():
        for trunk in model.trunks:
            # a binding from this site's PBX, not any binding of the account: one left from an earlier apply of the
            # lab (the carrier's registrar keeps them in its database) says nothing about this PBX's registration
            def from_its_pbx(username: str = trunk.username, address: str = addresses[name]) -> bool:
                return any(f"@{address}:" in uri or uri.endswith(f"@{address}") for uri in carrier.contacts(username))
            assert wait_until(from_its_pbx, 60), (trunk.name, carrier.contacts(trunk.username))
    for a, b in (("pbx", "link-fleet-spb"), ("branch-b", "link-fleet-moscow"), ("branch-c", "link-fleet-moscow")):
        assert wait_until(lambda m=a, e=b: "Avail" in contact_state(m, e), 40), contact_state(a, b)
    return {"dir": work, "build": build, "models": models, "secrets": built, "files": files}


@pytest.fixture
def phone(fleet, phone_factory, carrier):
    """phone("fleet-spb", "301") → a registered baresip phone on that site's PBX."""

    def make(site: str, number: str, auto_answer: bool = True):
        login = fleet["secrets"][site].data["asterisk__extension_secrets"][number]
        server = lab_api.hosts([MACHINES[site]])[MACHINES[site]].address
        made = phone_factory(number, login["password"], server=server, auth_user=login["username"],
                             auto_answer=auto_answer)
        assert made.register(), f"{site} {number} did not register"
        return made

    carrier.clear_calls()
    return make


def _call(caller, number: str, callee=None, timeout: float = 20):
    outcome = caller.call(number, timeout=timeout)
    incoming = callee.wait_incoming(timeout=5) if callee and outcome.answered else None
    caller.hangup()
    if outcome.answered:
        caller.wait_closed(5)  # this call's end, so the next call() does not take it for its own
    return outcome, incoming


def test_an_extension_in_moscow_calls_one_in_st_petersburg_over_the_link(phone):
    msk, spb = phone("fleet-moscow", "201"), phone("fleet-spb", "301")
    outcome, incoming = _call(msk, "301", spb)
    assert outcome.answered, (outcome, msk.log()[-1500:])
    assert incoming and incoming.answered
    assert "201" in incoming.peer_uri, incoming.peer_uri  # the caller's own number crossed the link


def test_the_8800_ivr_rings_st_petersburgs_manager_on_its_own_pbx(fleet, phone, carrier):
    spb = phone("fleet-spb", "301")
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(call=carrier.call_did("78005550100", CALLER, dtmf="2",
                                                                               wait=8)))
    thread.start()
    incoming = spb.wait_incoming(timeout=30)
    thread.join(timeout=90)
    assert incoming.answered, spb.seen
    assert result["call"].answered


def test_a_call_from_a_link_never_reaches_a_provider(fleet, carrier):
    """St Petersburg's PBX (as a compromised branch would) sends an outside number over the link to Moscow."""
    carrier.clear_calls()
    # the site's modules.conf leaves the CLI's originate out: loaded for this test only (gone at the next restart)
    on("branch-b", "asterisk -rx 'module load res_clioriginate.so' >/dev/null; asterisk -rx "
                   "'channel originate PJSIP/+74951110000@link-fleet-moscow application Wait 3'")
    time.sleep(6)
    assert carrier.outbound_calls() == []
    logged = on("pbx", "grep 'link fleet-spb: +74951110000 refused' /var/log/asterisk/messages.log | tail -1",
                check=False)
    assert "only this site's extensions take calls from a link" in logged  # it arrived, and was turned away


@pytest.fixture
def link_down(fleet):
    """The St Petersburg link firewalled at St Petersburg's end (both ways), until the test is over."""
    moscow = lab_api.hosts(["pbx"])["pbx"].address
    on("branch-b", f"nft add table inet pbxctl_test && nft add chain inet pbxctl_test cut "
                   f"'{{ type filter hook input priority -10 ; }}' && nft add rule inet pbxctl_test cut "
                   f"ip saddr {moscow} drop && nft add chain inet pbxctl_test cutout "
                   f"'{{ type filter hook output priority -10 ; }}' && nft add rule inet pbxctl_test cutout "
                   f"ip daddr {moscow} drop")
    try:
        assert wait_until(lambda: "Unavail" in contact_state("pbx", "link-fleet-spb"), 40), \
            contact_state("pbx", "link-fleet-spb")
        yield
    finally:
        on("branch-b", "nft delete table inet pbxctl_test", check=False)
        wait_until(lambda: "Avail" in contact_state("pbx", "link-fleet-spb").replace("Unavail", ""), 40)


def test_with_the_link_down_each_branch_keeps_local_and_outbound_calls(fleet, phone, carrier, link_down):
    msk, msk2 = phone("fleet-moscow", "201"), phone("fleet-moscow", "202")
    spb, spb2 = phone("fleet-spb", "301"), phone("fleet-spb", "302")
    started = time.monotonic()
    outcome, _ = _call(msk, "301")
    assert not outcome.answered and time.monotonic() - started < 8, outcome  # busy at once, not 30 s of ringing
    assert "486" in outcome.reason or "Busy" in outcome.reason, outcome
    for caller, callee, number in ((msk, msk2, "202"), (spb, spb2, "302")):
        outcome, incoming = _call(caller, number, callee)
        assert outcome.answered and incoming and incoming.answered, (number, outcome)
    carrier.clear_calls()
    for caller in (msk, spb):
        outcome, _ = _call(caller, "+74957654321")
        if not outcome.answered:  # what the branch's PBX saw of the call, in the failure's message
            machine = next(m for m in MACHINES.values() if lab_api.hosts([m])[m].address == caller.server)
            seen = on(machine, "tail -n 40 /var/log/asterisk/messages.log; asterisk -rx 'pjsip show registrations'; "
                             "asterisk -rx 'pjsip show contacts'",
                      check=False)
            pytest.fail(f"{caller.server}: {outcome}\n{seen}")
    assert wait_until(lambda: len(carrier.outbound_calls()) >= 2, 10)
    assert sorted(c.account for c in carrier.outbound_calls()) == ["msk-city", "spb-city"]


def test_ansible_runner_applies_the_same_fleet_build(fleet):
    runner = shutil.which("ansible-runner", path=f"{BIN}:{os.environ.get('PATH', '')}")
    if not runner:
        pytest.skip("ansible-runner is not installed (pip install ansible-runner)")
    private = fleet["build"]
    shutil.rmtree(private / "artifacts", ignore_errors=True)
    started = time.monotonic()
    run = subprocess.run([runner, "run", str(private), "-p", "playbooks/pbx.yml", "--ident", "fleet"],
                         capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"})
    FIGURES["ansible-runner, 3 sites, again"] = time.monotonic() - started
    status = (private / "artifacts" / "fleet" / "status").read_text().strip()
    assert run.returncode == 0 and status == "successful", run.stdout[-4000:]
    assert "fleet-surgut-pbx" in run.stdout and "failed=0" in run.stdout


def test_figures_one_site_against_three(fleet):
    """A re-apply (nothing to change) of Moscow alone (--limit) against ansible-runner's of all three above:
    what one run over three sites costs over one."""
    started = time.monotonic()
    run = pbxctl("apply", str(fleet["dir"]), "--lab", "--only", "pbx", "--limit", "fleet-moscow")
    FIGURES["fleet apply --limit 1 site, again"] = time.monotonic() - started
    assert run.returncode == 0 and "fleet-spb: skipped" in run.stdout, run.stdout[-3000:]
    print("\n" + "\n".join(f"{name}: {seconds:.1f} s" for name, seconds in FIGURES.items()))
