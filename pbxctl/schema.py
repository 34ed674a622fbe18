"""JSON Schema of the site file, generated from the model, for editors (yaml-language-server)."""

import json

from .site import Site

SCHEMA_ID = "https://pbxctl.dev/schema/site.json"


def site_schema() -> dict:
    schema = Site.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "pbxctl site"
    return schema


def schema_text() -> str:
    return json.dumps(site_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
