"""Targets that lead back into each other with nobody to stop them: a ring group or queue whose overflow or
after-hours target (or an IVR's on_timeout on the way) comes back to it would ring round forever.

Only the steps the PBX takes by itself count: a key pressed in an IVR is the caller's choice, and a menu that
leads back to itself by a key ("9: main menu") is no loop. Chains of IVRs alone are _ivrs' check (checks.py).
"""

from collections.abc import Iterator

from ..problems import Path, Problem
from .base import target_kind
from .model import Site


def _edges(site: Site) -> dict[str, list[tuple[str, Path]]]:
    """target → [(the target it goes on to by itself, the field that says so)]."""
    edges: dict[str, list[tuple[str, Path]]] = {}
    for section, kind in (("ring_groups", "group"), ("queues", "queue")):
        for index, item in enumerate(getattr(site, section)):
            for field in ("after_hours", "overflow"):
                if getattr(item, field, None):
                    edges.setdefault(f"{kind}:{item.name}", []).append((getattr(item, field), (section, index, field)))
    for index, ivr in enumerate(site.ivrs):
        edges.setdefault(f"ivr:{ivr.name}", []).append((ivr.on_timeout, ("ivrs", index, "on_timeout")))
    return edges


def loop_problems(site: Site) -> Iterator[Problem]:
    edges = _edges(site)
    reported: set[str] = set()
    for start in edges:
        if not start.startswith(("group:", "queue:")) or start in reported:
            continue
        found = _back_to(start, edges)
        if found:
            chain, path = found
            reported.update(chain)
            yield Problem(path, f"a call nobody answers goes round {' → '.join([*chain, start])} forever; end the "
                          "chain at an extension, voicemail or hangup")


def _back_to(start: str, edges: dict) -> tuple[list[str], Path] | None:
    """The first chain of steps from start that comes back to it, and the field of its last step."""
    stack = [([start], next_step, path) for next_step, path in edges.get(start, [])]
    while stack:
        chain, node, path = stack.pop()
        if node == start:
            return chain, path
        if node in chain or target_kind(node) not in ("group", "queue", "ivr"):
            continue
        stack.extend(([*chain, node], after, step) for after, step in edges.get(node, []))
    return None
