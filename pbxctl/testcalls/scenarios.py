"""The scenario file (tests/data/call_scenarios.yml's shape): a list of {site, name, call, expect}, checked here so
a bad entry is a user error naming the file, the entry and the field."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..explain import Call, parse_at, parse_presses
from ..problems import UserError

CALL_KEYS = {"did", "from", "at", "trunk", "crm_answer", "press", "answer", "no_answer"}
EXPECT_KEYS = {"schedule", "trail", "result", "extension", "recording"}


@dataclass
class Scenario:
    index: int  # 1-based, in the file
    site: str
    name: str
    call: dict  # as written: explain's options
    expect: dict = field(default_factory=dict)

    def explain_call(self, timezone: str, at=None) -> Call:
        """The call as explain takes it; at: another instant than the scenario's own (the PBX's now)."""
        c = self.call
        when = at if at is not None else (parse_at(str(c["at"]), timezone) if "at" in c else None)
        return Call(str(c["did"]), _text(c.get("from")), when, _text(c.get("trunk")), _text(c.get("crm_answer")),
                    parse_presses(_text(c.get("press"))), _text(c.get("answer")), bool(c.get("no_answer", False)))


def _text(value) -> str | None:
    return None if value is None else str(value)


def load_scenarios(path: Path, site: str) -> list[Scenario]:
    """Every scenario of the file for this site (by its site.name), in file order."""
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise UserError([f"{path}: not a readable scenario file: {error}"]) from None
    if not isinstance(entries, list):
        raise UserError([f"{path}: a list of scenarios expected ({{site, name, call, expect}} each)"])
    problems, found = [], []
    for index, entry in enumerate(entries, 1):
        where = f"{path}: scenario {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("call"), dict) or "did" not in entry["call"]:
            problems.append(f"{where}: needs site, name and call (with did)")
            continue
        unknown = set(entry["call"]) - CALL_KEYS
        if unknown:
            problems.append(f"{where}: call.{sorted(unknown)[0]}: unknown; a call takes {', '.join(sorted(CALL_KEYS))}")
        expect = entry.get("expect") or {}
        if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
            problems.append(f"{where}: expect takes {', '.join(sorted(EXPECT_KEYS))}")
            continue
        if entry.get("site") == site:
            found.append(Scenario(index, site, str(entry.get("name") or f"scenario {index}"), entry["call"], expect))
    if problems:
        raise UserError(problems)
    return found
