"""The host needs a few Debian packages; install the missing ones so a fresh machine or CI can run the lab."""

from __future__ import annotations

import subprocess

from pbxctl.lab import layout, processes

HOST_PACKAGES = ("debootstrap", "systemd-container", "tinyproxy", "zstd")


def missing(packages: tuple[str, ...] = HOST_PACKAGES) -> list[str]:
    absent = []
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in status.stdout:
            absent.append(package)
    return absent


def ensure(packages: tuple[str, ...] = HOST_PACKAGES) -> None:
    absent = missing(packages)
    if not absent:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    log = layout.LOG_DIR / "host-packages.log"
    processes.run_logged(["apt-get", "update"], log, "apt-get update on the host", env=env)
    processes.run_logged(["apt-get", "install", "-y", "--no-install-recommends", *absent], log,
                         f"installing {' '.join(absent)} on the host", env=env)
