"""The router's SSH path checks host keys: a real sshd (the lab PBX standing in for the router's) with a key
nobody recorded is refused before any password is sent; with its key in the site's known_hosts, the connection
goes on to log in."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pbxctl.router_ssh import ImportFailed, import_over_ssh
from pbxctl.site import Site

pytestmark = pytest.mark.lab


def router_site(address: str, known_hosts: str) -> Site:
    return Site.model_validate({
        "site": {"name": "router-ssh"}, "pbx": {"host": "192.0.2.10"},
        "router": {"host": address, "username": "pbxctl-probe", "upload_kbps": 1000,
                   "download_kbps": 1000, "known_hosts": known_hosts},
    })


def test_an_unknown_host_key_is_refused(lab, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/known_hosts of the developer's to fall back on
    (tmp_path / "known_hosts").write_text("")
    with pytest.raises(ImportFailed, match="(?i)not found in known_hosts|host key"):
        import_over_ssh(router_site(lab["pbx"].address, "known_hosts"), "wrong", "x\n", site_dir=tmp_path)


def test_a_recorded_host_key_lets_the_login_go_on(lab, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    keys = subprocess.run(["ssh-keyscan", "-t", "ed25519,rsa,ecdsa", lab["pbx"].address], capture_output=True,
                          text=True, timeout=30).stdout
    assert keys.strip(), "ssh-keyscan found no key"
    (tmp_path / "known_hosts").write_text(keys)
    with pytest.raises(ImportFailed) as refused:
        import_over_ssh(router_site(lab["pbx"].address, "known_hosts"), "wrong", "x\n", site_dir=tmp_path)
    assert "known_hosts" not in str(refused.value) and "host key" not in str(refused.value).lower()
    assert "auth" in str(refused.value).lower()
