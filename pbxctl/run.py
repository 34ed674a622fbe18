"""Run ansible-playbook on a compiled site: argv only, live progress, per-host summary, the run's outcome.

The run is the build's own: its ansible.cfg, its inventory and group_vars, its copy of the playbooks, so it is
the run `cd build/<site> && ansible-playbook site.yml` makes. pbxctl only adds its event callback (JSON lines
it reads for progress, notices, diffs and failures) and turns colour off.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .compile import Compiled
from .exit_codes import ANSIBLE_ERROR
from .problems import UserError
from .resources import callback_plugins_dir
from .timing import TaskTime, Timer

JSON_VERSION = 1  # of the --json documents (pbxctl/run.schema.json); bumped when a field changes meaning
SYMBOLS = {"ok": "[green]ok[/]", "changed": "[yellow]changed[/]", "failed": "[red]FAILED[/]",
           "unreachable": "[red]UNREACHABLE[/]", "ignored": "[dim]ignored[/]"}


class PlaybookMissing(UserError):
    """The build has no such playbook: nothing ran, so nothing may be reported as unchanged."""

    exit_code = ANSIBLE_ERROR


@dataclass
class RunResult:
    returncode: int  # ansible-playbook's own; pbxctl.exit_codes.for_run gives pbxctl's
    seconds: float
    stats: dict = field(default_factory=dict)
    recap: bool = False  # the run reached its recap (PLAY RECAP): the stats are complete
    changes: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    diffs: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # {host: {key: [values…]}}: what roles report by set_stats
    messages: list[str] = field(default_factory=list)  # Ansible's own lines: warnings, errors before any task
    tasks: list[TaskTime] = field(default_factory=list)  # every task that ran on some host, with its duration

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.stats.values())

    def as_json(self) -> dict:
        return {"version": JSON_VERSION, "returncode": self.returncode, "seconds": round(self.seconds, 2),
                "changed": self.changed, "hosts": self.stats, "changes": self.changes, "failures": self.failures,
                "notices": self.notices, "messages": self.messages, "tasks_run": len(self.tasks),
                "tasks": [task.as_json() for task in self.tasks]}


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else "ansible-playbook"


def playbook_path(compiled: Compiled, playbook: str) -> Path:
    path = Path(playbook)
    if not path.is_absolute():
        path = compiled.out_dir.resolve() / "playbooks" / playbook
    if not path.is_file():
        raise PlaybookMissing([f"{path}: no such playbook; run `pbxctl compile` to write the build's playbooks"])
    return path


def playbook_argv(compiled: Compiled, playbook: str, check: bool, limit: str | None) -> list[str]:
    argv = [ansible_playbook(), str(playbook_path(compiled, playbook))]
    if check:
        argv += ["--check", "--diff"]
    if limit:
        argv += ["--limit", limit]
    return argv


def ansible_env(out_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        # the build's settings, whatever ANSIBLE_CONFIG the caller has: the same run as ansible-playbook there
        "ANSIBLE_CONFIG": str(out_dir.resolve() / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "pbxctl_events",
        "ANSIBLE_CALLBACK_PLUGINS": str(callback_plugins_dir()),
        "ANSIBLE_NOCOLOR": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


class Progress:
    """Prints one line per task result as it happens (to stderr, so --json output stays clean)."""

    def __init__(self, console: Console, quiet: bool):
        self.console, self.quiet = console, quiet

    def show(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event["event"]
        if kind == "play":
            self.console.print(f"[bold]▶ {escape(event['name'])}[/]")
        elif kind in SYMBOLS:
            item = f" [dim]({escape(str(event['item']))})[/]" if event.get("item") is not None else ""
            self.console.print(f"  {SYMBOLS[kind]:<24} {event['host']}: {escape(event['task'])}{item}")
            if kind in ("failed", "unreachable"):
                self.console.print(f"    [red]{escape(failure_message(event))}[/]")
        elif kind == "notice":
            self.console.print(f"  [yellow]! {event['host']}: {escape(event['msg'])}[/]")
        elif kind == "warning":
            self.console.print(f"  [dim]warning: {escape(event['msg'])}[/]")


def failure_message(event: dict) -> str:
    result = event.get("result", {})
    if result.get("censored"):
        return "(output hidden: the task handles secrets)"
    parts = [str(result.get(key)).strip() for key in ("msg", "stderr", "stdout") if result.get(key)]
    return " | ".join(parts)[:2000] or "failed without a message"


def run_playbook(compiled: Compiled, playbook: str = "site.yml", check: bool = False, limit: str | None = None,
                 console: Console | None = None, quiet: bool = False) -> RunResult:
    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    progress = Progress(console, quiet)
    argv = playbook_argv(compiled, playbook, check, limit)
    started = time.monotonic()
    result = RunResult(returncode=0, seconds=0.0)
    out_dir = compiled.out_dir.resolve()
    timer = Timer()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=ansible_env(out_dir), cwd=out_dir) as proc:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict) or "event" not in event:
                _message(result, line, console, quiet)
                continue
            timer.feed(event)
            _record(result, event)
            progress.show(event)
    timer.feed({"event": "stats", "t": time.monotonic()})  # a run cut short closes its last task too
    result.tasks = timer.tasks
    result.returncode = proc.returncode
    result.seconds = time.monotonic() - started
    if quiet and proc.returncode != 0:
        # Ansible's reason (a syntax error, a missing role) is shown even when progress isn't
        for message in result.messages:
            console.print(message, markup=False)
    return result


def _message(result: RunResult, line: str, console: Console, quiet: bool) -> None:
    text = line.rstrip()
    if not text.strip():
        return
    result.messages.append(text)
    if not quiet:
        console.print(text, markup=False)


def _record(result: RunResult, event: dict) -> None:
    kind = event["event"]
    if kind == "stats":
        result.stats, result.recap = event["hosts"], True
    elif kind == "changed":
        result.changes.append({"host": event["host"], "task": event["task"], "item": event.get("item")})
    elif kind in ("failed", "unreachable"):
        result.failures.append({"host": event["host"], "task": event["task"], "message": failure_message(event)})
    elif kind == "diff":
        result.diffs.append(event)
    elif kind == "notice":
        result.notices.append({"host": event["host"], "message": event["msg"]})
    elif kind == "data":
        values = event["value"] if isinstance(event["value"], list) else [event["value"]]
        result.data.setdefault(event["host"], {}).setdefault(event["key"], []).extend(values)
