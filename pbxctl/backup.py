"""`pbxctl backup` and `pbxctl restore`: the PBX's data the site file cannot rebuild, as one dated archive.

The archive (made on the PBX by roles/backup/files/pbxctl-backup) holds voicemail, recordings, call records (CSV
and the webhook spool) and the site's prompts, each file with its owner, mode, time and SHA-256 in manifest.json,
plus the applied /etc/asterisk for reference, without the files that carry secrets: those stay in secrets.yml.
Here the fetched archive is checked against its manifest and searched for every secret of the build before it is
kept; a restore checks it again, applies the site to the (bare) server, then puts the data back.
"""

import functools
import tarfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

import yaml

from .compile.continuity import data_dirs
from .exit_codes import SITE_INVALID, TASK_FAILED
from .problems import UserError
from .resources import roles_dir

REQUEST_FILE = "backup-request.yml"  # in the build; read by playbooks/backup.yml and restore.yml


class BackupFailed(UserError):
    """The backup ran but its archive is not one to keep."""

    exit_code = TASK_FAILED


class ArchiveInvalid(UserError):
    """The archive given is damaged, foreign or of another site: nothing was run."""

    exit_code = SITE_INVALID


@dataclass
class BackupResult:
    returncode: int
    archive: Path | None
    seconds: float
    report: dict = field(default_factory=dict)  # the tool's counts: files, bytes, archive_bytes
    failures: list[dict] = field(default_factory=list)


def archive_name(site_name: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{site_name}-{stamp}.tar.gz"


@functools.cache
def _tool():
    """The PBX's backup tool as a module: the control node checks an archive with the same code that made it."""
    path = roles_dir() / "backup" / "files" / "pbxctl-backup"
    loader = SourceFileLoader("pbxctl_backup_tool", str(path))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def read_manifest(archive: Path) -> dict:
    """The archive's manifest, once every file it restores matches its checksum, those the earlier archives beside
    it hold for it included (else ArchiveInvalid naming the file)."""
    try:
        manifest, _ = _tool().check(str(archive))
    except SystemExit as error:
        raise ArchiveInvalid([f"{archive}: not a pbxctl backup or damaged: {error}"]) from None
    except (OSError, tarfile.TarError, KeyError, ValueError) as error:
        raise ArchiveInvalid([f"{archive}: not a pbxctl backup or damaged: {error!r}"]) from None
    return manifest


def secrets_inside(archive: Path, secrets: list[str]) -> list[str]:
    """The reference files of the archive that contain one of the build's secret values."""
    found = []
    encoded = [s.encode() for s in secrets]
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isreg() and member.name.startswith("reference/"):
                body = tar.extractfile(member).read()
                if any(secret in body for secret in encoded):
                    found.append("/" + member.name.removeprefix("reference/"))
    return found


def _write_request(compiled, request: dict) -> None:
    document = {"pbxctl_backup_request": request}  # the command's request, not a role variable of the site
    (compiled.out_dir / REQUEST_FILE).write_text("---\n" + yaml.safe_dump(document, sort_keys=True), encoding="utf-8")


def _report(result, key: str) -> dict:
    values = [v for host in result.data.values() for v in host.get(key, [])]
    return values[0] if values else {}


def backup(compiled, out_dir: Path, quiet: bool = False) -> BackupResult:
    """Archive the PBX's data into out_dir; the archive is kept only once checked (manifest, no secrets)."""
    from .plan import secret_values
    from .run import run_playbook

    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = archive_name(compiled.site.site.name)
    # what to take is in the build's variables (pbxctl.compile.continuity); where it goes, here
    _write_request(compiled, {"archive": name, "fetch_dir": str(out_dir)})
    started = time.monotonic()
    result = run_playbook(compiled, "backup.yml", quiet=quiet)
    archive = out_dir / name
    if result.returncode != 0 or not archive.is_file():
        return BackupResult(result.returncode or 1, None, time.monotonic() - started, failures=result.failures)
    archive.chmod(0o600)  # voicemail and recordings: personal data
    try:
        read_manifest(archive)
    except ArchiveInvalid as error:
        archive.unlink()
        raise BackupFailed(error.lines + ["the archive was deleted"]) from None
    leaked = secrets_inside(archive, secret_values(compiled))
    if leaked:
        archive.unlink()
        raise BackupFailed([f"{path}: holds a secret of the site; the archive was deleted (add the file to "
                            "pbxctl.backup.SECRET_FILES)" for path in leaked])
    return BackupResult(0, archive, time.monotonic() - started, _report(result, "pbxctl_backup"))


def check_archive(archive: Path, site_name: str) -> dict:
    """The manifest of an archive that is whole and of this site (else ArchiveInvalid): checked before any run."""
    manifest = read_manifest(archive)
    if manifest.get("site") != site_name:
        raise ArchiveInvalid([f"{archive}: a backup of site '{manifest.get('site')}', not of '{site_name}'"])
    return manifest


def restore(compiled, archive: Path, manifest: dict, apply: bool = True, quiet: bool = False) -> BackupResult:
    """Apply the site (a bare server gets its PBX first), then put the archive's data back (manifest: what
    check_archive returned for it)."""
    from .run import run_playbook

    archive = archive.resolve()
    started = time.monotonic()
    if apply:
        applied = run_playbook(compiled, "site.yml", quiet=quiet)
        if applied.returncode != 0:
            return BackupResult(applied.returncode, archive, time.monotonic() - started, failures=applied.failures)
    # only this site's folders: an archive naming others (edited, or from another layout) is refused on the PBX
    roots = data_dirs(compiled.site)
    # a scheduled archive draws on the earlier ones beside it (checked with it by check_archive): they travel with it
    needs = [archive.parent / name for name in manifest.get("needs", [])]
    _write_request(compiled, {"archive": archive.name, "roots": roots,
                              "archive_files": [str(path) for path in [archive, *needs]]})
    result = run_playbook(compiled, "restore.yml", quiet=quiet)
    return BackupResult(result.returncode, archive, time.monotonic() - started, _report(result, "pbxctl_restore"),
                        result.failures)
