"""Where pbxctl's shipped files are: playbooks, roles, phone templates, its Ansible plugins.

They are package data, found through importlib.resources, so an installed wheel finds them wherever it lives.
In a checkout, pbxctl/playbooks, pbxctl/roles and pbxctl/phone_templates are symlinks to the repository's
top-level directories (the layout Ansible users expect); the wheel holds real copies.
"""

from importlib.resources import files
from pathlib import Path


def _directory(*parts: str) -> Path:
    # Ansible and Jinja read real files: the package must be unpacked on disk (pip always installs it so)
    path = Path(str(files("pbxctl").joinpath(*parts)))
    if not path.is_dir():
        raise FileNotFoundError(f"pbxctl is installed without its {'/'.join(parts)} directory ({path})")
    return path


def playbooks_dir() -> Path:
    return _directory("playbooks")


def roles_dir() -> Path:
    return _directory("roles")


def phone_templates_dir() -> Path:
    return _directory("phone_templates")


def callback_plugins_dir() -> Path:
    return _directory("ansible_plugins", "callback")
