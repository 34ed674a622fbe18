"""The lab as the overlay of a fleet: each site on a machine of its own (pbx, branch-b, branch-c), one carrier."""

from dataclasses import replace

from ..problems import UserError
from . import hosts, up
from .retarget import Retarget, lab_retarget

# the lab's PBX machines, in the order a fleet's sites are placed on them
PBX_MACHINES = ("pbx", "branch-b", "branch-c")


def lab_fleet(count: int, boot: bool = True) -> list[Retarget]:
    if count > len(PBX_MACHINES):
        raise UserError([f"--lab: the lab has {len(PBX_MACHINES)} PBX machines ({', '.join(PBX_MACHINES)}); "
                         f"this fleet has {count} sites"])
    base = lab_retarget(boot)
    names = list(PBX_MACHINES[1:count])
    found = (up(names) if boot else hosts(names)) if names else {}
    return [base] + [replace(base, pbx_host=found[name].address, ssh_private_key=str(found[name].ssh_key),
                             apt_proxy=found[name].proxy_url) for name in names]
