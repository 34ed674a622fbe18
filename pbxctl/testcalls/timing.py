"""Whether a scenario can be replayed now. The PBX decides a schedule on its own clock, which can't be moved per
call; so a scenario is replayed only when explain walks the call the same way at the PBX's now (and a few minutes
on, while the calls run) as at the scenario's `at`. No entry that takes a time from outside exists, so no caller can
use one to pass a schedule or the guard."""

import datetime as dt

from ..explain import Path, explain
from .report import Expected
from .scenarios import Scenario

MARGIN = dt.timedelta(minutes=10)  # a run of scenarios takes minutes: the verdict must hold over them


def schedules(path: Path) -> str:
    """'office open' / 'office closed' / 'no schedule': each schedule's verdict on the way."""
    return ", ".join(met.replace(": ", " ") for met in Expected.schedules_met(path)) or "no schedule"


def why_not_now(variables: dict, scenario: Scenario, at_path: Path, now: dt.datetime) -> str | None:
    """None when the call goes now as at its `at`; else why it can't be replayed now."""
    if "at" not in scenario.call:
        return None
    zone = variables["asterisk__timezone"]
    for when in (now, now + MARGIN):
        path = explain(variables, scenario.explain_call(zone, when))
        if path.outcome is None or Expected.of_path(path) != Expected.of_path(at_path):
            local = path.call["at"][:16].replace("T", " ")
            return (f"at its time {schedules(at_path)}, on the PBX's clock ({local} {zone}) {schedules(path)}: "
                    f"the PBX's clock can't be moved per call; replay it when the same holds")
    return None
