"""doctor: the age of the last good scheduled backup (the note `pbxctl-backup push` writes once it has pushed)."""

import time

from ..compile.continuity import on_calendar
from ..site import Site
from .checks import Check

LAST_GOOD = "/var/lib/pbxctl/backup/last-good"  # roles/backup/defaults: backup__state_dir
BACKUP_COMMANDS = {
    "backup_last_good": f"cat {LAST_GOOD} 2>/dev/null || true",
    "backup_service": "systemctl show -p Result --value pbxctl-backup.service 2>/dev/null || true",
}


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def backup_checks(site: Site, outputs: dict[str, str | None], now: float | None = None) -> list[Check]:
    if not site.backup:
        return []
    _, interval = on_calendar(site.backup.schedule)
    note = (outputs.get("backup_last_good") or "").split()
    result = (outputs.get("backup_service") or "").strip()
    failed = f"; the last run failed ({result}): journalctl -u pbxctl-backup" if result not in ("", "success") else ""
    if len(note) != 2 or not note[0].isdigit():
        return [Check("backup", "fail", f"no good backup to {site.backup.target} yet{failed}")]
    age = (now or time.time()) - int(note[0])
    # one missed run is a warning (the PBX was off, the target down); two, the backups have stopped
    status = "ok" if age <= interval * 1.5 else "warn" if age <= interval * 2.5 else "fail"
    return [Check("backup", "fail" if failed and status != "ok" else status,
                  f"last good backup {_age(age)} ago ({note[1]}, {site.backup.schedule}) to {site.backup.target}"
                  f"{failed}")]
