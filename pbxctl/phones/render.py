"""Render every phone's and gateway's provisioning files for a site.

`render_phones` returns {relative file name: bytes}: the same site and secrets give the same bytes, always.
`write_phones` puts them under a directory (files 0640: they carry SIP secrets): a file whose bytes are already
there is left alone (a repeat compile of a thousand phones writes only what changed), and the files it wrote there
earlier (its manifest says which) for a device or model the site no longer has are removed. Anything else in the
directory (firmware images, files of other tools, a phone file some other tool put there) is never touched.
"""

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..load import paused_gc
from ..resources import phone_templates_dir
from ..secrets import Secrets
from ..site import Site
from ..site.catalogue import MODELS
from . import cisco, eltex, grandstream, manifest, panasonic, yealink
from .context import CA_FILE, check_devices, device_context, site_context

TEMPLATES = phone_templates_dir()  # package data: found the same in a checkout and in an installed wheel
VENDORS = {"cisco": cisco, "panasonic": panasonic, "eltex": eltex, "yealink": yealink, "grandstream": grandstream}


def _autoescape(name: str | None) -> bool:
    return bool(name) and (name.startswith("cisco/") or name.endswith(".xml.j2"))  # every Cisco file is XML


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    def getattr(self, obj, attribute):
        """`d.site.name` on the plain dicts the contexts are: the item at once. Jinja asks getattr() first, which
        on a dict fails (raising) for anything but dict's own methods, then the item: the same answer, without the
        exception, for the hundreds of lookups each phone's file makes."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@lru_cache(maxsize=4)
def environment(root: Path = TEMPLATES) -> Environment:
    """One environment per template root: Jinja keeps every compiled template in it, so render many, parse once."""
    env = _Environment(loader=FileSystemLoader(str(root)), undefined=StrictUndefined, autoescape=_autoescape,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False,
                       cache_size=-1)
    env.filters["pq"] = panasonic.value
    env.filters["yv"] = yealink.value
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
    if site.phones:
        files[CA_FILE] = shared["ca_cert"].encode()  # public: what phones are told to trust
    return dict(sorted(files.items()))


def tftp_names(site: Site) -> list[str]:
    """The files TFTP may serve: the model-level ones and the CA certificate, none with a credential in it."""
    names = {CA_FILE} if site.phones else set()
    for key in {phone.model for phone in site.phones}:
        model = MODELS[key]
        if model.vendor == "cisco":
            names.add(cisco.bootstrap_name(model))
        elif model.vendor == "panasonic":
            names.add(panasonic.model_name(model))
        elif model.vendor == "yealink":
            names.add(yealink.COMMON)
    return sorted(names)


MODE = 0o640


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)  # every file of the site, in the directory now
    changed: list[Path] = field(default_factory=list)  # written this time (new or different bytes, or wrong mode)
    removed: list[Path] = field(default_factory=list)  # ours, for devices or models the site no longer has
    rendered: dict[str, bytes] = field(default_factory=dict)  # relative name → the bytes each file holds now


def _existing(out_dir: Path) -> dict[str, os.stat_result]:
    """Relative name → stat of each regular file directly under out_dir and one level down (eltex/)."""
    found = {}
    stack = [("", out_dir)]
    while stack:
        prefix, directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not prefix:
                stack.append((entry.name + "/", Path(entry.path)))
            elif entry.is_file(follow_symlinks=False):
                found[prefix + entry.name] = entry.stat(follow_symlinks=False)
    return found


def _same(path: str, info: os.stat_result | None, data: bytes) -> bool:
    """Whether the file already holds these bytes with our mode: read once, only when the size says it may."""
    if info is None or info.st_size != len(data) or (info.st_mode & 0o7777) != MODE:
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def _write(path: str, data: bytes, made: set[str]) -> None:
    """Into a temporary name, then renamed: a reader never sees half a file. made: directories known to exist."""
    parent = os.path.dirname(path)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, MODE)  # whatever the umask
    os.replace(tmp, path)


def sync_phones(site: Site, secrets: Secrets, out_dir: Path) -> Written:
    """Make out_dir hold exactly the site's rendered files among the names pbxctl gives; report what moved."""
    with paused_gc():  # thousands of short-lived strings and dicts: see load.paused_gc
        return _sync(site, secrets, out_dir)


def _sync(site: Site, secrets: Secrets, out_dir: Path) -> Written:
    rendered = render_phones(site, secrets)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = _existing(out_dir)
    previous = manifest.read(out_dir)
    written = {name: manifest.digest(data) for name, data in rendered.items()}
    # recorded before writing: a run stopped half-way still knows every file it may have left
    manifest.write(out_dir, {**previous, **written})
    result = Written(rendered=rendered)
    base, made = str(out_dir), {str(out_dir)}
    for name, data in rendered.items():
        path = os.path.join(base, name)  # strings here: a Path per file costs more than the comparison
        if not _same(path, existing.get(name), data):
            _write(path, data, made)
            result.changed.append(Path(path))
        result.files.append(Path(path))
    for name in manifest.stale(out_dir, previous, set(rendered), set(existing)):
        (out_dir / name).unlink(missing_ok=True)
        result.removed.append(out_dir / name)
    manifest.write(out_dir, written)
    return result


def write_phones(site: Site, secrets: Secrets, out_dir: Path) -> list[Path]:
    """Every file of the site under out_dir (written only where the bytes differ); stale ones removed."""
    return sync_phones(site, secrets, out_dir).files
