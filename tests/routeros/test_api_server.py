"""The double speaks the wire protocol the real clients expect, and edits state like RouterOS."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import librouteros
import pytest
from librouteros.exceptions import FatalError, TrapError
from librouteros.login import token
from librouteros.query import Key, Or

from .api_server import RouterOSApiServer
from .fixtures import PASSWORD, USERNAME
from .state import RouterState
from .wire import WireConnection, encode_length, encode_sentence

REPO = Path(__file__).resolve().parents[2]


def _connect(server: RouterOSApiServer, **kwargs) -> librouteros.api.Api:
    return librouteros.connect(server.host, USERNAME, PASSWORD, port=server.port, **kwargs)


# -- framing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "size"),
    [
        (0, 1),
        (0x7F, 1),
        (0x80, 2),
        (0x3FFF, 2),
        (0x4000, 3),
        (0x1FFFFF, 3),
        (0x200000, 4),
        (0xFFFFFFF, 4),
        (0x10000000, 5),
    ],
)
def test_length_encodings_round_trip(length, size):
    encoded = encode_length(length)
    assert len(encoded) == size
    left, right = socket.socketpair()
    with left, right:
        left.sendall(encoded)
        assert WireConnection(right).read_length() == length


def test_five_byte_length_is_read():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"\xf0\x00\x00\x00\x05hello\x00")
        assert WireConnection(right).read_sentence() == ["hello"]


def test_long_words_cross_the_wire(routeros_api):
    # 3- and 4-byte length prefixes both ways (comment of 20 kB and 2.1 MB).
    path = routeros_api.path("system", "script")
    for size in (200, 20_000, 0x200000 + 10):
        source = "x" * size
        ident = path.add(name=f"s{size}", source=source)
        (row,) = path.select(Key("source")).where(Key(".id") == ident)
        assert row["source"] == source


def test_tag_is_echoed_on_every_reply(routeros_server):
    with socket.create_connection((routeros_server.host, routeros_server.port)) as sock:
        conn = WireConnection(sock)
        conn.write_sentence(["/login", f"=name={USERNAME}", f"=password={PASSWORD}", ".tag=a"])
        assert conn.read_sentence() == ["!done", ".tag=a"]
        conn.write_sentence(["/interface/vlan/add", "=bogus=1", ".tag=b"])
        assert conn.read_sentence() == ["!trap", "=message=unknown parameter bogus", ".tag=b"]
        assert conn.read_sentence() == ["!done", ".tag=b"]
        conn.write_sentence(["/system/identity/print", ".tag=c"])
        assert conn.read_sentence() == ["!re", "=name=MikroTik", ".tag=c"]
        assert conn.read_sentence() == ["!done", ".tag=c"]
        sock.sendall(encode_sentence(["/quit"]))
        assert conn.read_sentence() == ["!fatal", "session terminated on request"]


# -- login --------------------------------------------------------------------------------------


def test_plain_login_and_bad_password(routeros_server):
    _connect(routeros_server).close()
    with pytest.raises(TrapError, match="invalid user name or password"):
        librouteros.connect(routeros_server.host, USERNAME, "wrong", port=routeros_server.port)
    with pytest.raises(TrapError):
        librouteros.connect(routeros_server.host, "nobody", PASSWORD, port=routeros_server.port)


def test_legacy_challenge_login(routeros_server):
    _connect(routeros_server, login_method=token).close()
    with pytest.raises(TrapError):
        librouteros.connect(routeros_server.host, USERNAME, "wrong", port=routeros_server.port, login_method=token)


def test_commands_before_login_end_the_session(routeros_server):
    api = _connect(routeros_server, login_method=lambda api, user, password: None)
    with pytest.raises(FatalError, match="not logged in"):
        list(api.path("ip", "address"))


def test_tls_with_self_signed_certificate(routeros_tls_server):
    context = ssl.create_default_context(cafile=str(routeros_tls_server.cert_path))
    context.check_hostname = False
    api = _connect(routeros_tls_server, ssl_wrapper=context.wrap_socket)
    assert [r["name"] for r in api.path("system", "identity")] == ["MikroTik"]
    api.close()
    strict = ssl.create_default_context()  # system CAs only: the self-signed cert must be refused
    strict.check_hostname = False
    with pytest.raises(ssl.SSLError):
        _connect(routeros_tls_server, ssl_wrapper=strict.wrap_socket)


# -- commands -----------------------------------------------------------------------------------


def test_print_add_set_remove(routeros_api):
    lists = routeros_api.path("ip", "firewall", "address-list")
    ident = lists.add(list="pbx", address="203.0.113.7/32", comment="pbxctl: trunk")
    assert ident.startswith("*")
    row = next(r for r in lists if r[".id"] == ident)
    # RouterOS stores hosts without /32 and prints booleans as true/false (librouteros: bool).
    assert row["address"] == "203.0.113.7"
    assert row["disabled"] is False and row["dynamic"] is False
    lists.update(**{".id": ident, "disabled": True})
    assert next(r for r in lists if r[".id"] == ident)["disabled"] is True
    with pytest.raises(TrapError, match="already have such entry"):
        lists.add(list="pbx", address="203.0.113.7")
    lists.remove(ident)
    assert all(r[".id"] != ident for r in lists)
    with pytest.raises(TrapError, match="no such item"):
        lists.remove(ident)


def test_remove_takes_a_comma_list(routeros_api):
    scripts = routeros_api.path("system", "script")
    ids = [scripts.add(name=f"s{i}") for i in range(3)]
    scripts.remove(ids[0], ids[2])
    assert [r["name"] for r in scripts] == ["s1"]


def test_move_places_before_destination_or_at_end(routeros_api):
    mangle = routeros_api.path("ip", "firewall", "mangle")
    a = mangle.add(chain="forward", action="mark-packet", **{"new-packet-mark": "a"}, comment="pbxctl: a")
    b = mangle.add(chain="forward", action="mark-packet", **{"new-packet-mark": "b"}, comment="pbxctl: b")
    user = next(r[".id"] for r in mangle if r.get("comment") == "clamp MSS on WAN")
    tuple(mangle("move", numbers=b, destination=user))
    assert [r[".id"] for r in mangle] == [b, user, a]
    tuple(mangle("move", numbers=b))
    assert [r[".id"] for r in mangle] == [user, a, b]


def test_unknown_and_read_only_fields_are_refused(routeros_api):
    filters = routeros_api.path("ip", "firewall", "filter")
    with pytest.raises(TrapError, match="unknown parameter no-such-field"):
        filters.add(chain="forward", **{"no-such-field": "1"})
    first = next(iter(filters))[".id"]
    with pytest.raises(TrapError, match="unknown parameter bytes"):
        filters.update(**{".id": "*2", "bytes": 5})
    assert first == "*1"


def test_defaults_are_printed_and_values_normalised(routeros_api):
    queues = routeros_api.path("queue", "tree")
    ident = queues.add(name="pbxctl-voice", parent="ether1", **{"max-limit": "30M"}, priority=1)
    (row,) = [r for r in queues if r[".id"] == ident]
    assert row["max-limit"] == 30_000_000  # 30M comes back as bits per second
    assert row["queue"] == "default-small" and row["limit-at"] == 0 and row["bucket-size"] == "0.1"
    with pytest.raises(TrapError, match="input does not match any value of parent"):
        queues.add(name="orphan", parent="ether9")


def test_fixed_and_dynamic_entries_are_protected(routeros_api):
    ports = routeros_api.path("ip", "firewall", "service-port")
    sip = next(r for r in ports if r["name"] == "sip")
    assert sip["disabled"] is False and sip["ports"] == "5060,5061"
    ports.update(**{".id": sip[".id"], "disabled": True})
    assert next(r for r in ports if r["name"] == "sip")["disabled"] is True
    with pytest.raises(TrapError, match="no such command"):
        ports.add(name="h323-2")
    with pytest.raises(TrapError, match="no such command"):
        ports.remove(sip[".id"])
    filters = routeros_api.path("ip", "firewall", "filter")
    with pytest.raises(TrapError, match="dynamic"):
        filters.remove("*1")


def test_queries_and_proplist(routeros_api):
    filters = routeros_api.path("ip", "firewall", "filter")
    rows = list(filters.select(Key(".id"), Key("comment")).where(Key("action") == "fasttrack-connection"))
    assert rows == [{".id": "*A", "comment": "defconf: fasttrack"}]
    rows = list(
        filters.select(Key("action")).where(Or(Key("action") == "drop", Key("action") == "fasttrack-connection"))
    )
    assert {r["action"] for r in rows} == {"drop", "fasttrack-connection"}
    assert len(rows) == 6
    # Raw query words: presence, absence, booleans written as yes/no, and operators.
    raw = list(routeros_api.rawCmd("/ip/firewall/filter/print", "?dynamic=yes", "=.proplist=.id"))
    assert raw == [{".id": "*1"}]
    raw = list(routeros_api.rawCmd("/ip/firewall/filter/print", "?chain=input", "?-protocol", "?#&", "=count-only="))
    assert raw == [{"ret": 4}]
    raw = list(routeros_api.rawCmd("/ip/firewall/filter/print", "?chain=input", "?#!", "?action=drop", "?#&!"))
    assert len(raw) == 14 - 3


def test_single_value_and_read_only_menus(routeros_api):
    identity = routeros_api.path("system", "identity")
    identity.update(name="office-gw")
    assert list(identity) == [{"name": "office-gw"}]
    (resource,) = routeros_api.path("system", "resource")
    assert resource["version"].split(" ")[0] == "7.16.2"
    names = {r["name"] for r in routeros_api.path("interface")}
    assert {"ether1", "bridge"} <= names
    with pytest.raises(TrapError, match="no such command prefix"):
        list(routeros_api.path("no", "such", "menu"))


def test_dhcp_option_values_must_be_quoted(routeros_api):
    options = routeros_api.path("ip", "dhcp-server", "option")
    ident = options.add(name="pbxctl-tftp", code=66, value="'http://192.168.88.10/'")
    (row,) = [r for r in options if r[".id"] == ident]
    assert row["raw-value"] == b"http://192.168.88.10/".hex()
    with pytest.raises(TrapError, match="invalid value"):
        options.add(name="bare-url", code=66, value="http://192.168.88.10/")


def test_state_round_trips_through_json(tmp_path, routeros_server, routeros_api):
    routeros_api.path("interface", "vlan").add(name="voice", interface="bridge", **{"vlan-id": 20})
    routeros_server.state.dump(tmp_path / "state.json")
    again = RouterState.load(tmp_path / "state.json")
    assert again.snapshot() == routeros_server.snapshot()
    assert again.snapshot()["/interface/vlan"][0]["vlan-id"] == "20"


def test_runs_standalone_with_a_state_file(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state_file = tmp_path / "router.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.routeros.api_server",
            "--port",
            str(port),
            "--state",
            str(state_file),
            "--user",
            USERNAME,
            "--password",
            PASSWORD,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "RouterOS API double on" in proc.stdout.readline()
        api = librouteros.connect("127.0.0.1", USERNAME, PASSWORD, port=port)
        api.path("system", "identity").update(name="from-cli")
        api.close()
        deadline = time.monotonic() + 5
        while "from-cli" not in state_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert RouterState.load(state_file).print("/system/identity") == [{"name": "from-cli"}]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- community.routeros modules through ansible-playbook -----------------------------------------

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.routeros.api: "{{ routeros }}"
  tasks:
    - name: Trunk addresses
      community.routeros.api_modify:
        path: ip firewall address-list
        handle_absent_entries: remove
        handle_entries_content: remove
        restrict: [{field: comment, regex: "^pbxctl:"}]
        data:
          - {list: pbxctl-sip-trunks, address: 203.0.113.7, comment: "pbxctl: trunk a"}
          - {list: pbxctl-sip-trunks, address: 198.51.100.0/24, comment: "pbxctl: trunk b"}
    - name: Voice marks
      community.routeros.api_modify:
        path: ip firewall mangle
        handle_absent_entries: remove
        handle_entries_content: remove
        ensure_order: true
        restrict: [{field: comment, regex: "^pbxctl:"}]
        data:
          - {chain: prerouting, action: mark-connection, new-connection-mark: voip, passthrough: true,
             protocol: udp, dst-port: "5060", comment: "pbxctl: sip"}
          - {chain: prerouting, action: mark-packet, new-packet-mark: voip, passthrough: false,
             connection-mark: voip, comment: "pbxctl: voip packets"}
    - name: Read back what pbxctl owns
      community.routeros.api_info:
        path: ip firewall mangle
        restrict: [{field: comment, regex: "^pbxctl:"}]
      register: owned
    - name: Show it
      ansible.builtin.debug:
        var: owned.result
"""


def _playbook(tmp_path: Path, server: RouterOSApiServer, *args: str, playbook: str = PLAYBOOK) -> dict:
    routeros = {"hostname": server.host, "port": server.port, "username": USERNAME, "password": PASSWORD}
    if server.cert_path is not None:
        routeros.update(tls=True, ca_path=str(server.cert_path))
    (tmp_path / "play.yml").write_text(playbook)
    (tmp_path / "vars.json").write_text(json.dumps({"routeros": routeros}))
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,  # the modules need librouteros from this venv
    }
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bin_dir / "ansible-playbook"), "-i", "localhost,", "-e", "@vars.json", "play.yml", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(done.stdout)


def _changed(run: dict) -> dict[str, bool]:
    tasks = run["plays"][0]["tasks"]
    return {t["task"]["name"]: t["hosts"]["localhost"].get("changed", False) for t in tasks}


def test_api_modify_is_idempotent_and_leaves_user_entries_alone(tmp_path, routeros_server):
    before = routeros_server.snapshot()
    writes = ("add", "set", "remove", "move")

    checked = _playbook(tmp_path, routeros_server, "--check")
    assert _changed(checked)["Trunk addresses"] is True
    assert not [c for c in routeros_server.commands() if c.rsplit("/", 1)[1] in writes]
    assert routeros_server.snapshot() == before

    first = _playbook(tmp_path, routeros_server)
    assert _changed(first) == {
        "Trunk addresses": True,
        "Voice marks": True,
        "Read back what pbxctl owns": False,
        "Show it": False,
    }
    # Versioned paths (mangle) make the module read /system/resource for the RouterOS version first.
    assert "/system/resource/print" in routeros_server.commands()
    after = routeros_server.snapshot()
    lists = after["/ip/firewall/address-list"]
    assert before["/ip/firewall/address-list"][0] in lists  # the user's entry, untouched
    assert {(e["address"], e["comment"]) for e in lists[1:]} == {
        ("203.0.113.7", "pbxctl: trunk a"),
        ("198.51.100.0/24", "pbxctl: trunk b"),
    }
    mangle = after["/ip/firewall/mangle"]
    assert mangle[0] == before["/ip/firewall/mangle"][0]
    assert [e["comment"] for e in mangle] == ["clamp MSS on WAN", "pbxctl: sip", "pbxctl: voip packets"]
    owned = first["plays"][0]["tasks"][3]["hosts"]["localhost"]["owned.result"]
    assert [e["comment"] for e in owned] == ["pbxctl: sip", "pbxctl: voip packets"]

    routeros_server.history.clear()
    second = _playbook(tmp_path, routeros_server)
    assert not any(_changed(second).values())
    assert not [c for c in routeros_server.commands() if c.rsplit("/", 1)[1] in writes]
    assert routeros_server.snapshot() == after


def test_api_modify_reorders_and_prunes_only_its_own_entries(tmp_path, routeros_server, routeros_api):
    mangle = routeros_api.path("ip", "firewall", "mangle")
    # pbxctl's entries in the wrong order, plus a stale one, plus another user rule in between.
    mangle.add(
        **{
            "chain": "prerouting",
            "action": "mark-packet",
            "new-packet-mark": "voip",
            "passthrough": False,
            "connection-mark": "voip",
            "comment": "pbxctl: voip packets",
        }
    )
    mangle.add(**{"chain": "prerouting", "action": "mark-packet", "new-packet-mark": "old", "comment": "pbxctl: stale"})
    mangle.add(**{"chain": "prerouting", "action": "mark-packet", "new-packet-mark": "cam", "comment": "cameras"})
    routeros_server.history.clear()
    _playbook(tmp_path, routeros_server)
    comments = [e.get("comment") for e in routeros_server.snapshot()["/ip/firewall/mangle"]]
    # The new rule was appended, then moved before its sibling: pbxctl's rules keep their own order,
    # but where they sit among the user's rules depends on history, not on the data.
    assert comments == ["clamp MSS on WAN", "pbxctl: sip", "pbxctl: voip packets", "cameras"]
    assert "cameras" in comments and "pbxctl: stale" not in comments
    assert "/ip/firewall/mangle/move" in routeros_server.commands()


def test_modules_connect_over_api_ssl(tmp_path, routeros_tls_server):
    info_only = (
        PLAYBOOK[: PLAYBOOK.index("    - name: Trunk addresses")] + PLAYBOOK[PLAYBOOK.index("    - name: Read back") :]
    )
    run = _playbook(tmp_path, routeros_tls_server, playbook=info_only)
    assert run["plays"][0]["tasks"][1]["hosts"]["localhost"]["owned.result"] == []
    assert "/ip/firewall/mangle/print" in routeros_tls_server.commands()
