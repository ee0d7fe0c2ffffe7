"""The shipped JSON Schema: draft 2020-12, with an id and version, kinds dispatched with if/then."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

import durable.declarative as declarative
from durable.declarative import FORMAT_VERSION, KINDS, SCHEMA_ID, schema_text
from durable.declarative.schema import workflow_schema

SHIPPED = Path(declarative.__file__).parent / "schema" / "workflow-v1.json"


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keys(value)}
    return set()


def test_schema_is_a_valid_draft_2020_12_schema_with_an_id_and_the_format_version() -> None:
    schema = json.loads(SHIPPED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert (schema["$schema"], schema["$id"], schema["properties"]["durable"]) == (
        "https://json-schema.org/draft/2020-12/schema",
        SCHEMA_ID,
        {"title": "the format version: 1", "const": FORMAT_VERSION},
    )
    assert schema_text() == SHIPPED.read_text()


def test_schema_dispatches_kinds_with_if_then_and_never_uses_one_of() -> None:
    step = workflow_schema()["$defs"]["step"]
    assert step["allOf"] == [
        {"if": {"required": [kind]}, "then": {"$ref": f"#/$defs/{kind}_step"}} for kind in KINDS
    ]
    assert "oneOf" not in _keys(workflow_schema())
    assert sorted(step["dependentSchemas"]) == sorted(KINDS)


def test_every_subschema_with_a_type_has_a_title_for_messages() -> None:
    untitled = [
        name
        for name, definition in workflow_schema()["$defs"].items()
        if isinstance(definition, dict) and "type" in definition and "title" not in definition
    ]
    assert untitled == []


def test_the_examples_validate_against_the_schema_alone() -> None:
    validator = jsonschema.Draft202012Validator(workflow_schema())
    examples = sorted(
        (Path(__file__).resolve().parents[2] / "examples" / "workflows").glob("*[!s].yaml")
    )
    from durable.declarative.loader import load_file

    assert len(examples) == 5
    assert {path.name: list(validator.iter_errors(load_file(path).data)) for path in examples} == {
        path.name: [] for path in examples
    }
