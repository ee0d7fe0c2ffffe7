"""Words for calls, for non-determinism messages, and the rule for matching them."""

from __future__ import annotations

from typing import Any

from durable._model.events import (
    EventSent,
    HistoryEvent,
    SubOrchestrationCreated,
    TaskScheduled,
    TimerCreated,
)

__all__ = ["describe_action", "same_action"]


def describe_action(event: HistoryEvent) -> str:
    """A call in words, e.g. ``activity 'charge' (call 3)``."""
    match event:
        case TaskScheduled(name=name, seq=seq):
            return f"activity {name!r} (call {seq})"
        case TimerCreated(seq=seq, fire_at=fire_at):
            return f"a timer due {fire_at.isoformat()} (call {seq})"
        case SubOrchestrationCreated(name=name, seq=seq, instance_id=instance_id):
            return f"sub-orchestration {name!r} as {instance_id!r} (call {seq})"
        case EventSent(name=name, seq=seq, instance_id=instance_id):
            return f"event {name!r} sent to {instance_id!r} (call {seq})"
        case _:
            raise TypeError(f"{type(event).__name__} is not a call")


def same_action(made: HistoryEvent, recorded: HistoryEvent) -> bool:
    """Whether a call the code made now is the call history recorded (kind and target)."""
    kind = type(made)
    if type(recorded) is not kind:
        return False
    ours: Any = made  # both of one kind, checked below: no pattern matching on a hot path
    theirs: Any = recorded
    if kind is TaskScheduled or kind is SubOrchestrationCreated:
        return bool(ours.name == theirs.name)
    if kind is EventSent:
        return bool(ours.instance_id == theirs.instance_id and ours.name == theirs.name)
    return kind is TimerCreated
