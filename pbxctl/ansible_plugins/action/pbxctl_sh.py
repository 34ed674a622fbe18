"""Run one command on the server the cheap way: its argv sent straight to the shell, as `raw` does, not wrapped in
a Python module (ansible.builtin.command ships and starts AnsiballZ for every run, most of a short command's cost).

    pbxctl_sh:
      argv: [sh, -c, 'echo "$1"', sh, hello]

The result is command's: rc, stdout, stderr and their _lines, failed when rc is not 0 (failed_when and
changed_when work as with command; changed is false unless changed_when says so). It runs in check mode too, so
give it only commands that change nothing there (the roles pass them the check flag themselves).
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from pbxctl.ansible_plugins.remote import run_argv


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("argv",))
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        argv = self._task.args.get("argv")
        if not isinstance(argv, list) or not argv:
            raise AnsibleActionFail("argv (a list: the program and its arguments) is required")
        outcome = run_argv(self, [str(arg) for arg in argv])
        stdout = to_text(outcome.get("stdout", ""), errors="surrogate_or_replace").rstrip("\n")
        stderr = to_text(outcome.get("stderr", ""), errors="surrogate_or_replace").rstrip("\n")
        rc = outcome.get("rc", 1)
        result.update(rc=rc, stdout=stdout, stderr=stderr, stdout_lines=stdout.splitlines(),
                      stderr_lines=stderr.splitlines(), changed=False, cmd=argv)
        if rc:
            result.update(failed=True, msg="non-zero return code")
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
