"""The installed wheel against the lab: `pbxctl apply` from a temporary directory, then the README's plain
`ansible-playbook site.yml` and `ansible-runner run` on the build, which must find nothing left to change."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
from installed import SMALL_SITE, Installed

pytestmark = pytest.mark.lab

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "pbxctl" / "run.schema.json").read_text())
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
# the README's commands, verbatim (the build directory of a site applied with --lab is build/<site>-lab)
PLAIN = "ansible-playbook site.yml"
RUNNER = "ansible-runner run {build} -p site.yml"


@pytest.fixture(scope="module")
def applied(installed: Installed, tmp_path_factory) -> dict:
    from pbxctl import lab

    problem = lab.preflight_problem()
    if problem:
        pytest.skip(f"lab unavailable: {problem}")
    already_up = all(lab.status().values())
    site_dir = tmp_path_factory.mktemp("installed-site")
    (site_dir / "site.yml").write_text(SMALL_SITE.format(name="wheel-lab"))
    run = installed.run("pbxctl", "apply", "site.yml", "--lab", "--json", cwd=site_dir, timeout=1800)
    yield {"site_dir": site_dir, "build": site_dir / "build" / "wheel-lab-lab", "apply": run}
    if not already_up:
        lab.down()  # the lab tests after these start from bare servers they boot themselves


def recap(output: str) -> dict[str, tuple[int, int, int, int]]:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)  # runner's display keeps Ansible's colours
    return {m[1]: tuple(int(n) for n in m.groups()[1:]) for m in RECAP.finditer(plain)}


def test_apply_from_the_installed_wheel(applied):
    run = applied["apply"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    document = json.loads(run.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["exit_code"] == 0 and document["hosts"]["wheel-lab-pbx"]["failures"] == 0


def test_plain_ansible_playbook_in_the_build_changes_nothing(installed: Installed, applied):
    run = installed.run(*PLAIN.split(), cwd=applied["build"], timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    hosts = recap(run.stdout)
    assert "wheel-lab-pbx" in hosts, run.stdout[-2000:]
    assert {host: counts[1] for host, counts in hosts.items()} == {host: 0 for host in hosts}, run.stdout[-4000:]


def test_ansible_runner_on_the_build_changes_nothing(installed: Installed, applied):
    build = applied["build"]
    run = installed.run(*RUNNER.format(build=build).split(), cwd=applied["site_dir"], timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    hosts = recap(run.stdout)
    assert "wheel-lab-pbx" in hosts, run.stdout[-2000:]
    assert {host: counts[1] for host, counts in hosts.items()} == {host: 0 for host in hosts}, run.stdout[-4000:]
    assert list((build / "artifacts").glob("*/job_events/*.json")), "runner's event stream, as AWX reads it"


def test_plan_after_apply_has_nothing_pending(installed: Installed, applied):
    run = installed.run("pbxctl", "plan", "site.yml", "--lab", "--json", "--detailed-exitcode",
                        cwd=applied["site_dir"], timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    document = json.loads(run.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["changed"] == 0 and document["changes"] == []
