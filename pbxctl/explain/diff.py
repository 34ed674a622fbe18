"""What changes for callers between two compiled routings (`pbxctl plan`): each DID walked by explain in every
way a call can go, without a time (each schedule a fork: in hours, outside them), the CRM naming nobody and
nobody answering, so that a way's trail is everything the call reaches in turn. A way whose trail differs
between the old and the new routing is one line: "+74951230000 outside office hours: voicemail:100 → group:sales"
(the stops of a way are joined by ›, the call's end included: hangup when nobody answers anywhere).
"""

from dataclasses import dataclass

from .call import Call
from .path import Branch, Outcome, Step
from .walk import MAX_PATHS, _explore

TRAIL = " › "  # between the stops of one way; " → " is between before and after
# how a fork's choice reads in a line (the walker's choice ids)
WORDS = {"press:none": "no key", "press:other": "a wrong key"}


@dataclass
class RoutingChange:
    did: str
    when: str  # the way, in words: "in office hours, key 2"; "" when the DID has one way only
    before: str | None  # the trail, "ivr:main › group:sales › voicemail:100"; None: no such route before
    after: str | None

    def line(self) -> str:
        where = f"{self.did} {self.when}" if self.when else self.did
        return f"{where}: {self.before or '(no route)'} → {self.after or '(no route)'}"

    def as_json(self) -> dict:
        return {"did": self.did, "when": self.when, "before": self.before, "after": self.after}


def _word(choice: str) -> str:
    if choice.startswith("hours:"):
        _, name, verdict = choice.split(":")
        return f"in {name} hours" if verdict == "open" else f"outside {name} hours"
    if choice.startswith("press:"):
        return WORDS.get(choice, f"key {choice.removeprefix('press:')}")
    return choice


def _trail(steps: list[Step], outcome: Outcome) -> str:
    # a hunt group's later rounds are the same stop as its first
    reached = [s.target for s in steps if s.kind in ("ivr", "ring", "queue", "voicemail", "hangup") and s.target
               and not (s.round or 0) > 1]
    if outcome.result in ("hangup", "loop") and (not reached or reached[-1] != "hangup"):
        reached.append("hangup" if outcome.result == "hangup" else "loop")
    return TRAIL.join(reached)


def _ways(steps: list[Step], outcome: Outcome | None, taken: tuple[str, ...] = (),
          before: tuple[Step, ...] = ()) -> dict[tuple[str, ...], str]:
    """(choices along the way) → trail, for every leaf of a forked walk."""
    if outcome is not None or not steps or steps[-1].kind != "choice":
        return {taken: _trail([*before, *steps], outcome or Outcome("hangup"))}
    found: dict[tuple[str, ...], str] = {}
    branch: Branch
    for branch in steps[-1].branches:
        found |= _ways(branch.steps, branch.outcome, (*taken, branch.choice), (*before, *steps[:-1]))
    return found


def ways(variables: dict, route: dict) -> dict[tuple[str, ...], str]:
    """Every way through one compiled inbound route: its choices (hours, keys) → its trail."""
    call = Call(route["did"], None, None, None, "none", None, None, True)
    steps, outcome = _explore(variables, call, route, [], [MAX_PATHS])
    return _ways(steps, outcome)


def _routes(variables: dict | None) -> dict[str, dict]:
    return {r["did"]: r for r in (variables or {}).get("asterisk__inbound_routes", [])}


def _flatten(found: dict[tuple[str, ...], str]) -> dict[str, str]:
    return {", ".join(_word(c) for c in choices): trail for choices, trail in found.items()}


def routing_changes(before: dict | None, after: dict) -> list[RoutingChange]:
    """The ways whose trail is not the same in both routings (asterisk__* variables), DID by DID, in the new
    routing's order. A new DID, or one gone, is one line of its own (its first way)."""
    old, new = _routes(before), _routes(after)
    changes: list[RoutingChange] = []
    for did in [*new, *(d for d in old if d not in new)]:
        was = _flatten(ways(before, old[did])) if did in old else {}
        now = _flatten(ways(after, new[did])) if did in new else {}
        if not was or not now:  # a route added or removed: its ways, each on its own line
            for when in now or was:
                changes.append(RoutingChange(did, when, was.get(when), now.get(when)))
            continue
        # a way one side splits finer (a schedule or key added, or taken away) is compared way by way, the finer
        # against the coarser one it splits
        for when in now:
            if when not in was and not _coarser(when, was) and any(_within(when, old) for old in was):
                continue  # the old routing splits it: compared below
            change = RoutingChange(did, when, was[when] if when in was else _coarser(when, was), now[when])
            if change.before != change.after:
                changes.append(change)
        for when in was:
            if when not in now and not any(_within(when, other) for other in now):
                change = RoutingChange(did, when, was[when], _coarser(when, now))
                if change.before != change.after:
                    changes.append(change)
    return changes


def _conditions(when: str) -> set[str]:
    return set(when.split(", ")) - {""}


def _within(coarse: str, fine: str) -> bool:
    return _conditions(coarse) <= _conditions(fine)


def _coarser(when: str, side: dict[str, str]) -> str | None:
    """The way of the other routing that this one refines (no schedule before: every hour went that one way),
    the closest such; None when there is none."""
    found = [(len(_conditions(other)), trail) for other, trail in side.items() if _within(other, when)]
    return max(found)[1] if found else None
