"""Replaying a history with a fresh execution and finding where current code first departs.

`Probe` is the engine's `Execution` with two things kept that it otherwise
drops: every call the code makes (inputs included) and the
`NonDeterminismError` the engine finds. `first_divergence` then looks,
earliest position first, for:

1. the engine's own divergence (another call kind or name at a sequence
   number, a call history lacks at an episode boundary, another ending);
2. a call with the same kind and name as recorded but other arguments
   (input, timer due time, target instance);
3. calls the code makes after the last recorded event (position = the length
   of the history, where the next event would be);
4. an ending that differs from the recorded one (other output, other error,
   other continue-as-new input), or an ending history does not have. An
   ending a rewind undid is not the recorded one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from durable import RuntimeStatus
from durable._engine.decision import Decision
from durable._engine.execution import Execution
from durable._engine.registry import Registry
from durable._engine.rewind import undone_positions
from durable._model.converter import PayloadConverter
from durable._model.definitions import OrchestratorDefinition
from durable.errors import NonDeterminismError
from durable.history import (
    ContinuedAsNew,
    ExecutionCompleted,
    ExecutionFailed,
    HistoryEvent,
)
from durable.testing._describe import ACTIONS, describe_event, describe_value

__all__ = ["Probe", "first_divergence", "same_json"]

_ENDED = (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.CONTINUED_AS_NEW)


class Probe(Execution):
    """An `Execution` that keeps the calls made and the divergence found."""

    def __init__(
        self,
        definition: OrchestratorDefinition,
        *,
        instance_id: str,
        registry: Registry | None = None,
        converter: PayloadConverter | None = None,
    ) -> None:
        super().__init__(
            definition, instance_id=instance_id, registry=registry, converter=converter
        )
        self.made: dict[int, HistoryEvent] = {}
        self.divergence: NonDeterminismError | None = None

    @property
    def position(self) -> int:
        """The index of the history event being applied now."""
        return self.history_length - 1

    def record_action(self, event: HistoryEvent) -> None:
        """Keep the call, then let the engine match or emit it."""
        if not self.is_finished:
            self.made.setdefault(event.seq, event)  # type: ignore[attr-defined]
        super().record_action(event)

    def _fail(self, error: BaseException, *, even_if_finished: bool = False) -> None:
        if isinstance(error, NonDeterminismError) and self.divergence is None:
            self.divergence = error
        super()._fail(error, even_if_finished=even_if_finished)


def first_divergence(
    probe: Probe, events: Sequence[HistoryEvent], snapshot: Decision
) -> NonDeterminismError | None:
    """The earliest difference between `events` and what the probe's code did over them."""
    found = [
        each
        for each in (
            probe.divergence,
            _changed_call(probe, events),
            _extra_call(probe, events, snapshot),
            _changed_ending(probe, events, snapshot),
        )
        if each is not None
    ]
    return min(found, key=lambda error: error.position) if found else None


def _changed_call(probe: Probe, events: Sequence[HistoryEvent]) -> NonDeterminismError | None:
    for position, event in enumerate(events):
        if not isinstance(event, ACTIONS):
            continue
        made = probe.made.get(event.seq)
        if made is not None and type(made) is type(event) and not _same_call(probe, made, event):
            return NonDeterminismError(
                probe.instance_id, position, describe_event(event), describe_event(made)
            )
    return None


def _same_call(probe: Probe, made: HistoryEvent, recorded: HistoryEvent) -> bool:
    """Equal but for the timestamp; as JSON if not as values (a tuple input is a list)."""
    if attrs.evolve(made, timestamp=recorded.timestamp) == recorded:
        return True
    return _body(probe.converter, made) == _body(probe.converter, recorded)


def _extra_call(
    probe: Probe, events: Sequence[HistoryEvent], snapshot: Decision
) -> NonDeterminismError | None:
    if probe.divergence is not None or not snapshot.actions:
        return None
    return NonDeterminismError(
        probe.instance_id,
        len(events),
        "no further call (the end of the history)",
        describe_event(snapshot.actions[0]),
    )


def _changed_ending(
    probe: Probe, events: Sequence[HistoryEvent], snapshot: Decision
) -> NonDeterminismError | None:
    if probe.divergence is not None:
        return None
    undone = undone_positions(events)
    closing = [
        (index, event)
        for index, event in enumerate(events)
        if _is_ending(event) and index not in undone
    ]
    if not closing:
        if snapshot.status not in _ENDED:
            return None
        return NonDeterminismError(
            probe.instance_id,
            len(events),
            "no ending (the instance was still running)",
            f"the end of the execution ({snapshot.status.value}"
            f"{_words(_snapshot_result(snapshot))})",
        )
    position, event = closing[-1]
    recorded, now = _event_result(event), _snapshot_result(snapshot)
    if _same(recorded, now):
        return None
    name = type(event).__name__
    return NonDeterminismError(
        probe.instance_id, position, name + _words(recorded), name + _words(now)
    )


def _is_ending(event: HistoryEvent) -> bool:
    return isinstance(event, ExecutionCompleted | ExecutionFailed | ContinuedAsNew)


_Result = tuple[str, Any]
"""How an execution ended, as (what, value): ("output", ...), ("error", type name), ..."""


def _event_result(event: HistoryEvent) -> _Result:
    match event:
        case ExecutionCompleted(output=output):
            return "output", output
        case ExecutionFailed(failure=failure):
            return "error", failure.type_name
        case ContinuedAsNew(input=payload):
            return "input", payload
    return "", None


def _snapshot_result(snapshot: Decision) -> _Result:
    if snapshot.status is RuntimeStatus.COMPLETED:
        return "output", snapshot.output
    if snapshot.status is RuntimeStatus.FAILED and snapshot.failure is not None:
        # Only the type: messages may hold reprs with addresses that differ per run.
        return "error", snapshot.failure.type_name
    if snapshot.continue_as_new is not None:
        return "input", snapshot.continue_as_new.input
    return "", None


def _same(one: _Result, other: _Result) -> bool:
    return one[0] == other[0] and same_json(one[1], other[1])


def _words(result: _Result) -> str:
    what, value = result
    if what == "error":
        return f" with {value}"
    return f" with {what} {describe_value(value)}" if what else ""


def same_json(one: Any, other: Any) -> bool:
    """Whether two JSON values are equal as JSON text (tuples and lists alike)."""
    return _text(one) == _text(other)


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def _body(converter: PayloadConverter, event: HistoryEvent) -> str:
    """The event as JSON text without its timestamp (the time a call was made is not asked)."""
    body = converter.event_to_json(event)
    body.pop("timestamp", None)
    return converter.dumps(body)
