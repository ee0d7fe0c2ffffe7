"""History events: the append-only record of one orchestration instance.

Every event is a frozen attrs value with a UTC `timestamp`. Events that answer
a schedulable call (`TaskCompleted`, `TimerFired`, ...) carry the call's
sequence number `seq`, which the replay engine uses to match them with the
call the orchestrator made. Payloads (`input`, `output`) are JSON values:
they have already been through the converter.

The same classes serve as inbox messages: a new event for an instance is
delivered as a message and appended to its history when an episode consumes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

import attrs

from durable._model.failures import FailureDetails

__all__ = [
    "EVENT_TYPES",
    "ContinuedAsNew",
    "EventRaised",
    "EventSent",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionResumed",
    "ExecutionRewound",
    "ExecutionStarted",
    "ExecutionSuspended",
    "ExecutionTerminated",
    "HistoryEvent",
    "JSONValue",
    "OrchestratorStarted",
    "ParentInstance",
    "SubOrchestrationCompleted",
    "SubOrchestrationCreated",
    "SubOrchestrationFailed",
    "TaskCompleted",
    "TaskFailed",
    "TaskScheduled",
    "TimerCreated",
    "TimerFired",
]

JSONValue: TypeAlias = Any
"""A value made only of dict (str keys), list, str, int, float, bool and None."""


@attrs.frozen(kw_only=True)
class HistoryEvent:
    """The base of every history event."""

    timestamp: datetime


@attrs.frozen(kw_only=True)
class ParentInstance:
    """The orchestration that started a sub-orchestration, and the call's seq."""

    instance_id: str
    execution_id: str
    name: str
    seq: int


@attrs.frozen(kw_only=True)
class ExecutionStarted(HistoryEvent):
    """An execution of an orchestrator began (the first event of every history)."""

    name: str
    instance_id: str
    execution_id: str
    input: JSONValue = None
    version: str | None = None
    parent: ParentInstance | None = None
    scheduled_start: datetime | None = None
    tags: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ExecutionCompleted(HistoryEvent):
    """The orchestrator returned `output`."""

    output: JSONValue = None


@attrs.frozen(kw_only=True)
class ExecutionFailed(HistoryEvent):
    """The orchestrator raised, or its replay diverged."""

    failure: FailureDetails


@attrs.frozen(kw_only=True)
class ExecutionTerminated(HistoryEvent):
    """A client terminated the instance."""

    reason: str | None = None


@attrs.frozen(kw_only=True)
class ContinuedAsNew(HistoryEvent):
    """The orchestrator restarted itself with a new input and a fresh history."""

    input: JSONValue = None


@attrs.frozen(kw_only=True)
class ExecutionSuspended(HistoryEvent):
    """A client suspended the instance; new events wait until it is resumed."""

    reason: str | None = None


@attrs.frozen(kw_only=True)
class ExecutionResumed(HistoryEvent):
    """A client resumed a suspended instance."""

    reason: str | None = None


@attrs.frozen(kw_only=True)
class ExecutionRewound(HistoryEvent):
    """A client rewound the failed instance: it runs on from before its failure.

    Attributes:
        reason: why, as the client said.
        undone: the history positions (0-based) of the events the rewind set
            aside: the `ExecutionFailed` and the failure results that led to it.
            Replay skips them. The engine fills them in when it runs the
            rewind; the client's request carries none.
    """

    reason: str | None = None
    undone: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class OrchestratorStarted(HistoryEvent):
    """An episode began; its timestamp is `ctx.now` for that episode."""


@attrs.frozen(kw_only=True)
class TaskScheduled(HistoryEvent):
    """The orchestrator called activity `name` as call number `seq`."""

    seq: int
    name: str
    input: JSONValue = None


@attrs.frozen(kw_only=True)
class TaskCompleted(HistoryEvent):
    """Activity call `seq` returned `output`."""

    seq: int
    output: JSONValue = None


@attrs.frozen(kw_only=True)
class TaskFailed(HistoryEvent):
    """Activity call `seq` raised."""

    seq: int
    failure: FailureDetails


@attrs.frozen(kw_only=True)
class TimerCreated(HistoryEvent):
    """The orchestrator created durable timer `seq`, due at `fire_at`."""

    seq: int
    fire_at: datetime


@attrs.frozen(kw_only=True)
class TimerFired(HistoryEvent):
    """Durable timer `seq` came due."""

    seq: int
    fire_at: datetime


@attrs.frozen(kw_only=True)
class EventRaised(HistoryEvent):
    """An external event `name` arrived with `input`."""

    name: str
    input: JSONValue = None


@attrs.frozen(kw_only=True)
class EventSent(HistoryEvent):
    """The orchestrator sent event `name` to instance `instance_id` as call `seq`."""

    seq: int
    instance_id: str
    name: str
    input: JSONValue = None


@attrs.frozen(kw_only=True)
class SubOrchestrationCreated(HistoryEvent):
    """The orchestrator started sub-orchestration `name` as call `seq`."""

    seq: int
    name: str
    instance_id: str
    input: JSONValue = None
    version: str | None = None


@attrs.frozen(kw_only=True)
class SubOrchestrationCompleted(HistoryEvent):
    """Sub-orchestration call `seq` returned `output`."""

    seq: int
    output: JSONValue = None


@attrs.frozen(kw_only=True)
class SubOrchestrationFailed(HistoryEvent):
    """Sub-orchestration call `seq` failed."""

    seq: int
    failure: FailureDetails


EVENT_TYPES: dict[str, type[HistoryEvent]] = {
    klass.__name__: klass
    for klass in (
        ExecutionStarted,
        ExecutionCompleted,
        ExecutionFailed,
        ExecutionTerminated,
        ContinuedAsNew,
        ExecutionSuspended,
        ExecutionResumed,
        ExecutionRewound,
        OrchestratorStarted,
        TaskScheduled,
        TaskCompleted,
        TaskFailed,
        TimerCreated,
        TimerFired,
        EventRaised,
        EventSent,
        SubOrchestrationCreated,
        SubOrchestrationCompleted,
        SubOrchestrationFailed,
    )
}
"""Every concrete event type by its stable JSON tag (the class name)."""
