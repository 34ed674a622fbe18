"""The walker: one inbound call through the asterisk role's compiled variables, step by step as the dialplan goes.

Each target is followed through the dialplan step compile wrote for it (`*_call`: Gosub(t-group,sales,1),
Gosub(ivr-main,s,1), Hangup()), so explain reads the routing exactly as extensions_routing.conf, _ivrs.conf and
_targets.conf do. Where the call itself decides and the Call does not say (a key, the CRM's answer), the walk
stops at a fork; explain() walks again once per choice, so every path is a plain straight walk.
"""

import re
from zoneinfo import ZoneInfo

from ..numbers import NumberFormat, dialplan_inbound_to_e164, dialplan_to_e164
from ..problems import UserError
from . import hours
from .call import KEYS, NO_KEY, Call, parse_at
from .path import Branch, Outcome, Path, Step

# the dialplan steps compile writes for a target (pbxctl.compile.dialplan.call)
STEP = re.compile(r"^Gosub\((?:ivr-(?P<ivr>[^,]+),s|t-(?P<kind>[a-z]+),(?P<name>[^,]+)),1\)$")
EXTENSION_RING = 30  # t-extension's Dial() when RING_TIME is not set
CRM_RING = 20  # sub-crm-lookup's LOCAL(RING_TIME): how long the manager the CRM names rings
MAX_DEPTH = 12  # targets within targets: deeper than any site has, a loop the walk stops
MAX_PATHS = 500  # forks multiply: a site with more ways through than this is shown up to here


class _Fork(Exception):
    def __init__(self, question: str, choices: list[tuple[str, str]]):
        super().__init__(question)
        self.question, self.choices = question, choices


class _End(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.result)
        self.outcome = outcome


class _Walk:
    def __init__(self, variables: dict, call: Call, route: dict, script: list[str]):
        self.v, self.call, self.route, self.script = variables, call, route, list(script)
        self.steps: list[Step] = []
        self.presses = list(call.presses) if call.presses is not None else None
        self.unsure = False  # a phone rang whose answer was not given
        self.depth = 0
        self.menus: list[str] = []  # the IVRs this walk has been through
        self.verdicts: dict[str, bool] = {}  # no time given (a routing diff): each schedule is a fork, once
        self.extensions = {e["number"]: e for e in variables["asterisk__extensions"]}
        self.groups = {g["name"]: g for g in variables["asterisk__ring_groups"]}
        self.queues = {q["name"]: q for q in variables["asterisk__queues"]}
        self.ivrs = {i["name"]: i for i in variables["asterisk__ivrs"]}

    def decide(self, question: str, choices: list[tuple[str, str]]) -> str:
        if self.script:
            return self.script.pop(0)
        raise _Fork(question, choices)

    def add(self, kind: str, text: str, **fields) -> None:
        self.steps.append(Step(kind, text, **fields))

    # [inbound] <did>: name prefix, schedule, CRM, target, fallback
    def run(self) -> Outcome:
        try:
            self._inbound()
        except _End as end:
            return end.outcome
        raise AssertionError("an inbound route always ends")

    def _inbound(self) -> None:
        route = self.route
        if "caller_name_prefix" in route:
            self.add("name", f"the caller's name is shown with '{route['caller_name_prefix']}' before it")
        if "schedule" in route and not self.hours_open(route["schedule"], ""):
            self.target(route["after_hours_call"], "after hours")
            self.hangup("nobody answered")
        if route.get("crm_lookup") and self.v["asterisk__crm"]:
            self.crm()  # an answer there ends the call; else the usual route
        elif self.call.crm_answer is not None:
            self.add("crm", "no CRM lookup on this route: the CRM's answer plays no part")
        status = self.target(route["target_call"], "")
        if "fallback_call" in route and status != "ANSWER":
            self.target(route["fallback_call"], "nobody answered, fallback")
        self.hangup("nobody answered")

    # schedule-<name>: the same subroutine for an inbound route, an IVR key and a ring group
    def hours_open(self, name: str, whose: str) -> bool:
        schedule = next(s for s in self.v["asterisk__schedules"] if s["name"] == name)
        if self.call.at is None:
            if name not in self.verdicts:
                choice = self.decide(f"schedule {name}", [(f"hours:{name}:open", f"in {name} hours"),
                                                          (f"hours:{name}:closed", f"outside {name} hours")])
                self.verdicts[name] = choice.endswith(":open")
            is_open, why = self.verdicts[name], "as the branch says"
        else:
            is_open, why = hours.state(schedule, self.call.at)
        self.add("schedule", f"{whose}schedule {name}: {'open' if is_open else 'closed'} ({why})",
                 target=f"schedule:{name}")
        return is_open

    def hangup(self, reason: str) -> None:
        raise _End(Outcome("hangup", reason=reason, if_nobody_answers=self.unsure))

    # sub-crm-lookup: the CRM names an extension (rung CRM_RING s) or nobody (timeout, error, unknown number)
    def crm(self) -> str:
        crm = self.v["asterisk__crm"]
        caller = self.call.caller or "<caller>"
        self.add("crm", f"CRM lookup: GET {crm['url']}?number={caller}, waiting up to {crm['timeout']} s",
                 seconds=crm["timeout"])
        answer = self.call.crm_answer
        if answer is None:
            choice = self.decide("what the CRM answers", [
                ("crm:extension", "the CRM names an extension"),
                ("crm:none", f"the CRM names nobody, an unknown extension, or does not answer in {crm['timeout']} s")])
            answer = "" if choice == "crm:extension" else "none"
        if answer == "none":
            self.add("crm", "the CRM names nobody: the usual route")
            return "NOANSWER"
        if answer == "":
            return self.ring([], CRM_RING, "crm", "ring the extension the CRM names")
        if answer not in self.extensions:
            self.add("crm", f"the CRM names {answer}, no extension here: the usual route")
            return "NOANSWER"
        return self.ring([answer], CRM_RING, f"extension:{answer}",
                         f"ring {self._who(answer)}{_mobile(self.extensions[answer])}, the CRM's manager")

    # a target's dialplan step → the context it runs; returns DIALSTATUS (ANSWER/NOANSWER) or ends the call
    def target(self, step: str, via: str) -> str:
        lead = f"{via}: " if via else ""
        if step == "Hangup()":
            self.add("hangup", f"{lead}hang up", target="hangup")
            raise _End(Outcome("hangup", reason=f"{via or 'the route'} says hangup", if_nobody_answers=self.unsure))
        found = STEP.match(step)
        if not found:
            raise AssertionError(f"a target step explain does not know: {step}")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.add("loop", f"{lead}{step}: targets lead back into each other; the walk stops here")
            raise _End(Outcome("loop", reason="targets lead back into each other"))
        try:
            if found["ivr"]:
                return self.ivr(self.ivrs[found["ivr"]], lead)
            kind, name = found["kind"], found["name"]
            return getattr(self, f"t_{kind}")(name, lead)
        finally:
            self.depth -= 1

    def t_extension(self, number: str, lead: str) -> str:
        return self.ring([number], EXTENSION_RING, f"extension:{number}",
                         f"{lead}ring {self._who(number)}{_mobile(self.extensions.get(number, {}))}")

    def t_voicemail(self, number: str, lead: str) -> str:
        self.add("voicemail", f"{lead}voicemail {self._who(number)}: the PBX answers and records a message",
                 target=f"voicemail:{number}")
        raise _End(Outcome("voicemail", extension=number, if_nobody_answers=self.unsure))

    def t_group(self, name: str, lead: str) -> str:
        group = self.groups[name]
        if "schedule" in group and not self.hours_open(group["schedule"], f"{lead}ring group {name}: "):
            return self.target(group["after_hours_call"], f"group {name} after hours")
        steps = [[channel.split("/", 1)[1] for channel in step.split("&")] for step in group["steps"]]
        status = "NOANSWER"
        for index, members in enumerate(steps, 1):
            where = f" step {index}/{len(steps)}" if len(steps) > 1 else ""
            status = self.ring(members, group["ring_time"], f"group:{name}",
                               f"{lead}ring group {name} ({group['strategy']}){where}: {_listed(members)}",
                               index if len(steps) > 1 else None, group.get("recording"))
            lead = ""
        if "overflow_call" in group:
            status = self.target(group["overflow_call"], f"group {name} unanswered, overflow")
        return status

    def t_queue(self, name: str, lead: str) -> str:
        queue = self.queues[name]
        members = queue["members"]
        answered = self._answered(members)
        self.add("queue", f"{lead}queue {name} ({queue['strategy']}): the PBX answers, the caller hears music "
                 f"({queue['music']}) while agents {_listed(members)} are rung {queue['agent_timeout']} s each, "
                 f"for up to {queue['max_wait']} s", target=f"queue:{name}", extensions=members,
                 seconds=queue["max_wait"], answered=answered)
        if answered:
            raise _End(self._answer(queue.get("recording")))
        if "overflow_call" in queue:
            return self.target(queue["overflow_call"], f"queue {name} waited out, overflow")
        return "NOANSWER"

    # ivr-<name>: prompt, WaitExten; a key → its option; silence → t, a key with no option → i (both count tries)
    def ivr(self, ivr: dict, lead: str) -> str:
        if ivr["name"] in self.menus and self.presses is None:  # every way through it is shown above already
            self.add("loop", f"{lead}back to IVR {ivr['name']}, whose ways are shown above",
                     target=f"ivr:{ivr['name']}")
            raise _End(Outcome("loop", reason=f"back to IVR {ivr['name']}"))
        self.menus.append(ivr["name"])
        options = {o["digit"]: o for o in ivr["options"]}
        self.add("ivr", f"{lead}IVR {ivr['name']}: the PBX answers and plays {ivr['sound']}, {ivr['timeout']} s for "
                 f"a key, repeated {ivr['retries']} time(s)", target=f"ivr:{ivr['name']}", seconds=ivr["timeout"])
        tries, chosen = 0, None
        while True:
            key = self.key(ivr, options, chosen)
            chosen = key
            if key in options:
                option = options[key]
                if "schedule" in option:
                    self.add("press", f"the caller presses {key}: {option['target']} in {option['schedule']}'s "
                             f"hours, else {option['after_hours']}")
                    if not self.hours_open(option["schedule"], f"option {key}: "):
                        return self.target(option["after_hours_call"], f"option {key} after hours")
                    return self.target(option["call"], f"option {key}")
                self.add("press", f"the caller presses {key}: {option['target']}", target=option["target"])
                return self.target(option["call"], f"option {key}")
            tries += 1
            what = f"no key in {ivr['timeout']} s" if key == NO_KEY else f"the caller presses {key}, no such option"
            if tries <= ivr["retries"]:
                self.add("press", f"{what}: the prompt again ({tries} of {ivr['retries']})")
                continue
            if key == NO_KEY:
                self.add("press", f"{what}: on_timeout {ivr['on_timeout']}")
                return self.target(ivr["on_timeout_call"], "IVR timeout")
            self.add("press", f"{what}: on_invalid {ivr.get('on_invalid', ivr['on_timeout'])}")
            return self.target(ivr["on_invalid_call"], "IVR wrong key")

    def key(self, ivr: dict, options: dict, chosen: str | None) -> str:
        if self.presses is not None:
            return self.presses.pop(0) if self.presses else NO_KEY
        if chosen is not None:  # a branch chose silence or a wrong key: it keeps to it at every repeat
            return chosen
        other = next((k for k in sorted(KEYS) if k not in options), None)
        choices = [(f"press:{d}", f"the caller presses {d}") for d in options]
        choices.append(("press:none", f"the caller presses nothing ({ivr['retries'] + 1} × {ivr['timeout']} s)"))
        if other:
            choices.append(("press:other", f"the caller presses {other}, which is no option, every time"))
        choice = self.decide(f"IVR {ivr['name']}: which key", choices)
        return {"press:none": NO_KEY, "press:other": other}.get(choice, choice.removeprefix("press:"))

    # Dial(): the extensions rung and how long; the call ends here when one of them answers
    def ring(self, extensions: list[str], seconds: int, target: str, text: str, round: int | None = None,
             recording: str | None = None) -> str:
        answered = self._answered(extensions) if extensions or self.call.no_answer else None
        if answered is None:
            self.unsure = True
        self.add("ring", f"{text}, {seconds} s", target=target, extensions=extensions, seconds=seconds,
                 answered=answered, round=round)
        if answered:
            raise _End(self._answer(recording))
        return "NOANSWER"

    def _answer(self, recording: str | None) -> Outcome:
        """sub-answered: the group's or queue's recording policy, else the answering extension's own (the
        caller from outside has none)."""
        answer = self.call.answer
        return Outcome("answered", extension=answer, recording=recording or self.extensions[answer]["recording"])

    def _answered(self, extensions: list[str]) -> bool | None:
        if self.call.no_answer:
            return False
        if self.call.answer is not None:
            return self.call.answer in extensions
        self.unsure = True
        return None

    def _who(self, number: str) -> str:
        name = self.extensions.get(number, {}).get("name")
        return f"extension {number} ({name})" if name else f"extension {number}"


def _mobile(ext: dict) -> str:
    """t-mobile: the extension's mobile rung next to the desk phone, through its outbound route and the guard."""
    mobile = ext.get("mobile")
    if not mobile:
        return ""
    when = f"{mobile['after']} s later" if mobile["after"] else "at the same time"
    return f" and its mobile {mobile['number']} {when} (route {mobile['route']})"


def _listed(numbers: list[str], shown: int = 6) -> str:
    """Extensions for a line of text: a long list keeps its ends (the step's extensions hold all of them)."""
    if len(numbers) <= shown:
        return ", ".join(numbers)
    return f"{', '.join(numbers[:shown - 1])}, … {numbers[-1]} ({len(numbers)})"


def _explore(variables: dict, call: Call, route: dict, script: list[str], budget: list[int]) -> tuple:
    """(steps, outcome) of the walk that takes the choices in script at its first forks; a further fork ends
    the steps with a choice holding each way on (walked the same way)."""
    walk = _Walk(variables, call, route, script)
    try:
        return walk.steps, walk.run()
    except _Fork as fork:
        prefix, branches = walk.steps, []
        for choice, when in fork.choices:
            if budget[0] <= 0:
                break
            budget[0] -= 1
            steps, outcome = _explore(variables, call, route, [*script, choice], budget)
            branches.append(Branch(when, choice, steps[len(prefix):], outcome))
        question = fork.question
        if len(branches) < len(fork.choices):
            question += f" (only {len(branches)} of {len(fork.choices)} ways shown: give the call's choices)"
        return [*prefix, Step("choice", question, branches=branches)], None


def _number(written: str, region: str, trunk: dict | None) -> str:
    """A number as the dialplan reads it: in the trunk's inbound_format (sub-inbound-e164), else sub-to-e164."""
    if trunk:
        return dialplan_inbound_to_e164(written, region, NumberFormat(trunk["inbound_format"]))
    return dialplan_to_e164(written, region)


def explain(variables: dict, call: Call) -> Path:
    """The path of an inbound call through compiled asterisk__* variables (pbxctl.compile.site_vars).
    A DID with no inbound route, an unknown trunk or extension is a UserError (exit 3)."""
    region = variables["asterisk__country"]["region"]
    routes = {r["did"]: r for r in variables["asterisk__inbound_routes"]}
    trunks = {t["name"]: t for t in variables["asterisk__trunks"]}
    if call.trunk is not None and call.trunk not in trunks:
        raise UserError([f"--trunk: '{call.trunk}' is no trunk of this site; its trunks: {', '.join(trunks)}"])
    trunk = trunks.get(call.trunk) if call.trunk else None
    # the numbers are read in a trunk's inbound_format only when the call is said to come on it
    did = _number(call.did, region, trunk)
    # from-trunk-<name>: a trunk with one DID takes any number it is called on as that DID
    if trunk and did not in routes and len(trunk["dids"]) == 1:
        did = trunk["dids"][0]
    if did not in routes:
        read_as = f" (read as {did})" if did != call.did else ""
        raise UserError([f"--did: {call.did}{read_as} has no inbound route; the site's DIDs: "
                         f"{', '.join(routes) or 'none'}"])
    if trunk is None:
        trunk = next((t for t in trunks.values() if did in t.get("dids", [])), None)
    numbers = {e["number"] for e in variables["asterisk__extensions"]}
    if call.answer is not None and call.answer not in numbers:
        raise UserError([f"--answer: '{call.answer}' is no extension of this site"])
    if call.answer is not None and call.no_answer:
        raise UserError(["--answer and --no-answer: give one of them"])
    if call.crm_answer is not None and call.crm_answer != "none" and not call.crm_answer.isdigit():
        raise UserError([f"--crm-answer: '{call.crm_answer}': an extension number, or none"])
    zone = variables["asterisk__timezone"]
    at = call.at or parse_at(None, zone)
    caller = _number(call.caller, region, trunk if call.trunk else None) if call.caller else None
    read = Call(did, caller, at, trunk["name"] if trunk else None, call.crm_answer, call.presses, call.answer,
                call.no_answer)
    route = routes[did]
    steps, outcome = _explore(variables, read, route, [], [MAX_PATHS])
    head = Step("route", f"inbound route {did}" + (f" on trunk {read.trunk}" if read.trunk else "")
                + f", from {caller or 'an unknown caller'}", target=route["target"])
    facts = {"did": did, "dialled": call.did, "caller": caller, "at": at.astimezone(ZoneInfo(zone)).isoformat(),
             "timezone": zone, "trunk": read.trunk, "crm_answer": call.crm_answer, "presses": call.presses,
             "answer": call.answer, "no_answer": call.no_answer}
    return Path(facts, [head, *steps], outcome)
