"""What a check-mode run would change, per host: the files with their diffs and the settings; and what changes
for callers (the routing diff: explain's walk of the routing last applied from here, else of the build before this
compile, against the new one).

Diffs of tasks marked no_log never reach pbxctl (its callback drops them); on top of that every value of the
build's secrets.yml is masked wherever it shows, so a secret templated into a file can't leak through a diff.
"""

import difflib
from pathlib import Path

import yaml
from rich.console import Console
from rich.markup import escape

from .compile import Compiled
from .explain.diff import RoutingChange, routing_changes
from .run import RunResult

MASK = "********"
SHORTEST_MASKED = 4  # shorter values (a 1-digit setting) would mask ordinary text


def secret_values(compiled: Compiled) -> list[str]:
    """Every string in the build's role secrets, longest first (so a value inside another is masked whole)."""
    from .secrets import read_secrets

    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None and not isinstance(value, bool) and len(str(value)) >= SHORTEST_MASKED:
            found.add(str(value))

    walk(read_secrets(Path(compiled.out_dir) / "secrets.yml", compiled.vault_password_file).data)
    return sorted(found, key=len, reverse=True)


def masked(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, MASK)
    return text


def failure_lines(result: RunResult, secrets: list[str]) -> list[str]:
    """Each failed task as it is told in every output mode: host, task and its (masked) error."""
    return [f"failed: {f['host']}: {f['task']}: {masked(f['message'], secrets)}" for f in result.failures]


def diff_lines(diff: dict) -> list[str]:
    if "before" in diff and "after" in diff and isinstance(diff["before"], str):
        return list(difflib.unified_diff(diff["before"].splitlines(), diff["after"].splitlines(),
                                         diff.get("before_header", "before"), diff.get("after_header", "after"),
                                         lineterm="", n=1))
    if "prepared" in diff:
        return str(diff["prepared"]).splitlines()
    return []


def planned_changes(result: RunResult, secrets: list[str]) -> list[dict]:
    """Each change with its diff lines (masked): what `plan --json` lists."""
    changes = []
    for change in result.changes:
        lines: list[str] = []
        for event in result.diffs:
            if (event["host"], event["task"], event.get("item")) == (change["host"], change["task"],
                                                                       change.get("item")):
                diffs = event["diff"] if isinstance(event["diff"], list) else [event["diff"]]
                for diff in diffs:
                    lines += [masked(line, secrets) for line in diff_lines(diff)]
        changes.append({**change, "diff": lines})
    return changes


def print_plan(result: RunResult, console: Console, secrets: list[str] | None = None) -> None:
    secrets = secrets or []
    for line in failure_lines(result, secrets):
        console.print(f"[red]{escape(line)}[/]")
    for notice in result.notices:
        console.print(f"[yellow]! {notice['host']}: {escape(notice['message'])}[/]")
    changes = planned_changes(result, secrets)
    hosts = sorted({c["host"] for c in changes})
    if not hosts and not result.failures and result.returncode == 0 and result.recap:
        console.print("[green]no changes[/]")
    for host in hosts:
        mine = [c for c in changes if c["host"] == host]
        console.print(f"[bold]{host}[/]: {len(mine)} change(s)")
        for change in mine:
            item = f" ({change['item']})" if change.get("item") is not None else ""
            console.print(f"  ~ {escape(change['task'] + item)}")
            for line in change["diff"]:
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                console.print(f"      [{style}]{escape(line)}[/]")


# what explain walks: the routing part of the asterisk role's variables (no secrets among them)
ROUTING = ("asterisk__inbound_routes", "asterisk__ivrs", "asterisk__ring_groups", "asterisk__queues",
           "asterisk__schedules", "asterisk__extensions", "asterisk__crm", "asterisk__timezone")
APPLIED = "applied-routing.yml"  # in the build directory: the routing of the last apply that succeeded


def routing_of(variables: dict) -> dict:
    return {key: variables[key] for key in ROUTING if key in variables}


def _read(text: str | None) -> dict | None:
    try:
        found = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return None
    return found if isinstance(found, dict) and "asterisk__inbound_routes" in found else None


def record_applied(compiled: Compiled) -> None:
    """After an apply of the PBX succeeded: its routing is what callers meet now, the next plan's base."""
    current = _read((Path(compiled.out_dir) / "vars.yml").read_text(encoding="utf-8"))
    if current is not None:
        text = yaml.safe_dump(routing_of(current), sort_keys=True, allow_unicode=True)
        (Path(compiled.out_dir) / APPLIED).write_text(text, encoding="utf-8")


def routing_base(compiled: Compiled) -> tuple[dict | None, str]:
    """(the routing to compare with, what it is): the last apply's from this control node, else the build as it
    was before this compile, else nothing (a first build: every route is new)."""
    applied = Path(compiled.out_dir) / APPLIED
    if applied.is_file():
        return _read(applied.read_text(encoding="utf-8")), "the last apply"
    previous = _read(compiled.previous_vars)
    return previous, "the last build" if previous is not None else "nothing (a first build)"


def routing_plan(compiled: Compiled) -> tuple[list[RoutingChange], str]:
    base, against = routing_base(compiled)
    current = _read((Path(compiled.out_dir) / "vars.yml").read_text(encoding="utf-8"))
    return routing_changes(base, current or {}), against


def print_routing(changes: list[RoutingChange], against: str, console: Console) -> None:
    if not changes:
        console.print(f"[green]routing: no change for callers[/] (against {against})")
        return
    console.print(f"[bold]routing[/]: {len(changes)} change(s) for callers (against {against})")
    for change in changes:
        console.print(f"  ~ {escape(change.line())}")
