"""The converter: lossless JSON round trips of history events and models; payload errors."""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable._model.converter import PayloadConverter
from durable._model.events import (
    EVENT_TYPES,
    ExecutionStarted,
    HistoryEvent,
    OrchestratorStarted,
    ParentInstance,
    TaskFailed,
    TimerFired,
)
from durable._model.failures import FailureDetails
from durable._model.status import (
    PendingActivity,
    PendingSubOrchestration,
    PendingTimer,
    Waiting,
)
from durable.errors import DurableError, PayloadError

CONVERTER = PayloadConverter()
T0 = datetime(2024, 1, 1, tzinfo=UTC)

# -- strategies ----------------------------------------------------------------------------

# Lone surrogates are excluded: they survive json text in memory but not UTF-8 storage.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
failures = st.builds(
    FailureDetails,
    type_name=texts,
    message=texts,
    base_type_names=st.lists(texts, max_size=3).map(tuple),
    traceback=st.none() | texts,
    non_retryable=st.booleans(),
)
parents = st.builds(
    ParentInstance,
    instance_id=texts,
    execution_id=texts,
    name=texts,
    seq=st.integers(0, 10**6),
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": instants,
    "name": texts,
    "instance_id": texts,
    "execution_id": texts,
    "input": json_values,
    "output": json_values,
    "version": st.none() | texts,
    "parent": st.none() | parents,
    "scheduled_start": st.none() | instants,
    "tags": st.dictionaries(texts, texts, max_size=3),
    "failure": failures,
    "reason": st.none() | texts,
    "seq": st.integers(0, 10**6),
    "fire_at": instants,
    "undone": st.lists(st.integers(0, 10**6), max_size=4).map(tuple),
}


def event_strategy(klass: type[HistoryEvent]) -> st.SearchStrategy[HistoryEvent]:
    return st.builds(klass, **{field.name: FIELDS[field.name] for field in attrs.fields(klass)})


events = st.sampled_from(sorted(EVENT_TYPES)).flatmap(lambda tag: event_strategy(EVENT_TYPES[tag]))


# -- history events ------------------------------------------------------------------------


def test_converter_strategies_cover_every_field_of_every_event_type() -> None:
    for klass in EVENT_TYPES.values():
        assert {field.name for field in attrs.fields(klass)} <= FIELDS.keys(), klass


@given(events)
def test_converter_round_trips_every_history_event_through_json_text(event: HistoryEvent) -> None:
    text = CONVERTER.dump_event(event)

    assert CONVERTER.load_event(text) == event
    assert json.loads(text)["type"] == type(event).__name__
    assert CONVERTER.dump_event(CONVERTER.load_event(text)) == text


@given(st.lists(events, max_size=8))
def test_converter_loads_a_history_of_texts_as_load_event_loads_each(
    history: list[HistoryEvent],
) -> None:
    texts = [CONVERTER.dump_event(event) for event in history]

    assert CONVERTER.load_events(texts) == history


@pytest.mark.parametrize(
    "bad",
    [
        '{"type":"Nope","timestamp":"2024-01-01T00:00:00+00:00"}',
        '{"timestamp":"2024-01-01T00:00:00+00:00"}',
        '{"type":["OrchestratorStarted"],"timestamp":"2024-01-01T00:00:00+00:00"}',
        '{"type":"TaskCompleted","timestamp":"2024-01-01T00:00:00+00:00","seq":"x"}',
        '{"type":"OrchestratorStarted","timestamp":"2024-01-01T00:00:00+00:00"} trailing',
        "[1, 2]",
        "{not json",
        "",
    ],
)
def test_converter_history_of_texts_fails_on_a_bad_one_as_load_event_does(bad: str) -> None:
    good = CONVERTER.dump_event(OrchestratorStarted(timestamp=T0))
    with pytest.raises((PayloadError, ValueError)) as alone:
        CONVERTER.load_event(bad)

    with pytest.raises(type(alone.value)) as among_others:
        CONVERTER.load_events([good, bad, good])

    assert str(among_others.value) == str(alone.value)


def test_converter_loads_a_stored_text_with_surrounding_space_in_a_history() -> None:
    text = CONVERTER.dump_event(OrchestratorStarted(timestamp=T0))

    assert CONVERTER.load_events([f" {text}\n"]) == [OrchestratorStarted(timestamp=T0)]


@given(events)
def test_converter_history_event_json_is_plain_json(event: HistoryEvent) -> None:
    body = CONVERTER.event_to_json(event)

    assert json.loads(json.dumps(body, allow_nan=False)) == body


def test_converter_event_json_omits_defaults_and_writes_iso_utc_times() -> None:
    event = TimerFired(timestamp=T0, seq=3, fire_at=T0 + timedelta(hours=1))
    started = ExecutionStarted(timestamp=T0, name="wf", instance_id="i", execution_id="x")

    assert CONVERTER.event_to_json(event) == {
        "type": "TimerFired",
        "timestamp": "2024-01-01T00:00:00+00:00",
        "seq": 3,
        "fire_at": "2024-01-01T01:00:00+00:00",
    }
    assert CONVERTER.event_to_json(started) == {
        "type": "ExecutionStarted",
        "timestamp": "2024-01-01T00:00:00+00:00",
        "name": "wf",
        "instance_id": "i",
        "execution_id": "x",
    }


def test_converter_reads_naive_and_offset_times_as_utc() -> None:
    naive = CONVERTER.event_from_json(
        {
            "type": "TimerFired",
            "timestamp": "2024-01-01T00:00:00",
            "seq": 1,
            "fire_at": "2024-01-01T02:00:00+02:00",
        }
    )

    assert naive == TimerFired(timestamp=T0, seq=1, fire_at=T0)
    assert naive.timestamp.tzinfo is UTC
    assert naive.fire_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"type": "Nope", "timestamp": "2024-01-01T00:00:00+00:00"},
            "unknown history event type 'Nope'",
        ),
        ({"timestamp": "2024-01-01T00:00:00+00:00"}, "unknown history event type None"),
        (
            {"type": "TaskFailed", "timestamp": "2024-01-01T00:00:00+00:00", "seq": "x"},
            "invalid TaskFailed event: invalid value for type, expected int @ $.seq; "
            "required field missing @ $.failure",
        ),
    ],
)
def test_converter_refuses_malformed_history_events(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=f"^{_escaped(message)}$"):
        CONVERTER.event_from_json(data)


def _escaped(text: str) -> str:
    return re.escape(text)


def test_converter_round_trips_a_failed_task_with_its_failure_details() -> None:
    event = TaskFailed(
        timestamp=T0,
        seq=2,
        failure=FailureDetails(
            type_name="KeyError",
            message="'sku'",
            base_type_names=("LookupError", "Exception", "BaseException"),
            traceback="Traceback ...",
            non_retryable=True,
        ),
    )

    assert CONVERTER.load_event(CONVERTER.dump_event(event)) == event


# -- FailureDetails and Waiting through the converter's cattrs ------------------------------

waitings = st.builds(
    Waiting,
    activities=st.lists(
        st.builds(PendingActivity, seq=st.integers(0, 99), name=texts, scheduled_at=instants),
        max_size=3,
    ).map(tuple),
    timers=st.lists(
        st.builds(PendingTimer, seq=st.integers(0, 99), fire_at=instants), max_size=3
    ).map(tuple),
    events=st.lists(texts, max_size=3).map(tuple),
    sub_orchestrations=st.lists(
        st.builds(PendingSubOrchestration, seq=st.integers(0, 99), name=texts, instance_id=texts),
        max_size=3,
    ).map(tuple),
)


@given(failures)
def test_converter_round_trips_failure_details(details: FailureDetails) -> None:
    text = json.dumps(CONVERTER.cattrs.unstructure(details))

    assert CONVERTER.cattrs.structure(json.loads(text), FailureDetails) == details


@given(waitings)
def test_converter_round_trips_waiting(waiting: Waiting) -> None:
    text = json.dumps(CONVERTER.cattrs.unstructure(waiting))

    assert CONVERTER.cattrs.structure(json.loads(text), Waiting) == waiting


# -- payloads ------------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"


@dataclass
class Line:
    sku: str
    quantity: int


@attrs.frozen
class Invoice:
    number: int
    issued: datetime
    colour: Colour
    lines: list[Line]
    note: str | None = None


INVOICE = Invoice(number=1, issued=T0, colour=Colour.RED, lines=[Line(sku="a", quantity=2)])
INVOICE_JSON = {
    "number": 1,
    "issued": "2024-01-01T00:00:00+00:00",
    "colour": "red",
    "lines": [{"sku": "a", "quantity": 2}],
    "note": None,
}


def test_converter_payload_round_trips_attrs_dataclasses_enums_and_datetimes() -> None:
    plain = CONVERTER.to_json(INVOICE, what="input of activity 'bill'")

    assert plain == INVOICE_JSON
    assert CONVERTER.from_json(json.loads(json.dumps(plain)), Invoice, what="x") == INVOICE


@pytest.mark.parametrize("annotation", [Any, None])
def test_converter_payload_without_annotation_stays_plain_json(annotation: Any) -> None:
    assert CONVERTER.from_json(INVOICE_JSON, annotation, what="x") is INVOICE_JSON


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            Opaque(),
            "input of activity 'bill': cannot convert a value of type Opaque to JSON; "
            "use JSON types, datetimes, enums, attrs classes or dataclasses",
        ),
        (
            {"lines": [1, {"at": Opaque()}]},
            "input of activity 'bill': cannot convert a value of type Opaque (inside dict, "
            "at $.lines[1].at) to JSON; use JSON types, datetimes, enums, attrs classes or "
            "dataclasses",
        ),
        (
            {1: "one"},
            "input of activity 'bill': a dict key of type int at $ cannot become JSON "
            "(keys must be str)",
        ),
        (float("nan"), "input of activity 'bill': NaN at $ is not valid JSON"),
        (float("inf"), "input of activity 'bill': Infinity at $ is not valid JSON"),
        ([1.0, float("-inf")], "input of activity 'bill': -Infinity at $[1] is not valid JSON"),
        ({"x": {"y": float("nan")}}, "input of activity 'bill': NaN at $.x.y is not valid JSON"),
        (
            "a\ud800",
            "input of activity 'bill': the string at $ holds the unpaired surrogate "
            "'\\ud800', which UTF-8 JSON cannot hold",
        ),
        (
            {"lines": ["ok", "\udfff"]},
            "input of activity 'bill': the string at $.lines[1] holds the unpaired surrogate "
            "'\\udfff', which UTF-8 JSON cannot hold",
        ),
        (
            {"k\ud801": 1},
            "input of activity 'bill': the string at $ (the key 'k\\ud801') holds the "
            "unpaired surrogate '\\ud801', which UTF-8 JSON cannot hold",
        ),
    ],
)
def test_converter_payload_that_cannot_become_json_is_refused_naming_type_and_place(
    value: Any, message: str
) -> None:
    with pytest.raises(PayloadError, match=f"^{_escaped(message)}$"):
        CONVERTER.to_json(value, what="input of activity 'bill'")


def test_converter_payload_error_is_a_type_error_and_a_durable_error() -> None:
    assert issubclass(PayloadError, TypeError)
    assert issubclass(PayloadError, DurableError)


def test_converter_payload_that_cannot_be_structured_names_the_json_path() -> None:
    bad = {**INVOICE_JSON, "lines": [{"sku": "a", "quantity": "two"}]}

    with pytest.raises(PayloadError) as raised:
        CONVERTER.from_json(bad, Invoice, what="input of orchestrator 'billing'")

    assert str(raised.value).startswith("input of orchestrator 'billing': cannot structure dict ")
    assert str(raised.value).endswith(
        " as Invoice: invalid value for type, expected int @ $.lines[0].quantity"
    )


def test_converter_structures_generic_annotations() -> None:
    value = CONVERTER.from_json([["a", 1]], list[tuple[str, int]], what="x")

    assert value == [("a", 1)]
