"""Words for calls, for non-determinism messages, and the rule for matching them."""

from __future__ import annotations

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
    match made, recorded:
        case TaskScheduled(name=made_name), TaskScheduled(name=recorded_name):
            return made_name == recorded_name
        case TimerCreated(), TimerCreated():
            return True
        case SubOrchestrationCreated(name=made_name), SubOrchestrationCreated(name=recorded_name):
            return made_name == recorded_name
        case EventSent(), EventSent():
            return (made.instance_id, made.name) == (recorded.instance_id, recorded.name)
        case _:
            return False
