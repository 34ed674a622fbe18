"""GSM modem drivers: where their source comes from, and what a site with GSM trunks must say for them to load.

Neither chan_quectel nor chan_dongle is packaged by Debian (any suite), Ubuntu, PyPI or npm, so pbxctl builds the
driver with its own Asterisk (pbx.install.source: build) from a source tree the site names beside the site file
(pbx.install.gsm_sources). A GSM trunk without that would be configured and never load: refused instead.
"""

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from ..problems import Problem
from .base import Model
from .paths import RepoPath

# where a driver's source is published, for the messages that ask for it
HOMES = {
    "chan_quectel": "https://github.com/RoEdAl/asterisk-chan-quectel",
    "chan_dongle": "https://github.com/wdoekes/asterisk-chan-dongle",
}
# the drivers pbxctl has a build recipe for (pbxctl/build/build-gsm.sh)
BUILDABLE = ("chan_quectel",)
ARCHIVES = (".tar.gz", ".tgz", ".tar.xz")


class GsmSource(Model):
    path: RepoPath = Field(description="the driver's source tree beside the site file: a directory, or a .tar.gz / "
                           ".tar.xz of one (e.g. `git archive` of its repository)")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$",
                               description="the tarball's sha256 (a directory: pbxctl's hash of its files); the "
                               "build refuses any other source")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(directory: Path) -> str:
    """A directory's content hash: each file's relative path, its x bit and bytes (a checkout's .git aside)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if ".git" not in p.relative_to(directory).parts):
        if path.is_file() and not path.is_symlink():
            digest.update(str(path.relative_to(directory)).encode() + b"\0")
            digest.update(b"x" if os.access(path, os.X_OK) else b"-")
            digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def source_sha256(path: Path) -> str | None:
    """The source's hash, or None when path is neither a directory nor a tarball."""
    if path.is_dir():
        return tree_sha256(path)
    if path.is_file() and path.name.endswith(ARCHIVES):
        return file_sha256(path)
    return None


def _no_source_message(driver: str) -> str:
    return (f"{driver} is packaged by no distribution (Debian, Ubuntu), nor by PyPI or npm: pbxctl builds it with "
            f"Asterisk from its source. Set pbx.install.source: build and pbx.install.gsm_sources.{driver}.path to "
            f"a directory or .tar.gz beside the site file (from {HOMES[driver]}, e.g. `git archive --format=tar.gz "
            f"--prefix={driver}/ HEAD > {driver}.tar.gz`)")


def gsm_problems(site) -> Iterator[Problem]:
    """A GSM trunk whose driver would not be there, and sources nothing uses."""
    install = site.pbx.install
    drivers = set()
    for index, trunk in enumerate(site.trunks):
        if trunk.type != "gsm_dongle":
            continue
        drivers.add(trunk.driver)
        if trunk.driver not in BUILDABLE:
            yield Problem(("trunks", index, "driver"),
                          f"{trunk.driver} is packaged by no distribution and pbxctl cannot build it yet (its "
                          f"build is not proven against Asterisk 22): use driver: chan_quectel (Quectel and SIMCom "
                          "modules)")
        elif install.source != "build":
            yield Problem(("trunks", index, "driver"), _no_source_message(trunk.driver) + "; with source: "
                          f"{install.source} the trunk would be configured and its driver never loaded")
        elif trunk.driver not in install.gsm_sources:
            yield Problem(("trunks", index, "driver"), _no_source_message(trunk.driver))
    for driver in install.gsm_sources:
        if driver not in BUILDABLE:
            yield Problem(("pbx", "install", "gsm_sources", driver),
                          f"pbxctl has no build recipe for {driver} yet: use chan_quectel")
        elif driver not in drivers:
            yield Problem(("pbx", "install", "gsm_sources", driver),
                          f"no gsm_dongle trunk uses {driver}: remove it, or add the trunk")


def gsm_source_problems(site, site_dir: Path) -> Iterator[Problem]:
    """Sources that are not there beside the site file, or not the ones their sha256 names."""
    for driver, source in site.pbx.install.gsm_sources.items():
        where = ("pbx", "install", "gsm_sources", driver, "path")
        digest = source_sha256(site_dir / source.path)
        if digest is None:
            yield Problem(where, f"'{source.path}' is not a directory or a {' / '.join(ARCHIVES)} file in the "
                                 f"site's directory (paths are relative to the site file); get {driver} from "
                                 f"{HOMES[driver]}")
        elif source.sha256 and digest != source.sha256:
            yield Problem(("pbx", "install", "gsm_sources", driver, "sha256"),
                          f"'{source.path}' has sha256 {digest}, not {source.sha256}: not the source the site names")
