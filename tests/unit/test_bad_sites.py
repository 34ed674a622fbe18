"""Every file in tests/bad_sites/ is a broken site; its `# expect:` header lines say what validate must print."""

import re
from pathlib import Path

import pytest

from pbxctl.cli import app
from pbxctl.load import load_site, parse_located
from pbxctl.problems import SiteInvalid

from .conftest import BAD_SITES, write_site

EXPECT_RE = re.compile(r"^# expect: (\d+):(\d+): (.+?): (.+)$")
CASES = sorted(BAD_SITES.glob("*.yml"))


def expectations(path: Path) -> list[tuple[int, int, str, str]]:
    found = []
    # bytes, not text: a case may be a file in another encoding (its headers are ASCII)
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if line.startswith("# expect:"):
            match = EXPECT_RE.match(line)
            assert match, f"{path.name}: malformed header {line!r}"
            found.append((int(match[1]), int(match[2]), match[3], match[4]))
    return found


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert all(expectations(case) for case in CASES), "every bad site needs an '# expect:' header"


def _matches(line: str, file: str, expected: tuple[int, int, str, str]) -> bool:
    row, col, path, message = expected
    prefix = f"{file}:{row}:{col}: {path}: "
    return line.startswith(prefix) and message in line[len(prefix):]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_validate_reports_expected_problems(case: Path, runner, monkeypatch):
    monkeypatch.chdir(case.parent)
    result = runner.invoke(app, ["validate", case.name])
    output = result.output
    assert result.exit_code == 3, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    for expected in expectations(case):
        assert any(_matches(line, case.name, expected) for line in lines), (
            f"expected {expected} in:\n{output}")
    # one line per problem, nothing else
    assert len(lines) == len(expectations(case)), output


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_loader_reports_exactly_the_expected_problems(case: Path):
    with pytest.raises(SiteInvalid) as raised:
        load_site(case)
    got = raised.value.lines
    wanted = expectations(case)
    assert len(got) == len(wanted), got
    for line, expected in zip(got, wanted, strict=True):
        assert _matches(line, str(case), expected), (line, expected)


def test_all_problems_of_a_file_are_reported_at_once():
    lines = load_site_lines(BAD_SITES / "several_problems.yml")
    assert len(lines) == 5
    paths = {line.split(": ")[1] for line in lines}
    assert paths == {"extensions[1].number", "ring_groups[0].members[1]", "inbound_routes[1].did",
                     "inbound_routes[1].target", "outbound_routes[0].trunks[0]"}
    # and sorted by position in the file
    positions = [tuple(int(n) for n in line.split(":")[1:3]) for line in lines]
    assert positions == sorted(positions)


def load_site_lines(path: Path) -> list[str]:
    with pytest.raises(SiteInvalid) as raised:
        load_site(path)
    return raised.value.lines


def test_file_that_is_not_utf8(tmp_path, runner):
    site = tmp_path / "site.yml"
    site.write_bytes(b"site:\n  name: caf\xe9\n")
    result = runner.invoke(app, ["validate", str(site)])
    assert result.exit_code == 3
    assert f"{site}:2:12: (file): not UTF-8 text (byte 0xe9); save it as UTF-8\n" in result.output
    assert "Traceback" not in result.output


def test_missing_file(tmp_path, runner):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yml")])
    assert result.exit_code == 3
    assert f"{tmp_path / 'nope.yml'}: cannot read" in result.output


def test_mapping_as_key_is_a_problem_not_a_crash(tmp_path):
    site = write_site(tmp_path, "site: {name: x}\npbx: {host: 192.0.2.1}\n? [a, b]\n: 1\n")
    lines = load_site_lines(site)
    assert len(lines) == 1 and lines[0].startswith(f"{site}:3:")


def test_python_tags_are_refused(tmp_path):
    site = write_site(tmp_path, "site: {name: x}\npbx: {host: !!python/object/apply:os.system [true]}\n")
    lines = load_site_lines(site)
    assert lines[0].startswith(f"{site}:2:13: YAML syntax: could not determine a constructor")


def test_cli_prints_problem_lines_verbatim(tmp_path, runner):
    # rich markup must not eat '[a-z0-9]' out of a message
    site = write_site(tmp_path, "site: {name: Bad Name}\npbx: {host: 192.0.2.1}\n")
    expected = load_site_lines(site)[0]
    assert "[a-z0-9]" in expected
    result = runner.invoke(app, ["validate", str(site)])
    assert expected in result.output


def test_merge_keys_are_read_with_own_keys_winning():
    data = parse_located("d: &d {voicemail: false, recording: always}\n"
                         "extensions:\n  - {<<: *d, number: '100', recording: never}\n"
                         "  - {<<: [{max_contacts: 3}, *d, {max_contacts: 4}], number: '101'}\n").data
    assert data["extensions"][0] == {"voicemail": False, "recording": "never", "number": "100"}
    assert data["extensions"][1] == {"max_contacts": 3, "voicemail": False, "recording": "always", "number": "101"}


def test_alias_bomb_fails_fast():
    import time
    started = time.monotonic()
    load_site_lines(BAD_SITES / "yaml_alias_bomb.yml")
    assert time.monotonic() - started < 1.0
