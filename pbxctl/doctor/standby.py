"""doctor on an office pair: which node holds the virtual address, and how far behind the other one's data is."""

import time

from ..compile.inventory import pbx_host_name, standby_host_name
from ..site import Site
from .checks import Check

RUN_DIR, LIB_DIR = "/run/pbxctl-standby", "/var/lib/pbxctl/standby"  # roles/standby/defaults


def standby_commands(site: Site) -> dict[str, str]:
    if site.standby is None:
        return {}
    return {
        "standby_holds": f"ip -o -4 addr show | grep -q ' {site.standby.virtual_address}/' && echo yes || echo no",
        "standby_keepalived": "systemctl is-active keepalived 2>/dev/null || true",
        # the time of the data last pushed from here / last received here (the pushing node's clock)
        "standby_pushed": f"cat {LIB_DIR}/pushed 2>/dev/null || true",
        "standby_received": f"cat {LIB_DIR}/received 2>/dev/null || true",
    }


def nodes(site: Site) -> dict[str, str]:
    """Inventory host name → which node of the pair it is."""
    return {pbx_host_name(site): "primary", standby_host_name(site): "standby"}


def active_host(site: Site, states: dict[str, dict]) -> str | None:
    """The node whose state the PBX checks judge: the one holding the virtual address, else the primary."""
    holders = [host for host, state in states.items() if (state.get("standby_holds") or "").strip() == "yes"]
    if holders:
        return holders[0]
    return pbx_host_name(site) if pbx_host_name(site) in states else next(iter(states), None)


def standby_checks(site: Site, states: dict[str, dict], now: float | None = None) -> list[Check]:
    if site.standby is None:
        return []
    now = now or time.time()
    vip = site.standby.virtual_address
    named = nodes(site)
    silent = [named[host] for host in named if host not in states]
    holders = [named[host] for host, state in states.items() if (state.get("standby_holds") or "").strip() == "yes"]
    idle = [named[host] for host, state in states.items()
            if (state.get("standby_keepalived") or "").strip() != "active"]
    if len(holders) > 1:
        pair = Check("standby", "fail", f"both nodes hold {vip}: split brain, calls go to either (check the LAN "
                     "between them, then `pbxctl failback`)")
    elif not holders:
        pair = Check("standby", "fail", f"no node holds {vip}: phones and providers reach no PBX")
    elif silent or idle:
        why = (f"the {', '.join(silent)} does not answer" if silent
               else f"keepalived is not running on the {', '.join(idle)}")
        pair = Check("standby", "warn", f"the {holders[0]} holds {vip}; {why}: no takeover if it fails")
    else:
        passive = next(node for node in named.values() if node != holders[0])
        pair = Check("standby", "ok", f"the {holders[0]} holds {vip} and registers the providers; the {passive} "
                     "waits, ready to take over")
    return [pair, *_lag(site, states, named, now)]


def _lag(site: Site, states: dict[str, dict], named: dict[str, str], now: float) -> list[Check]:
    every = site.standby.sync_seconds
    for host, state in states.items():
        if (state.get("standby_holds") or "").strip() == "yes":
            continue
        received = (state.get("standby_received") or "").strip()
        if not received.isdigit():
            return [Check("replication", "fail", f"the {named[host]} has received no data from the active node")]
        lag = max(0, now - int(received))
        # a push is due every `every` seconds and takes a few: three missed is a warning, thirty a failure
        status = "ok" if lag <= 3 * every + 10 else "warn" if lag <= 30 * every else "fail"
        return [Check("replication", status, f"the {named[host]}'s voicemail, recordings and call records are "
                      f"{lag:.0f} s behind (pushed every {every} s)")]
    return []
