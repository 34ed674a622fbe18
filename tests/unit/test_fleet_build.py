"""A fleet build: one inventory over every site, each host seeing only its own site's variables."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pbxctl.cli import app
from pbxctl.fleet.build import compile_fleet
from pbxctl.fleet.run import limit_pattern, per_site
from pbxctl.fleet.sites import site_files
from pbxctl.problems import SiteInvalid, UserError
from pbxctl.run import RunResult

from .conftest import ROOT

BRANCHES = ("moscow", "spb", "surgut")


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the example fleet with the providers' passwords a real repository keeps in secrets.yml."""
    target = tmp_path / "fleet"
    shutil.copytree(ROOT / "inventories" / "example-fleet", target)
    for branch in BRANCHES:
        trunk = {"moscow": "msk-city", "spb": "spb-city", "surgut": "surgut-city"}[branch]
        extra = "  freephone:\n    password: pw-freephone-0123\n" if branch == "moscow" else ""
        (target / branch / "secrets.yml").write_text(f"trunks:\n  {trunk}:\n    password: pw-{branch}-0123\n{extra}")
    return target


def _inventory(out: Path) -> dict:
    ansible_inventory = str(Path(sys.executable).parent / "ansible-inventory")
    listed = subprocess.run([ansible_inventory, "--list"], cwd=out, capture_output=True, text=True, check=True,
                            env={"ANSIBLE_CONFIG": str(out / "ansible.cfg"), "PATH": "/usr/bin:/bin"})
    return json.loads(listed.stdout)


def test_directories_globs_and_files_name_each_site_once(repo):
    files = site_files([repo, repo / "spb" / "site.yml", Path(f"{repo}/*/site.yml")])
    assert [f.parent.name for f in files] == list(BRANCHES)
    with pytest.raises(SiteInvalid, match="no site file here"):
        site_files([repo / "nowhere"])


def test_each_host_gets_its_own_sites_variables(repo, tmp_path):
    fleet = compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    listed = _inventory(tmp_path / "build")
    hostvars = listed["_meta"]["hostvars"]
    assert sorted(listed["pbx"]["hosts"]) == ["fleet-moscow-pbx", "fleet-spb-pbx", "fleet-surgut-pbx"]
    assert listed["site_fleet_spb"]["hosts"] == ["fleet-spb-pbx"]
    spb = hostvars["fleet-spb-pbx"]
    assert spb["ansible_host"] == "10.20.0.5"
    assert [e["number"] for e in spb["asterisk__extensions"]] == ["301", "302", "303"]
    assert spb["pbxctl_build_dir"].endswith("/sites/fleet-spb")  # its phones and doctor files, not another's
    assert hostvars["fleet-moscow-pbx"]["asterisk__extensions"][0]["number"] == "201"
    assert spb["asterisk__timezone"] == "Europe/Moscow"  # from the shared defaults
    assert fleet.site_of("fleet-surgut-pbx") == "fleet-surgut"
    # the same directory is an ansible-runner private data dir
    assert (tmp_path / "build" / "project" / "site.yml").is_file()
    assert (tmp_path / "build" / "env" / "envvars").is_file()


def test_two_sites_of_one_name_are_refused(repo, tmp_path):
    text = (repo / "surgut" / "site.yml").read_text().replace("name: fleet-surgut", "name: fleet-spb")
    (repo / "surgut" / "site.yml").write_text(text)
    with pytest.raises(SiteInvalid, match="'fleet-spb' is also the name of"):
        compile_fleet(site_files([repo]), out_dir=tmp_path / "build")


def test_problems_of_every_site_come_at_once(repo, runner):
    for branch in ("spb", "surgut"):
        path = repo / branch / "site.yml"
        path.write_text(path.read_text().replace("extension:", "extensoin:"))
    result = runner.invoke(app, ["validate", str(repo)])
    assert result.exit_code == 3
    assert "spb/site.yml:" in result.output and "surgut/site.yml:" in result.output


def test_limit_names_sites_and_the_summary_is_per_site(repo, tmp_path):
    fleet = compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    assert limit_pattern(fleet, ["fleet-spb"]) == "site_fleet_spb"
    with pytest.raises(UserError, match="not a site of this fleet"):
        limit_pattern(fleet, ["spb-pbx"])
    result = RunResult(returncode=2, seconds=1.0, stats={
        "fleet-spb-pbx": {"ok": 5, "changed": 1, "failures": 1}, "fleet-moscow-pbx": {"ok": 6, "changed": 2}})
    summary = per_site(fleet, result, ["fleet-spb", "fleet-moscow"])
    assert summary["fleet-spb"]["state"] == "failed"
    assert summary["fleet-moscow"] == {"ok": 6, "changed": 2, "failed": 0, "unreachable": 0,
                                       "hosts": ["fleet-moscow-pbx"], "state": "ok"}
    assert summary["fleet-surgut"]["state"] == "skipped"


def test_one_site_file_is_still_run_alone(runner):
    result = runner.invoke(app, ["validate", str(ROOT / "inventories" / "example-office" / "site.yml")])
    assert result.exit_code == 0 and "sites valid" not in result.output


def test_a_link_gets_its_other_ends_address_and_one_password_for_both_ends(repo, tmp_path):
    from pbxctl.secrets import read_secrets

    compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    hostvars = _inventory(tmp_path / "build")["_meta"]["hostvars"]
    links = {link["site"]: link for link in hostvars["fleet-moscow-pbx"]["asterisk__links"]}
    assert (links["fleet-spb"]["host"], links["fleet-spb"]["patterns"]) == ("10.20.0.5", ["_3XX"])
    assert hostvars["fleet-spb-pbx"]["asterisk__links"][0]["host"] == "10.10.0.5"
    moscow = read_secrets(repo / "moscow" / "secrets.yml", None).get("links", "fleet-spb", "password")
    assert moscow and moscow == read_secrets(repo / "spb" / "secrets.yml", None).get("links", "fleet-moscow",
                                                                                     "password")
    assert hostvars["fleet-spb-pbx"]["asterisk__link_secrets"] == {"fleet-moscow": moscow}


def test_a_link_host_that_is_not_the_other_sites_pbx_is_refused(repo, tmp_path):
    path = repo / "spb" / "site.yml"
    path.write_text(path.read_text().replace("{site: fleet-moscow,", "{site: fleet-moscow, host: 10.99.0.1,"))
    with pytest.raises(SiteInvalid, match="'10.99.0.1' is not fleet-moscow's PBX"):
        compile_fleet(site_files([repo]), out_dir=tmp_path / "build")


def test_a_site_alone_needs_its_links_host_and_password(repo, tmp_path):
    from pbxctl.compile import compile_site

    with pytest.raises(SiteInvalid, match="links: fleet-moscow: no host"):
        compile_site(repo / "spb" / "site.yml", tmp_path / "alone")
