"""The main job on the built-in lab: apply a site to throw-away servers and place real calls through it."""

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..compile import compile_site, load_with_secrets
from ..numbers import COUNTRY_PLANS, NumberFormat, format_number, to_e164
from ..run import run_playbook
from ..site import Site
from . import reset, ssh_run, webhooks
from .carrier import Carrier
from .phone import Phone
from .provider import as_delivered, carrier_accounts
from .retarget import lab_retarget

SAMPLE_DIGITS = "9161234567890123"  # fills the X of a route pattern to make a plausible number


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


def sample_number(pattern: str) -> str:
    """A concrete E.164 number matching a route pattern (+7XXXXXXXXXX → +79161234567)."""
    digits = iter(SAMPLE_DIGITS)
    return "".join(next(digits) if c in "XZN" else c for c in pattern.rstrip("."))


class Demo:
    def __init__(self, site_file: Path, console: Console):
        self.site_file, self.console = site_file, console
        self.steps: list[Step] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="pbxctl-demo-"))
        self.phones: dict[str, Phone] = {}

    def step(self, name: str, action: Callable[[], tuple[bool, str]]) -> bool:
        started = time.monotonic()
        with self.console.status(name):
            try:
                ok, detail = action()
            except Exception as error:  # a demo step reports its failure and the demo goes on to the summary
                ok, detail = False, f"{type(error).__name__}: {error}"
        self.steps.append(Step(name, ok, detail, time.monotonic() - started))
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        self.console.print(f"{mark} {name}: {detail} [dim]({self.steps[-1].seconds:.1f} s)[/]", highlight=False)
        return ok

    def phone(self, site: Site, secrets, number: str) -> Phone:
        if number not in self.phones:
            credentials = secrets.section("extensions")[number]
            self.phones[number] = Phone(self.workdir / f"phone-{number}", number, credentials["password"],
                                        str(site.pbx.address), auth_user=credentials["username"]).start()
        return self.phones[number]

    def run(self) -> bool:
        target = None

        def boot() -> tuple[bool, str]:
            nonlocal target
            reset("pbx")  # a new root from the image: the demo applies to a bare server, whatever ran before
            target = lab_retarget()
            return True, f"a bare pbx {target.pbx_host}, carrier {target.carrier_host}"

        if not self.step("boot the lab servers", boot):
            return False
        site, secrets, _ = load_with_secrets(self.site_file, None, target)
        carrier = Carrier()
        self.step("configure the carrier as the site's providers",
                  lambda: (carrier.configure(carrier_accounts(site, secrets)) or True,
                           f"{len(carrier.accounts)} SIP accounts"))
        if not self.step("apply the whole site to the bare pbx", lambda: self.apply(target)):
            return False
        self.step("trunks registered at the carrier", lambda: self.registrations(carrier))
        try:
            self.calls(site, secrets, carrier)
            if site.ups:
                self.step("a power cut: the UPS on battery, then mains back", lambda: self.power_cut(site))
        finally:
            for phone in self.phones.values():
                phone.stop()
        self.summary()
        return all(step.ok for step in self.steps)

    def apply(self, target) -> tuple[bool, str]:
        compiled = compile_site(self.site_file, None, None, target)
        result = run_playbook(compiled, "site.yml", quiet=True)
        for notice in result.notices:
            self.console.print(f"  [yellow]! {escape(notice['message'])}[/]", highlight=False)
        failed = "; ".join(f"{f['task']}: {f['message'][:200]}" for f in result.failures)
        return result.returncode == 0, failed or f"{result.changed} changes (PBX, security, phones, UPS)"

    def registrations(self, carrier: Carrier) -> tuple[bool, str]:
        states = {a.name: carrier.wait_registered(a.username, timeout=40) for a in carrier.accounts.values()}
        return all(states.values()), ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in states.items())

    def calls(self, site: Site, secrets, carrier: Carrier) -> None:
        first, second = site.extensions[0].number, site.extensions[1].number

        def internal() -> tuple[bool, str]:
            caller, callee = self.phone(site, secrets, first), self.phone(site, secrets, second)
            if not (caller.register() and callee.register()):
                return False, "a phone did not register"
            outcome = caller.call(second)
            answered = callee.wait_incoming(timeout=5).answered if outcome.answered else False
            time.sleep(2)
            caller.hangup()
            caller.wait_closed(timeout=10)
            callee.wait_closed(timeout=10)
            sent, received = caller.last_call_rtp()
            return outcome.answered and answered and received > 0, (
                f"{first} → {second} answered, RTP sent {sent} / received {received} packets"
                if outcome.answered else f"{first} → {second} not answered: {outcome.reason}")

        self.step("extension calls extension", internal)
        self.step("a call from the provider to a DID", lambda: self.inbound(site, secrets, carrier))
        self.step("an outbound call through the provider", lambda: self.outbound(site, secrets, carrier))

    def inbound(self, site: Site, secrets, carrier: Carrier) -> tuple[bool, str]:
        route = next((r for r in site.inbound_routes if r.target.startswith("extension:")), None)
        if route is None:
            return False, "the site has no DID routed straight to an extension"
        extension = route.target.split(":", 1)[1]
        phone = self.phone(site, secrets, extension)
        phone.register()
        country = site.site.country
        did_e164 = to_e164(route.did, country)
        trunk = next(t for t in site.trunks if did_e164 in {to_e164(d, country) for d in t.dids})
        plan = COUNTRY_PLANS[country]
        caller = f"+{plan.code}{SAMPLE_DIGITS[:plan.nsn_length]}"
        did, shown = as_delivered(site, trunk.name, did_e164), as_delivered(site, trunk.name, caller)
        result = carrier.call_did(did, shown, wait=3)
        seen = phone.wait_incoming(timeout=1)
        return result.answered, (f"{did} from {shown} answered on {extension}; the phone saw {seen.peer_uri or '?'}"
                                 if result.answered else f"{did} not answered ({', '.join(result.events)})")

    def outbound(self, site: Site, secrets, carrier: Carrier) -> tuple[bool, str]:
        route = site.outbound_routes[0]
        number = sample_number(route.patterns[0])
        dialled = format_number(number, NumberFormat.national, site.site.country)
        caller = self.phone(site, secrets, site.extensions[0].number)
        carrier.clear_calls()
        outcome = caller.call(dialled, timeout=30)
        caller.wait_closed(timeout=15)
        calls = carrier.outbound_calls()
        if not calls:
            return False, f"{dialled} never reached the carrier ({outcome.reason or 'no answer'})"
        call = calls[-1]
        return outcome.answered, (f"dialled {dialled}: carrier got {call.dialled} on {call.account} "
                                  f"with caller ID {call.caller_id}")

    def power_cut(self, site: Site) -> tuple[bool, str]:
        """dummy-ups plays the site's UPS: a short cut, well within the shutdown policy, and the power back."""
        ups, alerts = site.ups.name, bool(site.security.alerts.webhook)
        seen = []
        for status, event in (("OB", "ONBATT"), ("OL", "ONLINE")):
            since = time.time()
            ssh_run("pbx", f"printf 'ups.status: {status}\\nbattery.charge: 90\\n' > /etc/nut/{ups}.dev.new"
                    f" && chown root:nut /etc/nut/{ups}.dev.new && chmod 0660 /etc/nut/{ups}.dev.new"
                    f" && mv /etc/nut/{ups}.dev.new /etc/nut/{ups}.dev")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                read = ssh_run("pbx", f"upsc {ups}@localhost ups.status 2>/dev/null", check=False).stdout.split()
                posted = [r for r in webhooks.received("/alerts") if r["time"] >= since
                          and isinstance(r["body"], dict) and r["body"].get("event") == event]
                if status in read and (posted or not alerts):
                    break
                time.sleep(0.5)
            else:
                return False, f"ups.status never {status}" if status not in read else f"no {event} alert arrived"
            seen.append(f"{status} → {event}" + (" alert received" if alerts else ""))
        policy = site.ups.shutdown
        limit = f"after {policy.minutes} min on battery" if policy.when == "on_battery_for" else "on low battery"
        return True, f"{', '.join(seen)}; the server would shut down {limit}"

    def summary(self) -> None:
        table = Table(title="pbxctl lab demo")
        for column in ("step", "result", "seconds"):
            table.add_column(column)
        for step in self.steps:
            table.add_row(step.name, "[green]ok[/]" if step.ok else "[red]failed[/]", f"{step.seconds:.1f}")
        self.console.print(table)
