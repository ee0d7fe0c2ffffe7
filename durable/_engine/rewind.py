"""Rewinding a failed execution: which recorded events a rewind sets aside.

A client rewinds a FAILED instance by sending `ExecutionRewound`. The engine
then replays the history without the events the rewind *undoes*: the
`ExecutionFailed` that ended it, and the failure results (`TaskFailed`,
`SubOrchestrationFailed`) that led there. Their calls are open again, so the
orchestrator waits for them, and the rewind episode carries them out again
(see `Execution.run`); results that succeeded stay in the history and are
replayed, not run again.

Which failures may be undone without making replay diverge? Those after the
orchestrator's last call before the failure: no recorded call can depend on
them. Failures consumed in the same episode as that last call may be undone
too, unless a call was made in answer to one of them; history cannot tell
(an episode records its results before its calls), so the engine tries: it
replays the history without them all, and if the code then does not make
exactly the recorded calls, without each of them in turn (latest first),
keeping those it can do without. Failures in earlier episodes were followed
by calls (the orchestrator caught them and went on) and stay. The rewind
records the positions it chose in `ExecutionRewound.undone`, so every later
replay skips the same events whatever the code does by then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from durable._model.events import (
    EventSent,
    ExecutionFailed,
    ExecutionRewound,
    HistoryEvent,
    OrchestratorStarted,
    SubOrchestrationCreated,
    SubOrchestrationFailed,
    TaskFailed,
    TaskScheduled,
    TimerCreated,
)

__all__ = ["CALLS", "answerable_calls", "plan_rewind", "undone_positions"]

CALLS = (TaskScheduled, TimerCreated, SubOrchestrationCreated, EventSent)
"""The events that record a call the orchestrator made."""

_FAILURES = (TaskFailed, SubOrchestrationFailed)
_ANSWERED = (TaskScheduled, TimerCreated, SubOrchestrationCreated)


def undone_positions(history: Sequence[HistoryEvent]) -> frozenset[int]:
    """The positions every `ExecutionRewound` in `history` recorded as undone."""
    return frozenset(
        position
        for event in history
        if isinstance(event, ExecutionRewound)
        for position in event.undone
    )


def plan_rewind(
    history: Sequence[HistoryEvent],
    undone: frozenset[int],
    fits: Callable[[frozenset[int]], bool],
) -> tuple[int, ...]:
    """The positions a rewind after the end of `history` undoes, in order.

    Args:
        history: the whole history of the execution, ending in its failure.
        undone: positions earlier rewinds undid (skipped, never undone twice).
        fits: whether the code replays `history` without the events at the
            given positions and makes exactly the recorded calls.

    Returns:
        The `ExecutionFailed` events not undone yet and the failures before the last
        one that can be undone (see the module docstring); nothing if there is none.
    """
    # Every ending not undone yet: the last one, and any a rewind that could not
    # run left behind (its orchestrator was not registered).
    endings = [
        position
        for position, event in enumerate(history)
        if isinstance(event, ExecutionFailed) and position not in undone
    ]
    if not endings:
        return ()
    failed = endings[-1]
    call = _last(history, CALLS, before=failed)
    if call is None:  # nothing was called, so nothing failed but the orchestrator
        return tuple(endings)
    chosen = {*endings, *_failures(history, undone, after=call, before=failed)}
    episode = _last(history, OrchestratorStarted, before=call)
    doubtful = _failures(history, undone, after=-1 if episode is None else episode, before=call)
    if doubtful and fits(undone | chosen | set(doubtful)):
        chosen.update(doubtful)
    else:
        for position in reversed(doubtful):
            if fits(undone | chosen | {position}):
                chosen.add(position)
    return tuple(sorted(chosen))


def answerable_calls(history: Sequence[HistoryEvent]) -> dict[int, HistoryEvent]:
    """The calls in `history` that an answer settles (activities, timers, children), by seq."""
    return {event.seq: event for event in history if isinstance(event, _ANSWERED)}


def _last(
    history: Sequence[HistoryEvent],
    kinds: type[HistoryEvent] | tuple[type[HistoryEvent], ...],
    *,
    before: int,
) -> int | None:
    for position in range(before - 1, -1, -1):
        if isinstance(history[position], kinds):
            return position
    return None


def _failures(
    history: Sequence[HistoryEvent], undone: frozenset[int], *, after: int, before: int
) -> tuple[int, ...]:
    return tuple(
        position
        for position in range(after + 1, before)
        if position not in undone and isinstance(history[position], _FAILURES)
    )
