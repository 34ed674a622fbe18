"""The wheel, installed outside the checkout, works from any directory: it carries its playbooks, roles and
phone templates, and a build it writes is an Ansible project that finds them."""

import json
import stat
import zipfile
from pathlib import Path

import pytest
import yaml
from installed import SMALL_SITE, Installed


@pytest.fixture
def site_dir(tmp_path) -> Path:
    (tmp_path / "site.yml").write_text(SMALL_SITE.format(name="wheel-office"))
    return tmp_path


def test_wheel_carries_the_data_files(installed: Installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for expected in ("pbxctl/playbooks/site.yml", "pbxctl/roles/asterisk/tasks/main.yml",
                     "pbxctl/roles/asterisk/meta/argument_specs.yml", "pbxctl/phone_templates/cisco/spa.xml.j2",
                     "pbxctl/ansible_plugins/callback/pbxctl_events.py", "pbxctl/site.schema.json",
                     "pbxctl/run.schema.json", "pbxctl/security/premium_prefixes.yml",
                     # `source: build`: the releases it knows, the build scripts and the GSM driver's fixes
                     "pbxctl/build/releases.yml", "pbxctl/build/build-asterisk.sh", "pbxctl/build/build-gsm.sh",
                     "pbxctl/build/apply-patches.sh",
                     "pbxctl/build/patches/chan_quectel/0001-enum2str_def-bounds-check.patch"):
        assert expected in names, expected
    assert not [n for n in names if "__pycache__" in n]


def test_a_site_built_from_source_validates_from_a_temporary_directory(installed: Installed, site_dir: Path):
    """validate reads the known releases from the installed package, not from a checkout."""
    site = site_dir / "site.yml"
    site.write_text(site.read_text().replace("pbx:\n", "pbx:\n  install: {source: build, version: 22.10.1}\n", 1))
    run = installed.run("pbxctl", "validate", "site.yml", cwd=site_dir)
    assert run.returncode == 0 and "valid" in run.stdout, run.stdout + run.stderr


def test_validate_compile_render_from_a_temporary_directory(installed: Installed, site_dir: Path):
    run = installed.run("pbxctl", "validate", "site.yml", cwd=site_dir)
    assert run.returncode == 0 and "valid" in run.stdout, run.stdout + run.stderr
    run = installed.run("pbxctl", "compile", "site.yml", cwd=site_dir)
    assert run.returncode == 0, run.stdout + run.stderr
    build = site_dir / "build" / "wheel-office"
    config = (build / "ansible.cfg").read_text()
    roles = next(line.split(" = ", 1)[1] for line in config.splitlines() if line.startswith("roles_path"))
    assert roles.split(":")[0].startswith(str(installed.venv)), "the installed roles, not the checkout's"
    assert Path(roles.split(":")[0], "asterisk", "tasks", "main.yml").is_file()
    assert stat.S_IMODE(build.stat().st_mode) == 0o700
    assert stat.S_IMODE((build / "secrets.yml").stat().st_mode) == 0o600
    # the variables are the inventory's group vars, and the build knows where it is
    group_vars = yaml.safe_load((build / "group_vars" / "all" / "vars.yml").read_text())
    assert group_vars["security__site_name"] == "wheel-office"
    assert "pbxctl_build_dir" in (build / "group_vars" / "all" / "build.yml").read_text()
    run = installed.run("pbxctl", "phones", "render", "site.yml", "-o", "tftp", cwd=site_dir)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (site_dir / "tftp" / "spa000e08d10001.xml").is_file()
    assert (site_dir / "tftp" / "spa303.cfg").is_file()


def test_the_build_is_an_ansible_project(installed: Installed, site_dir: Path):
    installed.run("pbxctl", "compile", "site.yml", cwd=site_dir)
    build = site_dir / "build" / "wheel-office"
    # `cd build/<site> && ansible-playbook site.yml` finds the inventory, the roles and every playbook
    run = installed.run("ansible-playbook", "--syntax-check", "site.yml", cwd=build)
    assert run.returncode == 0, run.stdout + run.stderr
    run = installed.run("ansible-inventory", "--host", "wheel-office-pbx", cwd=build)
    assert run.returncode == 0, run.stderr
    host = json.loads(run.stdout)
    assert host["security__site_name"] == "wheel-office" and host["ansible_host"] == "192.0.2.10"
    assert "asterisk__extension_secrets" in host, "secrets.yml is a group_vars file too"
    # ansible-runner's private data dir: project/ holds the playbooks and ansible.cfg
    assert (build / "project" / "site.yml").is_file() and (build / "project" / "ansible.cfg").is_file()
    requirements = yaml.safe_load((build / "collections" / "requirements.yml").read_text())
    assert {c["name"] for c in requirements["collections"]} == {"community.routeros"}
    assert yaml.safe_load((build / "execution-environment.yml").read_text())["version"] == 3


def test_version_module_and_a_missing_playbook(installed: Installed, site_dir: Path):
    run = installed.run("pbxctl", "--version", cwd=site_dir)
    assert run.returncode == 0 and run.stdout.startswith("pbxctl 0.")
    run = installed.run(str(installed.bin / "python"), "-m", "pbxctl", "--version", cwd=site_dir)
    assert run.returncode == 0 and run.stdout.startswith("pbxctl 0.")
