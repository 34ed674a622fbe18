"""pbxctl.router without a router: the description, the .rsc, the filter placement and the SSH import."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbxctl.cli import app
from pbxctl.exit_codes import SITE_INVALID
from pbxctl.load import load_site
from pbxctl.resolve import OWNED
from pbxctl.router import config
from pbxctl.router.rsc import export, parse_adds, value
from pbxctl.router_ssh import SCRIPT_NAME, ImportFailed, import_over_ssh

ROOT = Path(__file__).resolve().parents[2]
OFFICE = ROOT / "inventories" / "example-office" / "site.yml"
PLUGIN = ROOT / "roles" / "routeros" / "filter_plugins" / "routeros_order.py"
_spec = importlib.util.spec_from_file_location("routeros_order", PLUGIN)
routeros_order = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(routeros_order)


@pytest.fixture
def site():
    return load_site(OFFICE)


def _rule(ident, chain, comment, action="accept", **extra):
    return {".id": ident, "chain": chain, "action": action, "comment": comment, **extra}


USER = [
    _rule("*2", "input", "defconf: accept established"),
    _rule("*8", "forward", "defconf: accept in ipsec policy"),
    _rule("*A", "forward", "defconf: fasttrack", "fasttrack-connection"),
    _rule("*B", "forward", "defconf: accept established,related, untracked"),
]


def test_filter_moves_put_pbxctl_rules_before_fasttrack_in_their_order():
    rules = USER + [_rule("*F", "forward", "pbxctl: a"), _rule("*10", "forward", "pbxctl: b")]
    moves = routeros_order.filter_moves(rules, OWNED)
    assert [(m["id"], m["destination"]) for m in moves] == [("*F", "*A"), ("*10", "*A")]
    placed = USER[:2] + rules[-2:] + USER[2:]
    assert routeros_order.filter_moves(placed, OWNED) == []


def test_filter_moves_repair_a_rule_the_user_moved_between_and_ignore_dynamic_ones():
    dummy = {".id": "*1", "chain": "forward", "action": "passthrough", "dynamic": True}
    rules = [dummy, USER[0], USER[1], _rule("*F", "forward", "pbxctl: a"), USER[3], _rule("*10", "forward",
                                                                                          "pbxctl: b"), USER[2]]
    assert [m["id"] for m in routeros_order.filter_moves(rules, OWNED)] == ["*F", "*10"]


def test_filter_moves_without_fasttrack_go_before_the_first_forward_rule():
    rules = [USER[0], USER[1], USER[3], _rule("*F", "forward", "pbxctl: a")]
    assert [m["destination"] for m in routeros_order.filter_moves(rules, OWNED)] == ["*8"]
    assert routeros_order.filter_moves(USER, OWNED) == []


def test_every_entry_is_marked_as_pbxctl_s(site):
    for section in config.sections(site):
        assert all(e["comment"].startswith("pbxctl: ") for e in section["data"]), section["path"]
    assert [s["path"] for s in config.sections(site)] == list(config.PATHS)


def test_voice_bandwidth_follows_calls_and_codecs(site):
    assert config.voice_kbps(site, 12) == pytest.approx(1046.4)
    site.pbx.codecs = ["g729"]
    assert config.voice_kbps(site, 10) == pytest.approx(312)
    site.router.expected_calls = 1000
    site.router.upload_kbps = 1000
    queues = {q["name"]: q for q in next(s for s in config.sections(site) if s["path"] == "queue tree")["data"]}
    # never reserve more than the queue may carry
    assert queues["pbxctl-upload-voice"]["limit-at"] == queues["pbxctl-upload"]["max-limit"] == "950000"


def test_dhcp_options_point_phones_at_the_provisioning_server(site):
    options = {o["code"]: o["value"] for o in config.dhcp_options(site)}
    assert options["66"] == "'192.168.10.5'"
    assert "43" not in options, "Eltex's format is experimental: option 43 only when the site opts in"
    site.provisioning.eltex_option43 = True
    options = {o["code"]: o["value"] for o in config.dhcp_options(site)}
    raw = bytes.fromhex(options["43"][2:])
    subs = {}
    while raw:
        subs[raw[0]] = raw[2:2 + raw[1]].decode()
        raw = raw[2 + raw[1]:]
    # the archive carries passwords: only over HTTPS, with the login the device was staged with
    assert subs == {5: "https://192.168.10.5", 6: "eltex/$MA.tar.gz"}
    site.provisioning.protocols = ["https"]
    site.provisioning.https_port = 8443
    options = {o["code"]: o["value"] for o in config.dhcp_options(site)}
    # a directory (trailing '/'): the phone appends its own file name
    assert options["66"] == "'https://192.168.10.5:8443/'" and "150" not in options


def test_a_dhcp_network_outside_the_voice_vlan_gets_only_the_option_set(site):
    site.router.voice_vlan = None
    site.router.dhcp_network = "192.168.10.0/24"
    paths = {s["path"]: s["data"] for s in config.sections(site)}
    assert paths["ip dhcp-server network"] == [] and paths["interface vlan"] == []
    assert config.settings(site)[1] == {"path": "ip dhcp-server network", "find": {"address": "192.168.10.0/24"},
                                        "values": {"dhcp-option-set": "pbxctl-phones"}}
    assert '/ip dhcp-server network set [find where address=192.168.10.0/24] dhcp-option-set=pbxctl-phones' \
        in export(site)


def test_no_wake_on_lan_without_a_mac(site):
    site.pbx.mac = None
    assert next(s for s in config.sections(site) if s["path"] == "tool netwatch")["data"] == []


def test_script_values_are_quoted_and_read_back(site):
    assert value(True) == "yes" and value("a b") == '"a b"' and value("$MA") == '"\\$MA"' and value("") == '""'
    script = export(site)
    assert script.index("/tool netwatch remove") < script.index("/interface vlan remove")
    assert parse_adds(script)["tool netwatch"][0]["down-script"] == "/tool wol mac=00:25:90:AA:10:05 interface=bridge"


class FakeSftp:
    def __init__(self, files):
        self.files = files

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def putfo(self, handle, name):
        self.files[name] = handle.read().decode()


class FakeConnection:
    def __init__(self, reply="Script file loaded and executed successfully", **kwargs):
        self.kwargs, self.reply, self.files, self.sent, self.closed = kwargs, reply, {}, [], False
        outer = self

        class Pre:
            def open_sftp(self):
                return FakeSftp(outer.files)

        self.remote_conn_pre = Pre()

    def send_command(self, command, **kwargs):
        self.sent.append(command)
        return self.reply if command.startswith("/import") else ""

    def send_config_set(self, lines, **kwargs):
        self.sent.extend(lines)
        return "\n".join(lines)

    def disconnect(self):
        self.closed = True


def test_ssh_import_uploads_runs_and_cleans_up(site):
    made = []

    def connect(**kwargs):
        made.append(FakeConnection(**kwargs))
        return made[0]

    import_over_ssh(site, "secret", "script\n", connect=connect)
    conn = made[0]
    assert conn.kwargs["device_type"] == "mikrotik_routeros" and conn.kwargs["password"] == "secret"
    assert conn.kwargs["ssh_strict"] is True and conn.kwargs["system_host_keys"] is True  # unknown keys refused
    assert conn.files == {SCRIPT_NAME: "script\n"}
    assert conn.sent == [f"/import file-name={SCRIPT_NAME} verbose=no", f"/file remove [find where name={SCRIPT_NAME}]"]
    assert conn.closed


def test_ssh_import_reports_routeros_errors_and_can_type_line_by_line(site):
    def failing(**kwargs):
        return FakeConnection(reply="failure: already have such entry\nScript Error: ...")

    with pytest.raises(ImportFailed, match="already have such entry"):
        import_over_ssh(site, "secret", "x\n", connect=failing)
    conn = FakeConnection()
    import_over_ssh(site, "secret", "# note\n/ip pool\nadd name=a\n", line_by_line=True, connect=lambda **k: conn)
    assert conn.sent == ["/ip pool", "add name=a"]


def test_cli_export_writes_the_script(tmp_path, site):
    out = tmp_path / "office.rsc"
    result = CliRunner().invoke(app, ["router", "export", str(OFFICE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == export(site)
    bare = tmp_path / "bare.yml"
    bare.write_text("site:\n  name: tiny\npbx:\n  host: 192.0.2.10\n")
    result = CliRunner().invoke(app, ["router", "export", str(bare)])
    assert result.exit_code == SITE_INVALID and "has no router" in result.output
