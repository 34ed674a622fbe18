"""Every example site validates, passes yamllint, and compiles once its provider passwords are given."""

from pathlib import Path

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from pbxctl.cli import app
from pbxctl.load import load_site

from .conftest import BAD_SITES, EXAMPLES, ROOT, copy_example
from .test_compile import set_external_secrets

IDS = [p.parent.name for p in EXAMPLES]


def test_the_three_scenarios_have_examples():
    assert {"example-office", "example-branches", "example-contact-centre"} <= set(IDS)


@pytest.mark.parametrize("site_file", EXAMPLES, ids=IDS)
def test_example_validates(site_file, runner):
    result = runner.invoke(app, ["validate", str(site_file)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.parametrize("site_file", EXAMPLES, ids=IDS)
def test_example_points_editors_at_the_schema(site_file):
    first = site_file.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../pbxctl/site.schema.json"
    assert (site_file.parent / "../../pbxctl/site.schema.json").resolve().exists()


@pytest.mark.parametrize("site_file", EXAMPLES, ids=IDS)
def test_example_compiles_after_secrets_set(site_file, tmp_path, runner):
    copy = copy_example(site_file.parent.name, tmp_path)
    given = set_external_secrets(runner, copy)
    site = load_site(copy)
    assert len(given) == sum(t.type == "sip_register" or bool(getattr(t, "username", None)) for t in site.trunks) + (
        1 if site.router else 0)
    result = runner.invoke(app, ["compile", str(copy), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    variables = yaml.safe_load((tmp_path / "out" / "vars.yml").read_text())
    assert variables["security__site_name"] == site.site.name
    assert len(variables["asterisk__extensions"]) == len(site.extensions)
    assert [t["name"] for t in variables["asterisk__trunks"]] == [t.name for t in site.trunks]


def _lint(paths: list[Path]) -> list[str]:
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))
    problems = []
    for path in paths:
        relative = path.relative_to(ROOT)
        if config.is_file_ignored(str(relative)):
            continue
        for problem in linter.run(path.read_text(encoding="utf-8"), config, str(relative)):
            if problem.level == "error":
                problems.append(f"{relative}:{problem.line}:{problem.column}: {problem.message}")
    return problems


def test_example_and_bad_site_yaml_passes_yamllint():
    files = [*EXAMPLES, *BAD_SITES.glob("*.yml"), ROOT / ".yamllint"]
    assert _lint(files) == []


def test_scenario_branches():
    site = load_site(ROOT / "inventories/example-branches/site.yml")
    freephone = next(r for r in site.inbound_routes if r.did == "+78005550100")
    assert freephone.target == "ivr:regions" and freephone.crm_lookup and site.crm is not None
    ivr = next(i for i in site.ivrs if i.name == "regions")
    assert {o.target for o in ivr.options} >= {"group:msk", "group:spb", "group:sgt", "group:rzn"}
    assert ivr.on_timeout == "extension:100"
    for region in ("msk", "spb", "sgt", "rzn"):
        assert any(r.target == f"group:{region}" and r.did != "+78005550100" for r in site.inbound_routes)
    assert all(t.type == "sip_register" for t in site.trunks)
    managers = [e for e in site.extensions if e.number[0] in "2345"]
    assert len(managers) == 50
    vendors = {p.model.split("-")[0] for p in site.phones}
    assert vendors == {"cisco", "panasonic", "eltex"}
    assert {line.extension for p in site.phones for line in p.lines} >= {m.number for m in managers}


def test_scenario_contact_centre():
    site = load_site(ROOT / "inventories/example-contact-centre/site.yml")
    dongles = [t for t in site.trunks if t.type == "gsm_dongle"]
    assert len(dongles) == 10 and len({d.imei for d in dongles}) == 10
    city_routes = [r for r in site.outbound_routes if r.name.endswith("-out")]
    assert len(city_routes) == 10
    assert len({r.caller_id for r in city_routes}) == 10
    assert all(r.trunks[0] == "callerid-provider" for r in city_routes)
    provider = next(t for t in site.trunks if t.name == "callerid-provider")
    assert provider.caller_id is None, "the route's city number must reach the provider"
    assert len(site.inbound_routes) == 10 and all(r.target.startswith("queue:") for r in site.inbound_routes)
