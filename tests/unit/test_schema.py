"""The committed JSON Schema is what the model generates; editors read it from the repo."""

import json

from pbxctl.cli import app
from pbxctl.schema import schema_text
from pbxctl.site import Site

from .conftest import ROOT

COMMITTED = ROOT / "pbxctl" / "site.schema.json"


def test_committed_schema_is_current():
    assert COMMITTED.exists(), "generate it: pbxctl schema -o pbxctl/site.schema.json"
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "pbxctl/site.schema.json is stale; regenerate it: pbxctl schema -o pbxctl/site.schema.json")


def test_cli_prints_the_same_schema(runner):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.output == schema_text()


def test_schema_uses_file_keys_and_refuses_unknown_ones():
    schema = json.loads(schema_text())
    assert set(schema["required"]) == {"site", "pbx"}
    assert schema["additionalProperties"] is False
    time_range = schema["$defs"]["TimeRange"]
    assert {"from", "to"} <= set(time_range["properties"]), "aliases, as written in site files"
    assert set(schema["properties"]) == {f.alias or name for name, f in Site.model_fields.items()}


def test_phone_models_and_countries_are_enums_from_their_catalogues():
    from pbxctl.numbers import COUNTRY_PLANS
    from pbxctl.site.catalogue import MODELS

    definitions = json.loads(schema_text())["$defs"]
    assert definitions["Phone"]["properties"]["model"]["enum"] == sorted(MODELS)
    countries = definitions["SiteInfo"]["properties"]["country"]["enum"]
    assert countries == sorted(COUNTRY_PLANS) and {"RU", "KZ", "BY", "DE", "GB", "US", "FR"} <= set(countries)


MODELINE = "# yaml-language-server: $schema=site.schema.json"
SITE_REPO_SITE = """\
site:
  name: branch
  country: DE
  timezone: Europe/Berlin
pbx:
  host: 192.0.2.10
extensions:
  - number: "100"
    name: Anna
phones:
  - mac: "00:0e:08:d1:00:01"
    model: cisco-spa303
    lines:
      - extension: "100"
"""


def test_the_documented_modeline_works_in_a_site_repo(tmp_path, runner):
    """README: `pbxctl schema -o site.schema.json` beside site.yml, and the modeline names it relatively."""
    import jsonschema
    import yaml

    assert MODELINE in (ROOT / "README.md").read_text()
    result = runner.invoke(app, ["schema", "-o", str(tmp_path / "site.schema.json")])
    assert result.exit_code == 0
    site_file = tmp_path / "site.yml"
    site_file.write_text(MODELINE + "\n" + SITE_REPO_SITE)
    # what the editor does: the path after $schema= is relative to the site file
    target = site_file.read_text().splitlines()[0].split("$schema=", 1)[1]
    schema = json.loads((site_file.parent / target).read_text())
    data = yaml.safe_load(site_file.read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    data["phones"][0]["model"] = "cisco-spa999"
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert any(list(e.absolute_path) == ["phones", 0, "model"] for e in errors)


def test_every_property_has_a_description_from_the_model():
    schema = json.loads(schema_text())
    missing = [f"{name}.{key}" for name, definition in [("Site", schema), *schema["$defs"].items()]
               for key, value in definition.get("properties", {}).items() if not value.get("description")]
    assert not missing, f"give these fields a Field(description=...): {missing}"
