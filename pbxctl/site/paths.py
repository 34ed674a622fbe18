"""Directories a site names on the PBX: pbxctl chowns them to Asterisk and deletes old files in them as root,
so a path that is (or holds) part of the system, or Asterisk's own data, is refused before anything runs."""

from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator

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
