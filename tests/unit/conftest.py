"""Shared helpers for the unit tests: paths, a CLI runner and a scratch copy of a site."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
BAD_SITES = ROOT / "tests" / "bad_sites"
EXAMPLES = sorted(ROOT.glob("inventories/*/site.yml"))

MINIMAL = """\
site:
  name: tiny
pbx:
  host: 192.0.2.10
"""


@pytest.fixture(autouse=True)
def _no_vault_from_environment(monkeypatch):
    # a developer's own vault settings must not change what the tests see
    monkeypatch.delenv("PBXCTL_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("CI", raising=False)  # CI=true freezes secrets; tests that want that set it themselves


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def copy_example(name: str, into: Path) -> Path:
    """A scratch copy of an example site, without the developer's secrets.yml."""
    target = into / name
    target.mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / name / "site.yml", target / "site.yml")
    return target / "site.yml"


def write_site(directory: Path, text: str, name: str = "site.yml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
