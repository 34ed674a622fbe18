"""`pbxctl phones …`: render provisioning files without compiling the rest of the site."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..exit_codes import OK, TASK_FAILED
from ..output import err, out
from ..problems import UserError

phones_app = typer.Typer(help="Phone and gateway provisioning files.", no_args_is_help=True)


@phones_app.callback()
def phones() -> None:
    """Phone and gateway provisioning files."""


@phones_app.command("render")
def render(site: Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")],
           output: Annotated[Path | None, typer.Option("-o", "--output", help="default build/<site>/phones")] = None,
           vault_password_file: Annotated[Path | None, typer.Option(
               "--vault-password-file", help="for a vault-encrypted secrets.yml; or set PBXCTL_VAULT_PASSWORD_FILE",
               exists=True, dir_okay=False)] = None) -> None:
    """Write every phone's and gateway's files (0640; they hold SIP secrets). Missing secrets are generated."""
    from ..compile import load_with_secrets
    from ..phones.render import sync_phones

    loaded, secrets, _ = load_with_secrets(site, vault_password_file)
    out_dir = output or Path("build") / loaded.site.name / "phones"
    written = sync_phones(loaded, secrets, out_dir)
    out.print(f"[green]rendered[/green] {len(written.files)} files for {len(loaded.phones)} devices → {out_dir} "
              f"({len(written.changed)} written, {len(written.removed)} removed)")


@phones_app.command("logins")
def logins(site: Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")],
           mac: Annotated[str | None, typer.Option("--mac", help="only this phone (default: every phone)")] = None,
           vault_password_file: Annotated[Path | None, typer.Option(
               "--vault-password-file", help="for a vault-encrypted secrets.yml; or set PBXCTL_VAULT_PASSWORD_FILE",
               exists=True, dir_okay=False)] = None) -> None:
    """Print what to enter on each phone once, at staging: its provisioning login (this prints passwords)."""
    from ..compile import load_with_secrets
    from ..phones.staging import staging
    from ..site.phones import normalise_mac

    loaded, secrets, _ = load_with_secrets(site, vault_password_file)
    try:
        rows = staging(loaded, secrets, normalise_mac(mac) if mac else None)
    except ValueError as error:
        raise UserError([f"--mac {mac}: {error}"]) from None
    if mac and not rows:
        raise UserError([f"--mac {mac}: no phone with this MAC"])
    for row in rows:
        out.print(f"{row['mac']}  {row['model']}  {row['setting']} = {row['value']}", soft_wrap=True, markup=False)


@phones_app.command("resync")
def resync(site: Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")],
           mac: Annotated[str | None, typer.Option("--mac", help="only this phone (default: every phone)")] = None,
           lab: Annotated[bool, typer.Option("--lab", help="the local lab's PBX instead of the site's")] = False,
           vault_password_file: Annotated[Path | None, typer.Option(
               "--vault-password-file", help="for a vault-encrypted secrets.yml; or set PBXCTL_VAULT_PASSWORD_FILE",
               exists=True, dir_okay=False)] = None) -> None:
    """Make phones fetch their files again now: a SIP NOTIFY (check-sync/resync) sent by the site's Asterisk."""
    from ..plan import failure_lines
    from ..resync import resync as run_resync

    result = run_resync(site, mac, lab, vault_password_file)
    for line in failure_lines(result, []):
        err.print(f"[red]{escape(line)}[/red]", soft_wrap=True)
    if result.not_registered:
        err.print(f"[yellow]not registered now, no NOTIFY sent: {', '.join(result.not_registered)}[/yellow]",
                  soft_wrap=True)
    out.print(f"[green]NOTIFY sent[/green] to {len(result.sent)} phone(s): {', '.join(result.sent) or '-'}")
    # nothing reached a phone at all: say so in the exit code too
    failed = result.returncode or result.failures or (not result.sent and result.not_registered)
    raise typer.Exit(TASK_FAILED if failed else OK)
