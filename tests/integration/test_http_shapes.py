"""The JSON shapes of the HTTP API, from hand-built values (pure: no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from durable import FailureDetails, InstanceStatus, RuntimeStatus
from durable.errors import PayloadError
from durable.history import (
    ContinuedAsNew,
    EventRaised,
    EventSent,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionSuspended,
    ExecutionTerminated,
    OrchestratorStarted,
    SubOrchestrationCompleted,
    SubOrchestrationCreated,
    SubOrchestrationFailed,
    TaskCompleted,
    TaskFailed,
    TaskScheduled,
    TimerCreated,
    TimerFired,
)
from durable.http import decode_body
from durable.http.errors import HttpError, response_for_durable_error
from durable.http.shapes import history_body, status_body

T0 = datetime(2030, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)
BOOM = FailureDetails(type_name="ValueError", message="boom", traceback="Traceback ...secret")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ts(seconds: float) -> str:
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


HISTORY = [
    OrchestratorStarted(timestamp=at(0)),
    ExecutionStarted(timestamp=at(0), name="flow", instance_id="i", execution_id="e", input=[1]),
    TaskScheduled(timestamp=at(1), seq=0, name="charge", input={"cents": 5}),
    TimerCreated(timestamp=at(1), seq=1, fire_at=at(60)),
    SubOrchestrationCreated(timestamp=at(1), seq=2, name="child", instance_id="i:2", input=None),
    EventSent(timestamp=at(1), seq=3, instance_id="other", name="ping", input="hi"),
    TaskCompleted(timestamp=at(2), seq=0, output="paid"),
    TaskFailed(timestamp=at(3), seq=9, failure=BOOM),
    TimerFired(timestamp=at(60), seq=1, fire_at=at(60)),
    SubOrchestrationCompleted(timestamp=at(61), seq=2, output=7),
    SubOrchestrationFailed(timestamp=at(62), seq=2, failure=BOOM),
    ExecutionSuspended(timestamp=at(63), reason="audit"),
    ExecutionResumed(timestamp=at(64), reason=None),
    EventRaised(timestamp=at(65), name="approve", input={"ok": True}),
    ContinuedAsNew(timestamp=at(66), input=[2]),
    ExecutionCompleted(timestamp=at(67), output="done"),
    ExecutionFailed(timestamp=at(68), failure=BOOM),
    ExecutionTerminated(timestamp=at(69), reason="stop"),
]


def test_history_body_has_durable_functions_shape_for_every_event_kind() -> None:
    assert history_body(HISTORY, show_output=True) == [
        {"EventType": "ExecutionStarted", "FunctionName": "flow", "Input": [1], "Timestamp": ts(0)},
        {
            "EventType": "EventSent",
            "Name": "ping",
            "InstanceId": "other",
            "Input": "hi",
            "Timestamp": ts(1),
        },
        {
            "EventType": "TaskCompleted",
            "FunctionName": "charge",
            "ScheduledTime": ts(1),
            "Result": "paid",
            "Timestamp": ts(2),
        },
        {
            "EventType": "TaskFailed",
            "Reason": "boom",
            "ErrorType": "ValueError",
            "Timestamp": ts(3),
        },
        {"EventType": "TimerFired", "FireAt": ts(60), "Timestamp": ts(60)},
        {
            "EventType": "SubOrchestrationInstanceCompleted",
            "FunctionName": "child",
            "ScheduledTime": ts(1),
            "InstanceId": "i:2",
            "Result": 7,
            "Timestamp": ts(61),
        },
        {
            "EventType": "SubOrchestrationInstanceFailed",
            "FunctionName": "child",
            "ScheduledTime": ts(1),
            "InstanceId": "i:2",
            "Reason": "boom",
            "ErrorType": "ValueError",
            "Timestamp": ts(62),
        },
        {"EventType": "ExecutionSuspended", "Reason": "audit", "Timestamp": ts(63)},
        {"EventType": "ExecutionResumed", "Reason": None, "Timestamp": ts(64)},
        {"EventType": "EventRaised", "Name": "approve", "Input": {"ok": True}, "Timestamp": ts(65)},
        {
            "EventType": "ExecutionCompleted",
            "OrchestrationStatus": "ContinuedAsNew",
            "Result": [2],
            "Timestamp": ts(66),
        },
        {
            "EventType": "ExecutionCompleted",
            "OrchestrationStatus": "Completed",
            "Result": "done",
            "Timestamp": ts(67),
        },
        {
            "EventType": "ExecutionCompleted",
            "OrchestrationStatus": "Failed",
            "Reason": "boom",
            "ErrorType": "ValueError",
            "Timestamp": ts(68),
        },
        {"EventType": "ExecutionTerminated", "Reason": "stop", "Timestamp": ts(69)},
    ]


def test_history_body_leaves_payloads_out_unless_asked() -> None:
    body = history_body(HISTORY, show_output=False, show_input=False)
    payload_keys = {"Input", "Result"}
    assert [sorted(payload_keys & set(event)) for event in body] == [[]] * len(body)
    assert "secret" not in repr(body)


def _status(status: RuntimeStatus, **fields: object) -> InstanceStatus:
    return InstanceStatus(
        instance_id="i",
        name="flow",
        status=status,
        created_at=at(0),
        last_updated_at=at(90.9),
        execution_id="e",
        input={"n": 1},
        custom_status="half",
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("status", "fields", "runtime", "output"),
    [
        (RuntimeStatus.PENDING, {}, "Pending", None),
        (RuntimeStatus.RUNNING, {}, "Running", None),
        (RuntimeStatus.SUSPENDED, {}, "Suspended", None),
        (RuntimeStatus.CONTINUED_AS_NEW, {}, "ContinuedAsNew", None),
        (RuntimeStatus.COMPLETED, {"output": [1, 2]}, "Completed", [1, 2]),
        (RuntimeStatus.TERMINATED, {"output": "stop"}, "Terminated", "stop"),
        (RuntimeStatus.FAILED, {"failure": BOOM}, "Failed", "ValueError: boom"),
    ],
)
def test_status_body_uses_durable_functions_strings(
    status: RuntimeStatus, fields: dict[str, object], runtime: str, output: object
) -> None:
    assert status_body(_status(status, **fields)) == {
        "name": "flow",
        "instanceId": "i",
        "runtimeStatus": runtime,
        "input": {"n": 1},
        "customStatus": "half",
        "output": output,
        "createdTime": "2030-01-31T12:00:00Z",
        "lastUpdatedTime": "2030-01-31T12:01:31Z",
    }


def test_status_body_hides_the_input_and_adds_history_when_asked() -> None:
    body = status_body(_status(RuntimeStatus.RUNNING), show_input=False, history=[])
    assert (body["input"], body["historyEvents"]) == (None, [])


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"", None),
        (b"  \n", None),
        (b"null", None),
        (b'{"a": [1, 2.5]}', {"a": [1, 2.5]}),
        (b'"hello"', "hello"),
        (b'"{\\"a\\": 1}"', {"a": 1}),
        (b'"[1, \\"x\\"]"', [1, "x"]),
        (b'"null"', None),
        (b'"\\"null\\""', "null"),
        (b'"\\"42\\""', "42"),
        (b'"42"', 42),
        (b'"NaN"', "NaN"),
        ('"caf\u00e9"'.encode(), "caf\u00e9"),
    ],
)
def test_decode_body_unwraps_json_text_sent_as_a_json_string_once(
    raw: bytes, value: object
) -> None:
    assert decode_body(raw) == value


@pytest.mark.parametrize("raw", [b"{", b"NaN", b"[Infinity]", b"\xff", b"1 2"])
def test_decode_body_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(HttpError, match="the request body is not valid JSON") as raised:
        decode_body(raw)
    assert (raised.value.status_code, raised.value.code) == (400, "InvalidJson")


def test_payload_error_is_a_400_input_error() -> None:
    assert response_for_durable_error(PayloadError("no")).status_code == 400
