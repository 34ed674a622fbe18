"""What a check-mode run would change, per host: the files with their diffs and the settings."""

import difflib

from rich.console import Console
from rich.markup import escape

from .run import RunResult


def _diff_lines(diff: dict) -> list[str]:
    if "before" in diff and "after" in diff and isinstance(diff["before"], str):
        return list(difflib.unified_diff(diff["before"].splitlines(), diff["after"].splitlines(),
                                         diff.get("before_header", "before"), diff.get("after_header", "after"),
                                         lineterm="", n=1))
    if "prepared" in diff:
        return str(diff["prepared"]).splitlines()
    return []


def print_plan(result: RunResult, console: Console) -> None:
    if result.failures:
        for failure in result.failures:
            console.print(f"[red]failed: {failure['host']}: {failure['task']}: {escape(failure['message'])}[/]")
    for notice in result.notices:
        console.print(f"[yellow]! {notice['host']}: {escape(notice['message'])}[/]", soft_wrap=True)
    hosts = sorted({c["host"] for c in result.changes})
    if not hosts and not result.failures:
        console.print("[green]no changes[/]")
    for host in hosts:
        changes = [c for c in result.changes if c["host"] == host]
        console.print(f"[bold]{host}[/]: {len(changes)} change(s)")
        for change in changes:
            item = f" ({change['item']})" if change.get("item") is not None else ""
            console.print(f"  ~ {change['task']}{item}", highlight=False)
            for event in result.diffs:
                if event["host"] == host and event["task"] == change["task"] and event.get("item") == change.get(
                        "item"):
                    diffs = event["diff"] if isinstance(event["diff"], list) else [event["diff"]]
                    for diff in diffs:
                        for line in _diff_lines(diff):
                            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                            console.print(f"      [{style}]{escape(line)}[/]", highlight=False)
