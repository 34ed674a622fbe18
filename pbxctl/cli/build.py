"""`pbxctl build asterisk SITE`: build the site's pinned Asterisk ahead of apply (apply builds it when missing).

Ahead of time because a cold build takes many minutes: a run in CI or before an office visit keeps apply short.
"""

import time
from pathlib import Path
from typing import Annotated

import typer

from ..output import err, out
from ..problems import UserError

build_app = typer.Typer(help="Software pbxctl builds for servers whose distribution lacks it.", no_args_is_help=True)

SiteArg = Annotated[Path, typer.Argument(help="the site file (inventories/<site>/site.yml)")]


SuiteOpt = Annotated[list[str] | None, typer.Option(
    "--suite", help="Debian release of the PBX (bookworm, trixie, sid); repeatable; default bookworm")]


@build_app.command("asterisk")
def asterisk_command(site: SiteArg, suite: SuiteOpt = None) -> None:
    """Build the Asterisk release of pbx.install.version into a .deb per suite, or find it in the cache."""
    from ..build import asterisk
    from ..load import load_site

    suite = suite or ["bookworm"]
    loaded = load_site(site)
    if loaded.pbx.install.source != "build":
        raise UserError([f"{site}: pbx.install.source is {loaded.pbx.install.source!r}; nothing to build"])
    for name in suite:
        started = time.monotonic()
        try:
            # the GSM drivers the site's trunks use are built with it (pbx.install.gsm_sources)
            directory = asterisk.ensure_built(asterisk.site_release(loaded.pbx.install, site.resolve().parent), name,
                                              log=lambda message: err.print(message))
        except asterisk.BuildError as error:
            raise UserError([str(error)]) from error
        out.print(f"[green]Asterisk {loaded.pbx.install.version} for {name}[/green] → {directory} "
                  f"({time.monotonic() - started:.0f} s)")
