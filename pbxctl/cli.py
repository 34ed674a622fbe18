"""The pbxctl command line: thin commands over load, compile, run, phones and lab."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .compile import compile_site
from .load import load_site
from .problems import SiteInvalid
from .schema import schema_text

app = typer.Typer(help="Office telephony as code: one site file → a working PBX, phones, router and UPS.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

SiteArg = Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")]
VaultOpt = Annotated[Path | None, typer.Option("--vault-password-file", help="encrypts secrets.yml; "
                                                "or set PBXCTL_VAULT_PASSWORD_FILE", exists=True, dir_okay=False)]


def fail(lines: list[str]) -> None:
    for line in lines:
        err.print(f"[red]{line}[/red]", soft_wrap=True)
    raise typer.Exit(1)


@app.command()
def validate(site: SiteArg) -> None:
    """Check a site file; print every problem as file:line:col: path: message."""
    try:
        loaded = load_site(site)
    except SiteInvalid as error:
        fail(error.lines)
    out.print(f"[green]{site}: valid[/green] ({len(loaded.extensions)} extensions, {len(loaded.trunks)} trunks, "
              f"{len(loaded.phones)} phones)")


@app.command("compile")
def compile_command(site: SiteArg,
                    output: Annotated[Path | None, typer.Option("-o", "--output", help="default build/<site>")] = None,
                    vault_password_file: VaultOpt = None) -> None:
    """Write the Ansible inventory, vars and phone files for a site."""
    try:
        compiled = compile_site(site, output, vault_password_file)
    except SiteInvalid as error:
        fail(error.lines)
    out.print(f"[green]compiled[/green] {compiled.site.site.name} → {compiled.out_dir} ({len(compiled.files)} files)")


@app.command()
def schema(output: Annotated[Path | None, typer.Option("-o", "--output")] = None) -> None:
    """Print (or write) the JSON Schema of the site file."""
    if output:
        output.write_text(schema_text(), encoding="utf-8")
    else:
        typer.echo(schema_text(), nl=False)


def main() -> None:
    app()


secrets_app = typer.Typer(help="Secrets kept in secrets.yml beside the site file.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("set")
def secrets_set(site: SiteArg,
                key: Annotated[str, typer.Argument(help="section.name.item, e.g. trunks.city.password")],
                vault_password_file: VaultOpt = None) -> None:
    """Store a secret you were given (a provider's password); the value is read without echo or from stdin."""
    from .compile import secrets_path
    from .secrets import read_secrets, write_secrets
    from .secrets import vault_password_file as vault_file

    parts = key.split(".")
    if len(parts) != 3:
        fail([f"{key}: expected section.name.item, e.g. trunks.city.password"])
    value = typer.prompt(key, hide_input=True) if _interactive() else _stdin_line()
    if not value:
        fail([f"{key}: empty value refused"])
    path = secrets_path(site)
    password_file = vault_file(vault_password_file)
    try:
        secrets = read_secrets(path, password_file)
    except SiteInvalid as error:
        fail(error.lines)
    secrets.section(parts[0]).setdefault(parts[1], {})[parts[2]] = value
    write_secrets(path, secrets, password_file)
    out.print(f"[green]stored[/green] {key} in {path}")


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


def _stdin_line() -> str:
    import sys

    return sys.stdin.readline().rstrip("\n")
