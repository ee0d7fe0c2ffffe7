"""History events in words, payloads included, for divergence messages."""

from __future__ import annotations

import json
from typing import Any

from durable.history import (
    EventRaised,
    EventSent,
    ExecutionStarted,
    HistoryEvent,
    SubOrchestrationCreated,
    TaskScheduled,
    TimerCreated,
)

__all__ = ["ACTIONS", "describe_event", "describe_value"]

ACTIONS = (TaskScheduled, TimerCreated, SubOrchestrationCreated, EventSent)
"""The events that record a call the orchestrator made."""

_LONGEST = 200


def describe_value(value: Any) -> str:
    """A JSON value as compact text, cut at 200 characters."""
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=repr)
    except ValueError:
        text = repr(value)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def describe_event(event: HistoryEvent) -> str:
    """An event in words: calls with their input, other events by kind."""
    match event:
        case TaskScheduled(name=name, seq=seq, input=payload):
            return f"activity {name!r} (call {seq}) with input {describe_value(payload)}"
        case TimerCreated(seq=seq, fire_at=fire_at):
            return f"a timer due {fire_at.isoformat()} (call {seq})"
        case SubOrchestrationCreated(name=name, seq=seq, instance_id=child, input=payload):
            return (
                f"sub-orchestration {name!r} as {child!r} (call {seq}) "
                f"with input {describe_value(payload)}"
            )
        case EventSent(name=name, seq=seq, instance_id=target, input=payload):
            data = describe_value(payload)
            return f"event {name!r} sent to {target!r} (call {seq}) with data {data}"
        case EventRaised(name=name):
            return f"EventRaised {name!r}"
        case ExecutionStarted(name=name):
            return f"ExecutionStarted of {name!r}"
        case _:
            call = getattr(event, "seq", None)
            return type(event).__name__ + ("" if call is None else f" of call {call}")
