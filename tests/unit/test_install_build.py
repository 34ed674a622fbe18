"""pbx.install: the build's module set, cache key, package version and sources, and the role's install paths."""

import hashlib
import http.server
import subprocess
import threading
import typing
from pathlib import Path

import pytest
import yaml

from pbxctl.build import asterisk, modules
from pbxctl.resources import roles_dir
from pbxctl.site.pbx import Install

ROLE = roles_dir() / "asterisk"
ROOT_DIR = Path(__file__).resolve().parents[2]


def test_every_module_the_configuration_loads_is_built():
    rendered = modules.LOAD.findall(modules.render_all_features())
    assert rendered, "modules.conf.j2 rendered no load lines: the parser no longer matches the template"
    assert set(rendered) <= set(modules.wanted())
    # what the checker's private Asterisk loads on its own, and the core of every site
    assert {"pbx_config", "app_voicemail", "app_queue", "chan_pjsip", "res_pjsip", "codec_alaw"} <= set(
        modules.wanted())
    # optional features are built even when the example site leaves them off: turning one on needs no rebuild
    assert {"cdr_csv", "func_curl", "res_curl"} <= set(modules.wanted())


SITES = [*sorted((ROOT_DIR / "inventories").glob("*/site.yml")),
         *sorted((ROOT_DIR / "tests/lab/sites").glob("*/site.yml"))]


@pytest.mark.parametrize("site", SITES, ids=lambda path: path.parent.name)
def test_every_module_a_site_loads_is_in_the_built_package(site):
    # a site's own modules.conf, features and all: a module the package lacks fails that site's first start on
    # Debian 12/13 (parking and conferences were missing so, until the render turned every feature on)
    from pbxctl.compile import site_vars
    from pbxctl.load import load_site

    from .test_guard import render

    variables = site_vars(load_site(site))
    loaded = set(modules.LOAD.findall(render("asterisk/templates/etc/asterisk/modules.conf.j2", variables)))
    gsm = {t["driver"] for t in variables["asterisk__dongles"]}  # built apart, from the site's source
    assert loaded - gsm <= set(modules.wanted()), sorted(loaded - gsm - set(modules.wanted()))


def test_nothing_outside_the_configuration_is_built():
    # the channel drivers and interfaces modules.conf never loads stay out of the package (attack surface)
    for absent in ("chan_iax2", "chan_sip", "res_ari", "app_originate", "func_shell", "res_agi", "pbx_lua"):
        assert absent not in modules.wanted()


def test_cache_key_follows_the_recipe(monkeypatch, tmp_path):
    release = asterisk.release("22.10.1")
    before = asterisk.recipe_hash(release)
    monkeypatch.setattr(modules, "wanted", lambda: ["chan_pjsip"])
    assert asterisk.recipe_hash(release) != before, "a different module set must not reuse the cached package"
    monkeypatch.undo()
    script = tmp_path / "build-asterisk.sh"
    script.write_text(asterisk.SCRIPT.read_text() + "# changed\n")
    monkeypatch.setattr(asterisk, "SCRIPT", script)
    assert asterisk.recipe_hash(release) != before
    assert asterisk.output_dir(release, "bookworm", "amd64").name.startswith("22.10.1-bookworm-amd64-")


def test_built_package_outranks_debians_own():
    # apt must never replace the pinned build by a distribution package of the same release
    ours = asterisk.package_version(asterisk.release("22.10.1"), "bookworm")
    debian = "1:22.10.1+dfsg+~cs6.17.60671434-1"
    assert subprocess.run(["dpkg", "--compare-versions", ours, "gt", debian]).returncode == 0


def test_a_rebuild_of_the_same_release_is_another_package_version(monkeypatch):
    # a server with the previous build must get the new one: apt skips a .deb whose version is installed
    release = asterisk.release("22.10.1")
    before = asterisk.package_version(release, "bookworm")
    monkeypatch.setattr(asterisk.modules, "wanted", lambda: ["chan_pjsip"])
    assert asterisk.package_version(release, "bookworm") != before


def test_releases_come_from_debians_pool_with_checksums():
    for version, entry in yaml.safe_load(asterisk.RELEASES.read_text()).items():
        for part in ("tarball", "pjproject"):
            assert entry[part]["url"].startswith("http://deb.debian.org/debian/pool/main/a/asterisk/"), version
            assert len(entry[part]["sha256"]) == 64 and int(entry[part]["sha256"], 16) >= 0


def test_unknown_release_needs_its_sources():
    with pytest.raises(asterisk.BuildError, match="no known sources"):
        asterisk.release("99.0.0")


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Files(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_fetch_refuses_a_tarball_whose_checksum_differs(served, tmp_path, monkeypatch):
    root, base = served
    (root / "a.tar.xz").write_bytes(b"the real tarball")
    (root / "p.tar.xz").write_bytes(b"pjproject")
    monkeypatch.setattr(asterisk, "cache_root", lambda: tmp_path / "cache")
    good = asterisk.Source(f"{base}/a.tar.xz", hashlib.sha256(b"the real tarball").hexdigest())
    pj = asterisk.Source(f"{base}/p.tar.xz", hashlib.sha256(b"pjproject").hexdigest())
    directory = asterisk._fetch(asterisk.Release("1.0.0", good, pj))
    assert (directory / "asterisk.orig.tar.xz").read_bytes() == b"the real tarball"
    tampered = asterisk.Source(f"{base}/a.tar.xz", hashlib.sha256(b"another tarball").hexdigest())
    with pytest.raises(asterisk.BuildError, match="sha256"):
        asterisk._fetch(asterisk.Release("1.0.1", tampered, pj))
    assert not list((tmp_path / "cache").rglob("*.part")), "a rejected download must not stay in the cache"


def test_every_install_source_has_its_tasks():
    sources = typing.get_args(Install.model_fields["source"].annotation)
    for source in sources:
        assert (ROLE / "tasks" / f"install_{source}.yml").is_file(), source
    main = (ROLE / "tasks/main.yml").read_text()
    assert "install_{{ asterisk__install.source }}.yml" in main


def test_a_site_compiles_its_install(tmp_path):
    from pbxctl.compile.pbx import pbx_vars
    from pbxctl.load import load_site

    site = tmp_path / "site.yml"
    site.write_text("---\nsite:\n  name: built\npbx:\n  host: 192.0.2.10\n  install:\n    source: build\n"
                    "    version: 22.10.1\n")
    assert pbx_vars(load_site(site))["asterisk__install"] == {"source": "build", "version": "22.10.1"}
    site.write_text("---\nsite:\n  name: distro\npbx:\n  host: 192.0.2.10\n")
    assert pbx_vars(load_site(site))["asterisk__install"] == {"source": "distro", "version": None}
