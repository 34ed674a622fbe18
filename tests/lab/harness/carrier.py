"""The lab's SIP provider lives in the package (the lab demo uses it too); tests import it from here."""

from collections.abc import Iterable

from pbxctl import lab as lab_api
from pbxctl.lab.carrier import PROBE_HEADER, Carrier, InboundCallResult, OutboundCall, TrunkAccount, wait_until  # noqa: F401

# the PBX's own: a qualify of every trunk and link, then every provider account registered again
_RECHECK = "/usr/local/sbin/pbxctl-trunks-recheck"


def pbx_catches_up(carrier: Carrier, usernames: Iterable[str], machine: str = "pbx", timeout: float = 60) -> None:
    """The PBX was applied before the carrier knew its accounts: it registers now, not after its back-off, and
    checks every trunk again. A qualify that met the carrier reloading left that trunk Unavailable, and Asterisk
    refuses calls out through it until the next qualify, 60 s later."""
    lab_api.ssh_run(machine, _RECHECK, check=False)
    for username in usernames:
        assert carrier.wait_registered(username, timeout=timeout), f"{username} did not register"

    def trunks_reachable() -> bool:
        contacts = lab_api.ssh_run(machine, "asterisk -rx 'pjsip show contacts'", check=False).stdout
        return not [line for line in contacts.splitlines() if "trunk-" in line and "Unavail" in line]

    if not wait_until(trunks_reachable, 10):
        lab_api.ssh_run(machine, _RECHECK, check=False)  # a qualify sent before the carrier answered again
        assert wait_until(trunks_reachable, 20), "a trunk stays unreachable from the PBX"
