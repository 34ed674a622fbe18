"""The dial-string corpus against the real dialplan: every string a user can type, from registered extensions.

One site (tests/lab/sites/dial_strings/site.yml) is applied once. Six baresip phones register, and the corpus
(tests/lab/data/dial_strings.yml) is dialled from them in parallel, one call at a time per phone. Refused strings
must end in 403 with nothing reaching the lab carrier, and with the guard's alert; allowed ones reach the carrier
in the trunk's format. The number table (tests/data/number_cases.yml) rows for the site's country run through the
PBX's own sub-to-e164 (what phones dial) and sub-inbound-e164 (what trunks send, in each inbound_format), in one
call to an extension added at run time, so the dialplan is held to the same answers as pbxctl's model.
"""

from __future__ import annotations

import collections
import shlex
import shutil
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from harness.phone import Phone

from pbxctl.lab.carrier import wait_until

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = ROOT / "tests" / "lab" / "sites" / "dial_strings"
CORPUS = yaml.safe_load((ROOT / "tests" / "lab" / "data" / "dial_strings.yml").read_text())["cases"]
NUMBER_CASES = yaml.safe_load((ROOT / "tests" / "data" / "number_cases.yml").read_text())
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
# the request-URI user: what a SIP phone cannot send as typed is percent-encoded, and PJSIP decodes it again
URI_SAFE = "+*()-./,0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def on_pbx(script: str, check: bool = True, input: str | None = None) -> str:
    from pbxctl import lab

    return lab.ssh_run("pbx", script, timeout=60, check=check, input=input).stdout


@pytest.fixture(scope="module")
def dial_site(lab, carrier, tmp_path_factory) -> dict:
    from pbxctl.lab.provider import carrier_accounts
    from pbxctl.load import load_site
    from pbxctl.secrets import read_secrets

    directory = tmp_path_factory.mktemp("dial-site")
    shutil.copytree(SITE_DIR, directory, dirs_exist_ok=True)
    run = subprocess.run([PBXCTL, "apply", str(directory / "site.yml"), "--lab"], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    model = load_site(directory / "site.yml")
    secrets = read_secrets(directory / "secrets.yml", None)
    carrier.configure(carrier_accounts(model, secrets), answer_seconds=1)
    for trunk in model.trunks:
        assert carrier.wait_registered(trunk.username, 60), trunk.name
    # the carrier's reload may have failed a qualify: the PBX then dials no trunk until the next one, a minute on
    assert wait_until(trunks_reachable, 30), on_pbx("asterisk -rx 'pjsip show contacts'")
    return {"dir": directory, "model": model, "secrets": secrets}


def trunks_reachable() -> bool:
    contacts = [line.split() for line in on_pbx("asterisk -rx 'pjsip show contacts'").splitlines()
                if line.strip().startswith("Contact:") and "trunk-" in line]
    for fields in contacts:
        if "Avail" not in fields:
            on_pbx(f"asterisk -rx {shlex.quote('pjsip qualify ' + fields[1].split('/')[0])}", check=False)
    return bool(contacts) and all("Avail" in fields for fields in contacts)


@pytest.fixture(scope="module")
def phones(dial_site, tmp_path_factory) -> dict[str, Phone]:
    from pbxctl import lab

    made = {}
    try:
        for ext in dial_site["model"].extensions:
            credentials = dial_site["secrets"].section("extensions")[ext.number]
            phone = Phone(tmp_path_factory.mktemp(f"phone-{ext.number}"), ext.number, credentials["password"],
                          lab.hosts(["pbx"])["pbx"].address, auth_user=credentials["username"]).start()
            made[ext.number] = phone
            assert phone.register(), phone.log()[-2000:]
        yield made
    finally:
        for phone in made.values():
            phone.stop()


def expected(case: dict) -> tuple[str | None, dict[str, str]]:
    return case.get("refused"), case.get("sent", {})


def dial(phone: Phone, case: dict) -> tuple[dict, str]:
    """Place one call; what the phone saw, as '403 Forbidden', 'answered' …"""
    started = time.monotonic()
    outcome = phone.call(urllib.parse.quote(case["dial"], safe=URI_SAFE), timeout=20)
    if outcome.answered:
        phone.wait_closed(10)  # the carrier hangs up after a second
        phone.hangup()
        return case, "answered"
    return case, f"{outcome.reason} after {time.monotonic() - started:.1f}s"


def test_dial_string_corpus(dial_site, phones, carrier):
    assert len(CORPUS) >= 60
    carrier.clear_calls()
    journal_from = on_pbx("date '+%Y-%m-%d %H:%M:%S'").strip()
    # the cases of each caller; 201's share goes to 201-205 in turn (they have the same routes)
    queues: dict[str, list[dict]] = collections.defaultdict(list)
    shared = [n for n in phones if n != "206"]
    for index, case in enumerate(CORPUS):
        caller = case.get("caller")
        queues[caller or shared[index % len(shared)]].append(case)
    started = time.monotonic()
    with ThreadPoolExecutor(len(queues)) as pool:
        results = [r for rs in pool.map(lambda item: [dial(phones[item[0]], c) for c in item[1]], queues.items())
                   for r in rs]
    elapsed = time.monotonic() - started
    wrong = []
    for case, seen in results:
        refused, _ = expected(case)
        if (refused and not seen.startswith("403")) or (not refused and seen != "answered"):
            wrong.append(f"{case['dial']!r}: expected {refused or 'answered'}, got {seen}")
    assert not wrong, "\n".join(wrong)
    # nothing refused reached the carrier; everything allowed reached it exactly as the trunk's format wants
    want = collections.Counter((t, s) for c in CORPUS for t, s in expected(c)[1].items())
    assert wait_until(lambda: len(carrier.outbound_calls()) >= sum(want.values()), 10)
    got = collections.Counter((c.account, c.dialled) for c in carrier.outbound_calls())
    assert got == want, f"carrier saw {got - want} too many, {want - got} missing"
    # every refusal raised its alert (the alert script sends one per event, number and route a minute)
    journal = on_pbx(f"journalctl -t pbxctl-security --no-pager --since {shlex.quote(journal_from)}")
    events = {c["refused"] for c in CORPUS if "refused" in c}
    missing = [e for e in events if f"{e}:" not in journal]
    assert not missing, journal[-3000:]
    print(f"\n{len(CORPUS)} dial strings in {elapsed:.1f}s over {len(queues)} phones")


def runtime_extension(number: str, steps: list[str]) -> None:
    """An extension in the phones' context for this test only (added through the CLI: gone at the next reload)."""
    commands = [f"dialplan add extension {number},{priority},{step} into from-internal replace"
                for priority, step in enumerate([*steps, "Hangup()"], 1)]
    on_pbx("\n".join(f"asterisk -rx {shlex.quote(command)} >/dev/null" for command in commands))


def test_a_string_the_provider_would_read_as_another_number_is_refused(dial_site, phones, carrier):
    """sub-format-out reads back what a trunk is sent: +7 810 290 1234 (no Russian range has it, so no dialled
    string gets this far) written for a subscriber-format trunk is 8102901234, Saint Helena to the provider."""
    log = "/tmp/pbxctl-senttest.log"
    on_pbx(f"rm -f {log}; touch {log}; chown asterisk: {log}")
    runtime_extension("7998", ["Set(PBX_OUTBOUND_ROUTE=abroad)", "Gosub(sub-format-out,s,1(+74951234567,national))",
                               f"Set(FILE({log},,,al,u)=${{GOSUB_RETVAL}})",
                               "Gosub(sub-format-out,s,1(+78102901234,subscriber))", f"Set(FILE({log},,,al,u)=sent)"])
    journal_from = on_pbx("date '+%Y-%m-%d %H:%M:%S'").strip()
    carrier.clear_calls()
    try:
        outcome = phones["202"].call("7998", timeout=20)
    finally:
        on_pbx("asterisk -rx 'dialplan remove extension 7998@from-internal' >/dev/null", check=False)
    assert outcome.reason.startswith("403"), outcome
    assert on_pbx(f"cat {log}").splitlines() == ["84951234567"]  # the good one passed, the other stopped the call
    assert wait_until(lambda: "dial_string_mismatch: number=+78102901234" in on_pbx(
        f"journalctl -t pbxctl-security --no-pager --since {shlex.quote(journal_from)}"), 10)
    assert carrier.outbound_calls() == []


def run_through_dialplan(phone: Phone, number: str, rows: list[tuple[str, str]]) -> dict[str, str]:
    """Each (written, subroutine arguments after it) through the PBX's own dialplan, in one call to an extension
    added to the phones' context at run time (gone at the next dialplan reload); what it made of each row."""
    log = f"/tmp/pbxctl-numtest-{number}.log"
    steps = []
    for index, (written, subroutine, rest) in enumerate(rows):
        # the CLI splits at spaces: each row goes in URI-encoded and is decoded into a variable first
        steps += [f"Set(written=${{URIDECODE({urllib.parse.quote(written, safe='+-.')})}})",
                  f"Gosub({subroutine},s,1(${{written}}{rest}))", f"Set(FILE({log},,,al,u)={index}|${{GOSUB_RETVAL}})"]
    on_pbx(f"rm -f {log}; touch {log}; chown asterisk: {log}")
    runtime_extension(number, steps)
    try:
        phone.call(number, timeout=10)
        assert wait_until(lambda: len(on_pbx(f"cat {log}").splitlines()) >= len(rows), 10), on_pbx(f"cat {log}")
    finally:
        on_pbx(f"asterisk -rx 'dialplan remove extension {number}@from-internal' >/dev/null", check=False)
    return dict(line.split("|", 1) for line in on_pbx(f"cat {log}").splitlines())


def test_dialplan_normalises_like_the_model(dial_site, phones):
    """The number table's rows of the site's country through the PBX's own sub-to-e164."""
    country = dial_site["model"].site.country
    rows = [c for c in NUMBER_CASES["cases"] if c["country"] == country and c["e164"]]
    assert len(rows) >= 10
    results = run_through_dialplan(phones["201"], "7999", [(row["written"], "sub-to-e164", "") for row in rows])
    wrong = [f"{row['written']!r}: dialplan {results.get(str(i))!r}, model {row['e164']!r}"
             for i, row in enumerate(rows) if results.get(str(i)) != row["e164"]]
    assert not wrong, "\n".join(wrong)


def test_dialplan_reads_trunk_numbers_in_their_format_like_the_model(dial_site, phones):
    """The table's inbound rows of the site's country (caller numbers and DIDs as a trunk of each inbound_format
    sends them) through the PBX's own sub-inbound-e164, the step every from-trunk context takes."""
    country = dial_site["model"].site.country
    rows = [c for c in NUMBER_CASES["inbound"] if c["country"] == country]
    assert {row["format"] for row in rows} == {"e164", "international", "national", "subscriber"}
    results = run_through_dialplan(phones["202"], "7997",
                                   [(row["written"], "sub-inbound-e164", f",{row['format']}") for row in rows])
    wrong = [f"{row['format']} {row['written']!r}: dialplan {results.get(str(i))!r}, "
             f"expected {row.get('dialplan', row['e164'])!r}"
             for i, row in enumerate(rows) if results.get(str(i)) != row.get("dialplan", row["e164"])]
    assert not wrong, "\n".join(wrong)
