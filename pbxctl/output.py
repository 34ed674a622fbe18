"""pbxctl's consoles: colour only on a terminal (and never under NO_COLOR), lines never wrapped.

Output piped into a file or a CI log keeps every line whole (a diff line keeps its leading '+'); rich drops
colour by itself when NO_COLOR is set or the stream is not a terminal.
"""

from rich.console import Console


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


out = console()
err = console(stderr=True)
