"""Read a site file into the model; every problem comes back as file:line:col: dotted.path: message."""

import gc
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath

import yaml
from pydantic import ValidationError

from . import yamlsafe
from .problems import Path, Problem, SiteInvalid
from .site import Site
from .site.base import KeyProblem
from .site.checks import cross_check
from .site.extends import EXTENDS_KEY, deep_merge, origin
from .site.gsm import gsm_source_problems
from .site.paths import missing_repo_files

# keys the model also reads under an older name (validation_alias): a problem is shown where the file has it
KEY_ALIASES = {"https_port": ("http_port",)}
SECRET_KEYS = {"password", "secret", "pin", "passwd", "token", "api_key"}
# libyaml when PyYAML was built with it: parsing and dumping a 1,000-phone site is several times faster
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FastDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_STRING = _Loader.DEFAULT_SCALAR_TAG
# first characters some implicit tag (bool, int, float, null, timestamp, merge, value) may start with
_TAGGED_FIRST = frozenset(first for first in _Loader.yaml_implicit_resolvers if first)


class _ShortcutLoader(_Loader):
    """The safe loader, resolving each plain scalar's tag without trying every pattern where its first character
    rules them all out (most of a site: names, e-mails, MACs): a string, as the patterns would have said. The
    resolver is PyYAML's Python code, called for every scalar even under libyaml."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and (not implicit[0] or (value and value[0] not in _TAGGED_FIRST)):
            return _STRING
        return super().resolve(kind, value, implicit)


# the shortcut holds while no implicit resolver takes any first character (None) and none goes by path
FastLoader = _ShortcutLoader if None not in _Loader.yaml_implicit_resolvers and not _Loader.yaml_path_resolvers \
    else _Loader


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
    scalars: list[Problem] = field(default_factory=list)


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_MERGE, _TIMESTAMP = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:timestamp"


@dataclass
class _Found:
    """What building the data notices on the way: keys given twice, secrets, scalars that are no value."""

    duplicates: list[Problem] = field(default_factory=list)
    secrets: list[Problem] = field(default_factory=list)
    scalars: list[Problem] = field(default_factory=list)


def _scalar(node: yaml.ScalarNode, constructor: yaml.constructor.SafeConstructor, path: Path,
            found: _Found) -> object:
    if node.tag == _STR:
        return node.value
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError as error:  # 2027-02-29, month 13: YAML's pattern matched, the calendar did not
        what = "a date" if node.tag == _TIMESTAMP else "a value"
        found.scalars.append(Problem(path, f"'{node.value}' is not {what}: {error}"))
        return node.value


def _build(node: yaml.Node, constructor: yaml.constructor.SafeConstructor, path: Path, found: _Found) -> object:
    """Node graph (checked by yamlsafe: finite, bounded) → plain data in one pass, noting keys that appear twice
    and secrets written in the site file. Plain strings, the bulk of a site file, skip the constructor; every
    other scalar goes through it, so values mean what PyYAML says."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, constructor, path, found)
    if node.tag not in (_SEQ, _MAP):  # !!set, !!omap …: PyYAML's own constructor (python/* tags are refused)
        return constructor.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, constructor, (*path, index), found) for index, item in enumerate(node.value)]
    own: dict = {}
    merged: dict = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                    "found unhashable key", key_node.start_mark)
        if key_node.tag == _MERGE:
            # `<<: *defaults` or `<<: [*a, *b]`: keys not given here, the first source that has one wins
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                            "`<<` merges a mapping or a list of mappings",
                                                            source.start_mark)
                for key, value in _build(source, constructor, path, found).items():
                    merged.setdefault(key, value)
            continue
        key = _scalar(key_node, constructor, path, found)
        if key in own:
            found.duplicates.append(Problem((*path, key), "key appears twice"))
        if isinstance(key, str) and key.lower() in SECRET_KEYS:
            found.secrets.append(_secret_problem((*path, key)))
        own[key] = _build(value_node, constructor, (*path, key), found)
    return {**merged, **own} if merged else own


def _compose(text: str | bytes) -> yaml.Node | None:
    try:
        return yamlsafe.compose(text, FastLoader)
    except yamlsafe.YamlLimit:
        raise
    except yaml.MarkedYAMLError:
        if _Loader is yaml.SafeLoader:
            raise
        # the same error from the pure-Python parser: same wording with or without libyaml
        return yamlsafe.compose(text, yaml.SafeLoader)


def parse_located(text: str) -> Located:
    node = _compose(text)
    if node is None:
        return Located(None, None, [], [])
    found = _Found()
    data = _build(node, yaml.SafeLoader(""), (), found)
    return Located(data, node, found.duplicates, found.secrets, found.scalars)


def fast_load(text: str | bytes) -> object:
    """yaml.safe_load within yamlsafe's limits, faster on big files (libyaml parser, one-pass builder); duplicate
    keys: the last wins."""
    node = yamlsafe.compose(text, FastLoader)
    return None if node is None else _build(node, yaml.SafeLoader(""), (), _Found())


def _secret_problem(path: Path) -> Problem:
    return Problem(path, "secrets are not allowed in the site file; put them in secrets.yml beside it "
                   "(see `pbxctl secrets --help`)")


_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}


def _coercion(value: object, raw: str | None) -> str | None:
    """What YAML 1.1 made of an unquoted scalar where text was meant, and how to write it, or None."""
    if raw is None or not isinstance(value, bool | int | float):
        return None
    if isinstance(value, bool):
        return (f"YAML reads {raw} as {str(value).lower()}: quote it (\"{raw}\")"
                if raw.lower() in _YAML11_BOOLS else None)
    if ":" in raw:
        # a time of day is HH:MM: 9:00 quoted would be the next error, so the advice pads it
        written = f"0{raw}" if re.fullmatch(r"\d:\d\d", raw) else raw
        return f"{raw} unquoted is read as a number (YAML 1.1 base 60: {value}): write \"{written}\""
    if raw != str(value):
        return f"YAML reads {raw} as the number {value}: quote it (\"{raw}\")"
    return f"expected text, got the number {value}: quote it (\"{raw}\")"


def _message(item: dict, raw: Callable[[Path], str | None]) -> tuple[Path, str]:
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
    if kind in ("string_type", "literal_error", "enum") and (hint := _coercion(value, raw(loc))):
        return loc, hint
    if kind == "string_pattern_mismatch":
        return loc, f"'{value}' does not match the pattern {ctx.get('pattern')}"
    if kind == "union_tag_not_found":
        return (*loc, ctx.get("discriminator", "").strip("'")), "required key is missing"
    if kind == "union_tag_invalid":
        return (*loc, ctx.get("discriminator", "").strip("'")), (f"'{ctx.get('tag')}' is not one of "
                                                                 f"{ctx.get('expected_tags')}")
    return loc, item["msg"].removeprefix("Value error, ")


def _pydantic_problems(error: ValidationError, root: yaml.Node | None) -> list[Problem]:
    def raw(path: Path) -> str | None:
        node = _node_at(root, path)
        return node.value if isinstance(node, yaml.ScalarNode) and not node.style else None

    return [Problem(*_message(item, raw)) for item in error.errors()]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(root: yaml.Node | None, path: Path) -> tuple[yaml.Node | None, tuple[int, int], bool]:
    """Follow a path into the node tree: (last node reached, its position, whether the whole path was found).
    A key's position is the key's own; of duplicated keys the last, whose value the site got."""
    if root is None:
        return None, (1, 1), False
    node, where = root, _mark(root)
    for part in path:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            where = _mark(node)
        elif isinstance(node, yaml.MappingNode):
            names = (str(part), *KEY_ALIASES.get(str(part), ()))
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value in names]
            if not found:
                return node, where, False
            key_node, node = found[-1]
            where = _mark(key_node)
        else:
            return node, where, False
    return node, where, True


def _node_at(root: yaml.Node | None, path: Path) -> yaml.Node | None:
    node, _, complete = _walk(root, path)
    return node if complete else None


def _position(root: yaml.Node | None, path: Path) -> tuple[int, int]:
    """Where a path is in the file: a key's own position, a list item's start, or, for a missing key, the
    nearest ancestor that is there."""
    return _walk(root, path)[1]


def format_problems(file: FsPath, located: Located, problems: list[Problem]) -> list[str]:
    rows = []
    for problem in problems:
        line, col = _position(located.root, problem.path)
        # one line per problem, whatever the value quoted in the message holds
        message = problem.message.replace("\r", "\\r").replace("\n", "\\n")
        rows.append((line, col, f"{file}:{line}:{col}: {problem.dotted}: {message}"))
    return [text for _, _, text in sorted(rows, key=lambda r: (r[0], r[1]))]


def load_site(file: FsPath) -> Site:
    """Parse, validate and cross-check; raise SiteInvalid with every problem found."""
    with paused_gc():
        return _load_site(file)


def _not_utf8(file: FsPath, error: UnicodeDecodeError) -> str:
    raw = error.object
    line = raw.count(b"\n", 0, error.start) + 1
    column = len(raw[raw.rfind(b"\n", 0, error.start) + 1:error.start].decode("utf-8")) + 1
    # Russian offices' editors still save Windows-1251: Cyrillic words there are runs of high bytes
    try:
        guess = raw.decode("cp1251")
    except UnicodeDecodeError:
        guess = ""
    hint = " (it looks like Windows-1251: `iconv -f cp1251 -t utf-8`)" if re.search("[\u0410-\u044f]{3}", guess) \
        else ""
    return (f"{file}:{line}:{column}: (file): not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as "
            f"UTF-8{hint}")


def _yaml_error(file: FsPath, error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
    if isinstance(error, yamlsafe.YamlLimit):
        return f"{file}:{where}: (file): {error.problem}"
    message = error.problem or error.context
    anchor = re.match(r"found duplicate anchor (\S+); first occurrence", error.context or "")
    if anchor and error.context_mark:
        message = (f"anchor {anchor[1]} is defined twice: first at line {error.context_mark.line + 1}, again "
                   "here; give the second one another name")
    elif error.context and error.problem and error.context_mark:
        message = f"{error.problem} ({error.context} at line {error.context_mark.line + 1})"
    return f"{file}:{where}: YAML syntax: {message}"


def _load_site(file: FsPath) -> Site:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise SiteInvalid([f"{file}: cannot read: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        raise SiteInvalid([_not_utf8(file, error)]) from None
    try:
        located = parse_located(text)
    except yaml.MarkedYAMLError as error:
        raise SiteInvalid([_yaml_error(file, error)]) from None
    if located.data is None:
        raise SiteInvalid([f"{file}:1:1: (file): the file is empty; a site needs at least 'site' and 'pbx'"])
    if not isinstance(located.data, dict):
        raise SiteInvalid([f"{file}:1:1: (file): a site file is a mapping of sections, got "
                           f"{type(located.data).__name__}"])
    problems = located.duplicates + located.secrets + located.scalars
    data, base = located.data, None
    if EXTENDS_KEY in data:
        base = _defaults(file, located)
        data = deep_merge(base[1].data, data)
    try:
        site = Site.model_validate(data)
    except ValidationError as error:
        # a secret or an impossible date is already reported at its path: pydantic's word on it adds nothing
        known = {p.path for p in problems}
        problems += [p for p in _pydantic_problems(error, located.root) if p.path not in known]
        raise SiteInvalid(_layered(file, located, base, problems)) from None
    problems += cross_check(site)
    problems += [Problem(path, message) for path, message in missing_repo_files(site, file.parent)]
    problems += gsm_source_problems(site, file.parent)
    if problems:
        raise SiteInvalid(_layered(file, located, base, problems))
    return site


def _defaults(file: FsPath, located: Located) -> tuple[FsPath, Located]:
    """The defaults file a site extends (beside it or up the repository), parsed; its own YAML problems
    (a secret, a key twice) are told against it."""
    name = located.data[EXTENDS_KEY]
    line, col = _position(located.root, (EXTENDS_KEY,))
    where = f"{file}:{line}:{col}: {EXTENDS_KEY}"
    if not isinstance(name, str) or not name.strip():
        raise SiteInvalid([f"{where}: expected the path of a defaults file (relative to this file)"])
    path = FsPath(os.path.normpath(file.parent / name))  # as the user would write it: no a/../
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiteInvalid([f"{where}: cannot read {name}: {getattr(error, 'strerror', None) or error}"]) from None
    try:
        defaults = parse_located(text)
    except yaml.MarkedYAMLError as error:
        raise SiteInvalid([_yaml_error(path, error)]) from None
    if not isinstance(defaults.data, dict):
        raise SiteInvalid([f"{path}:1:1: (file): a defaults file is a mapping of sections, like a site file"])
    if EXTENDS_KEY in defaults.data:
        line, col = _position(defaults.root, (EXTENDS_KEY,))
        raise SiteInvalid([f"{path}:{line}:{col}: {EXTENDS_KEY}: a defaults file extends nothing (one level: "
                           "site over defaults, so where a value comes from is always one of two files)"])
    own = defaults.duplicates + defaults.secrets + defaults.scalars
    if own:
        raise SiteInvalid(format_problems(path, defaults, own))
    return path, defaults


def _layered(file: FsPath, located: Located, base: tuple[FsPath, Located] | None,
             problems: list[Problem]) -> list[str]:
    """format_problems, each problem told against the file its value came from (the site or its defaults)."""
    if base is None:
        return format_problems(file, located, problems)
    mine = [p for p in problems
            if origin(_walk(located.root, p.path)[2], _walk(base[1].root, p.path)[2]) == "site"]
    theirs = [p for p in problems if p not in mine]
    return format_problems(file, located, mine) + format_problems(base[0], base[1], theirs)
