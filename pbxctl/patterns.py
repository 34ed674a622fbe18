"""libphonenumber's number-range regexes as Asterisk extension patterns, and back as Python regexes.

The metadata describes each region's numbers with small regexes over digits (alternation, groups, character
classes, bounded repeats). Such a regex matches a finite set of digit-class sequences; each sequence is one
Asterisk pattern (`_+7[3489]XXXXXXXXX`). Compiling those patterns into the dialplan lets Asterisk judge a
number by the same ranges pbxctl's model does, with no regex engine in the dialplan.
"""

from __future__ import annotations

import re
from functools import cache

try:  # Python 3.11+: the parser moved; the old names still work with a deprecation warning
    import re._constants as sre_constants
    import re._parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

DIGITS = frozenset("0123456789")
Sequence = tuple[frozenset[str], ...]  # one set of digits per position


def _chars(items) -> frozenset[str]:
    chars: set[str] = set()
    for op, av in items:
        if op is sre_constants.LITERAL:
            chars.add(chr(av))
        elif op is sre_constants.RANGE:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_DIGIT:
            chars.update(DIGITS)
        else:
            raise ValueError(f"unsupported class item {op}")
    return frozenset(chars) & DIGITS


def _sequences(tree, limit: int) -> list[Sequence]:
    out: list[Sequence] = [()]
    for op, av in tree:
        if op is sre_constants.LITERAL:
            alternatives: list[Sequence] = [(frozenset(chr(av)) & DIGITS,)]
        elif op is sre_constants.IN:
            alternatives = [(_chars(av),)]
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_DIGIT:
            alternatives = [(DIGITS,)]
        elif op is sre_constants.SUBPATTERN:
            alternatives = _sequences(av[-1], limit)
        elif op is sre_constants.BRANCH:
            alternatives = [s for branch in av[1] for s in _sequences(branch, limit)]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, high, sub = av
            if high is sre_constants.MAXREPEAT or high > 20:
                raise ValueError("unbounded repeat")
            inner = _sequences(sub, limit)
            alternatives, current = [], [()]
            for count in range(high + 1):
                if count >= low:
                    alternatives.extend(current)
                if count < high:
                    current = [a + b for a in current for b in inner]
                if len(current) > limit:
                    raise ValueError("too many alternatives")
        else:
            raise ValueError(f"unsupported regex element {op}")
        out = [a + b for a in out for b in alternatives if all(b)]
        if len(out) > limit:
            raise ValueError("too many alternatives")
    return out


@cache
def expand(pattern: str, limit: int = 100_000) -> tuple[Sequence, ...]:
    """Every digit-class sequence a metadata regex matches in full; ValueError past `limit` or on syntax the
    metadata doesn't use (anchors, lookarounds, unbounded repeats)."""
    return tuple(sorted(set(_sequences(sre_parse.parse(pattern), limit)), key=_key))


def _key(sequence: Sequence) -> tuple:
    return (len(sequence), [sorted(chars) for chars in sequence])


def intersect(left: tuple[Sequence, ...], right: tuple[Sequence, ...]) -> tuple[Sequence, ...]:
    """The sequences matching both sets (position by position: same length, common digits at each)."""
    by_length: dict[int, list[Sequence]] = {}
    for sequence in right:
        by_length.setdefault(len(sequence), []).append(sequence)
    found = set()
    for a in left:
        for b in by_length.get(len(a), ()):
            both = tuple(x & y for x, y in zip(a, b, strict=True))
            if all(both):
                found.add(both)
    return tuple(sorted(found, key=_key))


def prefixes(pattern: str) -> tuple[Sequence, ...]:
    """A leading-digits regex (matched at the start of a number) as prefix sequences."""
    return expand(pattern)


def _position(chars: frozenset[str]) -> str:
    if chars == DIGITS:
        return "X"
    if chars == DIGITS - {"0"}:
        return "Z"
    if chars == DIGITS - {"0", "1"}:
        return "N"
    if len(chars) == 1:
        return next(iter(chars))
    digits = sorted(chars)
    parts, start = [], 0
    while start < len(digits):  # runs of three or more as ranges: [3489], [3-9]
        end = start
        while end + 1 < len(digits) and int(digits[end + 1]) == int(digits[end]) + 1:
            end += 1
        parts.extend([f"{digits[start]}-{digits[end]}"] if end - start >= 2 else digits[start:end + 1])
        start = end + 1
    return "[" + "".join(parts) + "]"


def asterisk_pattern(lead: str, sequence: Sequence, open_end: bool = False) -> str:
    """'+7' and a sequence → _+7[3489]XXXXXXXXX; open_end: any digits may follow (a prefix), '!' (none or more)."""
    body = "".join(_position(chars) for chars in sequence)
    return f"_{lead}{body}{'!' if open_end else ''}"


def to_regex(lead: str, sequences: tuple[Sequence, ...], open_end: bool = False) -> re.Pattern:
    """The same sequences as one anchored Python regex (how tests read the dialplan's tables)."""
    alternatives = ["".join("[" + "".join(sorted(c)) + "]" for c in s) for s in sequences] or ["(?!)"]
    tail = r"[0-9]*" if open_end else ""
    return re.compile(f"^{re.escape(lead)}(?:{'|'.join(alternatives)}){tail}$")
