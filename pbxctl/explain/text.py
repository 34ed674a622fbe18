"""A Path as lines for a terminal: one line a step, forks indented under the question they answer."""

from .path import Outcome, Path, Step

MARK = {True: "answered", False: "no answer", None: "if nobody answers ↓"}


def lines(path: Path) -> list[str]:
    call = path.call
    head = [f"call to {call['did']} at {call['at']} ({call['timezone']})"]
    return head + _steps(path.steps, 1) + _end(path.outcome, 1)


def _steps(steps: list[Step], depth: int) -> list[str]:
    pad, found = "  " * depth, []
    for step in steps:
        if step.kind == "choice":
            found.append(f"{pad}? {step.text}:")
            for branch in step.branches:
                found.append(f"{pad}  • {branch.when}")
                found += _steps(branch.steps, depth + 2) + _end(branch.outcome, depth + 2)
            continue
        mark = f" [{MARK[step.answered]}]" if step.kind in ("ring", "queue") else ""
        found.append(f"{pad}{step.text}{mark}")
    return found


def _end(outcome: Outcome | None, depth: int) -> list[str]:
    if outcome is None:
        return []
    pad = "  " * depth
    if outcome.result == "answered":
        recorded = {"always": "recorded", "on_demand": "recorded on demand (*1)", "never": "not recorded"}
        return [f"{pad}→ answered by extension {outcome.extension}, {recorded[outcome.recording]}"]
    text = {"voicemail": f"voicemail of {outcome.extension}", "hangup": f"hang up ({outcome.reason})",
            "loop": f"stopped ({outcome.reason})"}[outcome.result]
    return [f"{pad}→ {text}" + (", unless a phone above is answered" if outcome.if_nobody_answers else "")]
