"""The PBX's backup tool (roles/backup/files/pbxctl-backup) on local folders: an archive restores byte for byte
with modes and times, a damaged or foreign archive restores nothing, secrets stay out; pbxctl.backup reads the
same manifest on the control node."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pbxctl.backup import ArchiveInvalid, archive_name, read_manifest, secrets_inside

TOOL = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "pbxctl-backup"


def tool(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    return json.loads(done.stdout)


def refused(*args: str) -> str:
    done = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)
    assert done.returncode != 0, done.stdout
    return done.stderr


def tree(root: Path) -> dict:
    """Every file and folder: its bytes' hash, mode and time, as an operator would compare them."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        found[str(path.relative_to(root))] = (digest, oct(info.st_mode), int(info.st_mtime))
    return found


@pytest.fixture
def pbx(tmp_path: Path) -> dict[str, Path]:
    voicemail = tmp_path / "spool" / "voicemail" / "default" / "100" / "INBOX"
    voicemail.mkdir(parents=True)
    (voicemail / "msg0000.wav").write_bytes(os.urandom(20000))
    (voicemail / "msg0000.txt").write_text("callerid=+79161234567\n")
    os.chmod(voicemail / "msg0000.wav", 0o640)
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    (recordings / "in-100-1.wav").write_bytes(os.urandom(5000))
    os.chmod(recordings, 0o2750)
    os.utime(recordings / "in-100-1.wav", (1_700_000_000, 1_700_000_000))
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "extensions.conf").write_text("[office]\nexten => 100,1,Dial(PJSIP/100)\n")
    (etc / "pjsip.conf").write_text("[100]\npassword=s3cret-value-xyz\n")
    return {"root": tmp_path, "spool": tmp_path / "spool", "monitor": recordings, "etc": etc}


def make(pbx: dict[str, Path], out: Path) -> dict:
    return tool("create", "--out", str(out), "--site", "office", "--data", str(pbx["spool"]),
                "--data", str(pbx["monitor"]), "--reference", str(pbx["etc"]), "--secret-file", "pjsip.conf")


def test_restore_gives_back_every_byte_mode_and_time(pbx, tmp_path):
    before = {name: tree(pbx[name]) for name in ("spool", "monitor")}
    archive = tmp_path / "out" / archive_name("office")
    report = make(pbx, archive)
    assert report["files"] == 3 and oct(archive.stat().st_mode & 0o777) == "0o600"
    assert tool("verify", str(archive))["verified"] == 4
    manifest = read_manifest(archive)  # the control node's check agrees with the tool's
    assert manifest["site"] == "office" and {e["kind"] for e in manifest["data"]} == {"dir", "file"}
    for name in ("spool", "monitor"):
        subprocess.run(["rm", "-rf", str(pbx[name])], check=True)
    restored = tool("restore", str(archive), "--root", str(pbx["spool"]), "--root", str(pbx["monitor"]))
    assert restored["restored"] == 3
    assert {name: tree(pbx[name]) for name in ("spool", "monitor")} == before


def test_secret_files_stay_out_of_the_reference(pbx, tmp_path):
    archive = tmp_path / "a.tar.gz"
    make(pbx, archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(n.endswith("etc/extensions.conf") for n in names)
    assert not any(n.endswith("pjsip.conf") for n in names)
    assert secrets_inside(archive, ["s3cret-value-xyz"]) == []
    assert secrets_inside(archive, ["Dial(PJSIP/100)"]) == [str(pbx["etc"] / "extensions.conf")]


def test_a_path_outside_the_given_folders_is_refused_before_anything_is_written(pbx, tmp_path):
    archive = tmp_path / "a.tar.gz"
    make(pbx, archive)
    subprocess.run(["rm", "-rf", str(pbx["spool"])], check=True)
    message = refused("restore", str(archive), "--root", str(pbx["monitor"]))
    assert "outside the folders a restore may write" in message
    assert not pbx["spool"].exists()


def _rewrite(archive: Path, out: Path, change) -> None:
    """A copy of the archive with one member's bytes changed by `change(name, bytes)`."""
    with tarfile.open(archive) as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            body = source.extractfile(member).read() if member.isreg() else None
            if body is not None:
                body = change(member.name, body)
                member.size = len(body)
            target.addfile(member, io.BytesIO(body) if body is not None else None)


def test_a_damaged_file_is_found_on_both_sides(pbx, tmp_path):
    archive, damaged = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    make(pbx, archive)
    _rewrite(archive, damaged, lambda name, body: body[:-1] + b"X" if name.endswith("msg0000.wav") else body)
    assert "checksum does not match" in refused("verify", str(damaged))
    with pytest.raises(ArchiveInvalid, match="msg0000.wav: checksum does not match"):
        read_manifest(damaged)
    wav = pbx["spool"] / "voicemail/default/100/INBOX/msg0000.wav"
    original = wav.read_bytes()
    assert "checksum does not match" in refused("restore", str(damaged), "--root", str(pbx["spool"]),
                                                "--root", str(pbx["monitor"]))
    assert wav.read_bytes() == original


def test_a_file_that_is_no_archive_is_told(tmp_path):
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not an archive")
    with pytest.raises(ArchiveInvalid, match="not a pbxctl backup or damaged"):
        read_manifest(bogus)


def _stored(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return {name.removeprefix("data") for name in tar.getnames() if name.startswith("data/")}


def test_an_incremental_archive_stores_only_what_changed_and_restores_everything(pbx, tmp_path):
    out = tmp_path / "out"
    first, second = out / "office-1.tar.gz", out / "office-2.tar.gz"
    make(pbx, first)
    old_recording = pbx["monitor"] / "in-100-1.wav"
    new_recording = pbx["monitor"] / "in-101-2.wav"
    new_recording.write_bytes(os.urandom(7000))
    message = pbx["spool"] / "voicemail/default/100/INBOX/msg0000.txt"
    message.write_text("callerid=+79161234568\n")  # same size, new bytes and time: stored again
    report = tool("create", "--out", str(second), "--site", "office", "--data", str(pbx["spool"]),
                  "--data", str(pbx["monitor"]), "--base", str(first))
    assert report["files"] == 4 and report["stored_files"] == 2 and report["needs"] == [first.name]
    assert {str(new_recording), str(message)} <= _stored(second)
    assert str(old_recording) not in _stored(second)
    manifest = read_manifest(second)  # the control node follows the chain too
    assert manifest["since_full"] == 1
    assert {i["path"]: i.get("in") for i in manifest["data"] if i["kind"] == "file"}[str(old_recording)] == \
        first.name
    before = {name: tree(pbx[name]) for name in ("spool", "monitor")}
    for name in ("spool", "monitor"):
        subprocess.run(["rm", "-rf", str(pbx[name])], check=True)
    restored = tool("restore", str(second), "--root", str(pbx["spool"]), "--root", str(pbx["monitor"]))
    assert restored["restored"] == 4
    assert {name: tree(pbx[name]) for name in ("spool", "monitor")} == before


def test_an_incremental_archive_without_the_one_it_draws_on_restores_nothing(pbx, tmp_path):
    first, second = tmp_path / "office-1.tar.gz", tmp_path / "office-2.tar.gz"
    make(pbx, first)
    (pbx["monitor"] / "in-101-2.wav").write_bytes(os.urandom(100))
    tool("create", "--out", str(second), "--site", "office", "--data", str(pbx["spool"]), "--data",
         str(pbx["monitor"]), "--base", str(first))
    first.rename(tmp_path / "elsewhere.tar.gz")
    subprocess.run(["rm", "-rf", str(pbx["monitor"])], check=True)
    assert f"{first.name}: an archive this backup draws on is missing" in refused(
        "restore", str(second), "--root", str(pbx["spool"]), "--root", str(pbx["monitor"]))
    assert not pbx["monitor"].exists()
    with pytest.raises(ArchiveInvalid, match=f"{first.name}: an archive this backup draws on is missing"):
        read_manifest(second)


def test_a_base_of_another_site_is_refused(pbx, tmp_path):
    other = tmp_path / "branch-1.tar.gz"
    tool("create", "--out", str(other), "--site", "branch", "--data", str(pbx["monitor"]))
    assert "a backup of site 'branch', not of 'office'" in refused(
        "create", "--out", str(tmp_path / "office-1.tar.gz"), "--site", "office", "--data", str(pbx["monitor"]),
        "--base", str(other))


def test_scheduled_chains_keep_the_newest_and_what_they_draw_on(pbx, tmp_path):
    """Ten scheduled runs, a full archive every third, two kept: the retention the push applies leaves archives
    that each restore whole, and nothing more than they need."""
    from pbxctl.backup import _tool

    module, folder = _tool(), tmp_path / "scheduled"
    folder.mkdir()
    for run in range(10):
        (pbx["monitor"] / f"call-{run}.wav").write_bytes(os.urandom(3000))  # a trickle of recordings
        base = module._base(str(folder), "office", 3)
        report = tool("create", "--out", str(folder / f"office-{run:04}.tar.gz"), "--site", "office",
                      "--data", str(pbx["monitor"]), *(["--base", base] if base else []))
        assert report["stored_files"] == (report["files"] if run % 3 == 0 else 1), (run, report)
        kept = module.retained(str(folder), "office", 2)
        for name in set(os.listdir(folder)) - kept:
            (folder / name).unlink()
    # the newest two (runs 8 and 9) and the rest of their chain: the full run 6 and run 7, which holds call 7
    assert sorted(os.listdir(folder)) == [f"office-{run:04}.tar.gz" for run in (6, 7, 8, 9)]
    for name in os.listdir(folder):
        assert tool("verify", str(folder / name))["verified"] >= 7
