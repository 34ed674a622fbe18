"""Run ansible-playbook on a compiled site: argv only, live progress, per-host summary, Ansible's exit code."""

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

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
CALLBACKS = Path(__file__).resolve().parent / "ansible_plugins" / "callback"
SYMBOLS = {"ok": "[green]ok[/]", "changed": "[yellow]changed[/]", "failed": "[red]FAILED[/]",
           "unreachable": "[red]UNREACHABLE[/]", "ignored": "[dim]ignored[/]"}


@dataclass
class RunResult:
    returncode: int
    seconds: float
    stats: dict = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    diffs: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.stats.values())

    def as_json(self) -> dict:
        return {"returncode": self.returncode, "seconds": round(self.seconds, 2), "changed": self.changed,
                "hosts": self.stats, "changes": self.changes, "failures": self.failures, "notices": self.notices}


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else "ansible-playbook"


def playbook_argv(compiled: Compiled, playbook: str, check: bool, limit: str | None) -> list[str]:
    out = compiled.out_dir.resolve()  # ansible-playbook runs from the project root, not the caller's directory
    argv = [ansible_playbook(), str(PLAYBOOKS / playbook), "-i", str(out / "inventory.yml"),
            "-e", f"@{out / 'vars.yml'}", "-e", f"@{out / 'secrets.yml'}",
            "-e", f"pbxctl_build_dir={out}"]
    if compiled.vault_password_file:
        argv += ["--vault-password-file", str(compiled.vault_password_file.resolve())]
    if check:
        argv += ["--check", "--diff"]
    if limit:
        argv += ["--limit", limit]
    return argv


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_STDOUT_CALLBACK": "pbxctl_events",
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_FORKS": "10",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "False",
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
            self.console.print(f"[bold]▶ {event['name']}[/]")
        elif kind in SYMBOLS:
            item = f" [dim]({event['item']})[/]" if event.get("item") is not None else ""
            self.console.print(f"  {SYMBOLS[kind]:<24} {event['host']}: {escape(event['task'])}{item}", highlight=False,
                               soft_wrap=True)
            if kind in ("failed", "unreachable"):
                self.console.print(f"    [red]{escape(failure_message(event))}[/]", highlight=False, soft_wrap=True)
        elif kind == "notice":
            self.console.print(f"  [yellow]! {event['host']}: {escape(event['msg'])}[/]", highlight=False,
                               soft_wrap=True)
        elif kind == "warning":
            self.console.print(f"  [dim]warning: {escape(event['msg'])}[/]", highlight=False, soft_wrap=True)


def failure_message(event: dict) -> str:
    result = event.get("result", {})
    if result.get("censored"):
        return "(output hidden: the task handles secrets)"
    parts = [str(result.get(key)).strip() for key in ("msg", "stderr", "stdout") if result.get(key)]
    return " | ".join(parts)[:2000] or "failed without a message"


def run_playbook(compiled: Compiled, playbook: str = "site.yml", check: bool = False, limit: str | None = None,
                 console: Console | None = None, quiet: bool = False) -> RunResult:
    console = console or Console(stderr=True)
    progress = Progress(console, quiet)
    started = time.monotonic()
    result = RunResult(returncode=0, seconds=0.0)
    with subprocess.Popen(playbook_argv(compiled, playbook, check, limit), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=ansible_env(), cwd=ROOT) as proc:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                if line.strip() and not quiet:
                    console.print(f"  [dim]{line.rstrip()}[/]", highlight=False, markup=False)
                continue
            _record(result, event)
            progress.show(event)
    result.returncode = proc.returncode
    result.seconds = time.monotonic() - started
    return result


def _record(result: RunResult, event: dict) -> None:
    kind = event["event"]
    if kind == "stats":
        result.stats = event["hosts"]
    elif kind == "changed":
        result.changes.append({"host": event["host"], "task": event["task"], "item": event.get("item")})
    elif kind in ("failed", "unreachable"):
        result.failures.append({"host": event["host"], "task": event["task"], "message": failure_message(event)})
    elif kind == "diff":
        result.diffs.append(event)
    elif kind == "notice":
        result.notices.append({"host": event["host"], "message": event["msg"]})
