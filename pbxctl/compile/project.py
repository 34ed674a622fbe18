"""The build directory as a self-contained Ansible project.

`cd build/<site> && ansible-playbook site.yml` is the run `pbxctl apply` makes: ansible.cfg names the
installed roles and the inventory, the site's variables are inventory group_vars (not extra-vars), the
playbooks are copied in. The same directory is an ansible-runner private data dir (`project` leads back to
it, so runner's working directory holds ansible.cfg) and an AWX project (collections/requirements.yml,
execution-environment.yml for ansible-builder).
"""

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..resources import callback_plugins_dir, playbooks_dir, roles_dir

DIR_MODE, FILE_MODE = 0o700, 0o600
# where an execution environment (or a system-wide install) puts roles; Ansible's own default places
SYSTEM_ROLES = "/usr/share/ansible/roles:/etc/ansible/roles"
SITE_PLAYBOOK = """\
---
# `ansible-playbook site.yml` here is `pbxctl apply`: everything the site describes, in dependency order.
- name: Everything
  ansible.builtin.import_playbook: playbooks/site.yml
"""
ROLES_DIR_COMMAND = "python3 -c 'from pbxctl.resources import roles_dir; print(roles_dir())'"
# the collections the roles use beyond ansible.builtin (the `ansible` package from PyPI bundles them)
COLLECTIONS = {"community.routeros": "ansible_collections.community.routeros"}


def ansible_cfg(vault_password_file: Path | None) -> str:
    lines = [
        "# Written by pbxctl compile: the settings `pbxctl apply` runs with.",
        "[defaults]",
        "inventory = inventory.yml",
        f"roles_path = {roles_dir()}:{SYSTEM_ROLES}",
        f"callback_plugins = {callback_plugins_dir()}",
        "retry_files_enabled = False",
        "forks = 10",
        "localhost_warning = False",
        "interpreter_python = auto_silent",
        # roles' notices travel as set_stats data (pbxctl_notices): a plain ansible-playbook run prints them too
        "show_custom_stats = True",
    ]
    if vault_password_file:
        # a path Ansible reads exactly as --vault-password-file does (an executable one is run)
        lines.append(f"vault_password_file = {vault_password_file.resolve()}")
    lines += [
        "",
        "[ssh_connection]",
        # a module run is one SSH session on a kept connection: no copy of the module first, no new handshake
        # (a re-apply is a hundred module runs). No -C: what travels is mostly modules, zip files already, so
        # compressing again costs CPU on both ends for no bytes saved
        "pipelining = True",
        "ssh_args = -o ControlMaster=auto -o ControlPersist=300s",
        "",
    ]
    return "\n".join(lines)


def _collection_version(module: str) -> str | None:
    import json
    from importlib.util import find_spec

    spec = find_spec(module)
    if not spec or not spec.submodule_search_locations:
        return None
    manifest = Path(next(iter(spec.submodule_search_locations))) / "MANIFEST.json"
    try:
        return json.loads(manifest.read_text())["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def collections_requirements() -> str:
    lines = ["---", "# For AWX project sync and ansible-builder; pbxctl's own install has them from PyPI.",
             "collections:"]
    for name, module in COLLECTIONS.items():
        found = _collection_version(module)
        lines += [f"  - name: {name}"] + ([f"    version: \">={found}\""] if found else [])
    return "\n".join(lines) + "\n"


def _pbxctl_version() -> str:
    try:
        return version("pbxctl")
    except PackageNotFoundError:
        return "0"


def execution_environment() -> str:
    """ansible-builder (v3) definition of an image that runs this build in AWX."""
    return f"""\
---
# ansible-builder build -f execution-environment.yml -t pbxctl-ee  (then use the image in AWX)
version: 3
images:
  base_image:
    name: quay.io/fedora/python-311:latest
dependencies:
  ansible_core:
    package_pip: ansible-core>=2.16
  ansible_runner:
    package_pip: ansible-runner
  galaxy: collections/requirements.yml
  python:
    - pbxctl=={_pbxctl_version()}
additional_build_steps:
  append_final:
    # ansible.cfg also lists Ansible's default roles path; the installed roles are linked there
    - RUN mkdir -p /usr/share/ansible && ln -sfn "$({ROLES_DIR_COMMAND})" /usr/share/ansible/roles
"""


def write_if_changed(path: Path, text: str) -> Path:
    """Write only when different, so a repeat compile leaves modification times alone."""
    data = text.encode()
    try:
        if path.read_bytes() == data and (path.stat().st_mode & 0o777) == FILE_MODE:
            return path
    except OSError:
        pass
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, FILE_MODE)
    return path


def link_to(path: Path, target: str) -> None:
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_symlink() or path.exists():
        path.unlink()
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.symlink_to(target)


def write_project(out: Path, vault_password_file: Path | None) -> list[Path]:
    """The Ansible project files around a build's inventory.yml, vars.yml and secrets.yml."""
    files = [write_if_changed(out / "ansible.cfg", ansible_cfg(vault_password_file)),
             write_if_changed(out / "site.yml", SITE_PLAYBOOK)]
    for playbook in sorted(playbooks_dir().glob("*.yml")):
        files.append(write_if_changed(out / "playbooks" / playbook.name, playbook.read_text(encoding="utf-8")))
    # the site's variables as inventory group vars: the files stay where pbxctl and its users read them
    group_vars = out / "group_vars" / "all"
    link_to(group_vars / "vars.yml", "../../vars.yml")
    link_to(group_vars / "secrets.yml", "../../secrets.yml")
    # roles find the phones' files and doctor's answers here, wherever the build is copied to
    files.append(write_if_changed(group_vars / "build.yml", '---\npbxctl_build_dir: "{{ inventory_dir }}"\n'))
    link_to(out / "project", ".")  # ansible-runner runs in <private data dir>/project
    files.append(write_if_changed(out / "collections" / "requirements.yml", collections_requirements()))
    files.append(write_if_changed(out / "execution-environment.yml", execution_environment()))
    for directory in (out / "playbooks", out / "group_vars", group_vars, out / "collections"):
        os.chmod(directory, DIR_MODE)
    return files
