"""A problem found in a site file, located by its dotted path (and later by line)."""

from dataclasses import dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    @property
    def dotted(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text or "(file)"


class SiteInvalid(Exception):
    """Raised with every problem of a site, so all of them are shown at once."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.lines = problems
