"""Secrets in CI: vault password scripts as Ansible runs them, frozen secrets, the plain-text warning, private
build files."""

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import is_encrypted

from pbxctl.cli import app
from pbxctl.compile import compile_site, secrets_path

from .conftest import copy_example, write_site
from .test_compile import set_external_secrets

SMALL = """\
site:
  name: small
pbx:
  host: 192.0.2.10
extensions:
  - number: "100"
    name: Anna
"""


def ansible_vault_view(path: Path, password_file: Path) -> str:
    """What Ansible itself decrypts the file to, with the same password file."""
    tool = Path(sys.executable).parent / "ansible-vault"
    run = subprocess.run([str(tool), "view", "--vault-password-file", str(password_file), str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_an_executable_vault_password_file_is_run_as_ansible_runs_it(tmp_path):
    site = write_site(tmp_path, SMALL)
    script = tmp_path / "vault-pass.sh"
    script.write_text("#!/bin/sh\necho 'printed by a script'\n")
    script.chmod(0o700)
    compiled = compile_site(site, tmp_path / "out", script)
    assert is_encrypted(secrets_path(site).read_bytes())
    plain = yaml.safe_load(ansible_vault_view(secrets_path(site), script))
    assert len(plain["extensions"]["100"]["password"]) >= 32
    role = yaml.safe_load(ansible_vault_view(compiled.out_dir / "secrets.yml", script))
    assert role["asterisk__extension_secrets"]["100"]["password"] == plain["extensions"]["100"]["password"]
    # the build's ansible.cfg names the same script, so plain ansible-playbook decrypts too
    assert f"vault_password_file = {script.resolve()}" in (compiled.out_dir / "ansible.cfg").read_text()
    # a second compile decrypts with the script's output and keeps the secrets
    compile_site(site, tmp_path / "again", script)
    assert yaml.safe_load(ansible_vault_view(secrets_path(site), script)) == plain


def test_a_failing_vault_script_is_a_user_error(tmp_path, runner):
    site = write_site(tmp_path, SMALL)
    script = tmp_path / "vault-pass.sh"
    script.write_text("#!/bin/sh\necho 'no password here' >&2\nexit 3\n")
    script.chmod(0o700)
    result = runner.invoke(app, ["compile", str(site), "--vault-password-file", str(script)])
    assert result.exit_code == 3, result.output
    assert "cannot read the vault password" in result.stderr and "Traceback" not in result.output
    assert not secrets_path(site).exists()


def test_frozen_secrets_refuse_to_generate_and_name_what_is_missing(tmp_path, runner, monkeypatch):
    site = write_site(tmp_path, SMALL)
    monkeypatch.setenv("CI", "true")
    result = runner.invoke(app, ["compile", str(site), "-o", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert f"{secrets_path(site)}: extensions.100.password: missing; secrets are frozen" in result.stderr
    assert "extensions.100.voicemail_pin: missing" in result.stderr
    assert not secrets_path(site).exists() and not (tmp_path / "out").exists()
    # generated where secrets.yml is kept, then CI compiles without generating anything
    result = runner.invoke(app, ["compile", str(site), "-o", str(tmp_path / "out"), "--generate-secrets"])
    assert result.exit_code == 0, result.output
    before = secrets_path(site).read_bytes()
    result = runner.invoke(app, ["compile", str(site), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert secrets_path(site).read_bytes() == before
    # a new extension needs a new password: named, not invented
    site.write_text(SMALL + '  - number: "101"\n    name: Ben\n')
    result = runner.invoke(app, ["compile", str(site), "--frozen-secrets", "-o", str(tmp_path / "out")])
    assert result.exit_code == 3 and "extensions.101.password: missing" in result.stderr
    assert "extensions.100" not in result.stderr
    assert secrets_path(site).read_bytes() == before


def test_plain_text_secrets_are_warned_about(tmp_path, runner):
    site = write_site(tmp_path, SMALL)
    result = runner.invoke(app, ["compile", str(site), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert f"warning: {secrets_path(site)} is plain text" in result.stderr
    vault = tmp_path / "pass"
    vault.write_text("a vault password\n")
    result = runner.invoke(app, ["compile", str(site), "-o", str(tmp_path / "out"), "--vault-password-file",
                                 str(vault)])
    assert result.exit_code == 0 and "plain text" not in result.stderr


@pytest.mark.parametrize("example", ["example-office"])
def test_the_build_is_private(example, tmp_path, runner):
    site = copy_example(example, tmp_path)
    set_external_secrets(runner, site)
    compiled = compile_site(site, tmp_path / "out")
    for path in [compiled.out_dir, *compiled.out_dir.rglob("*")]:
        if path.is_symlink() or "phones" in path.relative_to(compiled.out_dir).parts:
            continue  # links carry no mode; phone files are the renderer's (0640, served by the role)
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
