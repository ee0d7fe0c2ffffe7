"""`replay`: the engine as a pure function of history and code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from durable._engine.decision import Decision
from durable._engine.execution import Execution
from durable._engine.registry import Registry
from durable._model.converter import PayloadConverter
from durable._model.definitions import OrchestratorDefinition
from durable._model.events import ExecutionRewound, ExecutionStarted, HistoryEvent

__all__ = ["replay"]


def replay(
    orchestrator: OrchestratorDefinition | Callable[..., Any],
    history: Sequence[HistoryEvent],
    new_events: Sequence[HistoryEvent] | None = None,
    *,
    now: datetime | None = None,
    instance_id: str | None = None,
    registry: Registry | None = None,
    converter: PayloadConverter | None = None,
) -> Decision:
    """Replay `history` through `orchestrator`, then run an episode over `new_events`.

    Without `new_events` no episode runs: the decision describes the state after
    the history, and its actions are calls the code made that history lacks.
    If `new_events` hold an `ExecutionRewound`, the episode rewinds the history.

    Args:
        orchestrator: the orchestrator function, or its definition.
        history: the recorded events, oldest first.
        new_events: events for a new episode, run at `now`.
        now: the new episode's time (required with `new_events`).
        instance_id: the instance id (default: from the history's ExecutionStarted).
        registry: resolves called activities and orchestrators.
        converter: the payload converter.
    """
    definition = (
        orchestrator
        if isinstance(orchestrator, OrchestratorDefinition)
        else OrchestratorDefinition.of(orchestrator)
    )
    execution = Execution(
        definition,
        instance_id=instance_id or _instance_id(history, new_events or ()),
        registry=registry,
        converter=converter,
    )
    rewind = any(isinstance(event, ExecutionRewound) for event in new_events or ())
    execution.replay(history, rewind=rewind)
    if new_events is None:
        return execution.snapshot()
    if now is None:
        raise ValueError("replay needs `now` to run an episode over new events")
    return execution.run(new_events, now=now)


def _instance_id(*sources: Sequence[HistoryEvent]) -> str:
    for events in sources:
        for event in events:
            if isinstance(event, ExecutionStarted):
                return event.instance_id
    return "replay"
