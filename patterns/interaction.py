"""Human interaction in general: ask, wait for an accepted reply, escalate at delays, give up.

`wait_for_reply` calls `ask`, then waits for the event `event_name` until
the first escalation is due; if no accepted event came by then, it runs that
escalation's action and waits until the next one is due, and so on; last it
waits until the deadline. Delays count from the start, not from the previous
step. Each wait is one durable timer raced against event waits: an event
that `accept` refuses stays in the history and waiting goes on; an accepted
one cancels the timer, so no later action runs and no later timer is ever
created. The result, a `Reply`, says whether an accepted event came, its
data, how many escalations ran, and when it ended.

The actions are plain callables that return something to await (an activity
call, a sub-orchestration, a coroutine), so they decide their own inputs at
the moment they run. `request_approval` is this with an approver chain and
`ApprovalNotice` inputs; the declarative ``approval`` and ``receive`` kinds
are this with the document's actions and its ``accept`` expression.

Delays must be positive and strictly increasing and the deadline after the
last of them: checked when `wait_for_reply` is called, before anything is
scheduled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import attrs

from durable import OrchestrationContext, TimerTask
from durable.errors import InvalidArgumentError
from durable.patterns.durations import Duration, positive_duration

__all__ = [
    "Action",
    "Reply",
    "check_deadline",
    "check_delays",
    "wait_for_reply",
]

Action: TypeAlias = Callable[[], Awaitable[Any]]
"""Something to do when its time comes: returns what to await (a task or a coroutine)."""


@attrs.frozen(kw_only=True)
class Reply:
    """How an interaction ended.

    Attributes:
        answered: whether an accepted event came before the deadline.
        at: when it ended (the event's time, or the deadline).
        level: how many escalation actions ran before the end.
        data: the accepted event's data (None when not answered).
    """

    answered: bool
    at: datetime
    level: int = 0
    data: Any = None


def check_delays(delays: Sequence[timedelta]) -> None:
    """Fail unless `delays` increase strictly (the escalations' order).

    Raises:
        InvalidArgumentError: naming the first step out of order.
    """
    for index in range(1, len(delays)):
        if delays[index] <= delays[index - 1]:
            raise InvalidArgumentError(
                f"escalation delays out of order: step {index + 1} comes after {delays[index]}, "
                f"not later than step {index} ({delays[index - 1]}); list the steps "
                "in increasing order of delay"
            )


def check_deadline(deadline: timedelta, delays: Sequence[timedelta]) -> None:
    """Fail unless `deadline` comes after the last of `delays`.

    Raises:
        InvalidArgumentError: the deadline is not after the last escalation.
    """
    if delays and deadline <= delays[-1]:
        raise InvalidArgumentError(
            f"deadline {deadline} must come after the last escalation ({delays[-1]})"
        )


def _callable(name: str, value: object) -> None:
    if not callable(value):
        raise InvalidArgumentError(f"{name} must be a function, got {value!r}")


def wait_for_reply(
    ctx: OrchestrationContext,
    event_name: str,
    *,
    deadline: Duration,
    ask: Action | None = None,
    escalations: Sequence[tuple[Duration, Action]] = (),
    accept: Callable[[Any], bool] | None = None,
) -> Coroutine[Any, Any, Reply]:
    """Ask, then wait for an accepted `event_name` event, escalating; await (or yield) the `Reply`.

    Example::

        @app.orchestrator
        async def sign_off(ctx, request):
            reply = await wait_for_reply(
                ctx,
                "SignOff",
                ask=lambda: ctx.call_activity("ask_owner", request),
                escalations=[("P1D", lambda: ctx.call_activity("ask_lead", request))],
                deadline="P3D",
                accept=lambda answer: answer.get("by") in request["signers"],
            )
            return reply.data if reply.answered else "no answer"

    Args:
        ctx: the orchestration context.
        event_name: the event that carries the reply.
        deadline: how long after the start to give up.
        ask: what to do first (None: nothing, just wait).
        escalations: (delay from the start, action) pairs, in increasing order
            of delay, all before the deadline.
        accept: whether an event's data is a reply (default: every event is).

    Raises:
        InvalidArgumentError: a bad event name, duration, order or callable (at once).
    """
    if not isinstance(event_name, str) or not event_name:
        raise InvalidArgumentError(f"event_name must be a non-empty str, got {event_name!r}")
    limit = positive_duration(deadline, name="deadline")
    steps = [
        (positive_duration(after, name="escalation after"), action) for after, action in escalations
    ]
    check_delays([after for after, _ in steps])
    check_deadline(limit, [after for after, _ in steps])
    for index, (_, action) in enumerate(steps):
        _callable(f"escalation {index + 1}'s action", action)
    for name, value in (("ask", ask), ("accept", accept)):
        if value is not None:
            _callable(name, value)
    return _interact(ctx, event_name, limit, ask, steps, accept)


async def _interact(
    ctx: OrchestrationContext,
    event_name: str,
    deadline: timedelta,
    ask: Action | None,
    steps: list[tuple[timedelta, Action]],
    accept: Callable[[Any], bool] | None,
) -> Reply:
    start = ctx.now
    if ask is not None:
        await ask()
    for level, (after, action) in enumerate(steps):
        reply = await _wait_until(ctx, event_name, start + after, accept, level)
        if reply is not None:
            return reply
        await action()
    reply = await _wait_until(ctx, event_name, start + deadline, accept, len(steps))
    return reply or Reply(answered=False, at=ctx.now, level=len(steps))


async def _wait_until(
    ctx: OrchestrationContext,
    event_name: str,
    due: datetime,
    accept: Callable[[Any], bool] | None,
    level: int,
) -> Reply | None:
    """The first accepted event before `due`, or None; refused events are passed over."""
    timer: TimerTask = ctx.create_timer(due)
    while True:
        event = ctx.wait_for_event(event_name)
        if await ctx.when_any([event, timer]) is timer:
            return None
        if accept is None or accept(event.result):
            timer.cancel()
            return Reply(answered=True, at=ctx.now, level=level, data=event.result)
