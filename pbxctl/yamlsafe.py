"""Limits on what a composed YAML document may stand for, checked before it is turned into data.

Aliases make a node tree a graph: nine lines of nine aliases each stand for 9^9 values (a "billion laughs" grows
to gigabytes), and an alias or merge key (`<<: *a`) inside its own anchor stands for an endless value. Both are
found on the composed graph, in time linear in the file, before anything is expanded. Nesting is bounded too:
PyYAML composes recursively, so a line of 20,000 '[' would end in a RecursionError.
"""

import yaml

MAX_DEPTH = 100  # a site file is about 6 levels deep
EXPANSION_FACTOR = 10  # aliases may repeat values up to this many times the file's own
EXPANSION_FLOOR = 100_000


_TOO_DEEP = f"lists and mappings nest more than {MAX_DEPTH} deep here; a site file needs about 6 levels"


class YamlLimit(yaml.MarkedYAMLError):
    """A document within YAML's grammar that pbxctl will not expand; `problem` says why, `problem_mark` where."""

    def __init__(self, problem: str, mark: yaml.Mark | None):
        super().__init__(problem=problem, problem_mark=mark)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def check_graph(root: yaml.Node) -> None:
    """Refuse a node graph that nests too deep, refers to itself or expands to far more values than the file
    holds."""
    sizes: dict[int, int] = {}
    shared: dict[int, tuple[yaml.Node, int]] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        if isinstance(node, yaml.ScalarNode):
            return 1
        key = id(node)
        if key in sizes:
            shared[key] = (node, shared.get(key, (node, 1))[1] + 1)
            return sizes[key]
        if key in open_nodes:
            raise YamlLimit(f"the anchor at line {_line(node)} is used inside itself (an alias or merge key `<<` "
                            "refers to the mapping or list it is in): its value would never end", node.start_mark)
        if depth > MAX_DEPTH:
            raise YamlLimit(_TOO_DEEP, node.start_mark)
        open_nodes.add(key)
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
        total = 1 + sum(size(child, depth + 1) for child in children)
        open_nodes.discard(key)
        sizes[key] = total
        return total

    total = size(root, 1)
    limit = EXPANSION_FLOOR + EXPANSION_FACTOR * len(sizes)
    if total > limit:
        node, uses = max(shared.values(), key=lambda item: sizes[id(item[0])] * item[1])
        raise YamlLimit(f"aliases expand this file to {total:,} values, more than pbxctl reads ({limit:,}): the "
                        f"anchor at line {_line(node)} appears {uses} times and stands for {sizes[id(node)]:,} "
                        "values each; write the values out instead of nesting aliases", node.start_mark)


def check_depth(root: yaml.Node) -> None:
    """check_graph for a tree without aliases (nothing in it is shared, so it expands to itself): only the
    nesting, the same first node too deep in the same order, without sizing every node."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise YamlLimit(_TOO_DEEP, node.start_mark)
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
        stack.extend((child, depth + 1) for child in reversed(children) if not isinstance(child, yaml.ScalarNode))


def nesting_problem(text: str | bytes) -> YamlLimit:
    """Where the text nests deeper than MAX_DEPTH, read from the pure-Python parser's events (no recursion; libyaml
    refuses the whole line at its own limit before giving any): the same place with or without libyaml."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return YamlLimit(_TOO_DEEP, event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return YamlLimit("lists and mappings nest too deep to read", None)


def compose(text: str | bytes, loader: type) -> yaml.Node | None:
    """yaml.compose with the limits above; raises YamlLimit (a MarkedYAMLError) when one is passed."""
    try:
        node = yaml.compose(text, Loader=loader)
    except RecursionError:
        raise nesting_problem(text) from None
    except yaml.MarkedYAMLError as error:
        if error.problem != "exceeded maximum nesting depth":  # libyaml's own limit (1,000)
            raise
        raise nesting_problem(text) from None
    if node is None or isinstance(node, yaml.ScalarNode):
        return node
    # an alias is written `*name` (a merge key's source too): text without a '*' has none, the tree is its size
    if (b"*" if isinstance(text, bytes) else "*") in text:
        check_graph(node)
    else:
        check_depth(node)
    return node
