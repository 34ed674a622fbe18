"""`pbxctl backup` and `pbxctl restore`: the PBX's voicemail, recordings, call records and prompts."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..exit_codes import OK, TASK_FAILED
from ..output import err, out
from . import FrozenOpt, LabOpt, SiteArg, VaultOpt, _compile_for_run, _failures


def backup_command(site: SiteArg, output: Annotated[Path | None, typer.Option(
                       "-o", "--output", help="folder for the archive (default backups/<site>)")] = None,
                   public_key: Annotated[bool, typer.Option("--public-key", help="print the authorized_keys line "
                                                            "of the scheduled backups' key (backup: in the site) "
                                                            "and exit")] = False,
                   lab: LabOpt = False, vault_password_file: VaultOpt = None, frozen: FrozenOpt = None) -> None:
    """Archive what the site file cannot rebuild (voicemail, recordings, call records, prompts; the applied
    /etc/asterisk for reference, without secrets), with a manifest of checksums."""
    from ..backup import backup
    from ..plan import secret_values

    if public_key:
        _print_public_key(site, vault_password_file)
        raise typer.Exit(OK)
    compiled = _compile_for_run(site, lab, vault_password_file, "all", frozen)
    result = backup(compiled, output or Path("backups") / compiled.site.site.name)
    if result.archive is None:
        _failures(result, secret_values(compiled))
        err.print("[red]backup failed; nothing was kept[/]")
        raise typer.Exit(TASK_FAILED)
    report = result.report
    out.print(f"[green]backed up[/green] {report.get('files', 0)} files ({report.get('bytes', 0)} bytes) → "
              f"{escape(str(result.archive))} ({report.get('archive_bytes', 0)} bytes, {result.seconds:.1f} s)")
    raise typer.Exit(OK)


def _print_public_key(site: Path, vault_password_file: Path | None) -> None:
    from ..compile import secrets_path
    from ..load import load_site
    from ..pki import ssh_public_key
    from ..problems import UserError
    from ..secrets import fill_generated, read_secrets, write_secrets
    from ..secrets import vault_password_file as vault_file

    loaded = load_site(site)
    if not loaded.backup:
        raise UserError([f"{site}: no backup: section, so no scheduled backups and no key"])
    # the key is made on first use; a provider's password still missing does not matter here
    path, password_file = secrets_path(site), vault_file(vault_password_file)
    secrets = read_secrets(path, password_file)
    if fill_generated(loaded, secrets):
        write_secrets(path, secrets, password_file)
    out.print(ssh_public_key(secrets.get("backup", "ssh", "private_key"), f"pbxctl-backup@{loaded.site.name}"),
              markup=False, soft_wrap=True)


def restore_command(site: SiteArg, archive: Annotated[Path, typer.Argument(
                        help="an archive `pbxctl backup` wrote", exists=True, dir_okay=False)],
                    no_apply: Annotated[bool, typer.Option("--no-apply", help="the server is already applied: "
                                                           "only put the data back")] = False,
                    lab: LabOpt = False, vault_password_file: VaultOpt = None, frozen: FrozenOpt = None) -> None:
    """Apply the site to its server (a bare one: new hardware), then put an archive's data back, byte for byte,
    with owners and modes."""
    from ..backup import check_archive, restore
    from ..load import load_site
    from ..plan import secret_values

    manifest = check_archive(archive, load_site(site).site.name)  # a wrong archive stops here, before any run
    compiled = _compile_for_run(site, lab, vault_password_file, "all", frozen)
    result = restore(compiled, archive, manifest, apply=not no_apply)
    if result.returncode != 0:
        _failures(result, secret_values(compiled))
        raise typer.Exit(TASK_FAILED)
    out.print(f"[green]restored[/green] {result.report.get('restored', 0)} files from {escape(str(archive))} "
              f"({result.seconds:.1f} s)")
    raise typer.Exit(OK)
