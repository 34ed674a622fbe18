"""`pbxctl phones …`: render provisioning files without compiling the rest of the site."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..problems import SiteInvalid

phones_app = typer.Typer(help="Phone and gateway provisioning files.", no_args_is_help=True)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


@phones_app.callback()
def phones() -> None:
    """Phone and gateway provisioning files."""  # keeps `render` a subcommand while it is the only one


@phones_app.command("render")
def render(site: Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")],
           output: Annotated[Path | None, typer.Option("-o", "--output", help="default build/<site>/phones")] = None,
           vault_password_file: Annotated[Path | None, typer.Option(
               "--vault-password-file", help="for a vault-encrypted secrets.yml; or set PBXCTL_VAULT_PASSWORD_FILE",
               exists=True, dir_okay=False)] = None) -> None:
    """Write every phone's and gateway's files (0640; they hold SIP secrets). Missing secrets are generated."""
    from ..compile import load_with_secrets
    from .render import write_phones

    try:
        loaded, secrets, _ = load_with_secrets(site, vault_password_file)
        out_dir = output or Path("build") / loaded.site.name / "phones"
        written = write_phones(loaded, secrets, out_dir)
    except SiteInvalid as error:
        for line in error.lines:
            err.print(f"[red]{line}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(f"[green]rendered[/green] {len(written)} files for {len(loaded.phones)} devices → {out_dir}")
