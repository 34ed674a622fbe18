"""GSM trunks as the driver sees them: its module loaded, and each trunk's modem found (by IMEI or IMSI) and on the
network. One command reads every chan_quectel trunk's state; the judging is here."""

import re

from ..site import Site
from .checks import Check

# chan_quectel's `show device state` lines: "  State                   : Not connected"
FIELD_RE = re.compile(r"^\s{2}([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$")


def _quectel_trunks(site: Site) -> list:
    return [t for t in site.trunks if t.type == "gsm_dongle" and t.driver == "chan_quectel"]


def gsm_commands(site: Site) -> dict[str, str]:
    trunks = _quectel_trunks(site)
    if not trunks:
        return {}
    # trunk names are lower-case letters, digits, '-' and '_' (site.base.Name): safe between single quotes
    states = "; ".join(f"echo '== {t.name}'; asterisk -rx 'quectel show device state {t.name}'" for t in trunks)
    return {"gsm_module": "asterisk -rx 'module show like chan_quectel'", "gsm_devices": states}


def _device_states(text: str) -> dict[str, dict[str, str]]:
    devices: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("== "):
            current = devices.setdefault(line[3:].strip(), {})
        elif current is not None and (m := FIELD_RE.match(line)):
            current[m.group(1)] = m.group(2).strip()
        elif current is not None and line.strip():
            current.setdefault("_said", line.strip())
    return devices


def gsm_checks(site: Site, state: dict[str, str]) -> list[Check]:
    trunks = _quectel_trunks(site)
    if not trunks:
        return []
    if "chan_quectel.so" not in (state.get("gsm_module") or ""):
        return [Check(f"trunk {t.name}", "fail", "chan_quectel is not loaded in Asterisk: the GSM trunk cannot "
                      "work (apply again; its package is built with Asterisk)") for t in trunks]
    devices = _device_states(state.get("gsm_devices") or "")
    checks = []
    for trunk in trunks:
        device = devices.get(trunk.name, {})
        by = f"IMSI {trunk.imsi}" if trunk.imsi else f"IMEI {trunk.imei}"
        status = device.get("State")
        if status is None:
            said = device.get("_said", "no answer")
            checks.append(Check(f"trunk {trunk.name}", "fail", f"chan_quectel has no device {trunk.name} ({said}): "
                                "its quectel.conf section did not load"))
        # the state may carry what the driver plans next ("Not connected Start scheduled")
        elif status.startswith(("Not connected", "Stopped")):
            checks.append(Check(f"trunk {trunk.name}", "fail",
                                f"GSM modem with {by} not found ({status}; no /dev/modem/"
                                f"{'by-imsi/' + trunk.imsi if trunk.imsi else 'by-imei/' + trunk.imei}): check that "
                                "it is plugged in and powered"))
        elif status.startswith(("Not initialized", "GSM not registered")):
            checks.append(Check(f"trunk {trunk.name}", "fail", f"GSM modem with {by} found, but {status}: "
                                "check the SIM and the signal"))
        else:
            checks.append(Check(f"trunk {trunk.name}", "ok", f"GSM modem with {by} on the network ({status})"))
    return checks
