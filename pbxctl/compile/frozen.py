"""Frozen secrets: a run that must not invent secrets (CI) names the ones it would have generated.

A secret generated on a CI worker is written to a secrets.yml that is thrown away with the workspace, so the
next run would generate another and every phone and trunk would change its password.
"""

from pathlib import Path

from ..problems import SiteInvalid


def new_keys(before: dict, after: dict, prefix: str = "") -> list[str]:
    """Dotted keys present (with a value) in after but not in before."""
    found = []
    for key, value in after.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            found += new_keys(before.get(key) if isinstance(before.get(key), dict) else {}, value, dotted + ".")
        elif value and not before.get(key):
            found.append(dotted)
    return found


def refuse(path: Path, site_file: Path, before: dict, after: dict) -> None:
    hint = (f"secrets are frozen (--frozen-secrets, the default under CI=true): generate them where {path.name} "
            f"is kept (`pbxctl compile {site_file} --generate-secrets`) and commit it")
    keys = new_keys(before, after)
    lines = [f"{path}: {key}: missing; {hint}" for key in keys]
    raise SiteInvalid(lines or [f"{path}: out of date (a secret pbxctl no longer uses would be removed); {hint}"])
