"""A router per branch: two sites of a fleet, each with its own router (an API double each), applied in one
ansible-playbook run; each router gets its own site's entries, and --limit leaves the other alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from pbxctl.fleet.build import compile_fleet
from pbxctl.fleet.run import per_site, run_fleet
from pbxctl.fleet.sites import site_files

from .api_server import RouterOSApiServer
from .fixtures import PASSWORD, USERNAME
from .site_helpers import owned, writes
from .state import RouterState

ROOT = Path(__file__).resolve().parents[2]
BRANCHES = {"spb": "192.168.30.0/24", "surgut": "192.168.40.0/24"}  # each branch's phones


def _fleet(tmp_path: Path, servers: dict[str, RouterOSApiServer]) -> list[Path]:
    shutil.copy(ROOT / "inventories" / "example-fleet" / "defaults.yml", tmp_path / "defaults.yml")
    for branch, network in BRANCHES.items():
        (tmp_path / branch).mkdir()
        data = yaml.safe_load((ROOT / "inventories" / "example-fleet" / branch / "site.yml").read_text())
        data.pop("links")  # the head office is not part of this fleet
        data["router"] = {"host": servers[branch].host, "api_port": servers[branch].port, "username": USERNAME,
                          "tls": False, "wan_interface": "ether1", "lan_interface": "bridge",
                          "upload_kbps": 20000, "download_kbps": 20000, "expected_calls": 4,
                          # the double's own DHCP network (defconf); the phones' network tells the sites apart
                          "phone_networks": [network], "dhcp_network": "192.168.88.0/24"}
        (tmp_path / branch / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False))
        trunk = data["trunks"][0]["name"]
        (tmp_path / branch / "secrets.yml").write_text(yaml.safe_dump(
            {"router": {"api": {"password": PASSWORD}}, "trunks": {trunk: {"password": "given-" + trunk}}}))
    return site_files([tmp_path])


def _networks(server: RouterOSApiServer) -> set[str]:
    """The phone networks pbxctl's address lists name on this router."""
    return {row.get("address") for row in owned(server.snapshot()["/ip/firewall/address-list"])}


def test_each_branch_router_gets_its_own_site_in_one_run(tmp_path):
    with RouterOSApiServer(RouterState.default(), users={USERNAME: PASSWORD}) as spb, \
            RouterOSApiServer(RouterState.default(), users={USERNAME: PASSWORD}) as surgut:
        servers = {"spb": spb, "surgut": surgut}
        fleet = compile_fleet(_fleet(tmp_path, servers), out_dir=tmp_path / "build")
        result = run_fleet(fleet, "router.yml", sites=["fleet-spb"], quiet=True)
        assert result.returncode == 0, result.failures
        assert writes(spb) and not writes(surgut)  # --limit: the other branch's router is not touched
        assert per_site(fleet, result, ["fleet-spb"])["fleet-surgut"]["state"] == "skipped"
        result = run_fleet(fleet, "router.yml", quiet=True)
        assert result.returncode == 0, result.failures
        assert sorted(result.stats) == ["fleet-spb-router", "fleet-surgut-router"]
        assert BRANCHES["spb"] in _networks(spb) and BRANCHES["spb"] not in _networks(surgut)
        assert BRANCHES["surgut"] in _networks(surgut) and BRANCHES["surgut"] not in _networks(spb)
