"""What the backup role is given: the folders a backup takes, and the site's schedule and target."""

from ..site import Site

VOICEMAIL = "/var/spool/asterisk/voicemail"
CDR_CSV = "/var/log/asterisk/cdr-csv"
CDR_SPOOL = "/var/spool/asterisk/pbxctl-cdr"  # roles/asterisk/defaults: asterisk__cdr_spool
PROMPTS = "/var/lib/asterisk/sounds/pbxctl"  # pbxctl.compile.pbx.SOUNDS_DIR
REFERENCE = ["/etc/asterisk"]
# configuration files that hold passwords, PINs or tokens: left out of the reference copy (pbxctl.backup's scan of
# the fetched archive is the guard against one this list misses)
# (extensions_trunks.conf names the trunk endpoints, whose random part is a secret so nobody can guess one)
SECRET_FILES = ["pjsip.conf", "pjsip_registrations.conf",
                "pjsip_wizard.conf", "voicemail.conf", "manager.conf", "ari.conf", "http.conf",
                "extensions_secrets.conf", "extensions_trunks.conf", "iax.conf", "users.conf", "minivm.conf",
                "res_odbc.conf", "xmpp.conf",
                # SIP over TLS: the key, and the certificates compile derives with it (kept with the secrets)
                "pbxctl-sip-tls.key", "pbxctl-sip-tls.crt", "pbxctl-sip-ca.crt"]
# the site's schedule as systemd's OnCalendar, and how long it is between two backups (doctor's yardstick)
CALENDAR = {"hourly": ("hourly", 3600), "daily": ("*-*-* 02:30:00", 86400), "weekly": ("Mon *-*-* 02:30:00", 604800)}


def data_dirs(site: Site) -> list[str]:
    """The folders a backup takes and a restore may write into."""
    return list(dict.fromkeys([VOICEMAIL, str(site.recording.path), CDR_CSV, CDR_SPOOL, PROMPTS]))


def on_calendar(schedule: str) -> tuple[str, int]:
    """(OnCalendar, seconds between runs) of a site's backup schedule: a preset or a daily HH:MM."""
    return CALENDAR.get(schedule) or (f"*-*-* {schedule}:00", 86400)


def backup_vars(site: Site) -> dict:
    scheduled = site.backup.model_dump(mode="json") if site.backup else None
    return {"backup__site": site.site.name, "backup__scheduled": scheduled,
            "backup__on_calendar": on_calendar(site.backup.schedule)[0] if site.backup else None,
            "backup__data_dirs": data_dirs(site), "backup__reference_dirs": REFERENCE,
            "backup__secret_files": SECRET_FILES,
            # an office pair: only the node holding its address runs the scheduled backup
            "backup__active_address": str(site.standby.virtual_address) if site.standby else None}
