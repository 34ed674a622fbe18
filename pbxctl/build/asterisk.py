"""Asterisk built once per (version, suite, architecture, recipe) into a Debian package, on the control node.

The build runs in a throwaway root of the target suite (the lab's cached base image) under systemd-nspawn, never
on a PBX; its .deb lands in ~/.cache/pbxctl/asterisk/<version>-<suite>-<arch>-<recipe>/ and is reused by every
later apply. The recipe hash covers the script, the module set and the sources, so changing any rebuilds.
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

HERE = Path(__file__).parent
SCRIPT = HERE / "build-asterisk.sh"
RELEASES = HERE / "releases.yml"
PACKAGE_REVISION = "pbxctl1"  # bumped when the packaging (not Asterisk) changes


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Source:
    url: str
    sha256: str


@dataclass(frozen=True)
class Release:
    version: str
    tarball: Source
    pjproject: Source


def releases() -> dict[str, Release]:
    data = yaml.safe_load(RELEASES.read_text())
    return {version: Release(version, Source(**entry["tarball"]), Source(**entry["pjproject"]))
            for version, entry in data.items()}


def release(version: str, tarball: Source | None = None, pjproject: Source | None = None) -> Release:
    known = releases().get(version)
    if known is None and not (tarball and pjproject):
        raise BuildError(f"Asterisk {version} has no known sources (known: {', '.join(releases())}); give its "
                         "tarball and pjproject component as URL=SHA256")
    return Release(version, tarball or known.tarball, pjproject or known.pjproject)


def cache_root() -> Path:
    return layout.cache_dir().parent / "asterisk"


def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def recipe_hash(rel: Release) -> str:
    parts = [SCRIPT.read_bytes(), "\n".join(modules.wanted()).encode(), repr(rel).encode(), PACKAGE_REVISION.encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:10]


def package_version(rel: Release, suite: str) -> str:
    # the epoch puts it above Debian's own 1:22.x packages of the same release, so apt never swaps it back; the
    # recipe makes a rebuild (a pbxctl that loads another module) a new version, so a server running the
    # previous build of the same release gets it, through the checked upgrade, instead of apt seeing it installed
    return f"2:{rel.version}-{PACKAGE_REVISION}+{recipe_hash(rel)}~{suite}"


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
    finally:
        rootfs.remove_tree(root)
    debs = sorted(p.name for p in partial.glob("*.deb"))
    if not debs:
        raise BuildError(f"the build left no package (see {partial / 'build.log'})")
    manifest = {"version": rel.version, "package_version": package_version(rel, suite), "suite": suite,
                "arch": arch, "debs": debs, "recipe": recipe_hash(rel),
                "modules": (partial / "modules-built.txt").read_text().split(),
                "build_seconds": round(time.monotonic() - started)}
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out


def _fetch(rel: Release) -> Path:
    """The release's tarballs, checked against their sha256, under the names the recipe expects."""
    directory = cache_root() / "sources" / rel.tarball.sha256[:16]
    directory.mkdir(parents=True, exist_ok=True)
    for name, source in (("asterisk.orig.tar.xz", rel.tarball), ("pjproject.tar.xz", rel.pjproject)):
        target = directory / name
        if target.exists() and _sha256(target) == source.sha256:
            continue
        partial = target.with_suffix(".part")
        proxy = os.environ.get("PBXCTL_BUILD_PROXY")  # the lab's proxy, where the control node has no route out
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy} if proxy else {}))
        with opener.open(source.url, timeout=60) as response, open(partial, "wb") as handle:
            shutil.copyfileobj(response, handle)
        digest = _sha256(partial)
        if digest != source.sha256:
            partial.unlink()
            raise BuildError(f"{source.url}: sha256 {digest}, expected {source.sha256}")
        partial.rename(target)
    return directory


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
