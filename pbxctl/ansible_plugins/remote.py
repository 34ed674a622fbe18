"""Running a short program on the server straight through the connection, without a Python module around it (a
module run ships and starts AnsiballZ, most of a short job's cost on a re-apply). Used by pbxctl's actions."""

from __future__ import annotations

import json
import shlex


def run_python(action, task_vars: dict, script: str, argument, stdin: bytes | None = None) -> dict:
    """The script run by the server's Python with one JSON argument, as root when the task has become. Something
    always goes on stdin (the script itself when there is no input for it): nothing then asks for a terminal, whose
    \\r\\n and merged stderr would change the output."""
    python = server_python(action, task_vars)
    if stdin is None:
        command, stdin = shlex.join([python, "-", json.dumps(argument)]), script.encode()
    else:
        command = shlex.join([python, "-c", script, json.dumps(argument)])
    return action._low_level_execute_command(command, in_data=stdin)


def run_argv(action, argv: list[str]) -> dict:
    """A command line run by the server's shell, the command itself on stdin (see run_python)."""
    return action._low_level_execute_command("sh -s", in_data=(shlex.join(argv) + "\n").encode())


def server_python(action, task_vars: dict) -> str:
    """The server's Python: the one the inventory names, or the one Ansible found for a module run before."""
    named = task_vars.get("ansible_python_interpreter")
    if named and not str(named).startswith("auto"):
        return str(action._templar.template(named))
    return str((task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python") or "/usr/bin/python3")
