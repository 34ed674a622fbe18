"""`pbxctl test-calls SITE SCENARIOS --lab|--live`: the scenarios of `pbxctl explain` replayed as real calls."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .. import exit_codes
from ..load import load_site
from ..output import err, out
from ..problems import UserError
from ..testcalls import Outcome, load_scenarios
from ..testcalls.report import document
from . import JSON_META

COLOURS = {"ok": "green", "mismatch": "red", "not_replayed": "yellow"}


def test_calls_command(
        ctx: typer.Context,
        site: Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")],
        scenarios: Annotated[Path, typer.Argument(help="the scenario file (as tests/data/call_scenarios.yml): "
                                                  "the entries whose site is this site's name are replayed")],
        lab: Annotated[bool, typer.Option("--lab", help="call the lab PBX the site was applied to "
                                          "(`pbxctl apply SITE --lab`)")] = False,
        live: Annotated[bool, typer.Option("--live", help="call the site's own PBX (pbx.host) through a test-call "
                                           "entry made for the run; its phones' registrations are taken over "
                                           "for the run")] = False,
        json_output: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
        vault_password_file: Annotated[Path | None, typer.Option("--vault-password-file")] = None,
) -> None:
    """Place each scenario's call for real: the provider calls the DID with the caller's number, keys go as DTMF,
    the extensions it rings are simulated phones (only the scenario's `answer` picks up). The PBX's log of the
    call is compared with the scenario's expectation and with `pbxctl explain`; exit 5 on any mismatch."""
    ctx.meta[JSON_META] = json_output
    # never by default: a live run rings the office's extensions' numbers and takes their registrations over
    if lab == live:
        raise UserError(["test-calls needs where to call: give --lab (the lab PBX, through the lab carrier) or "
                         "--live (the site's own PBX, through a test-call entry made for the run; see the README, "
                         "`pbxctl test-calls`)"])
    if live:
        from ..testcalls.live import replay_live as replay
    else:
        from ..testcalls.replay import replay

    name = load_site(site).site.name
    chosen = load_scenarios(scenarios, name)
    if not chosen:
        raise UserError([f"{scenarios}: no scenario for site {name}"])
    outcomes = replay(site, chosen, vault_password_file, None if json_output else _progress)
    replayed = [o for o in outcomes if o.status != "not_replayed"]
    failed = any(o.status == "mismatch" for o in outcomes) or not replayed
    code = exit_codes.TASK_FAILED if failed else exit_codes.OK
    if json_output:
        typer.echo(json.dumps({**document(name, outcomes), "exit_code": code}, indent=2, ensure_ascii=False))
    else:
        _table(name, outcomes)
        if not replayed:
            err.print("[red]no scenario could be replayed now[/]")
    raise typer.Exit(code)


def _progress(outcome: Outcome) -> None:
    colour = COLOURS[outcome.status]
    err.print(f"[{colour}]{outcome.status}[/] {escape(outcome.name)}", highlight=False)


def _facts(facts) -> str:
    if facts is None:
        return "—"
    end = facts.result + (f" {facts.extension}" if facts.extension else "")
    schedule = f"{', '.join(facts.schedule)}: " if facts.schedule else ""
    return f"{schedule}{' → '.join(facts.trail)} ⇒ {end}"


def _table(site: str, outcomes: list[Outcome]) -> None:
    table = Table(title=f"test calls: {site}")
    for column in ("#", "scenario", "status", "expected", "the PBX"):
        table.add_column(column)
    for o in outcomes:
        got = _facts(o.actual) if o.status != "not_replayed" else o.reason or ""
        if o.differences:
            got += "\n" + "\n".join(o.differences)
        table.add_row(str(o.index), escape(o.name), f"[{COLOURS[o.status]}]{o.status}[/]", escape(_facts(o.expected)),
                      escape(got))
    out.print(table)
