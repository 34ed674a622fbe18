"""Render every phone's and gateway's provisioning files for a site.

`render_phones` returns {relative file name: bytes}: the same site and secrets give the same bytes, always.
`write_phones` puts them under a directory (files 0640: they carry SIP secrets) and removes nothing else.
"""

import os
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..secrets import Secrets
from ..site import Site
from . import cisco, eltex, panasonic
from .context import check_devices, device_context, site_context
from .registry import MODELS

TEMPLATES = Path(__file__).resolve().parents[2] / "phone_templates"
VENDORS = {"cisco": cisco, "panasonic": panasonic, "eltex": eltex}


def _autoescape(name: str | None) -> bool:
    return bool(name) and (name.startswith("cisco/") or name.endswith(".xml.j2"))  # every Cisco file is XML


@lru_cache(maxsize=4)
def environment(root: Path = TEMPLATES) -> Environment:
    """One environment per template root: Jinja keeps every compiled template in it, so render many, parse once."""
    env = Environment(loader=FileSystemLoader(str(root)), undefined=StrictUndefined, autoescape=_autoescape,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False,
                      cache_size=-1)
    env.filters["pq"] = panasonic.value
    return env


def render_phones(site: Site, secrets: Secrets) -> dict[str, bytes]:
    check_devices(site, secrets)
    env = environment()
    shared = site_context(site, secrets)
    files: dict[str, bytes] = {}
    for phone in site.phones:
        model = MODELS[phone.model]
        files.update(VENDORS[model.vendor].device_files(env, device_context(shared, phone, secrets)))
    for key in sorted({phone.model for phone in site.phones}):
        model = MODELS[key]
        files.update(VENDORS[model.vendor].model_files(env, shared, model))
    return dict(sorted(files.items()))


def write_phones(site: Site, secrets: Secrets, out_dir: Path) -> list[Path]:
    rendered = render_phones(site, secrets)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in rendered.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o640)  # whatever the umask
        os.replace(tmp, path)
        written.append(path)
    return written
