"""Shared defaults of a site repository: a site names a defaults file (`extends:`) it is deep-merged over.

Mappings merge key by key, the site winning; a list or a scalar in the site replaces the defaults' whole value
(a site's extensions are its own, never appended to a shared list nobody can take items out of).
"""

EXTENDS_KEY = "extends"


def deep_merge(defaults: object, own: object) -> object:
    if isinstance(defaults, dict) and isinstance(own, dict):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = deep_merge(defaults[key], value) if key in defaults else value
        return merged
    return own


def origin(in_site: bool, in_defaults: bool) -> str:
    """Which file a problem at a path is told against: the site's when it has the path (it wins the merge),
    else the defaults' when only they have it, else the site's (a missing key is the site's to add)."""
    return "defaults" if in_defaults and not in_site else "site"
