"""Site model → build/<site>/: inventory.yml, vars.yml, secrets.yml and the phones' files."""

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..load import FastDumper, load_site, paused_gc
from ..phones.render import sync_phones
from ..problems import SiteInvalid
from ..secrets import Secrets, fill_generated, missing_external, read_secrets, seal, vault_password_file, write_secrets
from ..site import Site
from . import contracts
from .continuity import backup_vars
from .frozen import refuse
from .inventory import inventory
from .links import link_cas, link_secrets, link_vars
from .overlay import Overlay
from .pbx import pbx_vars
from .project import write_project
from .secret_vars import role_secrets
from .services import phone_file_vars, provisioning_vars, router_vars, security_vars, ups_vars
from .standby import standby_secrets, standby_vars

__all__ = ["Compiled", "Overlay", "compile_site", "load_with_secrets", "site_vars"]


@dataclass
class Compiled:
    site: Site
    out_dir: Path
    files: list[Path]
    vault_password_file: Path | None
    previous_vars: str | None = None  # the text of the build's vars.yml before this compile (plan's routing diff)


def site_vars(site: Site) -> dict:
    """Every role's variables (vars.yml): each role's own prefix, values others own copied in."""
    return {
        **pbx_vars(site),
        **provisioning_vars(site),
        **router_vars(site),
        **ups_vars(site),
        **security_vars(site),
        **backup_vars(site),
        **asterisk_copies(site),
        **link_vars(site),
        **standby_vars(site),
    }


def asterisk_copies(site: Site) -> dict:
    """The asterisk role's own copies of values other roles own (each role reads only its own prefix)."""
    sec = security_vars(site)
    return {
        "asterisk__language": site.site.language,
        "asterisk__timezone": site.site.timezone,
        "asterisk__apt_proxy": str(site.site.apt_proxy) if site.site.apt_proxy else None,
        # an office pair: SIP and RTP on the virtual address only, registrations on the active node only
        "asterisk__standby_address": str(site.standby.virtual_address) if site.standby else None,
        **{f"asterisk__{key}": sec[f"security__{key}"] for key in (
            "max_outbound_calls", "international_hours", "alerts", "blocked_prefixes", "sip_allowed_networks")},
    }


def secrets_path(site_file: Path) -> Path:
    return site_file.parent / "secrets.yml"


def load_with_secrets(site_file: Path, vault_option: Path | None = None, overlay: Overlay | None = None,
                      frozen: bool = False) -> tuple[Site, Secrets, Path | None]:
    """Load and check the site, create missing generated secrets (saved at once), refuse missing external ones.
    overlay: where the site runs instead (the lab). frozen: generate nothing; name what is missing instead."""
    site = load_site(site_file)
    if overlay:
        site = overlay.site(site)
    password_file = vault_password_file(vault_option)
    path = secrets_path(site_file)
    secrets = read_secrets(path, password_file)
    before = copy.deepcopy(secrets.data) if frozen else {}
    fill_generated(site, secrets)
    used, missing = secrets, missing_external(site, secrets)
    if overlay:
        used, missing = overlay.secrets(site, secrets, missing)
    added = secrets.added > 0
    if frozen and added:
        refuse(path, site_file, before, secrets.data)
    if missing:
        raise SiteInvalid([f"{path}: {key}: missing; add it (or run `pbxctl secrets set {site_file} {key}`)"
                           for key in missing])
    if added or (password_file and not secrets.encrypted):
        # a plain secrets.yml (say, from `secrets set` without a vault password) is encrypted once one is given
        write_secrets(path, secrets, password_file)
    return site, used, password_file


def _dump(path: Path, data: dict, mode: int = 0o600) -> Path:
    text = "---\n" + yaml.dump(data, Dumper=FastDumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                               width=1000)
    return _write(path, text.encode("utf-8"), mode)


# What a YAML reader would not take back as it is inside a double-quoted string (a JSON string is one): characters
# outside YAML's printable set, and the ones YAML folds as line breaks (NEL, LS, PS). Written as \uXXXX instead.
_NOT_YAML = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def role_vars_text(data: dict) -> str:
    """vars.yml and secrets.yml as JSON, which is YAML: Ansible reads a vars file with json.loads before its YAML
    parser, and any YAML reader gets the same values. PyYAML's Python representer took most of a 1,000-phone
    compile; the json module writes the same data twenty times faster. Sorted, one value a line: it still diffs."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    return _NOT_YAML.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _write(path: Path, data: bytes, mode: int) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


def compile_site(site_file: Path, out_dir: Path | None = None, vault_option: Path | None = None,
                 overlay: Overlay | None = None, frozen: bool = False) -> Compiled:
    with paused_gc():
        return _compile_site(site_file, out_dir, vault_option, overlay, frozen)


def _site_files(site: Site, site_dir: Path) -> dict:
    """Where files the site repo ships (IVR prompts, the router's CA) are, on the control node."""
    found = {"asterisk__site_dir": str(site_dir)}
    if site.router and site.router.ca_file:
        found["routeros__ca_path"] = str(site_dir / site.router.ca_file)
    return found


def _previous_vars(path: Path) -> str | None:
    """What the build held before, read only when plan asks (a fleet compiles many sites; most never need it)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def build_dir(site_name: str, suffix: str | None = None) -> Path:
    """Where a site compiles by default: build/<site>, or build/<site>-<suffix> for a retargeted run."""
    return Path("build") / (site_name + (f"-{suffix}" if suffix else ""))


def _compile_site(site_file: Path, out_dir: Path | None, vault_option: Path | None,
                  overlay: Overlay | None, frozen: bool) -> Compiled:
    site, secrets, password_file = load_with_secrets(site_file, vault_option, overlay, frozen)
    out = out_dir or build_dir(site.site.name, overlay.suffix if overlay else None)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # the build holds the site's secrets and the vault password's path
    phones = sync_phones(site, secrets, out / "phones")
    shipped = phone_file_vars(site, phones.rendered)  # the role ships exactly what was rendered
    # files the site repo ships (IVR prompts) are found beside the site file
    plain = {**site_vars(site), **_site_files(site, site_file.resolve().parent),
             **link_cas(site, secrets, site_file.resolve().parent), **shipped.plain}
    secret = {**role_secrets(site, secrets), **link_secrets(site, secrets),
              **standby_secrets(site, secrets), **shipped.secret}
    contracts.check({**plain, **secret})  # what each role is given is what its contract declares
    previous = _previous_vars(out / "vars.yml")
    files = [
        _dump(out / "inventory.yml", inventory(site, overlay.pbx_host_vars() if overlay else {})),
        _write(out / "vars.yml", role_vars_text(plain).encode("utf-8"), 0o600),
    ]
    secret_text = role_vars_text(secret).encode("utf-8")
    # encrypted before it is written: the role's secrets never reach the disk in the clear when a vault is in use
    files.append(_write(out / "secrets.yml", seal(secret_text, password_file) if password_file else secret_text,
                        0o600))
    files += phones.files
    files += write_project(out, password_file)
    return Compiled(site, out, files, password_file, previous)
