"""`pbxctl apply` on a real server: the example office on the lab pbx, with real SIP from phones and a carrier.

Phones register with the extension number as SIP user and the random auth user from secrets.yml; the carrier
plays the office's five providers with the credentials the site's secrets hold.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from harness.carrier import Carrier

from pbxctl import lab as lab_api
from pbxctl.compile import Compiled, compile_site, load_with_secrets
from pbxctl.lab.provider import as_delivered, carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.plan import print_plan
from pbxctl.run import RunResult, run_playbook
from pbxctl.secrets import Secrets
from pbxctl.site import Site
from pbxctl.timing import summary_lines

pytestmark = pytest.mark.lab

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-office" / "site.yml"
CALLER = "+79161234567"  # a mobile customer


@dataclass
class Office:
    site_file: Path
    site: Site
    secrets: Secrets
    compiled: Compiled

    def credentials(self, number: str) -> dict:
        return self.secrets.section("extensions")[number]

    def apply(self, check: bool = False) -> RunResult:
        self.compiled = compile_site(self.site_file, self.compiled.out_dir, None, lab_retarget())
        return run_playbook(self.compiled, "pbx.yml", check=check, quiet=True)


def pbx(command: str) -> str:
    return lab_api.ssh_run("pbx", command, check=False).stdout


def asterisk_pid() -> str:
    return pbx("systemctl show -p MainPID --value asterisk").strip()


@pytest.fixture(scope="module")
def office(lab, carrier: Carrier, tmp_path_factory) -> Office:
    site_dir = tmp_path_factory.mktemp("office")
    shutil.copy(EXAMPLE, site_dir / "site.yml")
    target = lab_retarget()
    site, secrets, _ = load_with_secrets(site_dir / "site.yml", None, target)
    carrier.configure(carrier_accounts(site, secrets))
    compiled = compile_site(site_dir / "site.yml", site_dir / "build", None, target)
    result = run_playbook(compiled, "pbx.yml", quiet=True)
    assert result.returncode == 0, result.failures
    return Office(site_dir / "site.yml", site, secrets, compiled)


def register(phone_factory, office: Office, number: str, **options):
    credentials = office.credentials(number)
    phone = phone_factory(number, credentials["password"], auth_user=credentials["username"], **options)
    assert phone.register(), f"{number} did not register:\n{phone.log()[-1500:]}"
    return phone


def test_two_extensions_register_and_call_each_other(office, phone_factory):
    caller, callee = register(phone_factory, office, "100"), register(phone_factory, office, "101")
    outcome = caller.call("101")
    assert outcome.answered, outcome.reason
    assert callee.wait_incoming(timeout=5).answered
    time.sleep(2)
    caller.hangup()
    caller.wait_closed(timeout=10)
    sent, received = caller.last_call_rtp()
    callee_sent, callee_received = callee.last_call_rtp()
    assert sent > 20 and received > 20, (sent, received)
    assert callee_sent > 20 and callee_received > 20, (callee_sent, callee_received)


def test_a_wrong_password_does_not_register(office, phone_factory):
    credentials = office.credentials("102")
    password = credentials["password"]
    wrong = password[:-1] + ("y" if password.endswith("x") else "x")  # a password may end in x itself
    phone = phone_factory("102", wrong, auth_user=credentials["username"])
    assert not phone.register()


def test_every_provider_account_is_registered_at_the_carrier(office, carrier: Carrier):
    for account in carrier.accounts.values():
        assert carrier.wait_registered(account.username, timeout=40), account.name


def test_a_did_reaches_its_extension_with_the_caller_in_e164(office, carrier: Carrier, phone_factory):
    """The regional provider strips +7 from both numbers; the extension must still see +7…"""
    phone = register(phone_factory, office, "101")
    did = as_delivered(office.site, "regional", "+74954440000")
    assert did == "4954440000"
    result = carrier.call_did(did, as_delivered(office.site, "regional", CALLER), wait=2)
    assert result.answered, result.events
    seen = phone.wait_incoming(timeout=2)
    assert seen.answered
    assert f"sip:{CALLER}@" in seen.peer_uri


def test_a_national_format_did_is_normalised_too(office, carrier: Carrier, phone_factory):
    """city sends 8XXXXXXXXXX: the DID +74952220000 rings the sales group (101 is in it)."""
    phone = register(phone_factory, office, "101")
    result = carrier.call_did("84952220000", "89161234567", wait=2)
    assert result.answered, result.events
    seen = phone.wait_incoming(timeout=30)
    if seen.answered:  # inside office hours the sales group rings; after hours voicemail answers
        assert f"sip:{CALLER}@" in seen.peer_uri


def test_an_outbound_call_reaches_the_carrier_in_the_trunks_format(office, carrier: Carrier, phone_factory):
    """russia → cheap first: national format, and cheap presents the office's city number."""
    phone = register(phone_factory, office, "101")
    carrier.clear_calls()
    outcome = phone.call("89161234567", timeout=30)
    assert outcome.answered, outcome.reason
    phone.wait_closed(timeout=20)
    calls = carrier.outbound_calls()
    assert [(c.account, c.dialled) for c in calls] == [("cheap", "89161234567")]
    assert calls[0].caller_id == "84952220000"


def test_the_second_apply_changes_nothing(office):
    result = office.apply()
    assert result.returncode == 0, result.failures
    assert result.changed == 0, result.changes
    # what apply prints after the run: changed=0 for the host, and the tasks it ran with their time
    (host_line, total) = summary_lines(result.stats, result.seconds, len(result.tasks))
    assert " changed=0 " in host_line and host_line.startswith("example-office-pbx: ok=")
    assert total.endswith(f" {len(result.tasks)} tasks run") and len(result.tasks) > 10
    # the whole configuration is one task, however many files it has
    renders = [t for t in result.tasks if t.name == "asterisk : Render the configuration into the staging directory"]
    assert len(renders) == 1
    print(f"\nre-apply of pbx.yml: {result.seconds:.1f} s, {len(result.tasks)} tasks")


def test_plan_shows_a_one_line_change_and_applies_nothing_then_apply_reloads_keeping_calls(office, phone_factory,
                                                                                         capsys):
    site = yaml.safe_load(office.site_file.read_text())
    ops = next(g for g in site["ring_groups"] if g["name"] == "ops")
    ops["ring_time"] = 21
    office.site_file.write_text(yaml.safe_dump(site, sort_keys=False, allow_unicode=True))
    live_before = pbx("cat /etc/asterisk/extensions_targets.conf")  # ring groups are call targets

    plan = office.apply(check=True)
    assert plan.returncode == 0, plan.failures
    from rich.console import Console

    console = Console(record=True, width=200)
    print_plan(plan, console)
    shown = console.export_text()
    assert "extensions_targets.conf" in shown
    changed_lines = [line.strip() for line in shown.splitlines() if line.strip().startswith(("+", "-"))
                     and not line.strip().startswith(("+++", "---"))]
    assert changed_lines and all(",15," in line or ",21," in line for line in changed_lines), changed_lines
    assert pbx("cat /etc/asterisk/extensions_targets.conf") == live_before, "plan must not change the server"

    caller = register(phone_factory, office, "100")
    register(phone_factory, office, "102")
    assert caller.call("102").answered
    pid_before = asterisk_pid()
    applied = office.apply()
    assert applied.returncode == 0, applied.failures
    assert applied.changed > 0
    assert ",21," in pbx("cat /etc/asterisk/extensions_targets.conf")
    assert asterisk_pid() == pid_before, "a dialplan change must reload Asterisk, not restart it"
    assert caller.wait_closed(timeout=3).reason == "still up", "the established call must survive the reload"
    caller.hangup()


def test_a_dialplan_asterisk_rejects_is_refused_and_the_running_config_kept(office):
    """The checker runs a private Asterisk on the staged files; a 'next' priority on a first line fails it."""
    live_before = pbx("md5sum /etc/asterisk/extensions.conf")
    pid_before = asterisk_pid()
    script = (
        "set -e; rm -rf /tmp/broken && cp -a /var/lib/pbxctl/asterisk/staging /tmp/broken && "
        "printf '\\n[broken]\\nexten => 999,n,NoOp(first line with a next priority)\\n' >> /tmp/broken/extensions.conf"
        " && /usr/local/sbin/pbxctl-asterisk-check --install /tmp/broken /etc/asterisk "
        "/var/lib/pbxctl/asterisk/previous || echo rc=$?"
    )
    result = lab_api.ssh_run("pbx", script, check=False)
    assert "refused" in result.stdout and "rc=1" in result.stdout, result.stdout
    assert "extensions.conf" in result.stdout
    assert pbx("md5sum /etc/asterisk/extensions.conf") == live_before
    assert asterisk_pid() == pid_before
    assert "Objects found" in pbx("asterisk -rx 'pjsip show endpoints'")


def test_a_broken_template_result_is_refused_by_apply_and_nothing_goes_live(office):
    """As if a template bug produced an unbalanced line: apply fails on the check, the live files stay."""
    vars_file = office.compiled.out_dir / "vars.yml"
    variables = yaml.safe_load(vars_file.read_text())
    variables["asterisk__extensions"][0]["name"] = "Broken (name"
    vars_file.write_text(yaml.safe_dump(variables))
    live_before = pbx("md5sum /etc/asterisk/pjsip.conf /etc/asterisk/extensions.conf")
    try:
        result = run_playbook(office.compiled, "pbx.yml", quiet=True)
        assert result.returncode != 0
        assert any("refused" in failure["message"] for failure in result.failures), result.failures
        assert pbx("md5sum /etc/asterisk/pjsip.conf /etc/asterisk/extensions.conf") == live_before
    finally:
        assert office.apply().returncode == 0  # the site as written goes back on
