"""`phones render` through Typer: files written, secrets created once, errors as red lines and exit 1."""

import shutil

from typer.testing import CliRunner

from pbxctl.cli import app
from pbxctl.cli.phones import phones_app
from pbxctl.exit_codes import SITE_INVALID

from .helpers import CASES_DIR, render_case

runner = CliRunner()


def test_render_writes_the_case_files(tmp_path):
    site_dir = tmp_path / "office"
    shutil.copytree(CASES_DIR / "office", site_dir, ignore=shutil.ignore_patterns("expected"))
    result = runner.invoke(phones_app, ["render", str(site_dir / "site.yml"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "rendered 13 files for 7 devices" in result.output
    for name, data in render_case("office").items():
        assert (tmp_path / "out" / name).read_bytes() == data


def test_render_creates_missing_secrets(tmp_path):
    site_dir = tmp_path / "office"
    site_dir.mkdir()
    shutil.copy(CASES_DIR / "office" / "site.yml", site_dir / "site.yml")
    result = runner.invoke(phones_app, ["render", str(site_dir / "site.yml"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (site_dir / "secrets.yml").exists()
    assert "password" not in result.output


def test_invalid_site_is_reported_and_exits_3(tmp_path):
    bad = tmp_path / "site.yml"
    bad.write_text("site: {name: x}\npbx: {host: 1.2.3.4}\nphones:\n  - {mac: zz, model: nope, lines: []}\n")
    result = runner.invoke(app, ["phones", "render", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == SITE_INVALID
    assert "phones[0].mac" in result.output and "Traceback" not in result.output


def test_logins_prints_what_each_phone_is_staged_with(tmp_path):
    from pbxctl.secrets import read_secrets

    site_dir = tmp_path / "office"
    shutil.copytree(CASES_DIR / "office", site_dir, ignore=shutil.ignore_patterns("expected"))
    secrets = read_secrets(site_dir / "secrets.yml", None)
    result = runner.invoke(phones_app, ["logins", str(site_dir / "site.yml"), "--mac", "00:0e:08:d1:00:01"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["000e08d10001", "cisco-spa502g", "GPP_A", "=",
                                     secrets.get("phones", "000e08d10001", "http_password")]
    result = runner.invoke(phones_app, ["logins", str(site_dir / "site.yml")])
    password = secrets.get("phones", "080023a10004", "http_password")
    assert f"Standard File URL = https://080023a10004:{password}@192.168.10.5/Config{{MAC}}.cfg" in result.output
    assert len(result.output.strip().splitlines()) == 7
    unknown = runner.invoke(app, ["phones", "logins", str(site_dir / "site.yml"), "--mac", "001122334455"])
    assert unknown.exit_code == SITE_INVALID and "no phone with this MAC" in unknown.output


def test_validate_warns_about_experimental_models():
    result = runner.invoke(app, ["validate", str(CASES_DIR / "office" / "site.yml")])
    assert result.exit_code == 0, result.output
    assert "eltex-vp-15p is experimental" in result.output and "eltex-tau-2m-ip is experimental" in result.output
    quiet = runner.invoke(app, ["validate", str(CASES_DIR / "https-only" / "site.yml")])
    assert quiet.exit_code == 0 and "experimental" not in quiet.output
