"""History files: one instance's history as a versioned JSON document, with a JSON Schema.

The document (version 1)::

    {
        "format": "durable-history",
        "version": 1,
        "instance_id": "order-17",
        "orchestrator": "bill_customer",
        "events": [{"type": "OrchestratorStarted", "timestamp": "..."}, ...],
    }

Events are in the converter's JSON form: a ``"type"`` tag, an ISO 8601
``"timestamp"``, and the event's other fields (those left at their default
omitted). The schema (``schemas/history-v1.json``, JSON Schema draft
2020-12) ships in the package; a document is checked against it, then its
events are structured, and either step names the JSON path of the first
problem.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import jsonschema
from jsonschema.exceptions import best_match

from durable import AsyncClient, InstanceStatus
from durable._model.converter import PayloadConverter
from durable.errors import PayloadError
from durable.history import HistoryEvent
from durable.testing._errors import HistoryFileError

__all__ = [
    "FORMAT",
    "VERSION",
    "HistorySource",
    "export_history",
    "history_document",
    "history_events",
    "history_schema",
    "load_history",
    "save_history",
    "validate_history",
]

FORMAT = "durable-history"
"""The value of a history file's ``"format"`` field."""

VERSION = 1
"""The history file version this module writes and reads."""

_CONVERTER = PayloadConverter()  # events hold JSON payloads already: no app hooks needed


class HistorySource(Protocol):
    """Anything that tells an instance's status and history: a `Client`, a `Simulation`."""

    def status(self, instance_id: str) -> InstanceStatus:
        """The instance's status."""
        ...

    def history(self, instance_id: str) -> list[HistoryEvent]:
        """The instance's history."""
        ...


@functools.cache
def history_schema() -> dict[str, Any]:
    """The JSON Schema of history files (version 1), as shipped in the package."""
    text = resources.files("durable.testing").joinpath("schemas/history-v1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = history_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def history_document(
    instance_id: str, orchestrator: str, events: Sequence[HistoryEvent]
) -> dict[str, Any]:
    """The history file document of `events`."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "instance_id": instance_id,
        "orchestrator": orchestrator,
        "events": [_CONVERTER.event_to_json(event) for event in events],
    }


def export_history(source: HistorySource | AsyncClient, instance_id: str) -> dict[str, Any]:
    """The history of instance `instance_id` as a history file document.

    Args:
        source: a `Client`, an `AsyncClient` (its store is read synchronously)
            or a `Simulation`.
        instance_id: the instance.

    Raises:
        InstanceNotFoundError: no such instance.
    """
    reader: HistorySource = source.sync if isinstance(source, AsyncClient) else source
    status = reader.status(instance_id)
    return history_document(instance_id, status.name, reader.history(instance_id))


def validate_history(document: Any, *, source: str = "<document>") -> None:
    """Check a history file document against the schema and the event types.

    Raises:
        HistoryFileError: naming the JSON path of the first problem.
    """
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise HistoryFileError(source, error.json_path, error.message)
    history_events(document, source=source)


def history_events(document: Any, *, source: str = "<document>") -> list[HistoryEvent]:
    """The events of a (schema-valid) history file document.

    Raises:
        HistoryFileError: an event cannot be read; names its JSON path.
    """
    events: list[HistoryEvent] = []
    for index, data in enumerate(document["events"]):
        try:
            events.append(_CONVERTER.event_from_json(data))
        except PayloadError as error:
            raise HistoryFileError(source, f"$.events[{index}]", str(error)) from error
    return events


def save_history(path: str | Path, document: dict[str, Any]) -> None:
    """Write a history file document (validated first) as indented JSON.

    Raises:
        HistoryFileError: the document is not valid.
    """
    target = Path(path)
    validate_history(document, source=str(target))
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")


def load_history(path: str | Path) -> dict[str, Any]:
    """Read and validate a history file.

    Raises:
        HistoryFileError: the file is not JSON or not a valid history (names the JSON path).
        OSError: the file cannot be read.
    """
    source = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise HistoryFileError(
            source, "$", f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from error
    validate_history(document, source=source)
    loaded: dict[str, Any] = document
    return loaded
