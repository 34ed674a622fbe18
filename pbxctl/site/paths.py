"""Paths a site names.

On the PBX (recording.path): pbxctl chowns the directory to Asterisk and deletes old files in it as root, so a path
that is (or holds) part of the system, or Asterisk's own data, is refused before anything runs.
In the site repository (IVR prompt files, router.ca_file, router.known_hosts): read on the control node and, for
prompts, copied to the PBX, so each is a relative path that stays inside the repository, and it must exist.
"""

from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import AfterValidator

from .base import SipToken

# never to be handed over or cleaned: the system, and where Asterisk keeps what no retention may delete
PROTECTED = tuple(PurePosixPath(p) for p in (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin",
    "/sys", "/usr", "/var/lib/asterisk", "/var/lib/dpkg", "/var/lib/apt", "/var/log", "/var/cache",
    "/var/spool/asterisk/voicemail", "/var/spool/asterisk/outgoing", "/var/spool/asterisk/tmp",
    "/var/spool/asterisk/pbxctl-cdr",
))


def _check_data_directory(value: str) -> str:
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or "//" in value:
        raise ValueError(f"'{value}' is not an absolute path without '..'")
    for protected in PROTECTED:
        if path == protected or protected in path.parents:
            raise ValueError(f"'{value}' is inside {protected}: pbxctl would hand it to Asterisk and delete old "
                             "files there; choose a directory of its own, e.g. /var/spool/asterisk/monitor or "
                             "/srv/recordings")
        if path in protected.parents:
            raise ValueError(f"'{value}' holds {protected}: pbxctl would hand it to Asterisk and delete old files "
                             "in all of it; choose a directory of its own, e.g. /srv/recordings")
    if len(path.parts) < 3:  # /srv, /home, /mnt, /var, /tmp …: a directory shared with everything else
        raise ValueError(f"'{value}' is a top-level directory; choose one of its own below it, e.g. {value}/recordings"
                         if value != "/" else "'/' is the whole system; choose a directory of its own")
    return str(path)


DataDirectory = Annotated[str, AfterValidator(_check_data_directory)]


# a prompt ending in one of these is a file of the site repository shipped to the PBX; otherwise a sound name
SOUND_SUFFIXES = (".wav", ".gsm", ".sln", ".sln16", ".ulaw", ".alaw", ".g722", ".g729", ".ogg")


def is_sound_file(prompt: str) -> bool:
    return prompt.lower().endswith(SOUND_SUFFIXES)


def _check_repo_path(value: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"'{value}' is not a path inside the site's directory: write it relative to the site file, "
                         "without '..'")
    return value


def _check_prompt(value: str) -> str:
    # a sound name is a path under Asterisk's sounds directory: '..' or '/' at the start would leave it
    return _check_repo_path(value) if is_sound_file(value) or value.startswith("/") or ".." in value else value


RepoPath = Annotated[str, AfterValidator(_check_repo_path)]
Prompt = Annotated[SipToken, AfterValidator(_check_prompt)]


def repo_files(site) -> list[tuple[tuple, str]]:
    """(path in the site file, relative file name) of every file the site names in its repository."""
    found = [(("ivrs", index, "prompt"), ivr.prompt) for index, ivr in enumerate(site.ivrs)
             if is_sound_file(ivr.prompt)]
    if site.recording.announcement and is_sound_file(site.recording.announcement):
        found.append((("recording", "announcement"), site.recording.announcement))
    if site.pbx.tls:
        found += [(("pbx", "tls", key), getattr(site.pbx.tls, key)) for key in ("certificate", "key")
                  if getattr(site.pbx.tls, key)]
    found += [(("links", index, "ca"), link.ca) for index, link in enumerate(site.links) if link.ca]
    if site.router:
        found += [(("router", key), getattr(site.router, key)) for key in ("ca_file", "known_hosts")
                  if getattr(site.router, key)]
    return found


def missing_repo_files(site, site_dir: Path) -> list[tuple[tuple, str]]:
    """(path, message) for each named file that is not there, and prompts that would land on one another."""
    problems = []
    shipped: dict[str, str] = {}
    for path, name in repo_files(site):
        if not (site_dir / name).is_file():
            problems.append((path, f"'{name}' is not a file in the site's directory (paths are relative to the "
                                   "site file)"))
        if path[0] in ("ivrs", "recording"):  # the sounds share one directory on the PBX
            base = PurePosixPath(name).name
            if base in shipped and shipped[base] != name:
                problems.append((path, f"'{name}' and '{shipped[base]}' would both be shipped as {base}: rename one"))
            shipped.setdefault(base, name)
    return problems
