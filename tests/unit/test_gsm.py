"""GSM trunks: the driver's source in the site, its build with Asterisk (cache key, package), the role's
configuration and `doctor`'s reading of the driver's own state."""

import subprocess
from pathlib import Path

import jinja2
import pytest

from pbxctl.build import __main__ as build_main
from pbxctl.build import asterisk
from pbxctl.compile import site_vars
from pbxctl.doctor.gsm import gsm_checks, gsm_commands
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid
from pbxctl.resources import roles_dir
from pbxctl.site import gsm

from .conftest import MINIMAL, write_site, write_stand_in_source

IMEI = "860075031047294"
SITE = MINIMAL + """\
  install:
    source: build
    version: 22.10.1
    gsm_sources: {chan_quectel: {path: vendor/chan_quectel.tar.gz}}
trunks:
  - {name: gsm-a, type: gsm_dongle, imei: "860075031047294"}
  - {name: gsm-b, type: gsm_dongle, imei: "860075031047295", imsi: "250010100007919"}
"""


@pytest.fixture
def site_file(tmp_path) -> Path:
    write_stand_in_source(tmp_path / "vendor" / "chan_quectel.tar.gz")
    return write_site(tmp_path, SITE)


def test_a_gsm_trunk_with_its_source_validates_and_compiles(site_file):
    variables = site_vars(load_site(site_file))
    assert variables["asterisk__install"]["gsm_sources"] == {"chan_quectel": {"path": "vendor/chan_quectel.tar.gz"}}
    assert [d["driver"] for d in variables["asterisk__dongles"]] == ["chan_quectel", "chan_quectel"]


def test_a_source_with_another_checksum_is_refused(site_file):
    site_file.write_text(site_file.read_text().replace("path: vendor/chan_quectel.tar.gz}",
                                                       "path: vendor/chan_quectel.tar.gz, sha256: " + "0" * 64 + "}"))
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert "pbx.install.gsm_sources.chan_quectel.sha256" in str(raised.value)
    real = gsm.source_sha256(site_file.parent / "vendor" / "chan_quectel.tar.gz")
    site_file.write_text(site_file.read_text().replace("0" * 64, real))
    load_site(site_file)


def test_a_source_outside_the_site_directory_is_refused(site_file):
    site_file.write_text(site_file.read_text().replace("vendor/chan_quectel.tar.gz", "../chan_quectel.tar.gz"))
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert "pbx.install.gsm_sources.chan_quectel.path" in str(raised.value)


def test_a_source_no_trunk_uses_is_refused(site_file):
    site_file.write_text(site_file.read_text().split("trunks:")[0])
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert "no gsm_dongle trunk uses chan_quectel" in str(raised.value)


def test_a_directory_hash_follows_its_files_and_not_its_git(tmp_path):
    tree = tmp_path / "chan_quectel"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "a.c").write_text("int a;\n")
    before = gsm.tree_sha256(tree)
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert gsm.tree_sha256(tree) == before, "a checkout's .git is not its source"
    (tree / "src" / "a.c").write_text("int b;\n")
    assert gsm.tree_sha256(tree) != before


def test_the_cache_key_includes_the_drivers_source(tmp_path):
    plain = asterisk.release("22.10.1")
    first = asterisk.gsm_source("chan_quectel", write_stand_in_source(tmp_path / "one" / "chan_quectel.tar.gz"))
    (tmp_path / "two").mkdir()
    other = tmp_path / "two" / "chan_quectel.tar.gz"
    other.write_bytes(first.path.read_bytes() + b"\0" * 512)  # another source: more bytes
    second = asterisk.gsm_source("chan_quectel", other)
    keys = {asterisk.recipe_hash(plain), asterisk.recipe_hash(asterisk.release("22.10.1", gsm=(first,))),
            asterisk.recipe_hash(asterisk.release("22.10.1", gsm=(second,)))}
    assert len(keys) == 3
    # where the same source lies on the control node does not matter
    moved = tmp_path / "moved.tar.gz"
    moved.write_bytes(first.path.read_bytes())
    assert asterisk.recipe_hash(asterisk.release("22.10.1", gsm=(asterisk.gsm_source("chan_quectel", moved),))) \
        == asterisk.recipe_hash(asterisk.release("22.10.1", gsm=(first,)))


def test_the_cache_key_follows_the_drivers_patches(tmp_path, monkeypatch):
    source = asterisk.gsm_source("chan_quectel", write_stand_in_source(tmp_path / "chan_quectel.tar.gz"))
    rel, plain = asterisk.release("22.10.1", gsm=(source,)), asterisk.release("22.10.1")
    before = asterisk.recipe_hash(rel), asterisk.recipe_hash(plain)
    patches = tmp_path / "patches"
    (patches / "chan_quectel").mkdir(parents=True)
    for patch in asterisk.gsm_patches("chan_quectel"):
        (patches / "chan_quectel" / patch.name).write_bytes(patch.read_bytes())
    monkeypatch.setattr(asterisk, "GSM_PATCHES", patches)
    assert (asterisk.recipe_hash(rel), asterisk.recipe_hash(plain)) == before
    (patches / "chan_quectel" / "0099-another-fix.patch").write_text("--- a/x\n+++ b/x\n")
    assert asterisk.recipe_hash(rel) != before[0], "a new fix to the driver is a new build"
    assert asterisk.recipe_hash(plain) == before[1], "a build without the driver does not depend on its fixes"


def _images(patch: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The files a unified diff changes, as its hunks' lines show them before and after it."""
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    name = None
    for line in patch.read_text().splitlines(keepends=True):
        if line.startswith("+++ b/"):
            name = line[6:].strip()
            before.setdefault(name, []), after.setdefault(name, [])
        elif name is None or line.startswith(("--- ", "@@")):
            continue
        elif line.startswith(" "):
            before[name].append(line[1:]), after[name].append(line[1:])
        elif line.startswith("-"):
            before[name].append(line[1:])
        elif line.startswith("+"):
            after[name].append(line[1:])
    return ({k: "".join(v) for k, v in before.items()}, {k: "".join(v) for k, v in after.items()})


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _apply(top: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(asterisk.PATCH_SCRIPT), str(top), str(asterisk.GSM_PATCHES / "chan_quectel")],
                          capture_output=True, text=True)


def test_the_drivers_patches_apply_once_and_a_source_that_has_them_is_built_as_it_is(tmp_path):
    patches = asterisk.gsm_patches("chan_quectel")
    assert patches, "the enum2str_def fix (no modem: `quectel show device state` crashed Asterisk)"
    for patch in patches:
        old, new = _images(patch)
        assert old and old != new, patch
        top = _tree(tmp_path / patch.stem / "old", old)
        done = _apply(top)
        assert done.returncode == 0 and f"{patch.name}: applied" in done.stdout, done
        assert {name: (top / name).read_text() for name in new} == new
        again = _apply(top)  # a newer upstream source with the same fix
        assert again.returncode == 0 and f"{patch.name}: already in the source" in again.stdout, again
        assert {name: (top / name).read_text() for name in new} == new


def test_a_patch_that_does_not_fit_the_source_stops_the_build(tmp_path):
    old, _ = _images(asterisk.gsm_patches("chan_quectel")[0])
    top = _tree(tmp_path / "src", {name: "another driver's file\n" for name in old})
    failed = _apply(top)
    assert failed.returncode != 0 and "does not apply" in failed.stderr, failed
    assert all((top / name).read_text() == "another driver's file\n" for name in old)


def test_the_build_refuses_a_source_that_is_not_the_one_named(tmp_path):
    source = write_stand_in_source(tmp_path / "chan_quectel.tar.gz")
    with pytest.raises(asterisk.BuildError, match="sha256"):
        asterisk.gsm_source("chan_quectel", source, "1" * 64)
    with pytest.raises(asterisk.BuildError, match="no build recipe"):
        asterisk.gsm_source("chan_dongle", source)
    with pytest.raises(asterisk.BuildError, match="not a directory"):
        asterisk.gsm_source("chan_quectel", tmp_path / "missing.tar.gz")


def test_the_driver_package_is_versioned_by_asterisk_and_its_source(tmp_path):
    source = asterisk.gsm_source("chan_quectel", write_stand_in_source(tmp_path / "chan_quectel.tar.gz"))
    rel = asterisk.release("22.10.1", gsm=(source,))
    ours = asterisk.gsm_package_version(rel, "bookworm", source)
    assert ours.startswith(asterisk.package_version(rel, "bookworm") + "+chanquectel.")
    assert subprocess.run(["dpkg", "--compare-versions", ours, "gt", asterisk.package_version(rel, "bookworm")]
                          ).returncode == 0
    # the script names the package as the manifest expects, and pins the Asterisk package it was built against
    script = asterisk.GSM_SCRIPT.read_text()
    assert "package=asterisk-chan-quectel" in script and asterisk.GSM_PACKAGES["chan_quectel"] == \
        "asterisk-chan-quectel"
    assert "Depends: asterisk (= $PKG_VERSION)" in script
    assert '-DAST_HEADER_DIR="$src/include"' in script, "headers come from the Asterisk tree just built"


def test_the_role_passes_each_source_beside_the_site_file():
    assert build_main._gsm_spec("chan_quectel=/site/a=b/chan_quectel.tar.gz") == \
        ("chan_quectel", "/site/a=b/chan_quectel.tar.gz", None)
    assert build_main._gsm_spec("chan_quectel=/site/q.tar.gz=" + "a" * 64) == \
        ("chan_quectel", "/site/q.tar.gz", "a" * 64)


def _render(name: str, **variables) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["comment"] = lambda text, **_: ""
    path = roles_dir() / "asterisk/templates/etc/asterisk" / name
    return env.from_string(path.read_text()).render(ansible_managed="", **variables)


def test_quectel_conf_opens_each_modem_by_its_imei_or_imsi(site_file):
    variables = site_vars(load_site(site_file))
    text = _render("quectel.conf.j2", asterisk__dongles=variables["asterisk__dongles"], asterisk__language="en")
    assert "[gsm-a]\ndata=/dev/modem/by-imei/860075031047294\n" in text
    assert "[gsm-b]\ndata=/dev/modem/by-imsi/250010100007919\n" in text
    # keys chan_quectel reads (dc_config.c); chan_dongle's names (resetdongle, disablesms) are not among them
    assert "resetmodem=yes" in text and "resetquectel" not in text and "disablesms" not in text
    keys = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith(";")}
    assert keys <= QUECTEL_KEYS, keys - QUECTEL_KEYS
    # its dtmf is on/off: chan_dongle's 'relax' was logged as invalid and crashed Asterisk in the lab
    assert "dtmf=relax" not in text


# what chan_quectel's dc_config.c reads: [general] interval, the device keys, the shared settings
QUECTEL_KEYS = {"interval", "audio", "data", "alsadev", "uac", "slin16", "context", "exten", "language", "group",
                "rxgain", "txgain", "callingpres", "usecallingpres", "autodeletesms", "resetmodem", "disable",
                "initstate", "callwaiting", "multiparty", "dtmf", "dtmf_duration", "moh", "query_time", "dsci", "qhup",
                "msg_direct", "msg_storage", "msg_service"}


def test_modules_conf_loads_the_driver(site_file):
    variables = site_vars(load_site(site_file))
    text = _render("modules.conf.j2", asterisk__dongles=variables["asterisk__dongles"], asterisk__cdr={"csv": False},
                   asterisk__crm=None)
    assert "load => chan_quectel.so" in text


MODULE_SHOW = """\
Module                         Description                              Use Count  Status   Support Level
chan_quectel.so                Quectel Channel Driver                   0          Running              extended
1 modules loaded
"""


def _state(name: str, state: str, data: str = "") -> str:
    return (f"== {name}\n-------------- Status -------------\n  Device                  : {name}\n"
            f"  State                   : {state}\n  Data                    : {data}\n  IMEI                    : \n")


def test_doctor_reads_every_quectel_trunk_in_one_command(site_file):
    site = load_site(site_file)
    commands = gsm_commands(site)
    assert set(commands) == {"gsm_module", "gsm_devices"}
    assert "quectel show device state gsm-a" in commands["gsm_devices"]
    assert "quectel show device state gsm-b" in commands["gsm_devices"]


def test_doctor_says_which_modem_is_not_found(site_file):
    site = load_site(site_file)
    checks = {c.name: c for c in gsm_checks(site, {
        "gsm_module": MODULE_SHOW,
        "gsm_devices": _state("gsm-a", "Not connected Start scheduled") + _state("gsm-b", "Free", "/dev/modem/x")})}
    assert checks["trunk gsm-a"].status == "fail"
    assert f"IMEI {IMEI} not found" in checks["trunk gsm-a"].message
    assert checks["trunk gsm-b"].status == "ok" and "IMSI 250010100007919" in checks["trunk gsm-b"].message


def test_doctor_fails_every_gsm_trunk_when_the_driver_is_not_loaded(site_file):
    site = load_site(site_file)
    checks = gsm_checks(site, {"gsm_module": "0 modules loaded\n", "gsm_devices": ""})
    assert [c.name for c in checks] == ["trunk gsm-a", "trunk gsm-b"]
    assert all(c.status == "fail" and "not loaded" in c.message for c in checks)


def test_doctor_says_when_the_driver_has_no_such_device(site_file):
    site = load_site(site_file)
    checks = {c.name: c for c in gsm_checks(site, {
        "gsm_module": MODULE_SHOW, "gsm_devices": "== gsm-a\nDevice gsm-a not found\n" + _state("gsm-b", "Free")})}
    assert checks["trunk gsm-a"].status == "fail" and "has no device gsm-a" in checks["trunk gsm-a"].message
