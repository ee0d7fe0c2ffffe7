"""What the commands print: status JSON, instance tables and the readable history timeline.

Results go to stdout (JSON where a program may read them); messages and
progress go to stderr. The timeline shows one line per history event: the
time since the instance started, the event, and what it was about, with
payloads cut to one short line. Episode markers (``OrchestratorStarted``)
are left out unless asked for; events a rewind undid are marked so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from durable._engine.rewind import undone_positions
from durable._model.converter import PayloadConverter
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
from durable._model.status import InstanceStatus, Waiting

__all__ = [
    "describe_waiting",
    "format_duration",
    "instance_table",
    "print_json",
    "say",
    "status_json",
    "timeline",
]

_SHORT = 60


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    print(f"durable: {message}", file=sys.stderr, flush=True)


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    print(json.dumps(value, indent=2, ensure_ascii=False))


def status_json(status: InstanceStatus, converter: PayloadConverter) -> dict[str, Any]:
    """An instance status as JSON: the fields of `InstanceStatus`, times in ISO 8601."""
    body: dict[str, Any] = converter.cattrs.unstructure(status)
    return body


def instance_table(statuses: Sequence[InstanceStatus]) -> list[str]:
    """Aligned rows: id, orchestrator, status, created time."""
    rows = [("INSTANCE ID", "NAME", "STATUS", "CREATED (UTC)")]
    rows += [(s.instance_id, s.name, s.status.value, _clock(s.created_at)) for s in statuses]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]


def describe_waiting(waiting: Waiting) -> str:
    """What a running instance waits for, in words ("" if nothing is known)."""
    parts = [f"activity {a.name!r} (#{a.seq})" for a in waiting.activities]
    parts += [f"timer #{t.seq} due {_clock(t.fire_at)}" for t in waiting.timers]
    parts += [f"event {name!r}" for name in waiting.events]
    parts += [f"sub-orchestration {s.name!r} ({s.instance_id})" for s in waiting.sub_orchestrations]
    return ", ".join(parts)


def format_duration(delta: timedelta) -> str:
    """A short duration: ``850ms``, ``12.3s``, ``4m05s``, ``2h03m``, ``3d04h``."""
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    if days:
        return f"{days}d{hour:02d}h"
    if hours:
        return f"{hours}h{minute:02d}m"
    return f"{minutes}m{second:02d}s"


def timeline(
    status: InstanceStatus, events: Sequence[HistoryEvent], *, episodes: bool = False
) -> list[str]:
    """The history as readable lines, headed by the instance's name, id and status."""
    lines = [f"{status.name} {status.instance_id}  {status.status.value}"]
    if not events:
        return [*lines, "  (no history yet: the instance has not run)"]
    start = next((e.timestamp for e in events if isinstance(e, ExecutionStarted)), None)
    start = min(event.timestamp for event in events) if start is None else start
    lines.append(f"  started {_clock(start)} UTC")
    scheduled: dict[int, TaskScheduled | SubOrchestrationCreated] = {}
    undone = undone_positions(events)
    for position, event in enumerate(events):
        if isinstance(event, TaskScheduled | SubOrchestrationCreated):
            scheduled[event.seq] = event
        if isinstance(event, OrchestratorStarted) and not episodes:
            continue
        offset = "+" + format_duration(max(event.timestamp - start, timedelta(0)))
        detail = _detail(event, scheduled) + (
            "  (undone by a rewind)" if position in undone else ""
        )
        lines.append(f"  {offset:>9}  {type(event).__name__:<26}{detail}".rstrip())
    return lines


def _detail(
    event: HistoryEvent, scheduled: dict[int, TaskScheduled | SubOrchestrationCreated]
) -> str:
    match event:
        case ExecutionStarted(name=name, input=value, version=version):
            shown = f"{name}({_short(value)})"
            return f"{shown} version {version}" if version else shown
        case OrchestratorStarted():
            return "episode"
        case TaskScheduled(seq=seq, name=name, input=value):
            return f"#{seq} {name}({_short(value)})"
        case TaskCompleted(seq=seq, output=value):
            return (
                f"#{seq} {_call_name(scheduled, seq)} -> {_short(value)}{_took(event, scheduled)}"
            )
        case TaskFailed(seq=seq, failure=failure):
            took = _took(event, scheduled)
            return f"#{seq} {_call_name(scheduled, seq)} !! {_failure(failure)}{took}"
        case TimerCreated(seq=seq, fire_at=fire_at):
            return f"#{seq} due {_clock(fire_at)} (in {format_duration(fire_at - event.timestamp)})"
        case TimerFired(seq=seq):
            return f"#{seq} fired"
        case EventRaised(name=name, input=value):
            return f"{name} {_short(value)}"
        case EventSent(seq=seq, name=name, instance_id=target, input=value):
            return f"#{seq} {name} -> {target} {_short(value)}"
        case SubOrchestrationCreated(seq=seq, name=name, instance_id=child, input=value):
            return f"#{seq} {name}({_short(value)}) as {child}"
        case SubOrchestrationCompleted(seq=seq, output=value):
            return (
                f"#{seq} {_call_name(scheduled, seq)} -> {_short(value)}{_took(event, scheduled)}"
            )
        case SubOrchestrationFailed(seq=seq, failure=failure):
            return f"#{seq} {_call_name(scheduled, seq)} !! {_failure(failure)}"
        case ExecutionCompleted(output=value):
            return f"-> {_short(value)}"
        case ExecutionFailed(failure=failure):
            return f"!! {_failure(failure)}"
        case ContinuedAsNew(input=value):
            return f"with input {_short(value)}"
        case ExecutionTerminated(reason=reason) | ExecutionSuspended(reason=reason):
            return reason or ""
        case ExecutionResumed(reason=reason) | ExecutionRewound(reason=reason):
            return reason or ""
        case _:
            raise TypeError(f"no timeline line for history event {type(event).__name__}")


def _call_name(scheduled: dict[int, TaskScheduled | SubOrchestrationCreated], seq: int) -> str:
    call = scheduled.get(seq)
    return call.name if call is not None else "?"


def _took(
    event: HistoryEvent, scheduled: dict[int, TaskScheduled | SubOrchestrationCreated]
) -> str:
    call = scheduled.get(getattr(event, "seq", -1))
    return f"  ({format_duration(event.timestamp - call.timestamp)})" if call is not None else ""


def _failure(failure: FailureDetails) -> str:
    return f"{failure.type_name}: {_cut(failure.message)}"


def _short(value: Any) -> str:
    return _cut(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
