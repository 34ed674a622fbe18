"""A scratch copy of the example office whose router is the API double, compiled for ansible-playbook."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from pbxctl.compile import Compiled, compile_site
from pbxctl.load import load_site
from pbxctl.secrets import Secrets, missing_external, write_secrets

from .api_server import RouterOSApiServer
from .fixtures import PASSWORD, USERNAME

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("add", "set", "remove", "move", "enable", "disable", "unset")


def office_site(tmp_path: Path, server: RouterOSApiServer, name: str = "example-office") -> Path:
    """inventories/<name> copied with its router pointed at the double and every external secret given."""
    site_dir = tmp_path / name
    site_dir.mkdir(parents=True)
    site_file = site_dir / "site.yml"
    shutil.copy(ROOT / "inventories" / name / "site.yml", site_file)
    edit_site(site_file, lambda data: data["router"].update(host=server.host, api_port=server.port,
                                                            username=USERNAME, tls=False))
    secrets = Secrets()
    for key in missing_external(load_site(site_file), secrets):
        section, item, field = key.split(".")
        value = PASSWORD if key == "router.api.password" else "given-" + item
        secrets.section(section).setdefault(item, {})[field] = value
    write_secrets(site_dir / "secrets.yml", secrets, None)
    return site_file


def edit_site(site_file: Path, change) -> None:
    data = yaml.safe_load(site_file.read_text())
    change(data)
    site_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def compiled(site_file: Path) -> Compiled:
    return compile_site(site_file, site_file.parent / "build")


def writes(server: RouterOSApiServer) -> list[str]:
    return [c for c in server.commands() if c.rsplit("/", 1)[1] in WRITES]


def owned(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in rows if r.get("comment", "").startswith("pbxctl:")]
