"""Read a site file into the model; every problem comes back as file:line:col: dotted.path: message."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path as FsPath

import yaml
from pydantic import ValidationError

from .problems import Path, Problem, SiteInvalid
from .site import Site
from .site.base import KeyProblem
from .site.checks import cross_check

SECRET_KEYS = {"password", "secret", "pin", "passwd", "token", "api_key"}
# libyaml when PyYAML was built with it: parsing and dumping a 1,000-phone site is several times faster
FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FastDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a big site is parsed, validated or dumped.

    Those make hundreds of thousands of short-lived, acyclic objects (refcounting frees them); each automatic
    collection would walk them all again, which for a 1,000-phone site costs more than the work itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Located:
    """Parsed YAML, its node tree (to find the line and column of a path when a problem needs them)."""

    data: object
    root: yaml.Node | None
    duplicates: list[Problem]
    secrets: list[Problem]


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


class _Unusual(Exception):
    """Something the fast builder leaves to PyYAML's own constructor (merge keys, recursion, odd tags)."""


def _build(node: yaml.Node, constructor: yaml.constructor.SafeConstructor, path: Path, found: tuple[list, list],
           open_nodes: set) -> object:
    """Node tree → plain data in one pass, noting keys that appear twice and secrets written in the site file.
    Plain strings, the bulk of a site file, skip the constructor; every other scalar goes through it, so values
    mean what PyYAML says."""
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR else constructor.construct_object(node, deep=True)
    if id(node) in open_nodes or node.tag not in (_SEQ, _MAP):
        raise _Unusual
    open_nodes.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        result: object = [_build(item, constructor, (*path, index), found, open_nodes)
                          for index, item in enumerate(node.value)]
    else:
        result = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Unusual
            key = key_node.value if key_node.tag == _STR else constructor.construct_object(key_node, deep=True)
            if key in result:
                found[0].append(Problem((*path, key), "key appears twice"))
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                found[1].append(_secret_problem((*path, key)))
            result[key] = _build(value_node, constructor, (*path, key), found, open_nodes)
    open_nodes.discard(id(node))
    return result


def _duplicate_keys(node: yaml.Node, path: Path, duplicates: list) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as a key: the constructor refuses it
            if key_node.value in seen:
                duplicates.append(Problem((*path, key_node.value), "key appears twice"))
            seen.add(key_node.value)
            _duplicate_keys(value_node, (*path, key_node.value), duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _duplicate_keys(item, (*path, index), duplicates)


def parse_located(text: str) -> Located:
    try:
        node = yaml.compose(text, Loader=FastLoader)
    except yaml.MarkedYAMLError:
        if FastLoader is yaml.SafeLoader:
            raise
        # the same error from the pure-Python parser: same wording with or without libyaml
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return Located(None, None, [], [])
    duplicates: list[Problem] = []
    secrets: list[Problem] = []
    try:
        data = _build(node, yaml.SafeLoader(""), (), (duplicates, secrets), set())
    except _Unusual:
        duplicates = []
        _duplicate_keys(node, (), duplicates)
        data = yaml.SafeLoader("").construct_document(node)
        secrets = _plain_secrets(data)
    return Located(data, node, duplicates, secrets)


def fast_load(text: str | bytes) -> object:
    """yaml.safe_load, faster on big files (libyaml parser, one-pass builder); duplicate keys: the last wins."""
    node = yaml.compose(text, Loader=FastLoader)
    if node is None:
        return None
    try:
        return _build(node, yaml.SafeLoader(""), (), ([], []), set())
    except _Unusual:
        return yaml.SafeLoader("").construct_document(node)


def _secret_problem(path: Path) -> Problem:
    return Problem(path, "secrets are not allowed in the site file; put them in secrets.yml beside it "
                   "(see `pbxctl secrets --help`)")


def _plain_secrets(data: object, path: Path = ()) -> list[Problem]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in SECRET_KEYS:
                found.append(_secret_problem((*path, key)))
            else:
                found.extend(_plain_secrets(value, (*path, key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(_plain_secrets(item, (*path, index)))
    return found


def _message(item: dict) -> tuple[Path, str]:
    """pydantic's error as a path into the file and a message written for the person editing it."""
    # discriminated unions add the tag to the path ("sip_register"); it isn't a key in the file
    loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p in {"sip_register", "sip_ip",
                                                                              "gsm_dongle"}))
    kind, ctx, value = item["type"], item.get("ctx") or {}, item.get("input")
    if kind == "extra_forbidden":
        return loc, "unknown key"
    if kind == "missing":
        return loc, "required key is missing"
    if kind == "value_error" and isinstance(ctx.get("error"), KeyProblem):
        return (*loc, ctx["error"].key), str(ctx["error"])
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return loc, f"expected text, got the number {value}; put it in quotes (YAML reads 0101 as 65)"
    if kind == "string_pattern_mismatch":
        return loc, f"'{value}' does not match the pattern {ctx.get('pattern')}"
    if kind == "union_tag_not_found":
        return (*loc, ctx.get("discriminator", "").strip("'")), "required key is missing"
    if kind == "union_tag_invalid":
        return (*loc, ctx.get("discriminator", "").strip("'")), (f"'{ctx.get('tag')}' is not one of "
                                                                 f"{ctx.get('expected_tags')}")
    return loc, item["msg"].removeprefix("Value error, ")


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    return [Problem(*_message(item)) for item in error.errors()]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _position(root: yaml.Node | None, path: Path) -> tuple[int, int]:
    """Where a path is in the file: a key's own position, a list item's start, or, for a missing key, the
    nearest ancestor that is there."""
    if root is None:
        return (1, 1)
    node, where = root, _mark(root)
    for part in path:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            where = _mark(node)
        elif isinstance(node, yaml.MappingNode):
            # the last of duplicated keys: it is the one whose value the site got
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)]
            if not found:
                break
            key_node, node = found[-1]
            where = _mark(key_node)
        else:
            break
    return where


def format_problems(file: FsPath, located: Located, problems: list[Problem]) -> list[str]:
    rows = []
    for problem in problems:
        line, col = _position(located.root, problem.path)
        rows.append((line, col, f"{file}:{line}:{col}: {problem.dotted}: {problem.message}"))
    return [text for _, _, text in sorted(rows, key=lambda r: (r[0], r[1]))]


def load_site(file: FsPath) -> Site:
    """Parse, validate and cross-check; raise SiteInvalid with every problem found."""
    with paused_gc():
        return _load_site(file)


def _load_site(file: FsPath) -> Site:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise SiteInvalid([f"{file}: cannot read: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        raise SiteInvalid([f"{file}: not UTF-8 text (byte {error.start}); save it as UTF-8"]) from None
    try:
        located = parse_located(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise SiteInvalid([f"{file}:{where}: YAML syntax: {error.problem or error.context}"]) from None
    if located.data is None:
        raise SiteInvalid([f"{file}:1:1: (file): the file is empty; a site needs at least 'site' and 'pbx'"])
    if not isinstance(located.data, dict):
        raise SiteInvalid([f"{file}:1:1: (file): a site file is a mapping of sections, got "
                           f"{type(located.data).__name__}"])
    problems = located.duplicates + located.secrets
    try:
        site = Site.model_validate(located.data)
    except ValidationError as error:
        secret_paths = {p.path for p in problems}
        problems += [p for p in _pydantic_problems(error) if p.path not in secret_paths]
        raise SiteInvalid(format_problems(file, located, problems)) from None
    problems += cross_check(site)
    if problems:
        raise SiteInvalid(format_problems(file, located, problems))
    return site
