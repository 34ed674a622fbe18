"""Vendor parameter-name lists committed under data/, expanded for numbered names."""

from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@cache
def names(list_file: str, numbers: int = 24) -> frozenset[str]:
    result = set()
    for line in (DATA / list_file).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{n}" in line:
            result.update(line.replace("{n}", str(n)) for n in range(1, numbers + 1))
        else:
            result.add(line)
    return frozenset(result)
