"""`molecule test` for each role: syntax, converge, idempotence (a second converge changes nothing) and the
scenario's verifiers. The PBX roles run on the lab's pbx with the variables pbxctl compiles for site.yml here;
routeros runs against the RouterOS API double (tests/routeros), with a site whose router is the double."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# in dependency order: security and provisioning expect Asterisk on the server
SCENARIOS = ["asterisk", "security", "provisioning", "nut", "routeros"]
WITHOUT_LAB = {"routeros"}  # runs against the API double on this machine
# entries a user made on the router before pbxctl: converge must leave them as they are
USER_ENTRIES = {
    "/ip/firewall/address-list": {"list": "office-admins", "address": "10.99.0.0/24", "comment": "molecule user"},
    "/ip/firewall/mangle": {"chain": "forward", "action": "passthrough", "comment": "molecule user: count"},
    "/queue/tree": {"name": "office-guests", "parent": "bridge", "max-limit": "2000000", "comment": "molecule user"},
}
# the tables the role writes; their user entries are compared before and after
ROUTER_PATHS = [*USER_ENTRIES, "/interface/vlan", "/ip/address", "/ip/pool", "/ip/dhcp-server/option",
                "/ip/dhcp-server/option/sets", "/ip/dhcp-server", "/ip/dhcp-server/network", "/ip/firewall/filter",
                "/tool/netwatch", "/ip/firewall/service-port"]


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    from pbxctl import lab
    from pbxctl.compile import compile_site
    from pbxctl.lab.retarget import lab_retarget

    problem = lab.preflight_problem()
    if problem:
        pytest.skip(f"lab unavailable: {problem}")
    already_up = all(lab.status().values())
    site_dir = tmp_path_factory.mktemp("molecule-site")
    shutil.copy(HERE / "site.yml", site_dir / "site.yml")
    compiled = compile_site(site_dir / "site.yml", site_dir / "build", None, lab_retarget())
    yield compiled.out_dir.resolve()
    if not already_up:
        lab.down()


@pytest.fixture
def router_double(tmp_path) -> dict[str, str]:
    """The API double with a few user entries, and the build of an office site whose router it is."""
    if str(HERE.parent) not in sys.path:
        sys.path.insert(0, str(HERE.parent))  # tests/routeros, as its own tests import it
    import librouteros
    from routeros.api_server import RouterOSApiServer
    from routeros.fixtures import PASSWORD, USERNAME
    from routeros.site_helpers import compiled, office_site
    from routeros.state import RouterState

    with RouterOSApiServer(RouterState.default(), users={USERNAME: PASSWORD}) as server:
        build = compiled(office_site(tmp_path, server)).out_dir.resolve()
        api = librouteros.connect(server.host, USERNAME, PASSWORD, port=server.port)
        try:
            for path, entry in USER_ENTRIES.items():
                api.path(*path.strip("/").split("/")).add(**entry)
            before = {path: [dict(r) for r in api.path(*path.strip("/").split("/"))
                             if not str(r.get("comment", "")).startswith("pbxctl:")] for path in ROUTER_PATHS}
        finally:
            api.close()
        (tmp_path / "router-before.json").write_text(json.dumps(before, indent=1))
        yield {"PBXCTL_MOLECULE_BUILD": str(build), "PBXCTL_MOLECULE_ROUTER": f"{server.host}:{server.port}",
               "PBXCTL_MOLECULE_ROUTER_BEFORE": str(tmp_path / "router-before.json")}


@pytest.fixture
def scenario_env(scenario: str, request) -> dict[str, str]:
    if scenario == "routeros":
        return request.getfixturevalue("router_double")
    return {"PBXCTL_MOLECULE_BUILD": str(request.getfixturevalue("build"))}


@pytest.mark.parametrize("scenario", [s if s in WITHOUT_LAB else pytest.param(s, marks=pytest.mark.lab)
                                      for s in SCENARIOS])
def test_molecule(scenario: str, scenario_env: dict[str, str]):
    molecule = Path(sys.executable).parent / "molecule"
    env = {**os.environ, **scenario_env, "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1",
           "PATH": f"{molecule.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # ansible-* beside it
    run = subprocess.run([str(molecule), "test", "-s", scenario], cwd=HERE.parent, env=env, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, f"molecule test -s {scenario}:\n{run.stdout[-6000:]}\n{run.stderr[-4000:]}"
    for step in ("converge", "idempotence", "verify"):
        assert f"{scenario} > {step}] Executed: Successful" in run.stderr, f"{step} did not run:\n{run.stderr[-3000:]}"
