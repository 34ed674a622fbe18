"""validate | plan | apply over several sites: one fleet build, one Ansible run, a line per site."""

import glob
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import exit_codes
from ..fleet.sites import site_files
from ..output import err, out

SitesArg = Annotated[list[Path], typer.Argument(help="site files (inventories/<site>/site.yml); several, a "
                                                "directory of */site.yml or a glob make a fleet: one run")]
LimitOpt = Annotated[list[str] | None, typer.Option("--limit", help="a fleet's site to run on (repeatable)")]


def is_fleet(sites: list[Path], limit: list[str] | None = None) -> bool:
    """One site file named as today is run as today; anything else is a fleet."""
    return bool(limit) or len(sites) != 1 or sites[0].is_dir() or glob.has_magic(str(sites[0]))


def fleet_validate(sites: list[Path]) -> None:
    from ..fleet.build import load_fleet
    from ..site.catalogue import warnings

    files = site_files(sites)
    for file, site in zip(files, load_fleet(files), strict=True):
        for warning in warnings(site.phones):  # valid, but a real device may not take the file
            err.print(f"[yellow]warning: {escape(str(file))}: {escape(warning)}[/]")
        out.print(f"[green]{escape(str(file))}: valid[/green] ({len(site.extensions)} extensions, "
                  f"{len(site.trunks)} trunks, {len(site.phones)} phones)")
    out.print(f"{len(files)} sites valid")


def _compile(sites: list[Path], lab: bool, vault_password_file: Path | None, frozen: bool | None):
    from ..fleet.build import compile_fleet
    from ..lab.fleet import lab_fleet
    from . import frozen_secrets, warn_plain_secrets

    files = site_files(sites)
    fleet = compile_fleet(files, vault_password_file, lab_fleet if lab else None, frozen_secrets(frozen, lab))
    for file in files:
        warn_plain_secrets(file)
    return fleet


def _site_lines(summary: dict[str, dict]) -> None:
    colours = {"ok": "green", "failed": "red", "skipped": "dim"}
    for name, row in summary.items():
        out.print(f"[{colours[row['state']]}]{escape(name)}[/]: {row['state']} ok={row['ok']} "
                  f"changed={row['changed']} failed={row['failed']} unreachable={row['unreachable']} "
                  f"({', '.join(row['hosts']) or 'no hosts ran'})")


def fleet_run(command: str, sites: list[Path], only: str, lab: bool, json_output: bool,
              vault_password_file: Path | None, frozen: bool | None, limit: list[str] | None,
              detailed: bool = False) -> int:
    from ..fleet.run import fleet_secrets, per_site, run_fleet
    from ..plan import failure_lines, planned_changes, print_plan
    from . import PLAYBOOKS, fail

    if only not in PLAYBOOKS:
        fail([f"--only: '{only}' is not one of {', '.join(PLAYBOOKS)}"], exit_codes.USAGE)
    playbook = PLAYBOOKS[only]
    fleet = _compile(sites, lab, vault_password_file, frozen)
    check = command == "plan"
    result = run_fleet(fleet, playbook, check=check, sites=limit, quiet=json_output or check)
    code = exit_codes.for_run(result, detailed=detailed)
    secrets = fleet_secrets(fleet)
    summary = per_site(fleet, result, limit)
    if json_output:
        document = {**result.as_json(), "command": command, "fleet": str(fleet.out_dir), "exit_code": code,
                    "sites": summary}
        if check:
            document["changes"] = planned_changes(result, secrets)
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
    elif check:
        print_plan(result, out, secrets)
    if not json_output:
        _site_lines(summary)
        out.print(f"{result.seconds:.1f} s, {len(fleet.sites)} sites, build {escape(str(fleet.out_dir))}")
    for line in failure_lines(result, secrets) if json_output or not check else []:  # plan printed its own
        err.print(f"[red]{escape(line)}[/]")
    return code
