"""The pbxctl command line: thin commands over load, compile, run, phones and lab."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
        err.print(f"[red]{escape(line)}[/red]", soft_wrap=True)
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
def schema(output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
           argspecs: Annotated[bool, typer.Option("--argspecs", help="write each role's meta/argument_specs.yml "
                                                  "instead")] = False) -> None:
    """Print (or write) the JSON Schema of the site file; or regenerate the roles' argument specs."""
    if argspecs:
        from .argspecs import generate, write

        for path in write(generate()):
            typer.echo(f"wrote {path}")
        return
    if output:
        output.write_text(schema_text(), encoding="utf-8")
    else:
        typer.echo(schema_text(), nl=False)


PLAYBOOKS = {"all": "site.yml", "pbx": "pbx.yml", "phones": "provisioning.yml", "router": "router.yml",
             "ups": "ups.yml", "security": "security.yml"}
OnlyOpt = Annotated[str, typer.Option("--only", help="pbx | phones | router | ups | security (default: everything)")]
LabOpt = Annotated[bool, typer.Option("--lab", help="apply to the local lab machines instead of the site's")]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON summary on stdout, for CI")]


def _compile_for_run(site: Path, lab: bool, vault_password_file: Path | None, only: str):
    from .targets import lab_retarget

    if only not in PLAYBOOKS:
        fail([f"--only: '{only}' is not one of {', '.join(PLAYBOOKS)}"])
    try:
        return compile_site(site, None, vault_password_file, lab_retarget() if lab else None)
    except SiteInvalid as error:
        fail(error.lines)


def _summary(result, as_json: bool) -> None:
    import json

    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
        return
    for host, counts in sorted(result.stats.items()):
        colour = "red" if counts.get("failures") or counts.get("unreachable") else "green"
        out.print(f"[{colour}]{host}[/]: ok={counts.get('ok', 0)} changed={counts.get('changed', 0)} "
                  f"failed={counts.get('failures', 0)} unreachable={counts.get('unreachable', 0)}")
    for notice in result.notices:
        err.print(f"[yellow]! {notice['host']}: {escape(notice['message'])}[/]", soft_wrap=True)
    for failure in result.failures:
        err.print(f"[red]failed: {failure['host']}: {failure['task']}: {escape(failure['message'])}[/]", soft_wrap=True)
    out.print(f"{result.seconds:.1f} s")


@app.command()
def apply(site: SiteArg, only: OnlyOpt = "all", lab: LabOpt = False, json_output: JsonOpt = False,
          vault_password_file: VaultOpt = None) -> None:
    """Compile the site and make its machines match it."""
    from .run import run_playbook

    compiled = _compile_for_run(site, lab, vault_password_file, only)
    result = run_playbook(compiled, PLAYBOOKS[only], quiet=json_output)
    _summary(result, json_output)
    raise typer.Exit(result.returncode)


@app.command()
def plan(site: SiteArg, only: OnlyOpt = "all", lab: LabOpt = False, json_output: JsonOpt = False,
         vault_password_file: VaultOpt = None) -> None:
    """Show what apply would change (check mode with diffs); changes nothing."""
    from .plan import print_plan
    from .run import run_playbook

    compiled = _compile_for_run(site, lab, vault_password_file, only)
    result = run_playbook(compiled, PLAYBOOKS[only], check=True, quiet=True)
    if json_output:
        _summary(result, True)
    else:
        print_plan(result, out)
    raise typer.Exit(result.returncode)


@app.command()
def doctor(site: SiteArg, lab: LabOpt = False, json_output: JsonOpt = False,
           vault_password_file: VaultOpt = None) -> None:
    """Live checks: Asterisk, trunk registrations, where phones register from, provisioning, UPS, power-on."""
    import json
    from dataclasses import asdict

    from rich.table import Table

    from .doctor import diagnose

    checks = diagnose(_compile_for_run(site, lab, vault_password_file, "all"))
    if json_output:
        typer.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        table = Table(title=f"pbxctl doctor {site}")
        for column in ("check", "state", "detail"):
            table.add_column(column)
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        for check in checks:
            table.add_row(check.name, f"[{colours[check.status]}]{check.status}[/]", escape(check.message))
        out.print(table)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)


def main() -> None:
    app()


def _mount_sub_apps() -> None:
    from .lab.cli import lab_app

    app.add_typer(lab_app, name="lab", help="Throw-away local servers (systemd-nspawn) standing in for a site's.")
    from .router.cli import router_app

    app.add_typer(router_app, name="router", help="The MikroTik router as a RouterOS script (.rsc), and SSH import.")
    try:
        from .phones.cli import phones_app
    except ImportError:
        return
    app.add_typer(phones_app, name="phones", help="Phone and gateway provisioning files.")


_mount_sub_apps()

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
