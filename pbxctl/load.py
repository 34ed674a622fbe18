"""Read a site file into the model; every problem comes back as file:line:col: dotted.path: message."""

from dataclasses import dataclass
from pathlib import Path as FsPath

import yaml
from pydantic import ValidationError

from .problems import Path, Problem, SiteInvalid
from .site import Site
from .site.base import KeyProblem
from .site.checks import cross_check

SECRET_KEYS = {"password", "secret", "pin", "passwd", "token", "api_key"}


@dataclass
class Located:
    """Parsed YAML plus the line/column of every key and value, by path."""

    data: object
    marks: dict[Path, tuple[int, int]]
    duplicates: list[Problem]


def _walk(node: yaml.Node, path: Path, marks: dict, duplicates: list) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                # a list or mapping as a key: no site key looks like that; the model reports it
                continue
            key = key_node.value
            if key in seen:
                duplicates.append(Problem((*path, key), "key appears twice"))
            seen.add(key)
            marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, (*path, key), marks, duplicates)
            # a key's own position is more useful than its value's for "unknown key" errors
            marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks, duplicates)


def parse_located(text: str) -> Located:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return Located(None, {}, [])
    marks: dict[Path, tuple[int, int]] = {}
    duplicates: list[Problem] = []
    _walk(node, (), marks, duplicates)
    loader = yaml.SafeLoader("")
    data = loader.construct_document(node)
    return Located(data, marks, duplicates)


def _plain_secrets(data: object, path: Path = ()) -> list[Problem]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in SECRET_KEYS:
                found.append(Problem((*path, key), "secrets are not allowed in the site file; put them in "
                                     "secrets.yml beside it (see `pbxctl secrets --help`)"))
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


def _position(marks: dict[Path, tuple[int, int]], path: Path) -> tuple[int, int]:
    """The nearest located ancestor: a missing key is reported where its parent is."""
    for end in range(len(path), -1, -1):
        if path[:end] in marks:
            return marks[path[:end]]
    return (1, 1)


def format_problems(file: FsPath, located: Located, problems: list[Problem]) -> list[str]:
    rows = []
    for problem in problems:
        line, col = _position(located.marks, problem.path)
        rows.append((line, col, f"{file}:{line}:{col}: {problem.dotted}: {problem.message}"))
    return [text for _, _, text in sorted(rows, key=lambda r: (r[0], r[1]))]


def load_site(file: FsPath) -> Site:
    """Parse, validate and cross-check; raise SiteInvalid with every problem found."""
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
    problems = located.duplicates + _plain_secrets(located.data)
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
