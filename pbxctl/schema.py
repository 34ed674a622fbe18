"""JSON Schema of the site file, generated from the model, for editors (yaml-language-server).

The model checks phone models and countries against their catalogues (the device registry, libphonenumber's
regions) rather than with a fixed type; the schema lists the same catalogues as enums, so an editor completes
and checks them too.
"""

import json

from .site import Site

SCHEMA_ID = "https://pbxctl.dev/schema/site.json"


def _enums() -> dict[tuple[str, str], list[str]]:
    from .numbers import COUNTRY_PLANS
    from .site.catalogue import MODELS

    return {("Phone", "model"): sorted(MODELS), ("SiteInfo", "country"): sorted(COUNTRY_PLANS)}


def site_schema() -> dict:
    schema = Site.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "pbxctl site"
    for (definition, field), values in _enums().items():
        schema["$defs"][definition]["properties"][field]["enum"] = values
    return schema


def schema_text() -> str:
    return json.dumps(site_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
