"""Imports go only downwards through the layers of pbxctl.layers, and its parts form no cycle.

Every import statement of every module counts, those inside functions (lazy ones) included: a lazy import
hides a dependency from the reader, not from this test."""

import ast
from pathlib import Path

from pbxctl.layers import LAYERS, PARTS, part_of, rank

PACKAGE = Path(__file__).resolve().parents[2] / "pbxctl"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(text: str, module: str, is_package: bool) -> set[str]:
    """pbxctl modules this source imports (a `from x import y` names x.y where y is a module itself)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base)
    return {name for name in found if name == "pbxctl" or name.startswith("pbxctl.")}


def _modules() -> dict[str, Path]:
    # pbxctl/roles leads to the repository's roles/: Ansible's plugins there are not pbxctl modules
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] != "roles"}


def _edges() -> list[tuple[str, str, str]]:
    """(importing module, imported module, file) for every import of a pbxctl module."""
    return [(module, target, str(path.relative_to(PACKAGE.parent)))
            for module, path in _modules().items()
            for target in _imported(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")]


def test_every_module_has_a_layer():
    assert not sorted(m for m in _modules() if part_of(m) is None), "add them to pbxctl.layers.PARTS"
    assert set(PARTS.values()) <= set(LAYERS)


def test_no_import_goes_up_a_layer():
    upward = [f"{where}: {source} ({PARTS[part_of(source)]}) imports {target} ({PARTS[part_of(target)]})"
              for source, target, where in _edges() if rank(target) > rank(source)]
    assert not upward, "\n".join(upward)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_parts_import_each_other_without_a_cycle():
    graph: dict[str, set[str]] = {}
    for source, target, _ in _edges():
        if part_of(source) != part_of(target):
            graph.setdefault(part_of(source), set()).add(part_of(target))
    cycle = _cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_the_checker_sees_lazy_relative_and_from_package_imports():
    # the checks above can fail: a model module importing compile inside a function is seen as going up
    text = "def f():\n    from ..compile import compile_site\n    from pbxctl import lab\n    import pbxctl.run\n"
    found = _imported(text, "pbxctl.site.base", is_package=False)
    assert found == {"pbxctl.compile", "pbxctl.lab", "pbxctl.run"}
    assert all(rank(target) > rank("pbxctl.site.base") for target in found)
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert len(_edges()) > 100
