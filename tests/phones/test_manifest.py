"""`phones render -o DIR` into a shared directory: it removes only files it wrote there, as it wrote them."""

import json
import shutil

from typer.testing import CliRunner

from pbxctl.cli import app
from pbxctl.load import load_site
from pbxctl.phones import manifest
from pbxctl.phones.render import render_phones, sync_phones
from pbxctl.secrets import read_secrets

from .helpers import CASES_DIR


def _office():
    directory = CASES_DIR / "office"
    return load_site(directory / "site.yml"), read_secrets(directory / "secrets.yml", None)


def _files(directory) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def test_a_shared_folder_keeps_files_that_look_like_phone_files(tmp_path):
    site, secrets = _office()
    tftp = tmp_path / "srv-tftp"
    tftp.mkdir()
    # another provisioning tool's files, named as pbxctl would name them
    theirs = {"spa000e08d1aaaa.xml": b"theirs", "SPA502G.cfg": b"theirs", "Config0080F0AAAAAA.cfg": b"theirs"}
    for name, data in theirs.items():
        (tftp / name).write_bytes(data)
    ours = set(render_phones(site, secrets))
    sync_phones(site, secrets, tftp)
    site.phones = []
    result = sync_phones(site, secrets, tftp)
    assert {str(p.relative_to(tftp)) for p in result.removed} == ours
    assert _files(tftp) == set(theirs) | {manifest.NAME}
    assert all((tftp / name).read_bytes() == data for name, data in theirs.items())


def test_a_directory_without_a_manifest_loses_nothing(tmp_path):
    site, secrets = _office()
    out = tmp_path / "phones"
    sync_phones(site, secrets, out)
    (out / manifest.NAME).unlink()  # written by an older pbxctl, or by hand: nothing is known to be ours
    before = _files(out)
    site.phones = []
    assert sync_phones(site, secrets, out).removed == []
    assert _files(out) == before | {manifest.NAME}


def test_a_file_changed_after_pbxctl_wrote_it_stays(tmp_path):
    site, secrets = _office()
    out = tmp_path / "phones"
    sync_phones(site, secrets, out)
    edited = next(name for name in render_phones(site, secrets) if name.startswith("spa0"))
    (out / edited).write_bytes(b"edited by hand")
    site.phones = []
    removed = {str(p.relative_to(out)) for p in sync_phones(site, secrets, out).removed}
    assert edited not in removed and (out / edited).read_bytes() == b"edited by hand"


def test_a_manifest_never_reaches_outside_its_directory(tmp_path):
    site, secrets = _office()
    out = tmp_path / "phones"
    out.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_bytes(b"keep")
    (out / manifest.NAME).write_text(json.dumps({"files": {"../precious.txt": manifest.digest(b"keep"),
                                                           str(outside): manifest.digest(b"keep")}}))
    sync_phones(site, secrets, out)
    assert outside.read_bytes() == b"keep"


def test_render_command_into_a_shared_folder(tmp_path):
    runner = CliRunner()
    site_dir = tmp_path / "site"
    shutil.copytree(CASES_DIR / "office", site_dir)
    tftp = tmp_path / "tftp"
    tftp.mkdir()
    (tftp / "spa000e08d1aaaa.xml").write_bytes(b"theirs")
    result = runner.invoke(app, ["phones", "render", str(site_dir / "site.yml"), "-o", str(tftp)])
    assert result.exit_code == 0, result.output
    site_file = site_dir / "site.yml"
    site_file.write_text(site_file.read_text(encoding="utf-8").split("\nphones:")[0] + "\n", encoding="utf-8")
    result = runner.invoke(app, ["phones", "render", str(site_file), "-o", str(tftp)])
    assert result.exit_code == 0, result.output
    assert _files(tftp) == {"spa000e08d1aaaa.xml", manifest.NAME}
