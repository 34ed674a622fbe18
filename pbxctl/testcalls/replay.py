"""Scenarios replayed on a PBX: a caller places each call as the DID's provider delivers it (the lab carrier on
the lab PBX, the run's test-call entry on a live one: pbxctl/testcalls/live.py), baresip phones are the
extensions (only the scenario's `answer` picks up), the lab's webhook receiver is the CRM, and the PBX's own log
of each call (a verbose log channel added for the run, removed after) says what happened. Which caller and which
shell reach the PBX is injected; everything else here is the same for both."""

import datetime as dt
import json
import re
import shlex
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..compile import load_with_secrets, site_vars
from ..explain import explain
from ..explain.call import NO_KEY
from ..lab import HOST_ADDRESS, ssh_run, status, webhooks
from ..lab.carrier import Carrier, wait_until
from ..lab.phone import Phone
from ..lab.provider import as_delivered, carrier_accounts
from ..lab.retarget import lab_retarget
from ..numbers import to_e164
from ..problems import ActionFailed
from ..site import Site
from . import trail
from .report import Expected, Outcome, compare
from .scenarios import Scenario
from .timing import why_not_now

LOG = "pbxctl-test-calls"  # a temporary logger channel: /var/log/asterisk/<LOG>, gone with the run
LOG_PATH = f"/var/log/asterisk/{LOG}"
KEY_SECONDS = 4  # between keys: past option-is-invalid into the repeated prompt
KEY_GAP = "w" * (KEY_SECONDS * 2)  # the carrier's SendDTMF: a w is 0.5 s
ANSWERED_RING = 5  # seconds a simulated phone takes to pick up, counted generously
QUEUE_RETRY = 2  # seconds a queue waits before ringing the next agent (queues.conf.j2: retry)


def agent_rung_within(queue: dict) -> int:
    """Seconds until the scenario's agent in a queue has rung and picked up, at worst: every strategy but ringall
    rings one agent at a time, in an order the PBX chooses, so every other agent may ring out first."""
    if queue["strategy"] == "ringall":
        return ANSWERED_RING
    return (len(queue["members"]) - 1) * (queue["agent_timeout"] + QUEUE_RETRY) + ANSWERED_RING


class Caller(Protocol):
    """Who places the scenarios' calls into the PBX, as the DID's trunk would deliver them."""

    phone_address: str  # the control node's address the PBX reaches the simulated phones at
    one_trunk_per_did: bool  # a DID is handed to one trunk's routing per run

    def why_not(self, site: Site, trunk, path) -> str | None:
        """Why this call (explain's path), on this trunk, can't be placed (None: it can)."""

    def prepare(self, calls: list[tuple[str, str]]) -> None:
        """Ready to place these (trunk, DID as delivered) calls."""

    def place(self, did: str, caller: str, keys: list[str], wait: float, answer_timeout: int, trunk: str) -> None:
        """One call; keys as RFC 4733 DTMF after the PBX answers, then up `wait` seconds. Blocks until it is over."""

    def stop(self) -> None:
        """Undo what prepare did (also after a failure)."""


Shell = Callable[..., str]  # (script, check=True) → its stdout, run as root on the PBX


def replay(site_file: Path, scenarios: list[Scenario], vault: Path | None = None,
           progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """The lab variant: the lab carrier calls the lab PBX the site was applied to with `apply --lab`."""
    down = [name for name, host in status(["pbx", "carrier"]).items() if host is None]
    if down:
        raise ActionFailed([f"the lab's {' and '.join(down)} are not running: `pbxctl lab up`, then "
                            f"`pbxctl apply {site_file} --only pbx --lab`"])
    target = lab_retarget(boot=False)
    site, secrets, _ = load_with_secrets(site_file, vault, target)
    return run_scenarios(site, secrets, scenarios, _lab_pbx, CarrierCaller(site, secrets), "the lab PBX",
                         f"`pbxctl apply {site_file} --lab`", progress)


def run_scenarios(site: Site, secrets, scenarios: list[Scenario], shell: Shell, caller: Caller, where: str,
                  apply_hint: str, progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    run = _Run(site, secrets, site_vars(site), shell, caller, where)
    run.check_site_applied(apply_hint)
    planned = run.plan_all(scenarios)
    outcomes = []
    try:
        run.start([p for p in planned if isinstance(p, tuple)])
        for scenario, plan in zip(scenarios, planned, strict=True):
            outcome = plan if isinstance(plan, Outcome) else run.call(scenario, *plan)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    finally:
        run.stop()
    return outcomes


class CarrierCaller:
    """The lab carrier as every registering trunk's provider."""

    phone_address = HOST_ADDRESS
    one_trunk_per_did = False

    def __init__(self, site: Site, secrets):
        self.site, self.secrets = site, secrets
        self.carrier: Carrier | None = None

    def why_not(self, site: Site, trunk, path) -> str | None:
        if trunk is None or trunk.type != "sip_register":
            return "the lab carrier plays registering providers only; this DID comes on no such trunk"
        return None

    def prepare(self, calls: list[tuple[str, str]]) -> None:
        self.carrier = Carrier()
        self.carrier.configure(carrier_accounts(self.site, self.secrets))
        for account in self.carrier.accounts.values():
            if not self.carrier.wait_registered(account.username, timeout=40):
                raise ActionFailed([f"trunk {account.name} did not register at the lab carrier"])

    def place(self, did: str, caller: str, keys: list[str], wait: float, answer_timeout: int, trunk: str) -> None:
        assert self.carrier is not None
        self.carrier.call_did(did, caller, dtmf=KEY_GAP.join(keys) or None, wait=wait,
                              answer_timeout=answer_timeout, account=trunk)

    def stop(self) -> None:
        pass  # the carrier's accounts stay: the lab PBX's trunks stay registered with it


class _Run:
    def __init__(self, site: Site, secrets, variables: dict, shell: Shell, caller: Caller, where: str):
        self.site, self.secrets, self.v = site, secrets, variables
        self.shell, self.caller, self.where = shell, caller, where
        self.zone = variables["asterisk__timezone"]
        self.now = dt.datetime.fromtimestamp(int(shell("date +%s").strip()), dt.UTC)
        self.group_steps = {g["name"]: len(g["steps"]) for g in variables["asterisk__ring_groups"]}
        self.ivrs = {i["name"]: i for i in variables["asterisk__ivrs"]}
        self.queues = {q["name"]: q for q in variables["asterisk__queues"]}
        self.trunks = {t.name: t for t in site.trunks}
        self.phones: dict[str, Phone] = {}
        self.started = False
        self.calls: list[tuple[str, str]] = []  # (trunk, DID as delivered) of the calls placed
        self.workdir = Path(tempfile.mkdtemp(prefix="pbxctl-test-calls-"))

    def check_site_applied(self, apply_hint: str) -> None:
        shown = self.shell("asterisk -rx 'dialplan show inbound'", check=False)
        missing = [r["did"] for r in self.v["asterisk__inbound_routes"] if f"'{r['did']}'" not in shown]
        if missing:
            raise ActionFailed([f"{self.where} does not run {self.site.site.name}: no inbound route for "
                                f"{', '.join(missing)}; {apply_hint} first"])

    def plan_all(self, scenarios: list[Scenario]) -> list:
        """Each scenario's plan; a DID one call needs on one trunk and another on another is placed once only:
        the caller hands a DID to one trunk's routing per run."""
        planned, trunk_of = [], {}
        for scenario in scenarios:
            plan = self.plan(scenario)
            if isinstance(plan, tuple):
                trunk, did = self.delivered(scenario, plan[0])
                if trunk_of.setdefault(did, trunk) != trunk and self.caller.one_trunk_per_did:
                    plan = self._not(scenario, f"{did} comes on trunk {trunk_of[did]} in an earlier scenario of "
                                               f"this run: replay this one in a run of its own", *plan[1:])
            planned.append(plan)
        self.calls = sorted((trunk, did) for did, trunk in trunk_of.items())
        return planned

    def delivered(self, scenario: Scenario, path) -> tuple[str, str]:
        """(trunk, DID as that trunk writes it) for a scenario's call."""
        trunk = self.trunks[path.call["trunk"]]
        if scenario.call.get("trunk"):
            return trunk.name, re.sub(r"[^+0-9]", "", str(scenario.call["did"]))  # as the scenario says
        return trunk.name, as_delivered(self.site, trunk.name, path.call["did"])

    # what to place for a scenario: (path explain walks, expected facts) or an Outcome saying why not
    def plan(self, scenario: Scenario):
        path = explain(self.v, scenario.explain_call(self.zone))
        if path.outcome is None:
            return self._not(scenario, "explain's path forks: the scenario must give the call's choices "
                                       "(press, crm_answer, answer or no_answer)")
        explained = Expected.of_path(path)
        expected = Expected.of_expect(scenario.expect, explained)
        reason = why_not_now(self.v, scenario, path, self.now) or why_not_placed(self.site, self.v, scenario, path,
                                                                                  self.caller)
        if reason:
            return self._not(scenario, reason, expected, explained)
        return path, expected, explained

    def _not(self, scenario, reason, expected=None, explained=None) -> Outcome:
        return Outcome(scenario.index, scenario.name, "not_replayed", expected, explained, reason=reason)

    # the caller, a phone per extension the calls ring, the log channel
    def start(self, plans: list[tuple]) -> None:
        if not plans:
            return
        self.started = True
        self.caller.prepare(self.calls)
        numbers = sorted({e for path, *_ in plans for s in path.steps for e in s.extensions}
                         | {path.call["answer"] for path, *_ in plans if path.call["answer"]})
        logins = self.secrets.section("extensions")
        for number in numbers:
            login = logins[number]
            phone = Phone(self.workdir / f"phone-{number}", number, login["password"], self.server,
                          local_address=self.caller.phone_address, auth_user=login["username"], auto_answer=False)
            self.phones[number] = phone.start()
            if not phone.register():
                raise ActionFailed([f"extension {number}'s simulated phone did not register"])
        # a channel left by a run that was killed is replaced; the call's steps are verbose level 3
        self.shell(f"asterisk -rx {shlex.quote(f'logger remove channel {LOG}')}; rm -f {LOG_PATH}; "
                   f"asterisk -rx {shlex.quote(f'logger add channel {LOG} verbose(3)')}", check=False)
        if LOG_PATH not in self.shell("asterisk -rx 'logger show channels'"):
            raise ActionFailed([f"{self.where} did not add the log channel {LOG} (logger add channel)"])

    @property
    def server(self) -> str:
        return str(self.site.pbx.address or self.site.pbx.host)

    def stop(self) -> None:
        for phone in self.phones.values():
            phone.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)  # the phones' files hold the extensions' passwords
        try:
            if self.started:
                self.shell(f"asterisk -rx {shlex.quote(f'logger remove channel {LOG}')}; rm -f {LOG_PATH}",
                           check=False)
                webhooks.answer("/crm", None)
        finally:
            self.caller.stop()

    def call(self, scenario: Scenario, path, expected: Expected, explained: Expected) -> Outcome:
        started = time.monotonic()
        trunk_name, did = self.delivered(scenario, path)
        country = self.site.site.country
        caller = as_delivered(self.site, trunk_name, to_e164(path.call["caller"], country)) \
            if path.call["caller"] else "anonymous"
        self._crm(path)
        keys = [k.strip() for k in str(scenario.call.get("press") or "").split(",") if k.strip() not in ("", NO_KEY)]
        before, after = self._seconds(path)
        answer = self.phones.get(path.call["answer"] or "")
        for phone in self.phones.values():
            _drain(phone)
        done = threading.Event()
        picker = threading.Thread(target=_pick_up, args=(answer, done, before + after + 30), daemon=True) \
            if answer else None
        if picker:
            picker.start()
        offset = int(self.shell(f"stat -c %s {LOG_PATH} 2>/dev/null || echo 0").strip() or 0)
        self.caller.place(did, caller, keys, wait=after + 8, answer_timeout=before + 15, trunk=trunk_name)
        done.set()
        wait_until(lambda: re.search(r"^0 active calls", self.shell("asterisk -rx 'core show channels count'",
                                                                    check=False), re.M) is not None, 30)
        lines = self.shell(f"tail -c +{offset + 1} {LOG_PATH} 2>/dev/null || true").splitlines()
        actual = trail.read(lines, self.group_steps)
        how = f"{did} on {trunk_name} from {caller}" + (f", keys {','.join(keys)}" if keys else "")
        seconds = round(time.monotonic() - started, 1)
        if actual is None:
            return Outcome(scenario.index, scenario.name, "mismatch", expected, explained, None,
                           ["the call never reached the PBX's dialplan"], how, seconds)
        differences = compare(expected, explained, actual)
        return Outcome(scenario.index, scenario.name, "mismatch" if differences else "ok", expected, explained,
                       actual, differences, how, seconds)

    def _crm(self, path) -> None:
        """The lab's receiver answers the CRM lookup as the scenario says (JSON {"extension": N}, or nobody)."""
        if not any(s.kind == "crm" for s in path.steps):
            return
        named = path.call["crm_answer"]
        body = {"extension": named} if named and named != "none" else {}
        webhooks.answer("/crm", body)
        try:
            with urllib.request.urlopen(webhooks.url("/crm?number=check"), timeout=5) as reply:
                served = json.loads(reply.read() or b"null")
        except (OSError, ValueError):
            served = None
        if served != body:
            raise ActionFailed(["the lab's webhook receiver does not give the CRM's answer (it predates answers): "
                                "`pbxctl lab down` and `pbxctl lab up` restart it"])

    def _seconds(self, path) -> tuple[int, int]:
        """(until the PBX or a phone answers the caller, from then to the end): how long the carrier waits."""
        before, after, answered = 0, 0, False
        for step in path.steps:
            seconds = step.seconds or 0
            if step.kind == "ring" and step.answered:
                seconds = ANSWERED_RING
            if step.kind == "queue" and step.answered:
                seconds = agent_rung_within(self.queues[step.target.removeprefix("queue:")])
            if step.kind == "ivr":
                ivr = self.ivrs[step.target.removeprefix("ivr:")]
                seconds = (ivr["retries"] + 1) * (ivr["timeout"] + 10)  # the prompt's length is unknown: 10 s
            if step.kind in ("ivr", "queue", "voicemail"):
                answered = True
            if step.kind not in ("ring", "queue", "ivr", "crm"):
                continue
            if answered:
                after += seconds
            else:
                before += seconds
        return before, after


def why_not_placed(site: Site, variables: dict, scenario: Scenario, path, caller: Caller | None = None) -> str | None:
    """What the caller can't place or the PBX's log can't tell for this call (None: it can be replayed).
    caller: the lab carrier unless given."""
    caller = caller or CarrierCaller(site, None)
    trunk = next((t for t in site.trunks if t.name == path.call["trunk"]), None)
    reason = caller.why_not(site, trunk, path)
    if reason:
        return reason
    mobiles = {e["number"] for e in variables["asterisk__extensions"] if e.get("mobile")}
    rung = {e for s in path.steps for e in s.extensions}
    if rung & mobiles:
        far = "the lab carrier would answer" if isinstance(caller, CarrierCaller) else "a real call would ring"
        return f"it rings {', '.join(sorted(rung & mobiles))}, whose mobile {far}"
    keys = [k.strip() for k in str(scenario.call.get("press") or "").split(",") if k.strip()]
    while keys and keys[-1] == NO_KEY:
        keys.pop()
    if NO_KEY in keys:
        return "a key after a prompt left silent: when to send it depends on the prompt's length"
    queues = {q["name"]: q for q in variables["asterisk__queues"]}
    for step in path.steps:
        queue = queues.get(step.target.removeprefix("queue:")) if step.kind == "queue" and step.answered else None
        if queue and agent_rung_within(queue) > queue["max_wait"]:
            return (f"queue {queue['name']} rings its {len(queue['members'])} agents one at a time "
                    f"({queue['strategy']}, in an order the PBX chooses): the one answering may not ring within "
                    f"its {queue['max_wait']} s")
    if "hangup" in path.trail():
        return "a target that hangs up: its Hangup() can't be told from the call's own end in the PBX's log"
    crm = any(s.kind == "crm" for s in path.steps)
    if crm and site.crm and not str(site.crm.url).startswith(webhooks.BASE_URL):
        return "the CRM lookup goes to the site's own CRM, whose answer a replay can't set"
    return None


def _pick_up(phone: Phone, done: threading.Event, timeout: float) -> None:
    """The scenario's `answer`: picks up the first time it rings (the others ring on)."""
    event = phone.wait_event({"CALL_INCOMING"}, timeout)
    if event is not None and not done.is_set():
        phone.command("accept", wait=False)


def _drain(phone: Phone) -> None:
    while not phone.events.empty():
        phone.events.get_nowait()


def _lab_pbx(script: str, check: bool = True) -> str:
    return ssh_run("pbx", script, timeout=60, check=check).stdout
