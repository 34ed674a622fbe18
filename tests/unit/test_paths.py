"""Directories a site names on the PBX (recording.path): what is refused and what is taken."""

import pytest

from pbxctl.site.paths import _check_data_directory

REFUSED = ["/", "/var", "/var/spool", "/var/spool/asterisk", "/var/spool/asterisk/voicemail",
           "/var/spool/asterisk/voicemail/default", "/var/lib/asterisk/sounds", "/etc/asterisk", "/usr/local",
           "/srv", "/home", "recordings", "/srv/../etc/x", "/var/log/recordings"]
TAKEN = ["/var/spool/asterisk/monitor", "/srv/recordings", "/var/lib/pbxctl/recordings", "/data/calls/2026"]


@pytest.mark.parametrize("path", REFUSED)
def test_refused(path):
    with pytest.raises(ValueError):
        _check_data_directory(path)


@pytest.mark.parametrize("path", TAKEN)
def test_taken(path):
    assert _check_data_directory(path) == path
