"""roles/routeros through the real ansible-playbook and community.routeros modules, against the API double."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from pbxctl.load import load_site
from pbxctl.router.config import sections
from pbxctl.router.rsc import export, parse_adds
from pbxctl.run import run_playbook

from .api_server import RouterOSApiServer
from .fixtures import PASSWORD, USERNAME
from .site_helpers import compiled, edit_site, office_site, owned, writes
from .state import RouterState

WIRE_PATHS = {s: "/" + s.replace(" ", "/") for s in (
    "interface vlan", "ip address", "ip pool", "ip dhcp-server option", "ip dhcp-server option sets",
    "ip dhcp-server", "ip dhcp-server network", "ip firewall address-list", "ip firewall mangle",
    "ip firewall filter", "queue tree", "tool netwatch")}


def _wire(value) -> str:
    if isinstance(value, bool) or value in ("yes", "no"):
        return "true" if value in (True, "yes") else "false"
    return str(value)


def _run(site_file: Path, check: bool = False):
    result = run_playbook(compiled(site_file), "router.yml", check=check, quiet=True)
    assert result.returncode == 0, result.failures
    return result


def _user_rows(snapshot: dict) -> dict:
    return {path: [r for r in rows if not r.get("comment", "").startswith("pbxctl:")]
            for path, rows in snapshot.items()}


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """One router taken through plan → apply → apply again; every step's result and state kept."""
    tmp = tmp_path_factory.mktemp("office")
    with RouterOSApiServer(RouterState.default(), users={USERNAME: PASSWORD}) as server:
        site_file = office_site(tmp, server)
        steps = {"fresh": server.snapshot()}
        steps["plan"] = _run(site_file, check=True)
        steps["plan_writes"] = writes(server)
        steps["after_plan"] = server.snapshot()
        started = time.monotonic()
        steps["apply"] = _run(site_file)
        steps["apply_seconds"] = time.monotonic() - started
        steps["applied"] = server.snapshot()
        server.history.clear()
        started = time.monotonic()
        steps["again"] = _run(site_file)
        steps["again_seconds"] = time.monotonic() - started
        steps["again_writes"] = writes(server)
        steps["again_state"] = server.snapshot()
        steps["site"] = load_site(site_file)
        print(f"\napply {steps['apply_seconds']:.1f} s, re-apply {steps['again_seconds']:.1f} s")
        yield steps


def test_plan_shows_changes_and_writes_nothing(office):
    assert office["plan"].changed > 0
    assert office["plan_writes"] == []
    assert office["after_plan"] == office["fresh"]


def test_apply_creates_exactly_the_described_entries(office):
    state = office["applied"]
    for section in sections(office["site"]):
        rows = owned(state[WIRE_PATHS[section["path"]]])
        assert len(rows) == len(section["data"]), section["path"]
        for row, entry in zip(rows, section["data"], strict=True):
            assert {k: row.get(k) for k in entry} == {k: _wire(v) for k, v in entry.items()}, section["path"]
    sip = next(p for p in state["/ip/firewall/service-port"] if p["name"] == "sip")
    assert sip["disabled"] == "true"
    queues = {q["name"]: q for q in state["/queue/tree"]}
    # 12 calls × 87.2 kbit/s; 95 % of the 30 Mbit/s line
    assert queues["pbxctl-upload-voice"]["limit-at"] == "1046400"
    assert queues["pbxctl-upload"]["max-limit"] == "28500000"
    assert queues["pbxctl-upload-voice"]["priority"] == "1" and queues["pbxctl-upload-other"]["priority"] == "8"


def test_voice_is_accepted_before_fasttrack(office):
    comments = [r.get("comment", "") for r in office["applied"]["/ip/firewall/filter"]]
    fasttrack = comments.index("defconf: fasttrack")
    ours = [c for c in comments if c.startswith("pbxctl:")]
    assert comments[fasttrack - len(ours):fasttrack] == ours
    assert ours[-2:] == ["pbxctl: SIP skips fasttrack", "pbxctl: RTP skips fasttrack"]
    mangle = [r["comment"] for r in owned(office["applied"]["/ip/firewall/mangle"])]
    assert mangle.index("pbxctl: SIP over UDP") < mangle.index("pbxctl: SIP packets")


def test_users_entries_and_their_order_are_untouched(office):
    before, after = _user_rows(office["fresh"]), _user_rows(office["applied"])
    before.pop("/ip/firewall/service-port")
    after.pop("/ip/firewall/service-port")
    assert after == before


def test_second_apply_changes_nothing(office):
    assert office["again"].changed == 0
    assert office["again_writes"] == []
    assert office["again_state"] == office["applied"]


def test_exported_script_adds_what_the_api_path_left(office):
    script = parse_adds(export(office["site"]))
    for section in sections(office["site"]):
        rows = owned(office["applied"][WIRE_PATHS[section["path"]]])
        written = script.get(section["path"], [])
        assert [{k: r.get(k) for k in e} for r, e in zip(rows, written, strict=True)] == \
            [{k: _wire(v) for k, v in e.items()} for e in written], section["path"]


def test_site_changes_touch_only_the_matching_entries(tmp_path, routeros_server):
    site_file = office_site(tmp_path, routeros_server)
    _run(site_file)
    before = routeros_server.snapshot()
    dropped = "sip.regional.example"

    def change(data):
        data["trunks"] = [t for t in data["trunks"] if t["name"] != "regional"]
        data["inbound_routes"] = [r for r in data["inbound_routes"] if r["did"] != "+74954440000"]
        data["router"]["upload_kbps"] = 20000
        data["router"]["expected_calls"] = 20

    edit_site(site_file, change)
    routeros_server.history.clear()
    plan = _run(site_file, check=True)
    assert writes(routeros_server) == [] and routeros_server.snapshot() == before
    assert plan.changed > 0
    _run(site_file)
    after = routeros_server.snapshot()
    assert sorted(set(writes(routeros_server))) == ["/ip/firewall/address-list/remove", "/queue/tree/set"]
    changed_paths = {p for p in after if after[p] != before[p]}
    assert changed_paths == {"/ip/firewall/address-list", "/queue/tree"}
    lists = [r["address"] for r in before["/ip/firewall/address-list"]]
    assert [r["address"] for r in after["/ip/firewall/address-list"]] == [a for a in lists if a != dropped]
    queues = {q["name"]: q for q in after["/queue/tree"]}
    assert queues["pbxctl-upload"]["max-limit"] == "19000000"
    assert queues["pbxctl-upload-voice"]["limit-at"] == "1744000"
    assert queues["pbxctl-download"] == {q["name"]: q for q in before["/queue/tree"]}["pbxctl-download"]


def test_plan_over_api_ssl_with_the_routers_ca(tmp_path, routeros_tls_server):
    site_file = office_site(tmp_path, routeros_tls_server)
    build = compiled(site_file)
    vars_file = build.out_dir / "vars.yml"
    data = yaml.safe_load(vars_file.read_text())
    data.update(routeros__tls=True, routeros__ca_path=str(routeros_tls_server.cert_path))
    vars_file.write_text(yaml.safe_dump(data))
    result = run_playbook(build, "router.yml", check=True, quiet=True)
    assert result.returncode == 0, result.failures
    assert result.changed > 0 and writes(routeros_tls_server) == []
    assert "/ip/firewall/filter/print" in routeros_tls_server.commands()
