"""`pbxctl restore` refuses an archive that is not this site's, or is damaged, before anything runs (exit 3)."""

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbxctl.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-office"


def _archive(path: Path, manifest: dict) -> Path:
    body = json.dumps(manifest).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE / "site.yml", tmp_path / "site.yml")  # no secrets: the archive is refused before them
    return tmp_path / "site.yml"


def _restore(site: Path, archive: Path, monkeypatch):
    monkeypatch.chdir(site.parent)  # the build goes beside the copy, not into the checkout
    return CliRunner().invoke(app, ["restore", str(site), str(archive), "--no-apply"])


def test_an_archive_of_another_site_is_refused(site, tmp_path, monkeypatch):
    archive = _archive(tmp_path / "elsewhere.tar.gz",
                       {"format": 1, "site": "elsewhere", "roots": [], "data": [], "reference": []})
    result = _restore(site, archive, monkeypatch)
    assert result.exit_code == 3, result.output
    assert "a backup of site 'elsewhere', not of 'example-office'" in result.output


def test_a_file_missing_from_the_archive_is_refused(site, tmp_path, monkeypatch):
    item = {"path": "/var/spool/asterisk/voicemail/default/100/INBOX/msg0000.wav", "kind": "file", "size": 1,
            "sha256": "0" * 64, "mode": "0640", "owner": "asterisk", "group": "asterisk", "mtime": 0}
    archive = _archive(tmp_path / "short.tar.gz",
                       {"format": 1, "site": "example-office", "roots": [], "data": [item], "reference": []})
    result = _restore(site, archive, monkeypatch)
    assert result.exit_code == 3, result.output
    assert "not a pbxctl backup or damaged" in result.output


def test_the_public_key_is_made_once_and_printed_for_authorized_keys(site, monkeypatch):
    text = site.read_text() + "backup: {target: pbxbackup@192.0.2.20:/srv/pbx-backups}\n"
    site.write_text(text)
    monkeypatch.chdir(site.parent)
    first = CliRunner().invoke(app, ["backup", str(site), "--public-key"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("ssh-ed25519 AAAA") and first.output.strip().endswith("pbxctl-backup@example-office")
    again = CliRunner().invoke(app, ["backup", str(site), "--public-key"])
    assert again.output == first.output
    assert "OPENSSH PRIVATE KEY" in (site.parent / "secrets.yml").read_text()


def test_no_key_without_a_backup_section(site, monkeypatch):
    monkeypatch.chdir(site.parent)
    result = CliRunner().invoke(app, ["backup", str(site), "--public-key"])
    assert result.exit_code == 3 and "no backup: section" in result.output
