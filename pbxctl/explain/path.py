"""What explain returns: the steps of a call, forks where the call itself decides, and how it ends."""

from dataclasses import asdict, dataclass, field

from pydantic import TypeAdapter

JSON_VERSION = 1
VISITS = ("ivr", "ring", "queue", "voicemail", "hangup")  # the steps a call is seen to go through


@dataclass
class Outcome:
    """How the call ends: answered (by an extension), voicemail (a mailbox), or hangup (reason says why).
    if_nobody_answers: some phone rang on the way whose answer was not given, so this is the end when
    nobody picks up (any of them may have answered first)."""

    result: str
    extension: str | None = None
    recording: str | None = None  # answered: always, on_demand (the *1 key) or never, as sub-answered decides
    reason: str | None = None
    if_nobody_answers: bool = False


@dataclass
class Step:
    """One thing the dialplan does. kind: route, name, schedule, crm, ring, queue, ivr, press, voicemail,
    hangup, choice (a fork: branches hold each way on). answered: True/False when given, None when the call
    may or may not be answered here (the steps after it are what happens when it is not)."""

    kind: str
    text: str
    target: str | None = None
    extensions: list[str] = field(default_factory=list)
    seconds: int | None = None
    answered: bool | None = None
    round: int | None = None  # a hunt/memoryhunt group: which of its Dial() steps (each rings part of it)
    branches: list["Branch"] = field(default_factory=list)


@dataclass
class Branch:
    when: str  # in words: "the caller presses 1"
    choice: str  # machine-readable: press:1, press:none, press:other, crm:EXT, crm:none
    steps: list[Step]
    outcome: Outcome | None = None  # None when this branch forks again (its last step is a choice)


@dataclass
class Path:
    call: dict  # the call as explain read it: did, caller, at (ISO, site time zone), trunk, options
    steps: list[Step]
    outcome: Outcome | None = None  # None when the path forks (the last step is a choice)

    def trail(self) -> list[str]:
        """Where a straight path goes, in order: each IVR, ring, queue, voicemail or hangup target (a ring of part
        of a group adds the extensions it rang: 'group:ops 111'). What a replayed call is compared on."""
        if self.outcome is None:
            raise ValueError("the path forks: give the call's choices to follow one way")
        return [_visited(step) for step in self.steps if step.kind in VISITS and step.target]

    def as_json(self) -> dict:
        return {"version": JSON_VERSION, **_compact(asdict(self))}

    @staticmethod
    def from_json(document: dict) -> "Path":
        """A path back from its --json document (a replay compares against it); ValueError if it is none."""
        if document.get("version") != JSON_VERSION:
            raise ValueError(f"an explain document of version {JSON_VERSION} expected, not {document.get('version')}")
        fields = {k: document[k] for k in ("call", "steps", "outcome") if k in document}
        return TypeAdapter(Path).validate_python(fields)


def _visited(step: Step) -> str:
    return f"{step.target} {','.join(step.extensions)}" if step.round else step.target


def _compact(value):
    """Drop empty fields (None, [], False) so a document shows only what a step says; a ring's or a queue's
    answered stays, null included (null: it may be answered there)."""
    if isinstance(value, dict):
        rings = value.get("kind") in ("ring", "queue")
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], False) or (rings and k == "answered")}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value
