"""`pbxctl explain SITE --did D`: the path an inbound call takes through the compiled routing, no server needed."""

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from ..compile import site_vars
from ..explain import Call, explain, parse_at, parse_presses
from ..explain.text import lines
from ..load import load_site
from ..output import out
from ..problems import UserError
from . import JSON_META


def compiled_variables(site: Path) -> dict:
    """The routing as compiled now from a site file, or as a build directory holds it (its vars.yml)."""
    if site.is_dir():
        build = site / "vars.yml"
        if not build.is_file():
            raise UserError([f"{site}: a directory, but no build (no vars.yml): give a site file or build/<site>"])
        return yaml.safe_load(build.read_text(encoding="utf-8"))
    return site_vars(load_site(site))


def explain_command(
        ctx: typer.Context,
        site: Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml), or a build "
                                             "directory (build/<site>): the routing it was compiled with")],
        did: Annotated[str, typer.Option("--did", help="the number called, any usual form (+74951110001, "
                                         "8 495 111-00-01)")],
        caller: Annotated[str | None, typer.Option("--from", help="the caller's number (the CRM is asked about "
                                                   "it)")] = None,
        at: Annotated[str | None, typer.Option("--at", help="when: 2026-12-01T10:00 (site time) or with an "
                                               "offset; default now")] = None,
        trunk: Annotated[str | None, typer.Option("--trunk", help="the trunk it arrives on: --did and --from are "
                                                  "read in its inbound_format, as the PBX reads them")] = None,
        crm_answer: Annotated[str | None, typer.Option("--crm-answer", help="the extension the CRM names, or "
                                                       "none (default: both ways shown)")] = None,
        press: Annotated[str | None, typer.Option("--press", help="keys pressed at each IVR prompt in turn: 1,2; "
                                                  "'-' for none (default: every way shown)")] = None,
        answer: Annotated[str | None, typer.Option("--answer", help="the extension that picks up when it rings "
                                                   "(nobody else does)")] = None,
        no_answer: Annotated[bool, typer.Option("--no-answer", help="nobody picks up anywhere")] = False,
        json_output: Annotated[bool, typer.Option("--json", help="the path as one JSON document on stdout")] = False,
) -> None:
    """Walk the compiled routing for one inbound call and print its path: schedule and holidays, CRM lookup,
    IVR, ring groups and queues, overflow and fallback. Where the call decides (a key, the CRM, who answers)
    and no option says, every way is shown."""
    ctx.meta[JSON_META] = json_output
    variables = compiled_variables(site)
    call = Call(did, caller, parse_at(at, variables["asterisk__timezone"]) if at else None, trunk, crm_answer,
                parse_presses(press), answer, no_answer)
    path = explain(variables, call)
    if json_output:
        document = {**path.as_json(), "command": "explain", "site": str(site), "exit_code": 0}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    for line in lines(path):
        out.print(escape(line))
