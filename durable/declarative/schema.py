"""The JSON Schema of workflow documents (draft 2020-12), shipped as package data.

``durable/declarative/schema/workflow-v1.json`` describes format version 1
(``durable: 1``). Step kinds are dispatched with ``if``/``then`` on the kind
key (never ``oneOf``, whose errors say nothing useful), one kind per step is
enforced with ``dependentSchemas``, and unknown fields are refused with
``unevaluatedProperties``. Every subschema has a ``title`` that says what is
expected there; validation messages quote it.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "SCHEMA_ID",
    "schema_text",
    "workflow_schema",
    "workflow_validator",
]

FORMAT_VERSION = 1
"""The format version this package reads (the document's ``durable:`` field)."""

SCHEMA_ID = "urn:durable:workflow:v1"
"""The schema's ``$id``."""

KINDS = (
    "call",
    "http",
    "run",
    "wait",
    "receive",
    "set",
    "switch",
    "fail",
    "return",
    "parallel",
    "for_each",
    "loop",
    "approval",
    "try",
)
"""The fourteen step kinds, in the order the format page lists them."""


def schema_text() -> str:
    """The schema file's text, as shipped (what ``durable schema`` prints)."""
    return (
        resources.files("durable.declarative")
        .joinpath(f"schema/workflow-v{FORMAT_VERSION}.json")
        .read_text(encoding="utf-8")
    )


@functools.cache
def workflow_schema() -> dict[str, Any]:
    """The schema as a JSON value (read once; do not modify it)."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def workflow_validator() -> jsonschema.Draft202012Validator:
    """A validator of the schema (built once)."""
    return jsonschema.Draft202012Validator(workflow_schema())
