"""`pbxctl router export|import-ssh`: the router's configuration as a .rsc script, for routers without the API."""

from pathlib import Path
from typing import Annotated

import typer

from ..output import err, out
from ..problems import ActionFailed, UserError

router_app = typer.Typer(help="The MikroTik router as a RouterOS script, and an SSH path for it.",
                         no_args_is_help=True)

SiteArg = Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")]


@router_app.command("export")
def export_command(site: SiteArg,
                   output: Annotated[Path | None, typer.Option("-o", "--output", help="default: stdout")] = None
                   ) -> None:
    """Write what `apply --only router` would set as a .rsc script (replaces pbxctl's entries when imported)."""
    from ..load import load_site
    from ..router.rsc import export

    loaded = load_site(site)
    if loaded.router is None:
        raise UserError([f"{site}: the site has no router"])
    text = export(loaded)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"[green]wrote[/green] {output}")


@router_app.command("import-ssh")
def import_ssh_command(site: SiteArg,
                       line_by_line: Annotated[bool, typer.Option(help="type the script instead of uploading "
                                                                   "it and running /import")] = False,
                       vault_password_file: Annotated[Path | None, typer.Option(
                           "--vault-password-file", exists=True, dir_okay=False)] = None) -> None:
    """Apply the exported script over SSH (netmiko), for routers whose API is closed."""
    from ..compile import load_with_secrets
    from ..router.rsc import export
    from ..router_ssh import ImportFailed, import_over_ssh

    loaded, secrets, _ = load_with_secrets(site, vault_password_file)
    if loaded.router is None:
        raise UserError([f"{site}: the site has no router"])
    try:
        import_over_ssh(loaded, secrets.get("router", "api", "password"), export(loaded), line_by_line,
                        site_dir=site.resolve().parent)
    except ImportFailed as error:
        raise ActionFailed([f"{loaded.router.host}: import failed: {line}"
                            for line in str(error).splitlines()]) from None
    out.print(f"[green]imported[/green] pbxctl's router configuration into {loaded.router.host}")
