"""What a scenario says, what explain says, what the PBX did: the same four facts each, and how they compare."""

import re
from dataclasses import asdict, dataclass, field

from ..explain import Path

JSON_VERSION = 1
FACTS = ("schedule", "trail", "result", "extension")  # what a replay is compared on
SCHEDULE_STEP = re.compile(r"schedule (\S+): (open|closed)")  # explain's words for a schedule the call meets


@dataclass
class Expected:
    # each schedule the call meets, in order (the route's, an IVR key's, a ring group's): "office: open"
    schedule: list[str] = field(default_factory=list)
    trail: list[str] = field(default_factory=list)
    result: str | None = None  # answered / voicemail / hangup
    extension: str | None = None

    @staticmethod
    def schedules_met(path: Path) -> list[str]:
        """Each schedule the call meets and its verdict ("office: open"), also on a path that forks later."""
        met = [SCHEDULE_STEP.search(s.text) for s in path.steps if s.kind == "schedule"]
        return [f"{m[1]}: {m[2]}" for m in met if m]

    @staticmethod
    def of_path(path: Path) -> "Expected":
        return Expected(Expected.schedules_met(path), path.trail(), path.outcome.result, path.outcome.extension)

    @staticmethod
    def of_expect(expect: dict, fallback: "Expected") -> "Expected":
        """A scenario's expect block; a fact it leaves out is explain's."""
        given = {k: expect.get(k, getattr(fallback, k)) for k in FACTS}
        given["trail"] = [str(t) for t in given["trail"]]
        # a scenario names a verdict ("open") or a schedule and its verdict ("sgt: closed"), one or a list, as
        # tests/data/call_scenarios.yml does: a bare verdict is the schedule explain meets at that place
        wanted = given["schedule"] or []
        wanted = [wanted] if isinstance(wanted, str) else wanted
        names = [met.split(": ", 1)[0] for met in fallback.schedule]
        given["schedule"] = [w if ": " in w or i >= len(names) else f"{names[i]}: {w}" for i, w in enumerate(wanted)]
        given["extension"] = None if given["extension"] is None else str(given["extension"])
        return Expected(**given)


Actual = Expected  # what the PBX's trail of the call shows, the same facts


@dataclass
class Outcome:
    """One scenario's replay: status ok / mismatch / not_replayed."""

    index: int
    name: str
    status: str
    expected: Expected | None = None
    explain: Expected | None = None
    actual: Actual | None = None
    differences: list[str] = field(default_factory=list)
    reason: str | None = None  # not_replayed: why; otherwise how the call was placed
    seconds: float | None = None

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, [])}


def compare(expected: Expected, explained: Expected, actual: Actual) -> list[str]:
    """Each fact where the PBX differs from the scenario, or explain from the scenario, in words."""
    found = []
    for fact in FACTS:
        want, got, said = getattr(expected, fact), getattr(actual, fact), getattr(explained, fact)
        if got != want:
            found.append(f"{fact}: expected {_shown(want)}, the PBX {_shown(got)}")
        if said != want:
            found.append(f"{fact}: expected {_shown(want)}, explain says {_shown(said)}")
    return found


def _shown(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return "none" if value is None else str(value)


def document(site: str, outcomes: list[Outcome]) -> dict:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "mismatch", "not_replayed")}
    return {"version": JSON_VERSION, "command": "test-calls", "site": site, "counts": counts,
            "scenarios": [o.as_json() for o in outcomes]}
