"""Each vendor's reference data: every parameter pbxctl writes, what it means, its value format, and where the
vendor (or a public provisioning system that real devices use) documents it.

phone_templates/<vendor>/reference.yml holds it. `problems` holds a rendered file against it: a name the
reference lacks or a value outside its format is a problem, so a template can't drift from what the device
documents without a test failing.
"""

import gzip
import io
import re
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache

import yaml

from ..resources import phone_templates_dir

CHECKED = {"source", "manual", "unverified"}  # read in a cited public source here / cited from a manual / neither


@dataclass(frozen=True)
class Parameter:
    name: str  # as in the file; {n} stands for a line, key or handset number
    meaning: str
    value: re.Pattern[str]
    source: str
    checked: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.name).replace(r"\{n\}", "[1-9][0-9]*") + "$")


def _format(spec, formats: dict) -> re.Pattern[str]:
    if isinstance(spec, str) and spec in formats:
        spec = formats[spec]
    if isinstance(spec, str):
        return re.compile(spec)
    if "enum" in spec:
        return re.compile("^(" + "|".join(re.escape(str(v)) for v in spec["enum"]) + ")$")
    if "range" in spec:
        low, high = spec["range"]
        return re.compile("^(" + "|".join(str(v) for v in range(low, high + 1)) + ")$")
    return re.compile(spec["regex"])


@cache
def reference(vendor: str) -> dict[str, Parameter]:
    data = yaml.safe_load((phone_templates_dir() / vendor / "reference.yml").read_text(encoding="utf-8"))
    formats, sources = data.get("formats", {}), data["sources"]
    params = {}
    for name, entry in data["parameters"].items():
        cited = []
        for part in entry["source"].split(";"):  # "key section; key section", keys from sources
            key, _, section = part.strip().partition(" ")
            for one in key.split("/"):
                if one not in sources:
                    raise ValueError(f"{vendor} reference: {name}: unknown source '{one}'")
                cited.append(sources[one] + (f", {section}" if section else ""))
        if entry.get("checked", "manual") not in CHECKED:
            raise ValueError(f"{vendor} reference: {name}: checked is one of {sorted(CHECKED)}")
        params[name] = Parameter(name, entry["meaning"], _format(entry["format"], formats), "; ".join(cited),
                                 entry.get("checked", "manual"))
    return params


def lookup(vendor: str, name: str) -> Parameter | None:
    params = reference(vendor)
    if name in params:
        return params[name]
    return next((p for p in params.values() if "{n}" in p.name and p.pattern.match(name)), None)


# --- (name, value) pairs of a rendered file, read the way each vendor's device reads it ---

def _xml_pairs(data: bytes) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []

    def walk(element, prefix):
        for child in element:
            path = prefix + child.tag
            if len(child):
                walk(child, path + "/")
            else:
                pairs.append((path, child.text or ""))
    walk(ET.fromstring(data), "")
    return pairs


def _line_pairs(text: str, separator: str, quoted: bool) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.partition(separator)
        name, value = name.strip(), value.strip()
        if quoted:
            value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else "\0unquoted"
        pairs.append((name, value))
    return pairs


def _archive_text(data: bytes) -> str:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        return "".join(tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile())


def pairs(vendor: str, data: bytes) -> list[tuple[str, str]]:
    if vendor in ("cisco", "grandstream"):
        return _xml_pairs(data)
    if vendor == "panasonic":
        return _line_pairs(data.decode("utf-8"), "=", quoted=True)
    if vendor == "yealink":
        return _line_pairs(data.decode("utf-8"), "=", quoted=False)
    if vendor == "eltex":
        return _line_pairs(_archive_text(data), "=", quoted=False)
    raise KeyError(vendor)


def problems(vendor: str, data: bytes) -> list[str]:
    """Every name the reference lacks and every value outside its documented format."""
    found = []
    for name, value in pairs(vendor, data):
        param = lookup(vendor, name)
        if param is None:
            found.append(f"{name}: not in phone_templates/{vendor}/reference.yml")
        elif not param.value.match(value):
            found.append(f"{name}: {value!r} does not fit its format {param.value.pattern}")
    return found
