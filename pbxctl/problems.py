"""A problem found in a site file, located by its dotted path (and later by line)."""

from dataclasses import dataclass

from .exit_codes import SITE_INVALID, TASK_FAILED

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


class UserError(Exception):
    """Something the user can fix (a site, a secret, an argument): shown as one red line each at the CLI's
    boundary, without a traceback, and exit_code is the command's exit status."""

    exit_code = SITE_INVALID

    def __init__(self, lines: list[str], exit_code: int | None = None):
        super().__init__("\n".join(lines))
        self.lines = lines
        if exit_code is not None:
            self.exit_code = exit_code


class SiteInvalid(UserError):
    """Raised with every problem of a site, so all of them are shown at once."""


class ActionFailed(UserError):
    """An action ran and did not get there (a router import refused, a lab that can't run, calls that failed):
    shown like any user error, with the exit code of a failed task."""

    exit_code = TASK_FAILED
