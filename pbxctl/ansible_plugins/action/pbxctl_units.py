"""Several systemd units brought to their wanted state in one short run on the server (a systemd_service task per
unit is a module run each, even when every unit is already as wanted).

    pbxctl_units:
      daemon_reload: true          # first: a unit file changed
      units:
        - {name: nginx, enabled: true, state: started}    # state: started, stopped, restarted, reloaded, or ''
        - {name: old.service, enabled: false, state: stopped, when_present: true}   # skipped where systemd lacks it
      enabled_if_present: [asterisk.service]              # enabled at boot where installed

Each unit, in the order given, is compared with what systemctl reports and changed only where it differs. In check
mode nothing is done and `actions` says what would be. The result: changed, and actions per unit.
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from pbxctl.ansible_plugins.remote import run_python

STATES = ("", "started", "stopped", "restarted", "reloaded")

CONVERGE = r"""
import json, subprocess, sys
spec = json.loads(sys.argv[1])
def systemctl(*args):
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
def fail(message):
    print(json.dumps({"failed": message}))
    sys.exit(0)
if spec["daemon_reload"] and not spec["check"]:
    systemctl("daemon-reload")
actions = {}
for unit in spec["units"]:
    name, done = unit["name"], []
    if unit.get("when_present") and systemctl("cat", "--", name).returncode:
        continue
    enabled = unit.get("enabled")
    if enabled is not None and (systemctl("is-enabled", "--quiet", "--", name).returncode == 0) != enabled:
        done.append("enable" if enabled else "disable")
        if not spec["check"]:
            outcome = systemctl(done[-1], "--quiet", "--", name)
            if outcome.returncode:
                fail(f"{name}: systemctl {done[-1]}: {outcome.stderr.strip()}")
    state = unit.get("state") or ""
    if state:
        active = systemctl("is-active", "--quiet", "--", name).returncode == 0
        verb = {"started": None if active else "start", "stopped": "stop" if active else None,
                "restarted": "restart", "reloaded": "reload" if active else "start"}[state]
        if verb:
            done.append(verb)
            if not spec["check"]:
                outcome = systemctl(verb, "--", name)
                if outcome.returncode:
                    status = systemctl("status", "--no-pager", "--lines=5", "--", name).stdout
                    fail(f"{name}: systemctl {verb}: {outcome.stderr.strip()}\n{status}")
    if done:
        actions[name] = done
print(json.dumps({"actions": actions}))
"""


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("daemon_reload", "units", "enabled_if_present"))
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        units = list(args.get("units") or []) + [{"name": name, "enabled": True, "when_present": True}
                                                 for name in args.get("enabled_if_present") or []]
        for unit in units:
            if not isinstance(unit, dict) or not unit.get("name") or (unit.get("state") or "") not in STATES:
                raise AnsibleActionFail(f"{unit}: each unit needs a name, and a state among {', '.join(STATES[1:])}")
        spec = {"daemon_reload": bool(args.get("daemon_reload")), "check": bool(self._task.check_mode),
                "units": units}
        outcome = run_python(self, task_vars, CONVERGE, spec)
        self._remove_tmp_path(self._connection._shell.tmpdir)
        lines = to_text(outcome.get("stdout", "")).strip().splitlines()
        if outcome.get("rc") or not lines:
            return {**result, "failed": True, "msg": to_text(outcome.get("stderr", ""))[-2000:] or "no answer"}
        answer = json.loads(lines[-1])
        if "failed" in answer:
            return {**result, "failed": True, "msg": answer["failed"]}
        return {**result, "changed": bool(answer["actions"]), "actions": answer["actions"]}
