"""History files: export, save, load, and validation against the shipped JSON Schema."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from durable import App, AsyncClient
from durable.errors import InstanceNotFoundError
from durable.testing import (
    HistoryFileError,
    Simulation,
    export_history,
    history_schema,
    load_history,
    save_history,
    validate_history,
)
from tests.testing.workflows import make_app


@pytest.fixture
def app() -> App:
    return make_app()


@pytest.fixture
def document(simulation: Simulation) -> dict[str, Any]:
    """The exported history of a finished chain: 9 events, TaskScheduled at index 2."""
    instance_id = simulation.start("chain", 3, instance_id="chain-3")
    simulation.run_until_idle()
    return export_history(simulation, instance_id)


def test_export_history_describes_format_version_instance_and_events(
    document: dict[str, Any],
) -> None:
    head = {key: value for key, value in document.items() if key != "events"}
    assert (head, document["events"][2]) == (
        {
            "format": "durable-history",
            "version": 1,
            "instance_id": "chain-3",
            "orchestrator": "chain",
        },
        {
            "type": "TaskScheduled",
            "timestamp": "2030-01-01T00:00:00+00:00",
            "seq": 0,
            "name": "double",
            "input": 3,
        },
    )


def test_export_history_reads_from_a_client_and_an_async_client(
    simulation: Simulation, document: dict[str, Any]
) -> None:
    async_client = AsyncClient(simulation.store, app=simulation.app)
    assert (
        export_history(simulation.client, "chain-3"),
        export_history(async_client, "chain-3"),
    ) == (document, document)


def test_export_history_of_an_unknown_instance_fails(simulation: Simulation) -> None:
    with pytest.raises(InstanceNotFoundError, match="'nobody'"):
        export_history(simulation, "nobody")


def test_save_and_load_history_round_trip(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "chain.json"
    save_history(path, document)
    text = path.read_text()
    assert (load_history(path), text.endswith("}\n"), text.count("\n") > 20) == (
        document,
        True,
        True,
    )


def test_history_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = history_schema()
    Draft202012Validator.check_schema(schema)
    assert (schema["$schema"], schema["properties"]["version"]) == (
        "https://json-schema.org/draft/2020-12/schema",
        {"const": 1},
    )


def drop(*path: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def put(value: Any, *path: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (drop("version"), "$", "'version' is a required property"),
        (put(2, "version"), "$.version", "1 was expected"),
        (put("durable", "format"), "$.format", "'durable-history' was expected"),
        (put({}, "events"), "$.events", "is not of type 'array'"),
        (put([], "events"), "$.events", "should be non-empty"),
        (drop("events", 2, "seq"), "$.events[2]", "'seq' is a required property"),
        (put("zero", "events", 2, "seq"), "$.events[2].seq", "'zero' is not of type 'integer'"),
        (
            put("2030-01-01T00:00:00", "events", 0, "timestamp"),
            "$.events[0].timestamp",
            "does not match",
        ),
        (put("Bogus", "events", 1, "type"), "$.events[1].type", "'Bogus' is not one of"),
        (put(1, "events", 2, "colour"), "$.events[2]", "Additional properties are not allowed"),
        (put(3, "extra"), "$", "Additional properties are not allowed"),
        (
            put("2030-13-45T00:00:00+00:00", "events", 0, "timestamp"),
            "$.events[0]",
            "invalid OrchestratorStarted event",
        ),
    ],
    ids=[
        "no-version",
        "version-2",
        "bad-format",
        "events-not-array",
        "no-events",
        "missing-seq",
        "seq-not-int",
        "naive-timestamp",
        "unknown-type",
        "unknown-field",
        "unknown-top-field",
        "impossible-date",
    ],
)
def test_validate_history_names_the_json_path_of_the_problem(
    document: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    path: str,
    problem: str,
) -> None:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(HistoryFileError, match=problem) as caught:
        validate_history(broken)
    assert (caught.value.path, str(caught.value).startswith("<document> is not a valid")) == (
        path,
        True,
    )
    assert f"at {path}: " in str(caught.value)


def test_load_history_names_the_file_and_the_json_path(
    document: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    del document["events"][4]["seq"]
    path.write_text(json.dumps(document))
    with pytest.raises(
        HistoryFileError,
        match=f"{path} is not a valid durable history file: at \\$.events\\[4\\]: 'seq' is a "
        "required property",
    ):
        load_history(path)


def test_load_history_of_text_that_is_not_json_fails_at_the_root(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("{not json")
    with pytest.raises(HistoryFileError, match=r"at \$: not JSON: .* \(line 1, column 2\)"):
        load_history(path)


def test_save_history_refuses_an_invalid_document(document: dict[str, Any], tmp_path: Path) -> None:
    document["version"] = 9
    with pytest.raises(HistoryFileError, match=r"at \$.version"):
        save_history(tmp_path / "bad.json", document)
    assert not (tmp_path / "bad.json").exists()


def test_export_from_an_async_client_inside_a_running_loop(
    simulation: Simulation, document: dict[str, Any]
) -> None:
    async def export() -> dict[str, Any]:
        return export_history(AsyncClient(simulation.store), "chain-3")

    assert asyncio.run(export()) == document


def every_event_kind() -> Iterator[str]:
    yield from history_schema()["$defs"]["event"]["properties"]["type"]["enum"]


def test_schema_knows_every_history_event_type() -> None:
    from durable._model.events import EVENT_TYPES

    assert sorted(every_event_kind()) == sorted(EVENT_TYPES)


def test_every_event_type_with_every_field_set_passes_the_schema_and_reads_back() -> None:
    from durable import FailureDetails
    from durable.history import (
        ContinuedAsNew,
        EventRaised,
        EventSent,
        ExecutionCompleted,
        ExecutionFailed,
        ExecutionResumed,
        ExecutionRewound,
        ExecutionStarted,
        ExecutionSuspended,
        ExecutionTerminated,
        OrchestratorStarted,
        ParentInstance,
        SubOrchestrationCompleted,
        SubOrchestrationCreated,
        SubOrchestrationFailed,
        TaskCompleted,
        TaskFailed,
        TaskScheduled,
        TimerCreated,
        TimerFired,
    )
    from durable.testing._history_file import history_document, history_events
    from tests.testing.workflows import T0

    failure = FailureDetails(
        type_name="E",
        message="m",
        base_type_names=("Exception",),
        traceback="tb",
        non_retryable=True,
    )
    parent = ParentInstance(instance_id="p", execution_id="pe", name="parent", seq=4)
    events = [
        OrchestratorStarted(timestamp=T0),
        ExecutionStarted(
            timestamp=T0,
            name="o",
            instance_id="i",
            execution_id="e",
            input={"a": [1, 2.5, None]},
            version="2",
            parent=parent,
            scheduled_start=T0,
            tags={"team": "billing"},
        ),
        TaskScheduled(timestamp=T0, seq=0, name="a", input=1),
        TaskCompleted(timestamp=T0, seq=0, output="x"),
        TaskFailed(timestamp=T0, seq=1, failure=failure),
        TimerCreated(timestamp=T0, seq=2, fire_at=T0),
        TimerFired(timestamp=T0, seq=2, fire_at=T0),
        EventRaised(timestamp=T0, name="go", input=True),
        EventSent(timestamp=T0, seq=3, instance_id="j", name="go", input=False),
        SubOrchestrationCreated(
            timestamp=T0, seq=4, name="c", instance_id="k", input=0, version="1"
        ),
        SubOrchestrationCompleted(timestamp=T0, seq=4, output=[]),
        SubOrchestrationFailed(timestamp=T0, seq=5, failure=failure),
        ExecutionSuspended(timestamp=T0, reason="pause"),
        ExecutionResumed(timestamp=T0, reason="go on"),
        ExecutionRewound(timestamp=T0, reason="again", undone=(4, 17)),
        ExecutionTerminated(timestamp=T0, reason="stop"),
        ContinuedAsNew(timestamp=T0, input={"n": 1}),
        ExecutionCompleted(timestamp=T0, output={"done": True}),
        ExecutionFailed(timestamp=T0, failure=failure),
    ]
    document = history_document("i", "o", events)
    validate_history(document)
    assert history_events(document) == events
