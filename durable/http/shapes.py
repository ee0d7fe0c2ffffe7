"""JSON bodies of the Durable Functions HTTP API: instance status and history events.

The status body has Durable Functions' fields and exact ``runtimeStatus``
strings: ``name``, ``instanceId``, ``runtimeStatus``, ``input``,
``customStatus``, ``output``, ``createdTime``, ``lastUpdatedTime`` (ISO 8601
UTC to the second, ``2030-01-31T12:00:00Z``), and ``historyEvents`` when asked.
A failed instance's ``output`` is ``"<ErrorType>: <message>"``; a terminated
one's is the reason given. Tracebacks are never included.

History events use Durable Functions' shape: ``EventType`` and ``Timestamp``
on each; episode markers (``OrchestratorStarted``) and scheduling events are
folded away, a completion carrying its call's ``FunctionName`` and
``ScheduledTime``. Payloads (``Input``, ``Result``) appear only with
``showHistoryOutput=true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from durable._model.events import (
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
    HistoryEvent,
    JSONValue,
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
from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus
from durable.http.params import DF_STATUS

__all__ = ["df_time", "history_body", "output_of", "status_body"]

_Scheduled = TaskScheduled | SubOrchestrationCreated


def df_time(moment: datetime) -> str:
    """A time as Durable Functions writes ``createdTime``: UTC, to the second, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def output_of(status: InstanceStatus) -> JSONValue:
    """The ``output`` field: the result, the failure in one line, or the termination reason."""
    if status.status is RuntimeStatus.FAILED and status.failure is not None:
        return f"{status.failure.type_name}: {status.failure.message}"
    return status.output


def status_body(
    status: InstanceStatus,
    *,
    show_input: bool = True,
    history: list[dict[str, JSONValue]] | None = None,
) -> dict[str, JSONValue]:
    """The status body of one instance (``historyEvents`` only when `history` is given)."""
    body: dict[str, JSONValue] = {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": DF_STATUS[status.status],
        "input": status.input if show_input else None,
        "customStatus": status.custom_status,
        "output": output_of(status),
        "createdTime": df_time(status.created_at),
        "lastUpdatedTime": df_time(status.last_updated_at),
    }
    if history is not None:
        body["historyEvents"] = history
    return body


def history_body(
    events: Sequence[HistoryEvent], *, show_output: bool, show_input: bool = True
) -> list[dict[str, JSONValue]]:
    """The ``historyEvents`` list of a history, in Durable Functions' shape."""
    scheduled: dict[int, _Scheduled] = {}
    body: list[dict[str, JSONValue]] = []
    for event in events:
        if isinstance(event, _Scheduled):
            scheduled[event.seq] = event
        item = _describe(event, scheduled, show_output=show_output, show_input=show_input)
        if item is not None:
            body.append({"EventType": item.pop("EventType"), **item, "Timestamp": _ts(event)})
    return body


def _describe(
    event: HistoryEvent,
    scheduled: dict[int, _Scheduled],
    *,
    show_output: bool,
    show_input: bool,
) -> dict[str, Any] | None:
    payload: dict[str, Any] = {}
    match event:
        case OrchestratorStarted() | TaskScheduled() | TimerCreated() | SubOrchestrationCreated():
            return None
        case ExecutionStarted(name=name, input=value):
            payload = {"EventType": "ExecutionStarted", "FunctionName": name}
            _put(payload, "Input", value, show_input)
        case ExecutionCompleted(output=value):
            payload = {"EventType": "ExecutionCompleted", "OrchestrationStatus": "Completed"}
            _put(payload, "Result", value, show_output)
        case ExecutionFailed(failure=failure):
            payload = {"EventType": "ExecutionCompleted", "OrchestrationStatus": "Failed"}
            payload.update(_failure(failure))
        case ContinuedAsNew(input=value):
            payload = {"EventType": "ExecutionCompleted", "OrchestrationStatus": "ContinuedAsNew"}
            _put(payload, "Result", value, show_output)
        case ExecutionTerminated(reason=reason):
            payload = {"EventType": "ExecutionTerminated", "Reason": reason}
        case ExecutionSuspended(reason=reason):
            payload = {"EventType": "ExecutionSuspended", "Reason": reason}
        case ExecutionResumed(reason=reason):
            payload = {"EventType": "ExecutionResumed", "Reason": reason}
        case ExecutionRewound(reason=reason):
            payload = {"EventType": "ExecutionRewound", "Reason": reason}
        case TaskCompleted(seq=seq, output=value):
            payload = {"EventType": "TaskCompleted", **_call(scheduled.get(seq))}
            _put(payload, "Result", value, show_output)
        case TaskFailed(seq=seq, failure=failure):
            payload = {"EventType": "TaskFailed", **_call(scheduled.get(seq)), **_failure(failure)}
        case TimerFired(fire_at=fire_at):
            payload = {"EventType": "TimerFired", "FireAt": _iso(fire_at)}
        case EventRaised(name=name, input=value):
            payload = {"EventType": "EventRaised", "Name": name}
            _put(payload, "Input", value, show_output)
        case EventSent(name=name, instance_id=target, input=value):
            payload = {"EventType": "EventSent", "Name": name, "InstanceId": target}
            _put(payload, "Input", value, show_output)
        case SubOrchestrationCompleted(seq=seq, output=value):
            payload = {
                "EventType": "SubOrchestrationInstanceCompleted",
                **_call(scheduled.get(seq)),
            }
            _put(payload, "Result", value, show_output)
        case SubOrchestrationFailed(seq=seq, failure=failure):
            payload = {"EventType": "SubOrchestrationInstanceFailed", **_call(scheduled.get(seq))}
            payload.update(_failure(failure))
        case _:
            raise TypeError(f"no HTTP shape for history event {type(event).__name__}")
    return payload


def _call(event: _Scheduled | None) -> dict[str, Any]:
    if event is None:
        return {}
    call: dict[str, Any] = {"FunctionName": event.name, "ScheduledTime": _ts(event)}
    if isinstance(event, SubOrchestrationCreated):
        call["InstanceId"] = event.instance_id
    return call


def _failure(failure: FailureDetails) -> dict[str, Any]:
    return {"Reason": failure.message, "ErrorType": failure.type_name}


def _put(payload: dict[str, Any], key: str, value: JSONValue, shown: bool) -> None:
    if shown:
        payload[key] = value


def _ts(event: HistoryEvent) -> str:
    return _iso(event.timestamp)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
