"""Data cases: tests/phones/cases/<case>/{site.yml, secrets.yml, expected/}."""

from functools import cache
from pathlib import Path

from pbxctl.load import load_site
from pbxctl.phones.render import render_phones
from pbxctl.secrets import read_secrets

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "site.yml").is_file())


@cache
def render_case(case: str) -> dict[str, bytes]:
    directory = CASES_DIR / case
    site = load_site(directory / "site.yml")
    return render_phones(site, read_secrets(directory / "secrets.yml", None))


def all_files(suffix: str = "") -> list[tuple[str, str, bytes]]:
    return [(case, name, data) for case in CASES for name, data in render_case(case).items()
            if name.endswith(suffix)]
