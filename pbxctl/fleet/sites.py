"""Which site files a command names: files, directories (their */site.yml) and globs, each once, in order."""

import glob
from pathlib import Path

from ..problems import SiteInvalid

SITE_FILE = "site.yml"
SKIPPED = {"build", "node_modules", "__pycache__"}  # never a site repository's own sites


def site_files(arguments: list[Path]) -> list[Path]:
    found: list[Path] = []
    problems = []
    for argument in arguments:
        text = str(argument)
        if argument.is_dir():
            own = argument / SITE_FILE
            matches = [own] if own.is_file() else _below(argument)
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
        else:
            matches = [argument] if argument.exists() else []
        if not matches:
            problems.append(f"{text}: no site file here (a site.yml, a directory holding site.yml files, or a glob)")
        for match in matches:
            if match.resolve() not in {f.resolve() for f in found}:
                found.append(match)
    if problems:
        raise SiteInvalid(problems)
    return found


def _below(directory: Path) -> list[Path]:
    """Every site file under a directory (a repository: sites/*/site.yml, customer/office/site.yml …), not in
    hidden directories or builds."""
    return sorted(path for path in directory.rglob(SITE_FILE)
                  if not any(part.startswith(".") or part in SKIPPED for part in path.relative_to(directory).parts))
