"""Cached root filesystems: bare Debian servers ("base" is sid, "base-bookworm"…) and sid with Asterisk for the
carrier.

debootstrap runs once per host; afterwards a machine's root is a tarball extraction away.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

from pbxctl.lab import layout, processes

# ping is the first thing anyone tries in a lab; the pbx stays bare of everything telephony.
EXTRA_BASE_PACKAGES = ("iputils-ping",)
CARRIER_PACKAGES = ("asterisk", "asterisk-modules")
NSPAWN_ENV = {"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}  # sid's systemd refuses the host's hybrid cgroups


def _recipe_tag(*parts: object) -> str:
    """Changing what goes into an image changes its file name, so a stale cache is never reused."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:10]


def image_suite(kind: str) -> str:
    """The Debian suite of an image kind: "base" and "carrier" are sid, "base-bookworm" is bookworm."""
    _, _, suite = kind.partition("-")
    suite = suite or layout.DEBIAN_SUITE
    if suite not in layout.SUITES:
        raise ValueError(f"unknown suite {suite!r} in image kind {kind!r} (known: {', '.join(layout.SUITES)})")
    return suite


def _base_tag(suite: str) -> str:
    return _recipe_tag(suite, layout.BASE_PACKAGES, EXTRA_BASE_PACKAGES)


def image_path(kind: str) -> Path:
    family = kind.partition("-")[0]
    suite = image_suite(kind)
    if family == "base":
        return layout.cache_dir() / f"base-{suite}-{_base_tag(suite)}.tar.zst"
    if family == "carrier" and suite == layout.DEBIAN_SUITE:
        tag = _recipe_tag(_base_tag(suite), CARRIER_PACKAGES, layout.PROXY_URL)
        return layout.cache_dir() / f"carrier-{suite}-{tag}.tar.zst"
    raise ValueError(f"unknown image kind {kind!r}")


def build_log(kind: str) -> Path:
    return layout.LOG_DIR / f"image-{kind}.log"


def ensure_image(kind: str) -> Path:
    path = image_path(kind)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # the image cache is shared by every lab instance on the host: two labs booting at once build an image once,
    # the second waiting for the first (which would otherwise delete the tree the first is building)
    with open(path.with_name(f"{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return path if path.exists() else _build_image(kind, path)


def _build_image(kind: str, path: Path) -> Path:
    build_log(kind).unlink(missing_ok=True)
    build_dir = path.with_name(f"build-{path.name.removesuffix('.tar.zst')}")  # one tree per image, not per kind
    remove_tree(build_dir)
    if kind.startswith("base"):
        _debootstrap(build_dir, image_suite(kind), build_log(kind))
    else:
        extract(ensure_image("base"), build_dir)
        _install_carrier_packages(build_dir)
    _pack(build_dir, path)
    remove_tree(build_dir)
    return path


def extract(image: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd", "-xpf", str(image),
         "-C", str(dest)],
        check=True,
    )


def _debootstrap(root: Path, suite: str, log: Path) -> None:
    root.parent.mkdir(parents=True, exist_ok=True)
    include = ",".join((*layout.BASE_PACKAGES, *EXTRA_BASE_PACKAGES))
    processes.run_logged(
        ["debootstrap", "--variant=minbase", f"--include={include}", suite, str(root), layout.DEBIAN_MIRROR],
        log, f"debootstrap of the {suite} base image",
    )
    _strip_apt_lists(root)


def _install_carrier_packages(root: Path) -> None:
    # The image is built offline from the services' point of view: nothing may start inside the chroot.
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    script = (
        # The mirror is a dated snapshot: its Release file is past Valid-Until.
        "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get -o Acquire::Check-Valid-Until=false update -q; "
        f"apt-get install -y -q --no-install-recommends {' '.join(CARRIER_PACKAGES)}"
    )
    processes.run_logged(
        ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--as-pid2", "-D", str(root), "sh", "-c", script],
        build_log("carrier"), "installing Asterisk into the carrier image", env={**_host_env(), **NSPAWN_ENV},
    )
    policy.unlink()
    _strip_apt_lists(root)
    # Booted carriers have no route out; later apt runs go through the lab proxy.
    (root / "etc/apt/apt.conf.d/80pbxlab-proxy").write_text(
        f'Acquire::http::Proxy "{layout.PROXY_URL}";\nAcquire::Check-Valid-Until "false";\n'
    )


def _strip_apt_lists(root: Path) -> None:
    """Package indexes and downloaded .debs only bloat the tarball; apt-get update restores the lists."""
    for cached in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for entry in (root / cached).glob("*"):
            if entry.is_file() and entry.name != "lock":
                entry.unlink()


def _pack(root: Path, image: Path) -> None:
    partial = image.with_suffix(".partial")
    subprocess.run(
        ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -T0", "-cf", str(partial),
         "-C", str(root), "."],
        check=True,
    )
    partial.rename(image)


def remove_tree(path: Path) -> None:
    """Remove a build or machine root, first unmounting anything a crashed debootstrap left mounted in it."""
    if not path.exists():
        return
    for mount_point in sorted(_mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount_point], check=False)
    shutil.rmtree(path)


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].encode().decode("unicode_escape") for line in mounts]
    return [point for point in points if point.startswith(prefix)]


def _host_env() -> dict[str, str]:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
