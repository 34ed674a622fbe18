"""Asterisk built once per (version, suite, architecture, recipe) into a Debian package, on the control node.

The build runs in a throwaway root of the target suite (the lab's cached base image) under systemd-nspawn, never
on a PBX; its .deb lands in ~/.cache/pbxctl/asterisk/<version>-<suite>-<arch>-<recipe>/ and is reused by every
later apply. The recipe hash covers the script, the module set and the sources, so changing any rebuilds.
A GSM channel driver the site names the source of (pbx.install.gsm_sources) is compiled in the same root right
after Asterisk, against that tree's headers, into a package of its own (build-gsm.sh); its source's hash is part
of the recipe.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from pbxctl.build import modules
from pbxctl.lab import layout, processes, rootfs
from pbxctl.site import gsm

HERE = Path(__file__).parent
SCRIPT = HERE / "build-asterisk.sh"
GSM_SCRIPT = HERE / "build-gsm.sh"
# fixes applied to a GSM driver's source before it is built (patches/<driver>/*.patch, in name order)
GSM_PATCHES = HERE / "patches"
PATCH_SCRIPT = HERE / "apply-patches.sh"
# the Debian package each GSM driver is built into (build-gsm.sh names it the same)
GSM_PACKAGES = {"chan_quectel": "asterisk-chan-quectel"}
RELEASES = HERE / "releases.yml"
PACKAGE_REVISION = "pbxctl1"  # bumped when the packaging (not Asterisk) changes


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Source:
    url: str
    sha256: str


@dataclass(frozen=True)
class GsmSource:
    """A GSM channel driver's source tree on the control node: a directory, or a .tar.gz/.tar.xz of one."""

    driver: str
    path: Path
    sha256: str  # of the tarball, or of the directory's files (pbxctl.site.gsm.tree_sha256)


@dataclass(frozen=True)
class Release:
    version: str
    tarball: Source
    pjproject: Source
    gsm: tuple[GsmSource, ...] = ()


def releases() -> dict[str, Release]:
    data = yaml.safe_load(RELEASES.read_text())
    return {version: Release(version, Source(**entry["tarball"]), Source(**entry["pjproject"]))
            for version, entry in data.items()}


def release(version: str, tarball: Source | None = None, pjproject: Source | None = None,
            gsm: tuple[GsmSource, ...] = ()) -> Release:
    known = releases().get(version)
    if known is None and not (tarball and pjproject):
        raise BuildError(f"Asterisk {version} has no known sources (known: {', '.join(releases())}); give its "
                         "tarball and pjproject component as URL=SHA256")
    return Release(version, tarball or known.tarball, pjproject or known.pjproject,
                   tuple(sorted(gsm, key=lambda g: g.driver)))


def site_release(install, site_dir: Path) -> Release:
    """The release a site's pbx.install asks for, with the GSM drivers whose source it names beside the site file."""
    return release(install.version, gsm=tuple(gsm_source(driver, site_dir / src.path, src.sha256)
                                              for driver, src in install.gsm_sources.items()))


def gsm_source(driver: str, path: str | Path, sha256: str | None = None) -> GsmSource:
    """The driver's source as found now, checked against sha256 when one is given."""
    if driver not in GSM_PACKAGES:
        raise BuildError(f"no build recipe for the GSM driver {driver!r} (known: {', '.join(GSM_PACKAGES)})")
    path = Path(path).resolve()
    digest = gsm.source_sha256(path)
    if digest is None:
        raise BuildError(f"{driver} source {path}: not a directory or a {' / '.join(gsm.ARCHIVES)} file")
    if sha256 and digest != sha256.lower():
        raise BuildError(f"{driver} source {path}: sha256 {digest}, expected {sha256}")
    return GsmSource(driver, path, digest)


def cache_root() -> Path:
    return layout.cache_dir().parent / "asterisk"


def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def recipe_hash(rel: Release) -> str:
    # a GSM source counts by its driver and content, not by where it lies on this control node
    # (written out as a Release without GSM drivers reads, so the key of a build without them is what it was)
    base = f"Release(version={rel.version!r}, tarball={rel.tarball!r}, pjproject={rel.pjproject!r})"
    parts = [SCRIPT.read_bytes(), "\n".join(modules.wanted()).encode(), base.encode(), PACKAGE_REVISION.encode()]
    if rel.gsm:
        parts += [GSM_SCRIPT.read_bytes(), *(f"{g.driver}={g.sha256}".encode() for g in rel.gsm)]
        parts += [PATCH_SCRIPT.read_bytes()]
        parts += [p.name.encode() + b"\0" + p.read_bytes() for g in rel.gsm for p in gsm_patches(g.driver)]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:10]


def gsm_patches(driver: str) -> list[Path]:
    return sorted((GSM_PATCHES / driver).glob("*.patch"))


def package_version(rel: Release, suite: str) -> str:
    # the epoch puts it above Debian's own 1:22.x packages of the same release, so apt never swaps it back; the
    # recipe makes a rebuild (a pbxctl that loads another module) a new version, so a server running the
    # previous build of the same release gets it, through the checked upgrade, instead of apt seeing it installed
    return f"2:{rel.version}-{PACKAGE_REVISION}+{recipe_hash(rel)}~{suite}"


def gsm_package_version(rel: Release, suite: str, source: GsmSource) -> str:
    # Asterisk's package version plus the source's hash: a changed driver source is a new package version
    return f"{package_version(rel, suite)}+{source.driver.replace('_', '')}.{source.sha256[:10]}"


def output_dir(rel: Release, suite: str, arch: str) -> Path:
    return cache_root() / f"{rel.version}-{suite}-{arch}-{recipe_hash(rel)}"


def built(rel: Release, suite: str, arch: str) -> Path | None:
    out = output_dir(rel, suite, arch)
    return out if (out / "manifest.json").exists() else None


def ensure_built(rel: Release, suite: str, log=print) -> Path:
    """The directory holding the release's .deb for suite, building it first if the cache has none."""
    arch = host_arch()
    if suite not in layout.SUITES:
        raise BuildError(f"cannot build for {suite!r}: the lab has images of {', '.join(layout.SUITES)} only")
    done = built(rel, suite, arch)
    if done:
        return done
    out = output_dir(rel, suite, arch)
    out.parent.mkdir(parents=True, exist_ok=True)
    # two runs wanting the same package (a test and `pbxctl build`) build it once: the second waits, then reuses it
    with open(out.with_name(out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return built(rel, suite, arch) or _build(rel, suite, arch, out, log)


def _build(rel: Release, suite: str, arch: str, out: Path, log) -> Path:
    started = time.monotonic()
    sources = _fetch(rel)
    root = cache_root() / f"root-{out.name}"
    partial = out.with_name(out.name + ".partial")
    rootfs.remove_tree(root)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    recipe = partial / "recipe"
    recipe.mkdir()
    shutil.copy(SCRIPT, recipe / "build-asterisk.sh")
    (recipe / "modules.txt").write_text("\n".join(modules.wanted()) + "\n")
    log(f"building Asterisk {rel.version} for {suite}/{arch} in {root} (log: {partial / 'build.log'})")
    try:
        rootfs.extract(rootfs.ensure_image(f"base-{suite}"), root)
        processes.run_logged(
            ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--as-pid2", "-D", str(root),
             f"--bind-ro={sources}:/src", f"--bind-ro={recipe}:/recipe", f"--bind={partial}:/out",
             f"--setenv=VERSION={rel.version}", f"--setenv=PKG_VERSION={package_version(rel, suite)}",
             "sh", "/recipe/build-asterisk.sh"],
            partial / "build.log", f"building Asterisk {rel.version} for {suite}",
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **rootfs.NSPAWN_ENV},
        )
        for source in rel.gsm:
            _build_gsm(rel, suite, source, root, recipe, partial, log)
    finally:
        rootfs.remove_tree(root)
    # Asterisk's own package first (debs[0]), the GSM drivers' after it
    debs = sorted((p.name for p in partial.glob("*.deb")), key=lambda name: (not name.startswith("asterisk_"), name))
    if not debs:
        raise BuildError(f"the build left no package (see {partial / 'build.log'})")
    manifest = {"version": rel.version, "package_version": package_version(rel, suite), "suite": suite,
                "arch": arch, "debs": debs, "recipe": recipe_hash(rel),
                "modules": (partial / "modules-built.txt").read_text().split(),
                "gsm": {g.driver: {"package": GSM_PACKAGES[g.driver], "sha256": g.sha256,
                                   "version": gsm_package_version(rel, suite, g),
                                   "deb": _deb_of(debs, GSM_PACKAGES[g.driver])} for g in rel.gsm},
                "build_seconds": round(time.monotonic() - started)}
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out


def _build_gsm(rel: Release, suite: str, source: GsmSource, root: Path, recipe: Path, partial: Path, log) -> None:
    """The driver, compiled in the root Asterisk was just built in (its /build tree is still there)."""
    shutil.copy(GSM_SCRIPT, recipe / "build-gsm.sh")
    shutil.copy(PATCH_SCRIPT, recipe / "apply-patches.sh")
    patches = recipe / "patches" / source.driver
    patches.mkdir(parents=True, exist_ok=True)
    for patch in gsm_patches(source.driver):
        shutil.copy(patch, patches / patch.name)
    # only the source itself is shown to the build: a tarball's folder may hold anything else
    inside = "/gsm" if source.path.is_dir() else f"/gsm/{source.path.name}"
    log_file = partial / f"build-{source.driver}.log"
    log(f"building {source.driver} against Asterisk {rel.version} (log: {log_file})")
    processes.run_logged(
        ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--as-pid2", "-D", str(root),
         f"--bind-ro={source.path}:{inside}", f"--bind-ro={recipe}:/recipe", f"--bind={partial}:/out",
         f"--setenv=DRIVER={source.driver}", f"--setenv=VERSION={rel.version}",
         f"--setenv=PKG_VERSION={package_version(rel, suite)}",
         f"--setenv=GSM_PKG_VERSION={gsm_package_version(rel, suite, source)}",
         "sh", "/recipe/build-gsm.sh"],
        log_file, f"building {source.driver} for Asterisk {rel.version} on {suite}",
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **rootfs.NSPAWN_ENV},
    )


def _deb_of(debs: list[str], package: str) -> str:
    found = [d for d in debs if d.startswith(package + "_")]
    if not found:
        raise BuildError(f"the build left no {package} package")
    return found[0]


def _fetch(rel: Release) -> Path:
    """The release's tarballs, checked against their sha256, under the names the recipe expects."""
    directory = cache_root() / "sources" / rel.tarball.sha256[:16]
    directory.mkdir(parents=True, exist_ok=True)
    for name, source in (("asterisk.orig.tar.xz", rel.tarball), ("pjproject.tar.xz", rel.pjproject)):
        target = directory / name
        if target.exists() and gsm.file_sha256(target) == source.sha256:
            continue
        partial = target.with_suffix(".part")
        proxy = os.environ.get("PBXCTL_BUILD_PROXY")  # the lab's proxy, where the control node has no route out
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy} if proxy else {}))
        with opener.open(source.url, timeout=60) as response, open(partial, "wb") as handle:
            shutil.copyfileobj(response, handle)
        digest = gsm.file_sha256(partial)
        if digest != source.sha256:
            partial.unlink()
            raise BuildError(f"{source.url}: sha256 {digest}, expected {source.sha256}")
        partial.rename(target)
    return directory

