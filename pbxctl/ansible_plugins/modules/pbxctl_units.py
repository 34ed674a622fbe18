#!/usr/bin/python
"""Several systemd units brought to their wanted state in one module run (a systemd_service task per unit costs a
module run each, even when every unit is already as wanted)."""

DOCUMENTATION = r"""
module: pbxctl_units
short_description: Enable, start, stop or restart several systemd units in one run
description:
  - For each unit, in the order given, C(enabled) and C(state) are compared with what systemctl reports and
    changed only where they differ. C(daemon_reload) runs first. Check mode reports what would change.
options:
  daemon_reload:
    description: Run C(systemctl daemon-reload) first (a unit file changed).
    type: bool
    default: false
  units:
    description: The units; each a dict with C(name), and optionally C(enabled) (bool), C(state)
      (started, stopped, restarted, reloaded; empty: as it is), C(when_present) (skip a unit systemd does not know).
    type: list
    elements: dict
    default: []
  enabled_if_present:
    description: Units to enable at boot where systemd knows them (a service the site may not have installed).
    type: list
    elements: str
    default: []
"""

import subprocess  # noqa: E402 - Ansible reads DOCUMENTATION first

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def systemctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)


def known(name: str) -> bool:
    return systemctl("cat", "--", name).returncode == 0


def converge(module: AnsibleModule, unit: dict, check: bool) -> list[str]:
    """What was (or, in check mode, would be) done to one unit."""
    name, done = unit["name"], []
    if unit.get("when_present") and not known(name):
        return done
    enabled = unit.get("enabled")
    if enabled is not None and (systemctl("is-enabled", "--quiet", "--", name).returncode == 0) != enabled:
        done.append("enabled" if enabled else "disabled")
        if not check:
            outcome = systemctl("enable" if enabled else "disable", "--quiet", "--", name)
            if outcome.returncode:
                module.fail_json(msg=f"{name}: systemctl {done[-1][:-1]}: {outcome.stderr.strip()}")
    state = unit.get("state")
    if state:
        active = systemctl("is-active", "--quiet", "--", name).returncode == 0
        verb = {"started": None if active else "start", "stopped": "stop" if active else None,
                "restarted": "restart", "reloaded": "reload" if active else "start"}[state]
        if verb:
            done.append(verb)
            if not check:
                outcome = systemctl(verb, "--", name)
                if outcome.returncode:
                    module.fail_json(msg=f"{name}: systemctl {verb}: {outcome.stderr.strip()}"
                                     f"{systemctl('status', '--no-pager', '--lines=5', '--', name).stdout}")
    return done


def main() -> None:
    module = AnsibleModule(argument_spec={"daemon_reload": {"type": "bool", "default": False},
                                          "units": {"type": "list", "elements": "dict", "default": []},
                                          "enabled_if_present": {"type": "list", "elements": "str", "default": []}},
                           supports_check_mode=True)
    check = module.check_mode
    if module.params["daemon_reload"] and not check:
        systemctl("daemon-reload")
    actions = {}
    units = module.params["units"] + [{"name": name, "enabled": True, "when_present": True}
                                      for name in module.params["enabled_if_present"]]
    for unit in units:
        if unit.get("state") not in (None, "", "started", "stopped", "restarted", "reloaded"):
            module.fail_json(msg=f"{unit.get('name')}: unknown state {unit.get('state')}")
        done = converge(module, unit, check)
        if done:
            actions[unit["name"]] = done
    module.exit_json(changed=bool(actions), actions=actions)


if __name__ == "__main__":
    main()
