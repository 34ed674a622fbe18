"""Every field of the site model is read by what is applied, or refused as not supported yet.

tests/data/field_consumers.yml maps each field path to the file that consumes it and the name it is read by; this
walks the pydantic model, so a new field without a consumer (or a consumer that stopped reading it) fails here.
"""

import types
import typing
from typing import Annotated

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from pbxctl.site import Site

from .conftest import ROOT

CONSUMERS = yaml.safe_load((ROOT / "tests/data/field_consumers.yml").read_text(encoding="utf-8"))


def _models(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _is_list(annotation) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and any(
        _is_list(arg) for arg in typing.get_args(annotation))


def fields(model: type[BaseModel] = Site, prefix: str = "") -> dict[str, FieldInfo]:
    """Leaf fields by path as written in a site file (aliases, [] for list items; trunk types share paths)."""
    found: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        inner = _models(info.annotation)
        if not inner:
            found.setdefault(path, info)
        for sub in inner:
            found.update({k: v for k, v in fields(sub, path + ("[]." if _is_list(info.annotation) else ".")).items()
                          if k not in found})
    return found


FIELDS = fields()


def test_the_walk_sees_the_whole_model():
    assert len(FIELDS) > 150
    assert {"trunks[].imei", "trunks[].match", "schedules[].open[].from", "router.voice_vlan.address"} <= set(FIELDS)


def test_every_field_has_a_consumer():
    assert sorted(set(FIELDS) - set(CONSUMERS)) == [], "fields nobody reads: map them or refuse them"


def test_no_consumer_for_a_field_that_is_gone():
    assert sorted(set(CONSUMERS) - set(FIELDS)) == []


@pytest.mark.parametrize("path", sorted(p for p, c in CONSUMERS.items() if isinstance(c, list)))
def test_consumer_reads_the_field(path):
    file, name = CONSUMERS[path]
    text = (ROOT / file).read_text(encoding="utf-8")
    assert name in text, f"{path}: {file} does not mention {name!r}"


@pytest.mark.parametrize("path", sorted(p for p, c in CONSUMERS.items() if isinstance(c, dict) and "refused" in c))
def test_refused_value_says_not_supported_yet(path):
    info = FIELDS[path]
    adapter = TypeAdapter(Annotated[info.annotation, *info.metadata])
    with pytest.raises(ValidationError, match="not supported yet"):
        adapter.validate_python(CONSUMERS[path]["refused"])


@pytest.mark.parametrize("path", sorted(p for p, c in CONSUMERS.items() if isinstance(c, dict) and "only" in c))
def test_single_valued_field_has_one_value(path):
    assert len(typing.get_args(FIELDS[path].annotation)) == 1, f"{path} takes more than one value: who reads it?"


def test_every_entry_has_a_known_form():
    for path, consumer in CONSUMERS.items():
        assert (isinstance(consumer, list) and len(consumer) == 2) or (
            isinstance(consumer, dict) and len(consumer) == 1 and set(consumer) <= {"refused", "only", "doc"}), path
