"""`pbxctl lab`: bring the local throw-away servers up, down, and show them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table

from pbxctl import lab
from pbxctl.exit_codes import OK, TASK_FAILED
from pbxctl.output import out as console
from pbxctl.problems import ActionFailed

lab_app = typer.Typer(help="Local throw-away servers (systemd-nspawn) to apply sites against.", no_args_is_help=True)
NAMES_ARGUMENT = typer.Argument(None, help="Machines to act on (default: all).", show_default=False)


@contextmanager
def _lab_errors() -> Iterator[None]:
    """A lab that can't run here is a user-facing problem: one red line, exit 1, no traceback."""
    try:
        yield
    except lab.LabError as error:
        raise ActionFailed([str(error)]) from None


@lab_app.command("up")
def up_command(
    names: list[str] | None = NAMES_ARGUMENT,
    fresh: bool = typer.Option(False, "--fresh", help="Start stopped machines from a new root (bare server)."),
) -> None:
    """Boot the lab machines and wait until they answer over SSH."""
    with _lab_errors(), console.status("Bringing the lab up (the first run builds images, a few minutes)…"):
        lab.up(names or None, fresh=fresh)
    _print_status(names)


@lab_app.command("down")
def down_command(
    names: list[str] | None = NAMES_ARGUMENT,
    purge: bool = typer.Option(False, "--purge", help="Also delete the machines' root filesystems."),
) -> None:
    """Stop the lab machines; with the last one, the proxy and bridge go too."""
    with _lab_errors():
        lab.down(names or None, purge=purge)
    _print_status(names)


@lab_app.command("status")
def status_command() -> None:
    """Show which lab machines run, their addresses and how to reach them."""
    _print_status(None)


def _print_status(names: list[str] | None) -> None:
    with _lab_errors():
        machines = lab.hosts(names or None)  # with the on-demand ones: `lab status` shows a running standby too
        running = lab.status(list(machines))
    table = Table(title=f"pbxctl lab (bridge {lab.BRIDGE}, host {lab.HOST_ADDRESS}, proxy {lab.PROXY_URL})")
    for column in ("machine", "address", "state", "pid", "ssh"):
        table.add_column(column)
    for name, spec in machines.items():
        host = running[name]
        state = "[green]up[/green]" if host else "[dim]down[/dim]"
        login = f"ssh -F {lab.SSH_CONFIG} {name}"
        table.add_row(name, spec.address, state, str(host.pid) if host else "", login)
    console.print(table)


@lab_app.command("demo")
def demo_command(site: str = typer.Argument("inventories/example-office/site.yml", help="The site to apply.")) -> None:
    """Boot the lab, apply SITE to its bare pbx, and place real calls through it (internal, inbound, outbound)."""
    from pathlib import Path

    from pbxctl.lab.demo import Demo

    with _lab_errors():
        ok = Demo(Path(site), console).run()
    raise typer.Exit(OK if ok else TASK_FAILED)
