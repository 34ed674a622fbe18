"""Router state after the routeros role, read through the RouterOS API (librouteros) from the double that
test_molecule.py started: voice marked EF/CS3 and queued with the site's limits, the phones' DHCP options, the
address lists, and every entry without a `pbxctl:` comment exactly as it was before converge.

PBXCTL_MOLECULE_ROUTER          host:port of the double's API
PBXCTL_MOLECULE_ROUTER_BEFORE   JSON file: the user's entries, per API path, as printed before converge
PBXCTL_MOLECULE_BUILD           the compiled build (the site's variables, the API credentials the role used)
"""

import json
import os
from pathlib import Path

import librouteros
import pytest
import yaml

BUILD = Path(os.environ.get("PBXCTL_MOLECULE_BUILD", "."))
# pbxctl sizes a call at 87.2 kbit/s (G.711 with its headers); the line queues keep 5 % of the line spare
CALL_BPS = 87_200


def _vars() -> dict:
    data: dict = {}
    for name in ("vars.yml", "secrets.yml"):
        data.update(yaml.safe_load((BUILD / name).read_text()) or {})
    return data


@pytest.fixture(scope="module")
def site() -> dict:
    return _vars()


@pytest.fixture(scope="module")
def api(site):
    host, port = os.environ["PBXCTL_MOLECULE_ROUTER"].rsplit(":", 1)
    connection = librouteros.connect(host, site["routeros__username"], site["routeros__password"], port=int(port))
    yield connection
    connection.close()


def _rows(api, path: str) -> list[dict]:
    return [dict(row) for row in api.path(*path.strip("/").split("/"))]


def _owned(rows: list[dict]) -> list[dict]:
    return [r for r in rows if str(r.get("comment", "")).startswith("pbxctl:")]


def _by_comment(rows: list[dict]) -> dict[str, dict]:
    return {r["comment"]: r for r in _owned(rows)}


def test_rtp_is_marked_ef_and_sip_cs3(api):
    mangle = _owned(_rows(api, "/ip/firewall/mangle"))
    dscp = {r["packet-mark"]: r for r in mangle if r["action"] == "change-dscp"}
    assert str(dscp["pbxctl-rtp"]["new-dscp"]) == "46"  # EF
    assert str(dscp["pbxctl-sip"]["new-dscp"]) == "24"  # CS3
    assert {r["chain"] for r in dscp.values()} == {"postrouting"}
    assert not any(r.get("disabled") for r in mangle)


def test_voice_connections_are_marked_before_their_packets(api, site):
    mangle = _owned(_rows(api, "/ip/firewall/mangle"))
    actions = [r["action"] for r in mangle]
    last_connection = max(i for i, a in enumerate(actions) if a == "mark-connection")
    first_packet = actions.index("mark-packet")
    assert last_connection < first_packet < actions.index("change-dscp")
    rtp = [r for r in mangle if r.get("new-connection-mark") == "pbxctl-rtp"]
    ports = f"{site['routeros__rtp_start']}-{site['routeros__rtp_end']}"
    assert sorted(r.get("src-port", r.get("dst-port")) for r in rtp) == [ports, ports]
    sip_udp = next(r for r in mangle if r.get("new-connection-mark") == "pbxctl-sip" and r["protocol"] == "udp")
    assert str(sip_udp["port"]) == str(site["routeros__sip_port"])


def test_queues_carry_the_sites_limits(api, site):
    queues = {q["name"]: q for q in _owned(_rows(api, "/queue/tree"))}
    voice_limit = site["routeros__expected_calls"] * CALL_BPS
    parents = {"upload": site["routeros__wan_interface"], "download": site["routeros__lan_interface"]}
    for direction, parent in parents.items():
        line = site[f"routeros__{direction}_kbps"] * 1000 * 95 // 100
        assert queues[f"pbxctl-{direction}"]["parent"] == parent
        assert int(queues[f"pbxctl-{direction}"]["max-limit"]) == line
        voice, other = queues[f"pbxctl-{direction}-voice"], queues[f"pbxctl-{direction}-other"]
        assert voice["parent"] == other["parent"] == f"pbxctl-{direction}"
        assert int(voice["limit-at"]) == voice_limit
        assert set(voice["packet-mark"].split(",")) == {"pbxctl-sip", "pbxctl-rtp"}
        assert int(voice["priority"]) == 1 and int(other["priority"]) == 8


def test_address_lists_name_the_pbx_phones_and_trunks(api, site):
    lists: dict[str, set] = {}
    for row in _owned(_rows(api, "/ip/firewall/address-list")):
        lists.setdefault(row["list"], set()).add(row["address"])
    assert lists["pbxctl-pbx"] == {site["routeros__pbx_address"]}
    assert lists["pbxctl-phones"] == set(site["routeros__phone_networks"])
    assert lists["pbxctl-trunks"] >= set(site["routeros__trunk_hosts"])


def test_phones_get_the_provisioning_server_by_dhcp(api, site):
    options = {str(o["code"]): o for o in _owned(_rows(api, "/ip/dhcp-server/option"))}
    assert options["66"]["value"] == f"'{site['routeros__provisioning_server']}'"
    sets = {s["name"]: s for s in _owned(_rows(api, "/ip/dhcp-server/option/sets"))}
    networks = _owned(_rows(api, "/ip/dhcp-server/network"))
    network = next(n for n in networks if n["address"] == site["routeros__dhcp_network"])
    option_set = sets[network["dhcp-option-set"]]
    assert {options[code]["name"] for code in options} <= set(option_set["options"].split(","))


def test_voice_is_accepted_before_fasttrack(api):
    comments = [str(r.get("comment", "")) for r in _rows(api, "/ip/firewall/filter")]
    fasttrack = comments.index("defconf: fasttrack")
    assert fasttrack > comments.index("pbxctl: SIP skips fasttrack")
    assert fasttrack > comments.index("pbxctl: RTP skips fasttrack")


def test_entries_without_a_pbxctl_comment_are_untouched(api):
    before = json.loads(Path(os.environ["PBXCTL_MOLECULE_ROUTER_BEFORE"]).read_text())
    assert any("molecule user" in str(r.get("comment", "")) for rows in before.values() for r in rows)
    for path, rows in before.items():
        after = [r for r in _rows(api, path) if not str(r.get("comment", "")).startswith("pbxctl:")]
        if path == "/ip/firewall/service-port":
            # the one field pbxctl sets on the router's own entries: the SIP helper is off
            sip = next(r for r in after if r["name"] == "sip")
            assert sip["disabled"] is True
            after = [r for r in after if r["name"] != "sip"]
            rows = [r for r in rows if r["name"] != "sip"]
        assert after == rows, path
