"""Shared helpers for the unit tests: paths, a CLI runner and a scratch copy of a site."""

import io
import shutil
import tarfile
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


# the contact centre's GSM driver source is the user's to fetch (never in git: inventories/*/vendor/ is ignored);
# validating the example needs a file there, so the tests put a stand-in tarball in its place for their session
STAND_IN = ROOT / "inventories" / "example-contact-centre" / "vendor" / "chan_quectel.tar.gz"


def write_stand_in_source(path: Path) -> Path:
    """A .tar.gz of one folder with a README: enough for validate, and a build of it fails plainly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = b"stand-in for the chan_quectel source in pbxctl's unit tests; not a driver\n"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("chan_quectel/README.stand-in")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    return path


@pytest.fixture(autouse=True, scope="session")
def _gsm_source_stand_in():
    created = not STAND_IN.exists()
    if created:
        write_stand_in_source(STAND_IN)
    yield
    if created:
        STAND_IN.unlink(missing_ok=True)
        for folder in (STAND_IN.parent,):
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()


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
    vendor = ROOT / "inventories" / name / "vendor"  # the GSM driver sources the site names, if any
    if vendor.is_dir():
        shutil.copytree(vendor, target / "vendor")
    return target / "site.yml"


def write_site(directory: Path, text: str, name: str = "site.yml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
