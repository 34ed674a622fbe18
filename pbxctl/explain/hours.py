"""A compiled schedule (asterisk__schedules) at one instant, decided the way schedule-<name> decides it."""

import datetime as dt
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def state(schedule: dict, at: dt.datetime) -> tuple[bool, str]:
    """(open, why). The dialplan takes today's date in the schedule's zone (STRFTIME %F): a holiday closes all
    day; then each range is a GotoIfTime with inclusive minutes (09:00-18:59) and '&'-joined weekdays."""
    local = at.astimezone(ZoneInfo(schedule["timezone"]))
    stamp = f"{WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M} {schedule['timezone']}"
    if local.date().isoformat() in schedule["holidays"]:
        return False, f"{stamp} is a holiday"
    minute = local.strftime("%H:%M")
    for hours in schedule["ranges"]:
        start, end = hours["time"].split("-")
        if WEEKDAYS[local.weekday()] in hours["days"].split("&") and start <= minute <= end:
            return True, f"{stamp} is within {hours['days'].replace('&', ',')} {start}-{end}"
    return False, f"{stamp} is outside {'; '.join(_ranges(schedule))}"


def _ranges(schedule: dict) -> list[str]:
    return [f"{r['days'].replace('&', ',')} {r['time']}" for r in schedule["ranges"]]
