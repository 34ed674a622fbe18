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
