"""`pbxctl failover` and `pbxctl failback`: move an office pair's virtual address by hand.

The node giving the address up first pushes its latest data to the other, then fails its own health check on
purpose until the other holds the address; it then waits as the passive node (keepalived's nopreempt).
"""

import time

import typer
from rich.markup import escape

from ..exit_codes import OK, TASK_FAILED
from ..output import err, out
from ..problems import UserError
from . import LabOpt, SiteArg, VaultOpt, _compile_for_run, _failures


def _switch(site, lab: bool, vault_password_file, playbook: str, node: str) -> None:
    from ..plan import secret_values
    from ..run import run_playbook

    compiled = _compile_for_run(site, lab, vault_password_file, "all", None)
    standby = compiled.site.standby
    if standby is None:
        raise UserError([f"{site}: no standby: section, so there is no second server to move the PBX to"])
    started = time.monotonic()
    result = run_playbook(compiled, playbook)
    if result.returncode != 0:
        _failures(result, secret_values(compiled))
        err.print(f"[red]the {node} did not take over; the pair is as it was[/]")
        raise typer.Exit(TASK_FAILED)
    out.print(f"[green]the {node} holds {escape(str(standby.virtual_address))}[/green] "
              f"({time.monotonic() - started:.1f} s): it registers the providers and takes the calls")
    raise typer.Exit(OK)


def failover_command(site: SiteArg, lab: LabOpt = False, vault_password_file: VaultOpt = None) -> None:
    """Make the standby the active PBX (maintenance on the primary): its data pushed across first."""
    _switch(site, lab, vault_password_file, "failover.yml", "standby")


def failback_command(site: SiteArg, lab: LabOpt = False, vault_password_file: VaultOpt = None) -> None:
    """Make the primary the active PBX again (after a takeover): the standby's data pushed across first."""
    _switch(site, lab, vault_password_file, "failback.yml", "primary")
