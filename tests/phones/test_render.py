"""Writing files, refusing what can't be rendered, and the Eltex archive."""

import gzip
import io
import stat
import tarfile
from pathlib import Path

import pytest
from jinja2 import StrictUndefined

from pbxctl.load import load_site
from pbxctl.phones.render import environment, render_phones, write_phones
from pbxctl.problems import SiteInvalid
from pbxctl.secrets import read_secrets

from .helpers import CASES_DIR, render_case


def _office():
    directory = CASES_DIR / "office"
    return load_site(directory / "site.yml"), read_secrets(directory / "secrets.yml", None)


def test_write_phones_writes_every_file_0640(tmp_path):
    site, secrets = _office()
    written = write_phones(site, secrets, tmp_path / "phones")
    assert sorted(str(p.relative_to(tmp_path / "phones")) for p in written) == sorted(render_case("office"))
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert path.read_bytes() == render_case("office")[str(path.relative_to(tmp_path / "phones"))]
    assert not list((tmp_path / "phones").rglob("*.tmp"))


def test_missing_secrets_are_named_never_printed():
    site, secrets = _office()
    del secrets.data["extensions"]["101"]["password"]
    del secrets.data["phones"]["080023a10004"]
    with pytest.raises(SiteInvalid) as raised:
        render_phones(site, secrets)
    assert "secrets: extensions.101.password: missing" in raised.value.lines
    assert "secrets: phones.080023a10004.http_password: missing" in raised.value.lines
    assert "secrets: phones.080023a10004.admin_password: missing" in raised.value.lines
    leaked = [v for e in secrets.data["extensions"].values() for v in e.values() if len(v) > 8]
    assert not any(value in "\n".join(raised.value.lines) for value in leaked)


def test_shared_keys_overflow_is_refused():
    site, secrets = _office()
    phone = next(p for p in site.phones if p.model == "cisco-spa504g")
    phone.keys = phone.keys + phone.keys[:1]  # 1 line + 4 keys on a 4-key phone
    with pytest.raises(SiteInvalid, match="4 keys for lines and BLF"):
        render_phones(site, secrets)


def test_templates_are_strict():
    assert environment().undefined is StrictUndefined


def test_eltex_archive_is_a_plain_deterministic_tar_gz():
    data = render_case("office")["eltex/a8f94be00007.tar.gz"]
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0", "gzip without a timestamp"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mtime, member.uid, member.mode) == ("pbxctl.cfg", 0, 0, 0o640)
        text = tar.extractfile(member).read().decode()
    assert "fxs.2.user=115" in text and "autoupdate.username=a8f94be00007" in text


def _tarfile_archive(member: str, data: bytes) -> bytes:
    """The archive as tarfile and gzip write it, which eltex.archive puts together by hand."""
    buffer = io.BytesIO()
    with (gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as packed,
          tarfile.open(fileobj=packed, mode="w", format=tarfile.USTAR_FORMAT) as tar):
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = len(data), 0, 0o640
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 9215, 9216, 9217, 10240, 30000])
def test_eltex_archive_is_what_tarfile_and_gzip_write(size):
    from pbxctl.phones.eltex import MEMBER, archive

    data = ("линия=" + "x" * size).encode()[:size] if size else b""
    assert archive(MEMBER, data) == _tarfile_archive(MEMBER, data)


def test_example_office_renders():
    from pbxctl.secrets import Secrets, fill_generated

    site = load_site(Path(__file__).parents[2] / "inventories" / "example-office" / "site.yml")
    secrets = Secrets()
    fill_generated(site, secrets)
    files = render_phones(site, secrets)
    assert "spa502G.cfg" in files and "Config080023A10005.cfg" in files


def _stamps(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(directory)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in directory.rglob("*") if p.is_file()}


def test_a_repeat_write_touches_only_what_changed(tmp_path):
    from pbxctl.phones.render import sync_phones

    site, secrets = _office()
    out = tmp_path / "phones"
    first = sync_phones(site, secrets, out)
    assert len(first.changed) == len(first.files) == len(render_case("office")) and not first.removed
    before = _stamps(out)
    again = sync_phones(site, secrets, out)
    assert again.changed == [] and again.removed == [] and again.files == first.files
    assert _stamps(out) == before, "unchanged files are neither rewritten nor replaced"
    # one phone's line changes name: only that phone's file is written
    site.extensions[next(i for i, e in enumerate(site.extensions) if e.number == "103")].name = "Viktor P."
    changed = sync_phones(site, secrets, out)
    assert [p.name for p in changed.changed] == ["Config080023A10004.cfg"]
    # a file whose mode was loosened is written again, 0640
    (out / "spa000e08d10001.xml").chmod(0o644)
    assert [p.name for p in sync_phones(site, secrets, out).changed] == ["spa000e08d10001.xml"]
    assert stat.S_IMODE((out / "spa000e08d10001.xml").stat().st_mode) == 0o640


def test_files_of_removed_phones_go_and_foreign_files_stay(tmp_path):
    from pbxctl.phones.render import sync_phones

    site, secrets = _office()
    out = tmp_path / "phones"
    sync_phones(site, secrets, out)
    foreign = ["spa50x-30x-7-6-2e.bin", "firmware/KX-HDV130.fw", "notes.txt", "old/KX-UT136.cfg", "spa000e08d1ffff.xml"]
    for name in foreign:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"x")
    (out / "spa000e08d10001.xml.tmp").write_bytes(b"interrupted")
    site.phones = [p for p in site.phones if p.mac not in ("000e08d10004", "a8f94be00007", "080023a10005")]
    result = sync_phones(site, secrets, out)
    assert sorted(str(p.relative_to(out)) for p in result.removed) == sorted([
        "spa000e08d10004.xml", "spa112.cfg", "eltex/a8f94be00007.tar.gz", "Config080023A10005.cfg",
        "KX-TGP600.cfg", "spa000e08d10001.xml.tmp"])
    assert result.changed == []
    left = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert left == set(render_phones(site, secrets)) | set(foreign) | {".pbxctl-phones.json"}
