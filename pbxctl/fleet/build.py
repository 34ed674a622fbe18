"""The fleet build: every site compiled as it would be alone (build/fleet-…/sites/<site>/), and around them one
Ansible project whose inventory holds every site's hosts.

    build/fleet-<id>/
      ansible.cfg, site.yml, playbooks/      the run `pbxctl apply` makes, as for one site
      inventory/hosts.yml                    pbx, provisioning, ups, router groups over all sites, plus one group
      inventory/group_vars/site_<name>/      per site holding its hosts; that group's vars are the site's own
      sites/<name>/                          each site's build (vars.yml, secrets.yml, phones/), runnable alone
      project -> .   env/                    ansible-runner's private data dir layout (AWX: project + inventory)

A site's variables are its group's, not `all`'s: two sites' asterisk__* never meet on one host.
"""

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..compile import Compiled, Overlay, compile_site
from ..compile.project import (
    DIR_MODE,
    SITE_PLAYBOOK,
    ansible_cfg,
    collections_requirements,
    execution_environment,
    link_to,
    write_if_changed,
)
from ..load import FastLoader, load_site
from ..problems import SiteInvalid
from ..resolve import pbx_address
from ..resources import playbooks_dir
from ..site import Site
from .links import FleetOverlay, link_problems, share_link_secrets

ROLE_GROUPS = ("pbx", "provisioning", "ups", "router")
ENVVARS = """\
---
# ansible-runner: the build's own ansible.cfg (in project/, runner's working directory) holds the settings
ANSIBLE_NOCOLOR: "1"
"""


def group_name(site_name: str) -> str:
    """The site's inventory group: Ansible group names take no '-'."""
    return "site_" + site_name.replace("-", "_")


@dataclass
class Fleet:
    out_dir: Path
    sites: list[Compiled]
    vault_password_file: Path | None
    hosts: dict[str, str] = field(default_factory=dict)  # inventory host → site name
    files: list[Path] = field(default_factory=list)

    def site_of(self, host: str) -> str:
        return self.hosts.get(host, "?")


def load_fleet(files: list[Path]) -> list[Site]:
    """Every site loaded and checked first: all problems of all sites at once, before anything is written."""
    sites, problems = [], []
    for file in files:
        try:
            sites.append(load_site(file))
        except SiteInvalid as error:
            problems += error.lines
    if not problems:
        problems += _clashes(files, sites) + link_problems(files, sites)
    if problems:
        raise SiteInvalid(problems)
    return sites


def _clashes(files: list[Path], sites: list[Site]) -> list[str]:
    problems, names, groups = [], {}, {}
    for file, site in zip(files, sites, strict=True):
        name = site.site.name
        if name in names:
            problems.append(f"{file}: site.name: '{name}' is also the name of {names[name]}; each site of a fleet "
                            "needs its own (it names its hosts and build)")
        elif group_name(name) in groups:
            problems.append(f"{file}: site.name: '{name}' and {groups[group_name(name)]}'s name make the same "
                            f"inventory group {group_name(name)}")
        names.setdefault(name, file)
        groups.setdefault(group_name(name), file)
    return problems


def fleet_id(sites: list[Site]) -> str:
    return hashlib.sha1(",".join(sorted(s.site.name for s in sites)).encode()).hexdigest()[:8]


def fleet_dir(sites: list[Site], suffix: str | None = None) -> Path:
    return Path("build") / (f"fleet-{fleet_id(sites)}" + (f"-{suffix}" if suffix else ""))


def compile_fleet(files: list[Path], vault_option: Path | None = None,
                  overlays: Callable[[int], list[Overlay]] | None = None, frozen: bool = False,
                  out_dir: Path | None = None) -> Fleet:
    """overlays(n): where each of the n sites runs instead (the lab: one machine per site), or None."""
    sites = load_fleet(files)
    placed = overlays(len(files)) if overlays else [None] * len(files)
    out = out_dir or fleet_dir(sites, placed[0].suffix if placed[0] else None)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, DIR_MODE)
    # each link's other end is where its site runs (the lab puts each site on a machine of its own)
    peers = {site.site.name: pbx_address(inner.site(site) if inner else site)
             for site, inner in zip(sites, placed, strict=True)}
    by_name = {site.site.name: site for site in sites}
    share_link_secrets(files, sites, vault_option, frozen)
    compiled = [compile_site(file, out / "sites" / site.site.name, vault_option, FleetOverlay(inner, peers, by_name),
                             frozen)
                for file, site, inner in zip(files, sites, placed, strict=True)]
    fleet = Fleet(out, compiled, compiled[0].vault_password_file)
    fleet.files = _write_inventory(fleet) + _write_project(out, fleet.vault_password_file)
    return fleet


def _write_inventory(fleet: Fleet) -> list[Path]:
    groups: dict = {name: {"hosts": {}} for name in ROLE_GROUPS}
    written = []
    for compiled in fleet.sites:
        name = compiled.site.site.name
        own = yaml.load((compiled.out_dir / "inventory.yml").read_text(encoding="utf-8"), Loader=FastLoader)
        members: dict = {}
        for role, group in own["all"]["children"].items():
            groups.setdefault(role, {"hosts": {}})["hosts"].update(group.get("hosts") or {})
            members.update({host: {} for host in group.get("hosts") or {}})
        groups[group_name(name)] = {"hosts": members}
        fleet.hosts.update({host: name for host in members})
        where = fleet.out_dir / "inventory" / "group_vars" / group_name(name)
        for kind in ("vars.yml", "secrets.yml"):
            link_to(where / kind, f"../../../sites/{name}/{kind}")
        # roles find the site's phone files (and doctor its answers) in the site's own build
        written.append(write_if_changed(where / "build.yml",
                              f'---\npbxctl_build_dir: "{{{{ inventory_dir }}}}/../sites/{name}"\n'))
    text = "---\n# Written by pbxctl: every site of the fleet; a site's own variables are its site_* group's\n"
    text += yaml.safe_dump({"all": {"children": groups}}, sort_keys=True, default_flow_style=False)
    return [write_if_changed(fleet.out_dir / "inventory" / "hosts.yml", text), *written]


def _write_project(out: Path, vault_password_file: Path | None) -> list[Path]:
    cfg = ansible_cfg(vault_password_file).replace("inventory = inventory.yml", "inventory = inventory")
    files = [write_if_changed(out / "ansible.cfg", cfg), write_if_changed(out / "site.yml", SITE_PLAYBOOK),
             write_if_changed(out / "collections" / "requirements.yml", collections_requirements()),
             write_if_changed(out / "execution-environment.yml", execution_environment()),
             write_if_changed(out / "env" / "envvars", ENVVARS)]
    files += [write_if_changed(out / "playbooks" / p.name, p.read_text(encoding="utf-8"))
              for p in sorted(playbooks_dir().glob("*.yml"))]
    link_to(out / "project", ".")  # ansible-runner runs in <private data dir>/project
    return files
