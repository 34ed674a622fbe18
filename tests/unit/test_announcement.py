"""recording.announcement: compile gives its sound and, per ring group and queue, whether an answered call may
be recorded; the rendered dialplan asks sub-announce before each Dial() that may record (an extension, a group, a
forward) and plays it before a queue; validate refuses a name Dial() would misread and a file that is not there."""

import pytest

from pbxctl.compile import site_vars
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid

from .conftest import write_site
from .test_dialplan import dialplan
from .test_guard import contexts

SITE = """\
site:
  name: announce
pbx:
  host: 192.0.2.10
extensions:
  - {number: "100", name: Duty}
  - {number: "201", name: Anna, recording: always}
  - {number: "202", name: Boris, recording: on_demand}
ring_groups:
  - {name: mixed, members: ["100", "201"]}
  - {name: quiet, members: ["100", "202"]}
  - {name: never, members: ["201"], recording: never}
queues:
  - {name: support, members: ["100"], recording: always}
  - {name: plain, members: ["100", "202"]}
recording:
  announcement: prompts/recorded.wav
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, dict[str, list[str]]]:
    directory = tmp_path_factory.mktemp("announce")
    (directory / "prompts").mkdir()
    (directory / "prompts" / "recorded.wav").write_bytes(b"RIFF")
    variables = site_vars(load_site(write_site(directory, SITE)))
    files = dialplan(variables)
    found: dict[str, list[str]] = {}
    for name in ("extensions_targets.conf", "extensions_recording.conf", "extensions_features.conf"):
        found |= contexts(files[name])
    return variables, found


def test_the_sound_is_shipped_and_played_by_its_name(compiled):
    variables, ctx = compiled
    assert variables["asterisk__recording"]["announcement_sound"] == "pbxctl/recorded"
    assert [f["src"] for f in variables["asterisk__sound_files"]] == ["prompts/recorded.wav"]
    assert variables["asterisk__sound_files"][0]["dest"].endswith("/pbxctl/recorded.wav")
    announce = ctx["sub-announce"]
    assert 'GotoIf($["${PBX_DIRECTION}" != "inbound" | "${ARG1}" != "always"]?none)' in announce[0]
    assert announce[1].endswith("Return(A(:pbxctl/recorded))")


def test_groups_and_queues_announce_when_an_answer_may_be_recorded(compiled):
    variables, _ = compiled
    assert {g["name"]: g["announce"] for g in variables["asterisk__ring_groups"]} == {
        "mixed": True, "quiet": False, "never": False}  # mixed: 201 records every call it answers
    assert {q["name"]: q["announce"] for q in variables["asterisk__queues"]} == {"support": True, "plain": False}


def test_an_extensions_dial_asks_with_its_own_policy(compiled):
    _, ctx = compiled
    lines = ctx["t-extension"]
    start = next(i for i, line in enumerate(lines) if line.startswith("exten => 201,"))
    steps = lines[start:start + 5]
    ask = next(i for i, line in enumerate(steps) if "Gosub(sub-announce,s,1(${REC_201}))" in line)
    assert "U(sub-answered)${GOSUB_RETVAL})" in steps[ask + 1] and ",Dial(PJSIP/201," in steps[ask + 1]


def test_groups_dial_with_the_announcement_only_when_they_may_record(compiled):
    _, ctx = compiled
    group = "\n".join(ctx["t-group"])
    mixed, quiet = group.split("exten => quiet,")
    assert "Gosub(sub-announce,s,1(always))" in mixed and "U(sub-answered^)${announce})" in mixed
    assert "sub-announce" not in quiet and "${announce}" not in quiet


def test_a_queue_plays_it_after_answering_before_the_agents_ring(compiled):
    _, ctx = compiled
    lines = ctx["t-queue"]
    start = next(i for i, line in enumerate(lines) if line.startswith("exten => support,"))
    assert lines[start].endswith("Answer()")
    assert "Gosub(sub-announce,s,1(always))" in lines[start + 1]
    assert "Playback(pbxctl/recorded)" in lines[start + 2] and "Queue(support," in lines[start + 3]
    plain = next(i for i, line in enumerate(lines) if line.startswith("exten => plain,"))
    assert "Queue(plain," in lines[plain + 1]


def test_a_forward_outside_asks_with_the_forwarding_extensions_policy(compiled):
    _, ctx = compiled
    lines = ctx["sub-forward"]
    dial = next(i for i, line in enumerate(lines) if "Dial(Local/" in line)
    assert "Gosub(sub-announce,s,1(${REC_${ext}}))" in lines[dial - 1]
    assert lines[dial].endswith("U(sub-answered)${GOSUB_RETVAL})")


def test_without_an_announcement_the_dialplan_is_as_before(tmp_path):
    text = SITE.replace("  announcement: prompts/recorded.wav\n", "  format: wav\n")
    files = dialplan(site_vars(load_site(write_site(tmp_path, text))))
    assert not any("sub-announce" in body or "${announce}" in body for body in files.values())


@pytest.mark.parametrize(("value", "expected"), [
    ("conf:now", "recording.announcement: "), ("${EVIL}", "recording.announcement: "),
    ("a&b", "recording.announcement: "), ("../up.wav", "recording.announcement: "),
    ("missing.wav", "recording.announcement: 'missing.wav' is not a file in the site's directory"),
])
def test_validate_refuses_what_dial_would_misread(tmp_path, value, expected):
    text = SITE.replace("announcement: prompts/recorded.wav", f"announcement: '{value}'")
    with pytest.raises(SiteInvalid) as raised:
        load_site(write_site(tmp_path, text))
    assert any(expected in line for line in raised.value.lines), raised.value.lines


def test_an_announcement_file_named_as_an_ivr_prompt_is_refused(tmp_path):
    for name in ("prompts/recorded.wav", "other/recorded.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"RIFF")
    text = SITE + ("ivrs:\n  - {name: main, prompt: other/recorded.wav, on_timeout: extension:100,\n"
                   "     options: [{digit: '1', target: extension:100}]}\n")
    with pytest.raises(SiteInvalid) as raised:
        load_site(write_site(tmp_path, text))
    assert any("recording.announcement: 'prompts/recorded.wav' and 'other/recorded.wav' would both be shipped as "
               "recorded.wav" in line for line in raised.value.lines), raised.value.lines
