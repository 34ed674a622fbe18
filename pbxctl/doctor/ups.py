"""Doctor checks for the power-cut story: does the server shut down on battery, and does it come back by itself?"""

import re

from ..site import Site
from .checks import Check

BIOS_ADVICE = ("switch the BIOS setting 'Restore on AC power loss' (also called 'AC Power Recovery' or 'After Power "
               "Failure') to 'Power On', then set ups.bios_power_restore: true in the site file")


def restore_policy(chassis_status: str) -> str | None:
    """The 'Power Restore Policy' from `ipmitool chassis status` output (always-on, previous, always-off)."""
    match = re.search(r"Power Restore Policy\s*:\s*(\S+)", chassis_status)
    return match.group(1) if match else None


def power_on_checks(site: Site, chassis_status: str | None = None) -> list[Check]:
    """How the server comes back after a power cut. chassis_status: live `ipmitool chassis status` output, if read."""
    ups = site.ups
    if ups is None:
        return [Check("ups", "warn", "no UPS in the site: every power cut takes the server down hard")]
    checks = [_power_on(ups, chassis_status)]
    router = site.router
    if router and router.wake_pbx and router.wake_pbx.enabled and site.pbx.mac:
        checks.append(Check("wake-on-lan", "ok", f"fallback: the router's Wake-on-LAN watchdog wakes {site.pbx.mac} "
                                                 f"on {router.wake_pbx.interface} when the PBX stops answering"))
    else:
        missing = ("router.wake_pbx" if router and site.pbx.mac else "a router with wake_pbx and pbx.mac")
        checks.append(Check("wake-on-lan", "warn", f"no fallback: the router's Wake-on-LAN watchdog is the fallback "
                                                   f"when power-on fails; set {missing}"))
    return checks


def _power_on(ups, chassis_status: str | None) -> Check:
    if ups.ipmi is not None:
        if chassis_status is None:
            return Check("power-on", "ok", "BMC present: pbxctl sets the IPMI chassis power policy to always-on")
        policy = restore_policy(chassis_status)
        if policy == "always-on":
            return Check("power-on", "ok", "IPMI chassis power policy is always-on")
        return Check("power-on", "fail", f"IPMI chassis power policy is {policy or 'unknown'}, not always-on: "
                                         "run `pbxctl apply SITE --only ups` or `ipmitool chassis policy always-on`")
    if ups.bios_power_restore:
        return Check("power-on", "ok", "BIOS 'restore on AC power loss' confirmed on (ups.bios_power_restore)")
    return Check("power-on", "fail", "the server has no BMC pbxctl can set, so it stays off when power returns: "
                                     + BIOS_ADVICE)
