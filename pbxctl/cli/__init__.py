"""The pbxctl command line: thin commands over load, compile, run, phones and lab.

Every user error (pbxctl.problems.UserError) is handled once, here at the boundary: one red line per problem
on stderr (and a JSON document on stdout under --json), the error's exit code, no traceback. Exit codes are
pbxctl's own (pbxctl.exit_codes), documented in the README.
"""

import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperGroup

from .. import exit_codes
from ..compile import compile_site
from ..load import load_site
from ..output import err, out
from ..problems import UserError
from ..schema import schema_text
from .fleet import LimitOpt, SitesArg, fleet_run, fleet_validate, is_fleet

JSON_META = "pbxctl.json"  # ctx.meta key: the command was asked for --json, so its errors are JSON too


def _error_document(error: UserError) -> dict:
    return {"version": 1, "exit_code": error.exit_code, "errors": error.lines}


CLICK_USAGE = 2  # the exit code Typer's (vendored) Click gives every usage error


def _usage(error: typer.TyperException) -> None:
    if error.exit_code == CLICK_USAGE:
        error.exit_code = exit_codes.USAGE


class Boundary(TyperGroup):
    """The one place user errors become output and exit codes; usage errors exit 64, not Click's 2."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UserError as error:
            if ctx.meta.get(JSON_META):
                typer.echo(json.dumps(_error_document(error), indent=2, sort_keys=True))
            for line in error.lines:
                err.print(f"[red]{escape(line)}[/red]")
            raise typer.Exit(error.exit_code) from None
        except typer.TyperException as error:
            _usage(error)
            raise

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except typer.TyperException as error:
            _usage(error)
            raise


app = typer.Typer(help="Office telephony as code: one site file → a working PBX, phones, router and UPS.",
                  no_args_is_help=True, cls=Boundary, rich_markup_mode=None)

SiteArg = Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")]
VaultOpt = Annotated[Path | None, typer.Option("--vault-password-file", help="encrypts secrets.yml; a file "
                                                "holding the password, or an executable printing it (as Ansible "
                                                "reads it); or set PBXCTL_VAULT_PASSWORD_FILE", exists=True,
                                                dir_okay=False)]
FrozenOpt = Annotated[bool | None, typer.Option("--frozen-secrets/--generate-secrets", help="refuse to generate "
                                                "missing secrets and name them (default under CI=true)",
                                                show_default=False)]


def _version() -> str:
    try:
        return version("pbxctl")
    except PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"pbxctl {_version()}")
        raise typer.Exit()


@app.callback()
def _root(show_version: Annotated[bool, typer.Option("--version", help="print the version and exit",
                                                     callback=_print_version, is_eager=True)] = False) -> None:
    """Office telephony as code: one site file → a working PBX, phones, router and UPS."""


def fail(lines: list[str], code: int = exit_codes.SITE_INVALID) -> None:
    raise UserError(lines, code)


def warn_plain_secrets(site: Path) -> None:
    from ansible.parsing.vault import is_encrypted

    from ..compile import secrets_path

    path = secrets_path(site)
    if path.exists() and not is_encrypted(path.read_bytes()):
        err.print(f"[yellow]warning: {escape(str(path))} is plain text; give --vault-password-file (or set "
                  "PBXCTL_VAULT_PASSWORD_FILE) and it is encrypted[/]")


def frozen_secrets(option: bool | None, lab: bool = False) -> bool:
    """--frozen-secrets, else the default: frozen on CI (CI=true), where a generated secret would be lost with
    the workspace; not for --lab runs, whose throw-away machines nobody else depends on."""
    if option is not None:
        return option
    return not lab and os.environ.get("CI", "").lower() in ("true", "1", "yes")


@app.command()
def validate(sites: SitesArg) -> None:
    """Check a site file (or several); print every problem as file:line:col: path: message."""
    if is_fleet(sites):
        return fleet_validate(sites)
    site = sites[0]
    from ..site.catalogue import warnings

    loaded = load_site(site)
    for warning in warnings(loaded.phones):  # valid, but a real device may not take the file
        err.print(f"[yellow]warning: {escape(str(site))}: {escape(warning)}[/]")
    out.print(f"[green]{escape(str(site))}: valid[/green] ({len(loaded.extensions)} extensions, "
              f"{len(loaded.trunks)} trunks, {len(loaded.phones)} phones)")


@app.command("compile")
def compile_command(site: SiteArg,
                    output: Annotated[Path | None, typer.Option("-o", "--output", help="default build/<site>")] = None,
                    vault_password_file: VaultOpt = None, frozen: FrozenOpt = None) -> None:
    """Write the build: an Ansible project (ansible.cfg, inventory, group vars, playbooks) and phone files."""
    compiled = compile_site(site, output, vault_password_file, frozen=frozen_secrets(frozen))
    warn_plain_secrets(site)
    out.print(f"[green]compiled[/green] {escape(compiled.site.site.name)} → {escape(str(compiled.out_dir))} "
              f"({len(compiled.files)} files)")


@app.command()
def schema(output: Annotated[Path | None, typer.Option("-o", "--output", help="write it here (e.g. into a site "
                                                       "repo, for the yaml-language-server modeline)")] = None,
           argspecs: Annotated[bool, typer.Option("--argspecs", help="write each role's meta/argument_specs.yml "
                                                  "instead")] = False) -> None:
    """Print (or write) the JSON Schema of the site file; or regenerate the roles' argument specs."""
    if argspecs:
        from ..argspecs import generate, write

        for path in write(generate()):
            typer.echo(f"wrote {path}")
        return
    if output:
        output.write_text(schema_text(), encoding="utf-8")
    else:
        typer.echo(schema_text(), nl=False)


PLAYBOOKS = {"all": "site.yml", "pbx": "pbx.yml", "phones": "provisioning.yml", "router": "router.yml",
             "ups": "ups.yml", "security": "security.yml", "standby": "standby.yml"}
ROUTED = ("all", "pbx")  # the runs that install the routing (plan's routing diff, apply's record of it)
OnlyOpt = Annotated[str, typer.Option("--only", help="pbx | phones | router | ups | security | standby "
                                      "(default: everything)")]
LabOpt = Annotated[bool, typer.Option("--lab", help="apply to the local lab machines instead of the site's")]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON document on stdout (pbxctl/run.schema.json)")]
ProfileOpt = Annotated[bool, typer.Option("--profile", help="list the slowest tasks after the run")]


def _compile_for_run(site: Path, lab: bool, vault_password_file: Path | None, only: str, frozen: bool | None):
    from ..lab.retarget import lab_retarget

    if only not in PLAYBOOKS:
        fail([f"--only: '{only}' is not one of {', '.join(PLAYBOOKS)}"], exit_codes.USAGE)
    compiled = compile_site(site, None, vault_password_file, lab_retarget() if lab else None,
                            frozen=frozen_secrets(frozen, lab))
    warn_plain_secrets(site)
    return compiled


def _json_mode(ctx: typer.Context, enabled: bool) -> None:
    ctx.meta[JSON_META] = enabled  # meta is shared with the root context, where errors are handled


def _document(command: str, site: Path, result, code: int, changes: list[dict] | None = None) -> dict:
    document = {**result.as_json(), "command": command, "site": str(site), "exit_code": code}
    if changes is not None:
        document["changes"] = changes
    return document


def _failures(result, secrets: list[str]) -> None:
    from ..plan import failure_lines

    for line in failure_lines(result, secrets):
        err.print(f"[red]{escape(line)}[/]")
    if result.returncode != 0 and not result.failures:
        err.print(f"[red]ansible-playbook stopped (exit {result.returncode}) before any task failed; "
                  "its output is above[/]")


def _summary(result, notices: bool = True) -> None:
    from ..timing import summary_lines

    if notices:
        for notice in result.notices:
            err.print(f"[yellow]! {escape(notice['host'])}: {escape(notice['message'])}[/]")
    for line in summary_lines(result.stats, result.seconds, len(result.tasks)):
        out.print(line, markup=False)


def _profile(result, console) -> None:
    from ..timing import profile_lines

    for line in profile_lines(result.tasks, result.seconds):
        console.print(line, markup=False)


@app.command()
def apply(ctx: typer.Context, sites: SitesArg, only: OnlyOpt = "all", lab: LabOpt = False, json_output: JsonOpt = False,
          vault_password_file: VaultOpt = None, frozen: FrozenOpt = None, profile: ProfileOpt = False,
          limit: LimitOpt = None) -> None:
    """Compile the site (or a fleet of them, in one run) and make its machines match it."""
    from ..plan import record_applied, secret_values
    from ..run import run_playbook

    _json_mode(ctx, json_output)
    if is_fleet(sites, limit):
        raise typer.Exit(fleet_run("apply", sites, only, lab, json_output, vault_password_file, frozen, limit))
    site = sites[0]
    compiled = _compile_for_run(site, lab, vault_password_file, only, frozen)
    result = run_playbook(compiled, PLAYBOOKS[only], quiet=json_output)
    code = exit_codes.for_run(result)
    if code == exit_codes.OK and only in ROUTED:
        record_applied(compiled)  # the next plan's routing diff starts from what callers meet now
    if json_output:
        typer.echo(json.dumps(_document("apply", site, result, code), indent=2, sort_keys=True))
    else:
        _summary(result)
    if profile:
        _profile(result, err if json_output else out)
    _failures(result, secret_values(compiled))
    raise typer.Exit(code)


@app.command()
def plan(ctx: typer.Context, sites: SitesArg, only: OnlyOpt = "all", lab: LabOpt = False, json_output: JsonOpt = False,
         detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="exit 2 when there are "
                                                         "changes to apply (0: none)")] = False,
         vault_password_file: VaultOpt = None, frozen: FrozenOpt = None, profile: ProfileOpt = False,
         limit: LimitOpt = None) -> None:
    """Show what apply would change (check mode with diffs, secrets masked); changes nothing."""
    from ..plan import planned_changes, print_plan, print_routing, routing_plan, secret_values
    from ..run import run_playbook

    _json_mode(ctx, json_output)
    if is_fleet(sites, limit):
        raise typer.Exit(fleet_run("plan", sites, only, lab, json_output, vault_password_file, frozen, limit,
                                   detailed_exitcode))
    site = sites[0]
    compiled = _compile_for_run(site, lab, vault_password_file, only, frozen)
    result = run_playbook(compiled, PLAYBOOKS[only], check=True, quiet=True)
    code = exit_codes.for_run(result, detailed=detailed_exitcode)
    secrets = secret_values(compiled)
    routing, against = routing_plan(compiled) if only in ROUTED else ([], "")
    if json_output:
        document = _document("plan", site, result, code, planned_changes(result, secrets))
        if only in ROUTED:
            document["routing"] = {"against": against, "changes": [c.as_json() for c in routing]}
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        _failures(result, secrets)
    else:
        print_plan(result, out, secrets)
        if only in ROUTED:
            print_routing(routing, against, out)
        _summary(result, notices=False)  # print_plan has shown them
        if result.returncode != 0 and not result.failures:
            _failures(result, secrets)
    if profile:
        _profile(result, err if json_output else out)
    raise typer.Exit(code)


@app.command()
def doctor(ctx: typer.Context, site: SiteArg, lab: LabOpt = False, json_output: JsonOpt = False,
           vault_password_file: VaultOpt = None, frozen: FrozenOpt = None) -> None:
    """Live checks: Asterisk, trunk registrations, where phones register from, provisioning, UPS, power-on.
    Exit 5 when a check fails."""
    from dataclasses import asdict

    from rich.table import Table

    from ..doctor import diagnose

    _json_mode(ctx, json_output)
    checks = diagnose(_compile_for_run(site, lab, vault_password_file, "all", frozen))
    if json_output:
        from ..run import JSON_VERSION

        code = exit_codes.TASK_FAILED if any(c.status == "fail" for c in checks) else exit_codes.OK
        typer.echo(json.dumps({"version": JSON_VERSION, "exit_code": code, "checks": [asdict(c) for c in checks]},
                              indent=2))
    else:
        table = Table(title=f"pbxctl doctor {escape(str(site))}")
        for column in ("check", "state", "detail"):
            table.add_column(column)
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        for check in checks:
            table.add_row(escape(check.name), f"[{colours[check.status]}]{check.status}[/]", escape(check.message))
        out.print(table)
    raise typer.Exit(exit_codes.TASK_FAILED if any(c.status == "fail" for c in checks) else exit_codes.OK)


def main() -> None:
    app(prog_name="pbxctl")


def _mount_sub_apps() -> None:
    from ..lab.cli import lab_app
    from .backup import backup_command, restore_command
    from .build import build_app
    from .explain import explain_command
    from .phones import phones_app
    from .router import router_app
    from .standby import failback_command, failover_command
    from .testcalls import test_calls_command

    app.command("explain")(explain_command)
    app.command("test-calls")(test_calls_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.command("failover")(failover_command)
    app.command("failback")(failback_command)

    app.add_typer(lab_app, name="lab", help="Throw-away local servers (systemd-nspawn) standing in for a site's.")
    app.add_typer(router_app, name="router", help="The MikroTik router as a RouterOS script (.rsc), and SSH import.")
    app.add_typer(phones_app, name="phones", help="Phone and gateway provisioning files.")
    app.add_typer(build_app, name="build", help="Asterisk built into a .deb for Debian releases without it.")


_mount_sub_apps()

secrets_app = typer.Typer(help="Secrets kept in secrets.yml beside the site file.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("set")
def secrets_set(site: SiteArg,
                key: Annotated[str, typer.Argument(help="section.name.item, e.g. trunks.city.password")],
                vault_password_file: VaultOpt = None) -> None:
    """Store a secret you were given (a provider's password); the value is read without echo or from stdin."""
    from ..compile import secrets_path
    from ..secrets import read_secrets, write_secrets
    from ..secrets import vault_password_file as vault_file

    parts = key.split(".")
    if len(parts) != 3:
        fail([f"{key}: expected section.name.item, e.g. trunks.city.password"])
    value = typer.prompt(key, hide_input=True) if _interactive() else _stdin_line()
    if not value:
        fail([f"{key}: empty value refused"])
    path = secrets_path(site)
    password_file = vault_file(vault_password_file)
    secrets = read_secrets(path, password_file)
    secrets.section(parts[0]).setdefault(parts[1], {})[parts[2]] = value
    write_secrets(path, secrets, password_file)
    out.print(f"[green]stored[/green] {escape(key)} in {escape(str(path))}")


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


def _stdin_line() -> str:
    import sys

    return sys.stdin.readline().rstrip("\n")
