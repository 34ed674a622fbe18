"""What a check-mode run would change, per host: the files with their diffs and the settings.

Diffs of tasks marked no_log never reach pbxctl (its callback drops them); on top of that every value of the
build's secrets.yml is masked wherever it shows, so a secret templated into a file can't leak through a diff.
"""

import difflib
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .compile import Compiled
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
