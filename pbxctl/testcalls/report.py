"""What a scenario says, what explain says, what the PBX did: the same four facts each, and how they compare."""

from dataclasses import asdict, dataclass, field

from ..explain import Path

JSON_VERSION = 1
FACTS = ("schedule", "trail", "result", "extension")  # what a replay is compared on


@dataclass
class Expected:
    schedule: str | None = None  # open / closed; None: the route has no schedule
    trail: list[str] = field(default_factory=list)
    result: str | None = None  # answered / voicemail / hangup
    extension: str | None = None

    @staticmethod
    def of_path(path: Path) -> "Expected":
        schedules = [s.text for s in path.steps if s.kind == "schedule"]
        verdict = schedules[0].split(": ", 1)[1].split(" ", 1)[0] if schedules else None
        return Expected(verdict, path.trail(), path.outcome.result, path.outcome.extension)

    @staticmethod
    def of_expect(expect: dict, fallback: "Expected") -> "Expected":
        """A scenario's expect block; a fact it leaves out is explain's."""
        given = {k: expect.get(k, getattr(fallback, k)) for k in FACTS}
        given["trail"] = [str(t) for t in given["trail"]]
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
