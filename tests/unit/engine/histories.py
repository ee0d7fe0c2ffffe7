"""Builders for hand-built histories: fixed times, events, expected decisions, a driver.

A history is what a worker would have stored: per episode, the episode's
`OrchestratorStarted`, the events it consumed, the calls it made and, at the
end, the closing event. Every time is a fixed aware UTC datetime derived from
`T0`; nothing reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from durable._engine.decision import ContinueAsNewRequest, Decision
from durable._engine.execution import Execution
from durable._engine.registry import NameRegistry, Registry
from durable._engine.replay import replay
from durable._model.converter import PayloadConverter
from durable._model.definitions import ActivityDefinition, OrchestratorDefinition
from durable._model.events import (
    EventRaised,
    EventSent,
    ExecutionCompleted,
    ExecutionStarted,
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
from durable._model.status import RuntimeStatus, Waiting
from durable.errors import ActivityNotFoundError, OrchestratorNotFoundError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INSTANCE = "order-1"
EXECUTION = "order-1-x1"
ACTION_TYPES = (TaskScheduled, TimerCreated, SubOrchestrationCreated, EventSent)


def at(seconds: float) -> datetime:
    """`T0` plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


# -- events --------------------------------------------------------------------------------


def started(
    input: JSONValue = None,
    *,
    name: str = "orchestrator",
    instance_id: str = INSTANCE,
    execution_id: str = EXECUTION,
    timestamp: datetime = T0,
    **fields: Any,
) -> ExecutionStarted:
    """An ExecutionStarted event."""
    return ExecutionStarted(
        timestamp=timestamp,
        name=name,
        instance_id=instance_id,
        execution_id=execution_id,
        input=input,
        **fields,
    )


def episode(timestamp: datetime) -> OrchestratorStarted:
    """The OrchestratorStarted event that opens an episode at `timestamp`."""
    return OrchestratorStarted(timestamp=timestamp)


def scheduled(seq: int, name: str, input: JSONValue = None, *, t: datetime) -> TaskScheduled:
    """Activity call `seq` to `name`, made at `t`."""
    return TaskScheduled(timestamp=t, seq=seq, name=name, input=input)


def completed(seq: int, output: JSONValue = None, *, t: datetime) -> TaskCompleted:
    """Activity call `seq` returned `output` at `t`."""
    return TaskCompleted(timestamp=t, seq=seq, output=output)


def failed(seq: int, failure: FailureDetails, *, t: datetime) -> TaskFailed:
    """Activity call `seq` raised at `t`."""
    return TaskFailed(timestamp=t, seq=seq, failure=failure)


def timer(seq: int, fire_at: datetime, *, t: datetime) -> TimerCreated:
    """Timer call `seq`, due at `fire_at`, made at `t`."""
    return TimerCreated(timestamp=t, seq=seq, fire_at=fire_at)


def fired(seq: int, fire_at: datetime) -> TimerFired:
    """Timer `seq` came due at `fire_at`."""
    return TimerFired(timestamp=fire_at, seq=seq, fire_at=fire_at)


def raised(name: str, input: JSONValue = None, *, t: datetime) -> EventRaised:
    """External event `name` arrived at `t`."""
    return EventRaised(timestamp=t, name=name, input=input)


def child(
    seq: int, name: str, instance_id: str, input: JSONValue = None, *, t: datetime
) -> SubOrchestrationCreated:
    """Sub-orchestration call `seq` to `name` as `instance_id`, made at `t`."""
    return SubOrchestrationCreated(
        timestamp=t, seq=seq, name=name, instance_id=instance_id, input=input
    )


def child_completed(
    seq: int, output: JSONValue = None, *, t: datetime
) -> SubOrchestrationCompleted:
    """Sub-orchestration call `seq` returned `output` at `t`."""
    return SubOrchestrationCompleted(timestamp=t, seq=seq, output=output)


def child_failed(seq: int, failure: FailureDetails, *, t: datetime) -> SubOrchestrationFailed:
    """Sub-orchestration call `seq` failed at `t`."""
    return SubOrchestrationFailed(timestamp=t, seq=seq, failure=failure)


def execution_completed(output: JSONValue = None, *, t: datetime) -> ExecutionCompleted:
    """The orchestrator returned `output` in the episode at `t`."""
    return ExecutionCompleted(timestamp=t, output=output)


def failure(
    type_name: str = "ValueError",
    message: str = "boom",
    *,
    bases: tuple[str, ...] = ("Exception", "BaseException"),
    traceback: str | None = "Traceback (most recent call last):\n  ...\nValueError: boom\n",
    non_retryable: bool = False,
) -> FailureDetails:
    """A remote failure as the worker records it."""
    return FailureDetails(
        type_name=type_name,
        message=message,
        base_type_names=bases,
        traceback=traceback,
        non_retryable=non_retryable,
    )


# -- decisions -----------------------------------------------------------------------------


def decision(
    new_events: Iterable[HistoryEvent],
    status: RuntimeStatus = RuntimeStatus.RUNNING,
    *,
    output: JSONValue = None,
    failure: FailureDetails | None = None,
    custom_status: JSONValue = None,
    waiting: Waiting | None = None,
    continue_as_new: ContinueAsNewRequest | None = None,
) -> Decision:
    """The decision whose actions are the call events among `new_events`."""
    events = tuple(new_events)
    return Decision(
        new_events=events,
        actions=tuple(each for each in events if isinstance(each, ACTION_TYPES)),
        status=status,
        output=output,
        failure=failure,
        custom_status=custom_status,
        waiting=waiting or Waiting(),
        continue_as_new=continue_as_new,
    )


def failure_of(decision: Decision) -> FailureDetails:
    """The decision's failure, which must be there."""
    assert decision.failure is not None, f"expected a failure, got {decision.status}"
    return decision.failure


def without_traceback(details: FailureDetails) -> FailureDetails:
    """`details` with its traceback dropped (tracebacks name files and lines)."""
    return attrs.evolve(details, traceback=None)


# -- registries ----------------------------------------------------------------------------


class DictRegistry:
    """A registry of the definitions it is given; unknown names fail as App's would."""

    def __init__(
        self,
        activities: Sequence[ActivityDefinition] = (),
        orchestrators: Sequence[OrchestratorDefinition] = (),
    ) -> None:
        self.activities = {each.name: each for each in activities}
        self.orchestrators = {each.name: each for each in orchestrators}

    def find_activity(self, ref: str | Callable[..., Any]) -> ActivityDefinition:
        """The definition registered under `ref` (or the function's name)."""
        name = ref if isinstance(ref, str) else ref.__name__
        if name not in self.activities:
            raise ActivityNotFoundError(name, list(self.activities))
        return self.activities[name]

    def find_orchestrator(self, ref: str | Callable[..., Any]) -> OrchestratorDefinition:
        """The definition registered under `ref` (or the function's name)."""
        name = ref if isinstance(ref, str) else ref.__name__
        if name not in self.orchestrators:
            raise OrchestratorNotFoundError(name, list(self.orchestrators))
        return self.orchestrators[name]


# -- drivers -------------------------------------------------------------------------------


class Recorder:
    """Runs an instance episode by episode as a worker would, replaying from scratch.

    Each episode replays the history recorded so far into a fresh execution
    (`replay`), runs the new events, and appends the decision's new events.
    """

    def __init__(
        self,
        orchestrator: Callable[..., Any] | OrchestratorDefinition,
        *,
        history: Sequence[HistoryEvent] = (),
        registry: Registry | None = None,
        converter: PayloadConverter | None = None,
    ) -> None:
        self.orchestrator = orchestrator
        self.registry = registry or NameRegistry()
        self.converter = converter
        self.history: list[HistoryEvent] = list(history)
        self.decisions: list[Decision] = []

    def run(self, new_events: Sequence[HistoryEvent], *, now: datetime) -> Decision:
        """Run one episode at `now` over `new_events`; record and return its decision."""
        result = replay(
            self.orchestrator,
            self.history,
            new_events,
            now=now,
            registry=self.registry,
            converter=self.converter,
        )
        self.history.extend(result.new_events)
        self.decisions.append(result)
        return result


class LiveRecorder(Recorder):
    """A `Recorder` that keeps one execution alive and feeds it only new events."""

    def __init__(
        self,
        orchestrator: Callable[..., Any] | OrchestratorDefinition,
        *,
        history: Sequence[HistoryEvent] = (),
        instance_id: str = INSTANCE,
        registry: Registry | None = None,
        converter: PayloadConverter | None = None,
    ) -> None:
        super().__init__(orchestrator, history=history, registry=registry, converter=converter)
        definition = (
            orchestrator
            if isinstance(orchestrator, OrchestratorDefinition)
            else OrchestratorDefinition.of(orchestrator)
        )
        self.execution = Execution(
            definition, instance_id=instance_id, registry=self.registry, converter=converter
        )
        self.execution.replay(self.history)

    def run(self, new_events: Sequence[HistoryEvent], *, now: datetime) -> Decision:
        """Run one episode at `now` over `new_events` on the live execution."""
        result = self.execution.run(new_events, now=now)
        self.history.extend(result.new_events)
        self.decisions.append(result)
        return result
