"""Paths a site names: directories on the PBX (recording.path) and files of the site repository."""

import pytest

from pbxctl.site.paths import _check_data_directory, _check_prompt, _check_repo_path, missing_repo_files

REFUSED = ["/", "/var", "/var/spool", "/var/spool/asterisk", "/var/spool/asterisk/voicemail",
           "/var/spool/asterisk/voicemail/default", "/var/lib/asterisk/sounds", "/etc/asterisk", "/usr/local",
           "/srv", "/home", "recordings", "/srv/../etc/x", "/var/log/recordings"]
TAKEN = ["/var/spool/asterisk/monitor", "/srv/recordings", "/var/lib/pbxctl/recordings", "/data/calls/2026"]


# files of the site repository: IVR prompt files, the router's CA and known_hosts (copied or read by pbxctl)
REPO_REFUSED = ["/etc/shadow.wav", "../secrets.yml", "prompts/../../x.wav", ""]
REPO_TAKEN = ["prompts/welcome.wav", "router-ca.pem", "keys/known_hosts"]
CHECKS = {"pbx directory": _check_data_directory, "site repository file": _check_repo_path}
REFUSALS = [("pbx directory", p) for p in REFUSED] + [("site repository file", p) for p in REPO_REFUSED]
TAKINGS = [("pbx directory", p) for p in TAKEN] + [("site repository file", p) for p in REPO_TAKEN]


@pytest.mark.parametrize(("kind", "path"), REFUSALS)
def test_refused(kind, path):
    with pytest.raises(ValueError):
        CHECKS[kind](path)


@pytest.mark.parametrize(("kind", "path"), TAKINGS)
def test_taken(kind, path):
    assert CHECKS[kind](path) == path


@pytest.mark.parametrize("prompt", ["beep", "custom/warehouses-choose-region", "prompts/welcome.wav"])
def test_sound_names_and_files_taken(prompt):
    assert _check_prompt(prompt) == prompt


@pytest.mark.parametrize("prompt", ["../../etc/passwd", "/var/lib/asterisk/keys/x", "a/../../b.wav"])
def test_prompts_leaving_their_directory_refused(prompt):
    with pytest.raises(ValueError):
        _check_prompt(prompt)


def test_prompt_files_of_the_same_name_would_collide(tmp_path):
    from types import SimpleNamespace

    for name in ("a/hello.wav", "b/hello.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"RIFF")
    site = SimpleNamespace(ivrs=[SimpleNamespace(prompt="a/hello.wav"), SimpleNamespace(prompt="b/hello.wav")],
                           router=None, links=[], pbx=SimpleNamespace(tls=None),
                           recording=SimpleNamespace(announcement=None))
    problems = missing_repo_files(site, tmp_path)
    assert problems == [(("ivrs", 1, "prompt"), "'b/hello.wav' and 'a/hello.wav' would both be shipped as "
                                                "hello.wav: rename one")]
