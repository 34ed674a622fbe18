"""Evaluate RouterOS API query words (`?name=value`, `?-name`, `?#|!` …) against printed entries.

Semantics follow the API manual: each word pushes a boolean onto a stack; `?#` applies operators
(| & ! . and stack indexes, 0 = top); an entry matches when every value left on the stack is true.
"""

from __future__ import annotations

from .values import FALSE_WORDS, TRUE_WORDS


class QueryError(Exception):
    pass


def _same(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    # Clients send yes/no, RouterOS 7 prints true/false: both spell the same boolean.
    low_a, low_e = actual.lower(), expected.lower()
    both = {low_a, low_e}
    return both <= TRUE_WORDS or both <= FALSE_WORDS


def _compare(actual: str | None, expected: str, less: bool) -> bool:
    if actual is None:
        return False
    try:
        a, e = int(actual, 0), int(expected, 0)
    except ValueError:
        return actual < expected if less else actual > expected
    return a < e if less else a > e


def _apply_ops(ops: str, stack: list[bool]) -> None:
    i = 0
    while i < len(ops):
        char = ops[i]
        if char.isdigit():
            j = i
            while j < len(ops) and ops[j].isdigit():
                j += 1
            index = int(ops[i:j])
            if index >= len(stack):
                raise QueryError("invalid query: stack index out of range")
            value = stack[-1 - index]
            if j == len(ops):
                stack[:] = [value]
            else:
                stack.append(value)
            i = j
            continue
        if char in "|&":
            if len(stack) < 2:
                raise QueryError("invalid query: stack underflow")
            right, left = stack.pop(), stack.pop()
            stack.append((left or right) if char == "|" else (left and right))
        elif char == "!":
            if not stack:
                raise QueryError("invalid query: stack underflow")
            stack.append(not stack.pop())
        elif char == ".":
            if not stack:
                raise QueryError("invalid query: stack underflow")
            stack.append(stack[-1])
        else:
            raise QueryError(f"invalid query operation {char!r}")
        i += 1


def _word_value(word: str, entry: dict[str, str]) -> bool:
    body = word[1:]
    if body.startswith("="):  # ?=name=value, the form librouteros sends
        name, _, expected = body[1:].partition("=")
        return name in entry and _same(entry[name], expected)
    if body.startswith("-"):
        return body[1:] not in entry
    if body.startswith("<") or body.startswith(">"):
        name, _, expected = body[1:].partition("=")
        return _compare(entry.get(name), expected, less=body[0] == "<")
    if "=" in body:
        name, _, expected = body.partition("=")
        return name in entry and _same(entry[name], expected)
    return body in entry


def matches(entry: dict[str, str], words: list[str]) -> bool:
    stack: list[bool] = []
    for word in words:
        if word.startswith("?#"):
            _apply_ops(word[2:], stack)
        else:
            stack.append(_word_value(word, entry))
    return all(stack)
