"""The dialplan, split by concern: what compile works out for it (pbxctl/compile/dialplan.py) and what the rendered
files of every example site hold together (every context and label a step jumps to exists in one of them)."""

import re
from pathlib import Path

import pytest

from pbxctl.compile import site_vars
from pbxctl.compile.dialplan import call, hunt_steps
from pbxctl.load import load_site
from pbxctl.site.routing import RingGroup

from .conftest import EXAMPLES, MINIMAL, write_site, write_stand_in_source
from .test_guard import OUTSIDE, contexts, expressions, render

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "roles" / "asterisk" / "templates" / "etc" / "asterisk"


def included() -> list[str]:
    return re.findall(r"^#include (\S+)$", (TEMPLATES / "extensions.conf.j2").read_text(), re.M)


def dialplan(variables: dict) -> dict[str, str]:
    """Every file of the dialplan as the role renders it, by name (secret values stand in for secrets.yml's)."""
    names = ["extensions.conf", *included()]
    extra = {"asterisk__trunk_endpoints": {t["name"]: f"trunk-{t['name']}-x" for t in variables["asterisk__trunks"]},
             "asterisk__integration_auth": {}}
    return {name: render(f"asterisk/templates/etc/asterisk/{name}.j2", variables | extra) for name in names}


@pytest.mark.parametrize(("target", "step"), [
    ("extension:100", "Gosub(t-extension,100,1)"), ("voicemail:100", "Gosub(t-voicemail,100,1)"),
    ("group:sales", "Gosub(t-group,sales,1)"), ("queue:support", "Gosub(t-queue,support,1)"),
    ("ivr:main", "Gosub(ivr-main,s,1)"), ("hangup", "Hangup()"),
])
def test_each_target_is_one_step(target, step):
    assert call(target) == step


@pytest.mark.parametrize(("strategy", "steps"), [
    ("ringall", ["PJSIP/201&PJSIP/202&PJSIP/203"]),
    ("hunt", ["PJSIP/201", "PJSIP/202", "PJSIP/203"]),
    ("memoryhunt", ["PJSIP/201", "PJSIP/201&PJSIP/202", "PJSIP/201&PJSIP/202&PJSIP/203"]),
])
def test_ring_group_steps(strategy, steps):
    group = RingGroup(name="g", strategy=strategy, members=["201", "202", "203"])
    assert hunt_steps(group) == steps


def test_the_role_renders_every_included_file():
    # the role renders every template of the directory (pbxctl_tree): those are the files Asterisk gets
    files = [p.name.removesuffix(".j2") for p in TEMPLATES.glob("*.j2")]
    assert included() and set(included()) <= set(files)
    # and nothing of the dialplan is rendered that extensions.conf does not include
    assert {f for f in files if f.startswith("extensions")} == {"extensions.conf", *included()}


GSM_SITE = MINIMAL + """\
  install:
    source: build
    version: 22.10.1
    gsm_sources: {chan_quectel: {path: chan_quectel.tar.gz}}
extensions:
  - {number: "101", name: Anna}
trunks:
  - {name: sim-a, type: gsm_dongle, imei: "351451201234567", outbound_format: national, driver: chan_quectel}
  - {name: sim-b, type: gsm_dongle, imei: "351451201234568", outbound_format: national}
outbound_routes:
  - {name: mobile, patterns: ["+7XXXXXXXXXX"], trunks: [sim-a, sim-b]}
"""


def test_each_gsm_modem_is_dialled_through_its_own_driver(tmp_path):
    """A chan_quectel modem is a Quectel/ channel (it was rendered as Dongle/, a channel chan_quectel never has)."""
    write_stand_in_source(tmp_path / "chan_quectel.tar.gz")
    variables = site_vars(load_site(write_site(tmp_path, GSM_SITE)))
    steps = contexts(dialplan(variables)["extensions_trunks.conf"])["route-mobile"]
    dials = [s for s in steps if ",Dial(" in s]
    assert dials == [" same => n,Dial(Quectel/sim-a/${dial},120,T${opts})",
                     " same => n,Dial(Quectel/sim-b/${dial},120,T${opts})"]


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.parent.name)
def example(request) -> tuple[dict, dict[str, str]]:
    variables = site_vars(load_site(request.param))
    return variables, dialplan(variables)


def test_a_routes_channel_limit_is_counted_once_by_the_guard(example):
    """The guard refuses a call over a route's max_channels (503 and an alert); the route itself counted the same
    calls again after it, a check that could never be reached."""
    variables, files = example
    trunks = files["extensions_trunks.conf"]
    assert "GROUP(route)" not in trunks and "(full)" not in trunks
    capped = [r for r in variables["asterisk__outbound_routes"] if "max_channels" in r]
    guard = files["extensions_guard.conf"]
    for route in capped:
        assert f'ExecIf($["${{route}}" = "{route["name"]}"]?Set(LOCAL(cap)={route["max_channels"]}))' in guard


def test_every_trunk_reads_numbers_in_its_inbound_format(example):
    variables, files = example
    found = contexts(files["extensions_trunks.conf"])
    for trunk in variables["asterisk__trunks"]:
        steps = "\n".join(found[f"from-trunk-{trunk['name']}"])
        assert steps.count(f"Gosub(sub-inbound-e164,s,1(${{raw}},{trunk['inbound_format']}))") == 1
        assert steps.count(f"Gosub(sub-inbound-e164,s,1(${{caller}},{trunk['inbound_format']}))") == 1
        assert "sub-to-e164" not in steps  # the format is never skipped


JUMPS = [r"Gosub\(([a-z][\w-]*),", r"Goto\(([a-z][\w-]*),", r"^include => ([\w-]+)$",
         r"DIALPLAN_EXISTS\(([a-z][\w-]*),", r"U\(([a-z][\w-]*)[\^)]", r"hangup_handler_push\)=([\w-]+),",
         r",,(queue-answered-[\w-]+)\)"]


def test_every_context_a_step_reaches_is_in_the_dialplan(example):
    """Split over files, the dialplan still has each context a step names (Gosub, Goto, include, Dial's U())."""
    _, files = example
    text = "\n".join(files.values())
    defined = {name for conf in files.values() for name in contexts(conf)}
    reached = {m for pattern in JUMPS for m in re.findall(pattern, text, re.M) if "$" not in m}
    assert reached and reached <= defined, sorted(reached - defined)


def test_every_label_a_step_jumps_to_is_in_its_context(example):
    _, files = example
    for name, conf in files.items():
        for context, steps in contexts(conf).items():
            body = "\n".join(steps)
            targets = set(re.findall(r"\?(\w+)\)", body)) | set(re.findall(r"\?:(\w+)\)", body))
            targets |= set(re.findall(r"Goto\((\w+)\)", body))
            labels = set(re.findall(r"same => n\((\w+)\)", body))
            assert targets <= labels, (name, context, targets - labels)


def test_nothing_from_outside_reaches_an_expression_in_any_file(example):
    """test_guard's rule for every file of the dialplan: a subroutine argument, a dialled string or a caller's
    number appears in $[ ] only inside LEN() or FILTER(), never as itself."""
    _, files = example
    for name, conf in files.items():
        for expression in expressions(conf):
            inner = re.sub(r"\$\{(LEN|FILTER)\((?:[^()]|\([^()]*\))*\)\}", "", expression)
            assert not any(word in inner for word in OUTSIDE), (name, expression)
