"""Scheduled backups: the site's schedule as a systemd timer, the key pbxctl makes, and doctor's reading of the
last good backup's age."""

from pathlib import Path

import yaml

from pbxctl.compile.continuity import backup_vars, on_calendar
from pbxctl.doctor.backup import backup_checks
from pbxctl.load import load_site
from pbxctl.pki import new_ssh_key, ssh_public_key
from pbxctl.secrets import Secrets, fill_generated

NOW = 1_800_000_000


def _site(tmp_path: Path, backup: dict | None):
    data = {"site": {"name": "office"}, "pbx": {"host": "192.0.2.10"}}
    if backup is not None:
        data["backup"] = backup
    (tmp_path / "site.yml").write_text(yaml.safe_dump(data))
    return load_site(tmp_path / "site.yml")


def test_schedules_become_calendar_events():
    assert on_calendar("hourly") == ("hourly", 3600)
    assert on_calendar("daily") == ("*-*-* 02:30:00", 86400)
    assert on_calendar("weekly") == ("Mon *-*-* 02:30:00", 604800)
    assert on_calendar("23:05") == ("*-*-* 23:05:00", 86400)


def test_the_role_gets_the_target_or_nothing(tmp_path):
    scheduled = backup_vars(_site(tmp_path, {"target": "pbx@192.0.2.20:/srv/backups", "schedule": "04:00"}))
    assert scheduled["backup__scheduled"] == {"target": "pbx@192.0.2.20:/srv/backups", "port": 22,
                                              "schedule": "04:00", "keep": 14, "full_every": 7}
    assert scheduled["backup__on_calendar"] == "*-*-* 04:00:00"
    plain = backup_vars(_site(tmp_path, None))
    assert plain["backup__scheduled"] is None and plain["backup__on_calendar"] is None
    assert "/var/spool/asterisk/voicemail" in plain["backup__data_dirs"]


def test_the_key_is_made_once_only_for_a_site_with_backups(tmp_path):
    secrets = Secrets({})
    fill_generated(_site(tmp_path, None), secrets)
    assert "backup" not in secrets.data
    site = _site(tmp_path, {"target": "pbx@192.0.2.20:/srv/backups"})
    fill_generated(site, secrets)
    key = secrets.get("backup", "ssh", "private_key")
    assert key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    fill_generated(site, secrets)
    assert secrets.get("backup", "ssh", "private_key") == key
    assert ssh_public_key(key, "pbxctl-backup@office").startswith("ssh-ed25519 AAAA")
    assert ssh_public_key(key, "c") != ssh_public_key(new_ssh_key(), "c")


def test_doctor_tells_the_age_of_the_last_good_backup(tmp_path):
    site = _site(tmp_path, {"target": "pbx@192.0.2.20:/srv/backups"})
    fresh = backup_checks(site, {"backup_last_good": f"{NOW - 7200} office-x.tar.gz", "backup_service": "success"},
                          NOW)
    assert fresh[0].status == "ok" and "2.0 h ago (office-x.tar.gz, daily)" in fresh[0].message
    missed = backup_checks(site, {"backup_last_good": f"{NOW - 2 * 86400} office-x.tar.gz"}, NOW)
    assert missed[0].status == "warn"
    stopped = backup_checks(site, {"backup_last_good": f"{NOW - 5 * 86400} office-x.tar.gz",
                                   "backup_service": "exit-code"}, NOW)
    assert stopped[0].status == "fail" and "5.0 days ago" in stopped[0].message
    assert "the last run failed (exit-code)" in stopped[0].message
    never = backup_checks(site, {"backup_last_good": "", "backup_service": ""}, NOW)
    assert never[0].status == "fail" and "no good backup" in never[0].message
    assert backup_checks(_site(tmp_path, None), {}, NOW) == []
