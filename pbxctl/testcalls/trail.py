"""The trail of one call as the PBX ran it: read from the Asterisk log lines of that call (verbose level 3, where
every dialplan step is `Executing [exten@context:priority] App("channel", "args")` and every answer
`<callee> answered <caller>`), and turned into explain's terms (Path.trail, the schedule's verdict, the end)."""

import re

from .report import Actual

EXECUTING = re.compile(r'Executing \[(?P<exten>[^@\]]+)@(?P<context>[^:\]]+):(?P<priority>\d+)\] '
                       r'(?P<app>\w+)\("(?P<channel>[^"]*)", "(?P<args>.*)"\)(?: in new stack)?\s*$')
ANSWERED = re.compile(r"[: ](?P<callee>[A-Za-z]+/\S+) answered (?P<caller>\S+)\s*$")
INBOUND = re.compile(r"^from-trunk-")  # a provider's call starts in its trunk's context (extensions_trunks)


def endpoint(channel: str) -> str:
    """PJSIP/104-0000000a → 104 (an extension's endpoint is its number)."""
    return channel.split("/", 1)[-1].rsplit("-", 1)[0]


def read(lines: list[str], group_steps: dict[str, int]) -> Actual | None:
    """The facts of the first provider call in these lines; None when no call reached the PBX's dialplan.
    group_steps: how many Dial() steps each ring group has (a group of several is shown with whom each rang)."""
    channel, actual, answered = None, Actual(), None
    for line in lines:
        step = EXECUTING.search(line)
        if step:
            if channel is None and INBOUND.match(step["context"]):
                channel = step["channel"]
            if channel is None or step["channel"] != channel:
                continue
            if answered is None and actual.result is None:
                _step(actual, step, group_steps)
            continue
        found = ANSWERED.search(line)
        if found and channel is not None and found["caller"] == channel and answered is None:
            answered = endpoint(found["callee"])
    if channel is None:
        return None
    if answered is not None:
        actual.result, actual.extension = "answered", answered
    elif actual.result is None:
        actual.result = "hangup"
    return actual


def _step(actual: Actual, step: re.Match, group_steps: dict[str, int]) -> None:
    context, exten, app, args = step["context"], step["exten"], step["app"], step["args"]
    if context.startswith("schedule-") and app == "Return" and args in ("open", "closed"):
        actual.schedule.append(f"{context.removeprefix('schedule-')}: {args}")  # each check, as explain's steps
    elif context == "t-extension" and app == "Dial":
        actual.trail.append(f"extension:{exten}")
    elif context == "t-group" and app == "Dial":
        members = [endpoint(leg) for leg in args.split(",", 1)[0].split("&")]
        several = group_steps.get(exten, 1) > 1
        actual.trail.append(f"group:{exten} {','.join(members)}" if several else f"group:{exten}")
    elif context == "t-queue" and app == "Queue":
        actual.trail.append(f"queue:{exten}")
    elif context == "t-voicemail" and app == "VoiceMail":
        actual.trail.append(f"voicemail:{exten}")
        actual.result, actual.extension = "voicemail", exten
    elif context.startswith("ivr-") and exten == "s" and step["priority"] == "1":
        actual.trail.append(f"ivr:{context.removeprefix('ivr-')}")
