"""What `phones render` wrote into a directory, so that it removes only its own files.

The directory may be shared (the README suggests `-o /srv/tftp`): a file whose name looks like a phone file is not
pbxctl's for that. The manifest (a dotfile, which the provisioning role's find skips) names each file written there
with the SHA-256 of its bytes; a file is removed only when the site no longer renders it and it still holds exactly
what pbxctl wrote, so a file another tool or a person put or changed under the same name stays.
"""

import hashlib
import json
import os
from pathlib import Path

NAME = ".pbxctl-phones.json"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(out_dir: Path) -> dict[str, str]:
    """name → sha256 of what pbxctl last wrote there; {} when there is no manifest (nothing is ours)."""
    try:
        data = json.loads((out_dir / NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {name: sha for name, sha in files.items() if isinstance(name, str) and isinstance(sha, str)
            and _inside(name)}


def _inside(name: str) -> bool:
    # the manifest is input too: it never names a file outside the directory (string tests: one per file listed)
    parts = [part for part in name.split("/") if part and part != "."]
    return bool(parts) and not name.startswith("/") and ".." not in parts


def write(out_dir: Path, files: dict[str, str]) -> None:
    path = out_dir / NAME
    text = json.dumps({"written_by": "pbxctl phones render", "files": dict(sorted(files.items()))}, indent=0) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return  # a repeat run leaves the directory as it was, manifest included
    except OSError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def stale(out_dir: Path, previous: dict[str, str], rendered: set[str], existing: set[str]) -> list[str]:
    """Files pbxctl wrote earlier that the site no longer renders and nobody changed since, and temporary files
    its own interrupted writes left."""
    gone = []
    for name in sorted(set(previous) - rendered):
        if name not in existing:
            continue
        try:
            if digest((out_dir / name).read_bytes()) == previous[name]:
                gone.append(name)
        except OSError:
            continue
    gone += sorted(f"{name}.tmp" for name in set(previous) | rendered if f"{name}.tmp" in existing)
    return gone
