"""The host needs a few Debian packages; install the missing ones so a fresh machine or CI can run the lab."""

from __future__ import annotations

import subprocess

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
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *absent], check=True, env=env)
