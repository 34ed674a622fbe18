"""`molecule test` for each role on the lab's pbx: syntax, converge, idempotence (a second converge changes
nothing) and the scenario's testinfra verifiers. The roles get the variables pbxctl compiles for site.yml here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

HERE = Path(__file__).resolve().parent
# in dependency order: security and provisioning expect Asterisk on the server
SCENARIOS = ["asterisk", "security", "provisioning", "nut"]


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    from pbxctl import lab
    from pbxctl.compile import compile_site
    from pbxctl.targets import lab_retarget

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


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule(scenario: str, build: Path):
    molecule = Path(sys.executable).parent / "molecule"
    env = {**os.environ, "PBXCTL_MOLECULE_BUILD": str(build), "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1",
           "PATH": f"{molecule.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # ansible-* beside it
    run = subprocess.run([str(molecule), "test", "-s", scenario], cwd=HERE.parent, env=env, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, f"molecule test -s {scenario}:\n{run.stdout[-6000:]}\n{run.stderr[-4000:]}"
    for step in ("converge", "idempotence", "verify"):
        assert f"{scenario} > {step}] Executed: Successful" in run.stderr, f"{step} did not run:\n{run.stderr[-3000:]}"
