"""What the dialplan templates would otherwise work out in Jinja, computed once here: the step that reaches each
call target, the channels each ring group step dials, and the channel driver of each trunk.

The templates then only lay these out (extensions_*.conf.j2); the number tables come from pbxctl.numbers
(dialplan_plan) and pbxctl.security.ranges.
"""

from ..site.routing import Ivr, IvrOption, Queue, RingGroup

# Asterisk's channel technology for each kind of trunk; a GSM modem's depends on its out-of-tree driver
GSM_TECHNOLOGY = {"chan_dongle": "Dongle", "chan_quectel": "Quectel"}


def call(target: str) -> str:
    """The dialplan step that sends a call to a target (extension:N, group:NAME, ivr:NAME, …, hangup).

    Every target but hangup is a Gosub that returns when nobody answered, so the caller can go on to a fallback.
    """
    if target == "hangup":
        return "Hangup()"
    kind, name = target.split(":", 1)
    if kind == "ivr":
        return f"Gosub(ivr-{name},s,1)"
    return f"Gosub(t-{kind},{name},1)"


def open_check(schedule: str | None) -> list[str]:
    """The steps that send a call to the label `closed` outside a schedule's hours: schedule-<name> (holidays,
    the schedule's time zone, its ranges) decides, for an inbound route, an IVR key and a ring group alike."""
    if not schedule:
        return []
    return [f"Gosub(schedule-{schedule},s,1)", 'GotoIf($["${GOSUB_RETVAL}" = "closed"]?closed)']


def technology(trunk) -> str:
    """The channel technology Dial() uses for a trunk: PJSIP, or the GSM driver's own (Dongle/…, Quectel/…)."""
    if trunk.type == "gsm_dongle":
        return GSM_TECHNOLOGY[trunk.driver]
    return "PJSIP"


def hunt_steps(group: RingGroup) -> list[str]:
    """The Dial() resources a ring group tries in turn: all members at once (ringall), one after another (hunt),
    or the first, then the first two, then the first three… (memoryhunt)."""
    channels = [f"PJSIP/{member}" for member in group.members]
    if group.strategy == "ringall":
        return ["&".join(channels)]
    if group.strategy == "hunt":
        return channels
    return ["&".join(channels[:count]) for count in range(1, len(channels) + 1)]


def announced(item: RingGroup | Queue, recorded: set[str]) -> bool:
    """Whether a call to a group or queue may be recorded when answered, so that the caller hears the
    announcement first: its own policy is always, or it has none and a member records every call (the member
    who answers is not known before the call is bridged: the caller hears it whoever answers)."""
    if item.recording is not None:
        return item.recording == "always"
    return any(member in recorded for member in item.members)


def ring_group(group: RingGroup, recorded: frozenset[str] | set[str] = frozenset()) -> dict:
    data = group.model_dump(mode="json", exclude_none=True)
    data["announce"] = announced(group, recorded)
    data["steps"] = hunt_steps(group)
    if group.overflow:
        data["overflow_call"] = call(group.overflow)
    if group.schedule:
        data["open_check"] = open_check(group.schedule)
        data["after_hours_call"] = call(group.after_hours)
    return data


def queue(item: Queue, recorded: frozenset[str] | set[str] = frozenset()) -> dict:
    data = item.model_dump(mode="json", exclude_none=True)
    data["announce"] = announced(item, recorded)
    if item.overflow:
        data["overflow_call"] = call(item.overflow)
    return data


def ivr_calls(ivr: Ivr) -> dict:
    """The steps of an IVR's choices, its timeout and a wrong key (on_invalid defaults to on_timeout)."""
    return {"options": [_option(option) for option in ivr.options],
            "on_timeout_call": call(ivr.on_timeout), "on_invalid_call": call(ivr.on_invalid or ivr.on_timeout)}


def _option(option: IvrOption) -> dict:
    data = option.model_dump(mode="json", exclude_none=True) | {"call": call(option.target)}
    if option.schedule:
        data["open_check"] = open_check(option.schedule)
        data["after_hours_call"] = call(option.after_hours)
    return data


def inbound_calls(route) -> dict:
    """The steps of an inbound route's target, its fallback and its after-hours target (and the hours check)."""
    fields = {"target": route.target, "fallback": route.fallback, "after_hours": route.after_hours}
    steps = {f"{name}_call": call(target) for name, target in fields.items() if target}
    return steps | ({"open_check": open_check(route.schedule)} if route.schedule else {})
