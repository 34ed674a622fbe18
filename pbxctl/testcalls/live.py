"""Scenarios replayed on the site's own PBX (`test-calls --live`): for the run, a test-call entry on the PBX
(playbooks/testcalls.yml) takes the calls from this machine only, with a login made for the run, and hands each
to the routing of its DID's trunk as that trunk's provider would deliver it; the extensions are baresip phones on
this machine, registered with the extensions' logins. The entry is removed when the run ends, however it ends."""

import ipaddress
import os
import secrets as random
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from ..compile import Compiled, compile_site, load_with_secrets
from ..lab.phone import Phone
from ..numbers import to_e164
from ..plan import failure_lines, secret_values
from ..problems import ActionFailed, UserError
from ..run import run_playbook
from ..site import Site
from .replay import KEY_SECONDS, run_scenarios
from .report import Outcome
from .scenarios import Scenario

ENTRY_FILE = "testcalls-entry.yml"  # in the build; read by playbooks/testcalls.yml, deleted after the run
PREFIX = "pbxctl-test-"  # every entry's name starts so (the playbook checks Asterisk has it, or not, by it)
SIP_TRUNKS = ("sip_register", "sip_ip")


def replay_live(site_file: Path, scenarios: list[Scenario], vault: Path | None = None,
                progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    compiled = compile_site(site_file, None, vault)
    site, secrets, _ = load_with_secrets(site_file, vault)
    with SiteShell(site) as shell:
        source = shell("printf '%s' \"${SSH_CLIENT%% *}\"", root=False).strip()
        check_source(site, source)
        caller = EntryCaller(compiled, source)
        remove(compiled)  # a run killed before its end left its entry: not one of this run's
        # the run stops the caller however it ends, which removes this run's entry
        return run_scenarios(site, secrets, scenarios, shell, caller, f"the PBX {site.pbx.host}",
                             f"`pbxctl apply {site_file}`", progress)


def check_source(site: Site, source: str) -> None:
    """The phones register as the extensions, which accept registrations from pbx.local_networks only."""
    try:
        address = ipaddress.IPv4Address(source)
    except ValueError:
        raise ActionFailed([f"the PBX {site.pbx.host} does not say where this machine's SSH comes from "
                            f"(SSH_CLIENT is '{source}')"]) from None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((source, 0))
    except OSError:
        raise UserError([f"the PBX sees this machine as {address}, an address this machine does not have (a NAT "
                         "between them): the PBX could not reach the simulated phones; run test-calls from a "
                         "machine on the office network"]) from None
    if not any(address in network for network in site.pbx.local_networks):
        networks = ", ".join(str(n) for n in site.pbx.local_networks)
        raise UserError([f"the PBX sees this machine as {address}, outside pbx.local_networks ({networks}): the "
                         "simulated phones could not register as the extensions; run test-calls from a machine "
                         "on the office network (see the README, `pbxctl test-calls`)"])


class SiteShell:
    """Commands on the PBX over SSH as Ansible reaches it: pbx.host, pbx.ssh_user and pbx.ssh_port, the key and
    host key checking Ansible is told of (ANSIBLE_PRIVATE_KEY_FILE, ANSIBLE_HOST_KEY_CHECKING), sudo when the
    user is not root. One SSH connection carries them all."""

    def __init__(self, site: Site):
        self.site = site
        self.control = Path(tempfile.mkdtemp(prefix="pbxctl-ssh-"))

    def argv(self, remote: str) -> list[str]:
        pbx = self.site.pbx
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", str(pbx.ssh_port),
                "-o", "ControlMaster=auto", "-o", f"ControlPath={self.control}/%C", "-o", "ControlPersist=120"]
        if os.environ.get("ANSIBLE_PRIVATE_KEY_FILE"):
            argv += ["-i", os.environ["ANSIBLE_PRIVATE_KEY_FILE"]]
        if os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "").lower() in ("false", "no", "0"):
            argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
        return [*argv, f"{pbx.ssh_user}@{pbx.host}", remote]

    def __call__(self, script: str, check: bool = True, root: bool = True) -> str:
        remote = script if not root or self.site.pbx.ssh_user == "root" else f"sudo -n sh -c {shlex.quote(script)}"
        done = subprocess.run(self.argv(remote), capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise ActionFailed([f"the PBX {self.site.pbx.host}: `{script[:80]}` failed: "
                                f"{(done.stderr or done.stdout).strip()[:300]}"])
        return done.stdout

    def __enter__(self) -> "SiteShell":
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(self.argv("true")[:-2] + ["-O", "exit", f"{self.site.pbx.ssh_user}@{self.site.pbx.host}"],
                       capture_output=True, timeout=10)
        for leftover in self.control.iterdir():
            leftover.unlink(missing_ok=True)
        self.control.rmdir()


def new_entry(site: Site, source: str, calls: list[tuple[str, str]]) -> dict:
    """The entry of one run: a name and a password nobody has seen before (the name is also its login).
    calls: (trunk, DID as that trunk writes it)."""
    formats = {t.name: str(getattr(t.inbound_format, "value", t.inbound_format)) for t in site.trunks}
    return {"name": PREFIX + random.token_hex(6), "password": random.token_urlsafe(24), "source": source,
            "dids": [{"trunk": trunk, "did": did, "format": formats[trunk]} for trunk, did in calls]}


def write_request(compiled: Compiled, state: str, entry: dict | None = None) -> Path:
    # the command's request, not a role variable of the site (as backup's)
    document: dict = {"pbxctl_testcalls_state": state}
    if entry:
        document["pbxctl_testcalls_entry"] = entry
    path = compiled.out_dir / ENTRY_FILE
    path.touch(mode=0o600)
    path.chmod(0o600)  # the entry's password
    path.write_text("---\n" + yaml.safe_dump(document, sort_keys=True), encoding="utf-8")
    return path


def run_entry_playbook(compiled: Compiled, state: str, entry: dict | None = None) -> None:
    path = write_request(compiled, state, entry)
    try:
        result = run_playbook(compiled, "testcalls.yml", quiet=True)
    finally:
        path.unlink(missing_ok=True)
    if result.returncode != 0:
        hidden = secret_values(compiled) + ([entry["password"]] if entry else [])
        raise ActionFailed([f"the test-call entry could not be made {state}:",
                            *failure_lines(result, hidden)])


def remove(compiled: Compiled) -> None:
    run_entry_playbook(compiled, "absent")


class EntryCaller:
    """The run's test-call entry as every SIP trunk's provider: a baresip account per call, From the caller's
    number as the trunk writes it, to the DID as the trunk writes it, answering the entry's challenge."""

    one_trunk_per_did = True  # the entry hands a DID to one trunk's routing

    def __init__(self, compiled: Compiled, source: str):
        self.compiled, self.phone_address = compiled, source
        self.site = compiled.site
        self.entry: dict | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="pbxctl-test-caller-"))
        self.placed = 0

    def why_not(self, site: Site, trunk, path) -> str | None:
        if trunk is None or trunk.type not in SIP_TRUNKS:
            return "a GSM trunk's calls come from its modem: the test-call entry stands in for SIP trunks only"
        dialling_out = {to_e164(e.mobile.number, site.site.country) for e in site.extensions
                        if e.mobile and e.mobile.dial_out}
        if path.call["caller"] and to_e164(path.call["caller"], site.site.country) in dialling_out:
            return "its caller is a mobile that may dial out: the test-call entry refuses such callers"
        return None

    def prepare(self, calls: list[tuple[str, str]]) -> None:
        self.entry = new_entry(self.site, self.phone_address, calls)
        run_entry_playbook(self.compiled, "present", self.entry)

    def place(self, did: str, caller: str, keys: list[str], wait: float, answer_timeout: int, trunk: str) -> None:
        assert self.entry is not None
        self.placed += 1
        phone = Phone(self.workdir / f"call-{self.placed}", caller, self.entry["password"],
                      str(self.site.pbx.address or self.site.pbx.host), local_address=self.phone_address,
                      auto_answer=False, registers=False, auth_user=self.entry["name"])
        with phone:
            placed = phone.call(did, timeout=answer_timeout)
            if placed.answered:
                time.sleep(1)
                for index, key in enumerate(keys):
                    if index:
                        time.sleep(KEY_SECONDS)
                    phone.send_dtmf(key)
                phone.wait_closed(timeout=wait)
            phone.hangup()
            phone.wait_closed(timeout=5)

    def stop(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)  # the accounts files hold the entry's password
        if self.entry is not None:
            self.entry = None
            remove(self.compiled)
