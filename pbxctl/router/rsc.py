"""The router configuration as a RouterOS script (.rsc), from the same description the role applies.

Importing it removes every entry pbxctl added before (comment starting "pbxctl:") and adds the current
ones, so entries dropped from the site go too; the user's entries are never named. `parse_adds` reads
the `add` lines back (tests compare them with what the API path leaves on the router).
"""

import re
import shlex

from ..resolve import OWNED
from ..site import Site
from .config import sections, settings

_BARE = re.compile(r"^[A-Za-z0-9_.:/,!*+@-]+$")


def value(item: object) -> str:
    if isinstance(item, bool):
        return "yes" if item else "no"
    text = str(item)
    if _BARE.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("?", "\\?")
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _words(entry: dict) -> str:
    return " ".join(f"{key}={value(item)}" for key, item in entry.items())


def _place_filter_rules(comments: list[str]) -> list[str]:
    """Move pbxctl's forward rules, in order, before fasttrack (or the first forward rule of the user's)."""
    names = ";".join(value(c) for c in comments)
    # one line, so it also runs when the script is typed line by line over SSH
    statements = [
        ":local anchor [:pick [/ip firewall filter find where chain=forward action=fasttrack-connection !dynamic] 0]",
        ':if ([:typeof $anchor] != "id") do={ :set anchor [:pick [/ip firewall filter find where chain=forward'
        f' !dynamic !(comment~"^{OWNED}")] 0] }}',
        f':if ([:typeof $anchor] = "id") do={{ :foreach c in={{{names}}} do={{'
        " /ip firewall filter move [find where comment=$c] destination=$anchor } }",
    ]
    return ["{ " + "; ".join(statements) + " }"]


def export(site: Site) -> str:
    name = site.site.name
    parts = sections(site)
    lines = [
        f"# {name}: router configuration from pbxctl (`pbxctl router export`).",
        "# Import with /import; it replaces every entry whose comment starts with \"pbxctl:\" and nothing else.",
        "",
        "# entries pbxctl added before, last dependency first",
    ]
    lines += [f'/{s["path"]} remove [find where comment~"^{OWNED}"]' for s in reversed(parts)]
    for section in parts:
        if not section["data"]:
            continue
        lines += ["", f'/{section["path"]}']
        lines += [f"add {_words(entry)}" for entry in section["data"]]
        if section["path"] == "ip firewall filter":
            lines += _place_filter_rules([e["comment"] for e in section["data"] if e["chain"] == "forward"])
    for change in settings(site):
        where = " ".join(f"{k}={value(v)}" for k, v in change["find"].items())
        lines += ["", f'/{change["path"]} set [find where {where}] {_words(change["values"])}']
    return "\n".join(lines) + "\n"


def parse_adds(script: str) -> dict[str, list[dict[str, str]]]:
    """{path: [entry]} from the script's `add` lines, values as written (yes/no, unquoted)."""
    out: dict[str, list[dict[str, str]]] = {}
    path = None
    for line in script.splitlines():
        if line.startswith("/") and "=" not in line and "[" not in line:
            path = line[1:].strip()
        elif line.startswith("add ") and path:
            lexer = shlex.shlex(line[4:], posix=True)
            lexer.whitespace_split, lexer.escape = True, "\\"
            entry = {}
            for word in lexer:
                key, _, item = word.partition("=")
                entry[key] = item
            out.setdefault(path, []).append(entry)
    return out
