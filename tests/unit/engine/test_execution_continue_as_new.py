"""`continue_as_new` from hand-built histories: the request, and the events carried over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.decision import ContinueAsNewRequest
from durable._engine.replay import replay
from durable._model.events import ContinuedAsNew, ExecutionSuspended, ExecutionTerminated
from durable._model.status import RuntimeStatus
from tests.unit.engine.histories import (
    T0,
    at,
    decision,
    episode,
    fired,
    raised,
    started,
    timer,
)


def counter_generator(ctx: OrchestrationContext, total: int) -> Any:
    added = yield ctx.wait_for_event("add")
    ctx.continue_as_new(total + added)
    return "ignored: the instance continues as new"


async def counter_async(ctx: OrchestrationContext, total: int) -> None:
    added = await ctx.wait_for_event("add")
    ctx.continue_as_new(total + added)


COUNTERS = [counter_generator, counter_async]
WAITING = [episode(T0), started(10)]


@pytest.mark.parametrize("orchestrator", COUNTERS)
def test_continue_as_new_ends_the_execution_with_the_new_input(orchestrator: Any) -> None:
    result = replay(orchestrator, WAITING, [raised("add", 5, t=at(1))], now=at(1))

    assert result == decision(
        [episode(at(1)), raised("add", 5, t=at(1)), ContinuedAsNew(timestamp=at(1), input=15)],
        RuntimeStatus.CONTINUED_AS_NEW,
        continue_as_new=ContinueAsNewRequest(input=15),
    )


@pytest.mark.parametrize("orchestrator", COUNTERS)
def test_continue_as_new_carries_over_events_that_arrive_after_it_in_the_same_batch(
    orchestrator: Any,
) -> None:
    later = [
        raised("add", 7, t=at(2)),
        raised("other", "x", t=at(2)),
        ExecutionSuspended(timestamp=at(3), reason="maintenance"),
    ]

    result = replay(orchestrator, WAITING, [raised("add", 5, t=at(1)), *later], now=at(3))

    assert result == decision(
        [episode(at(3)), raised("add", 5, t=at(1)), ContinuedAsNew(timestamp=at(3), input=15)],
        RuntimeStatus.CONTINUED_AS_NEW,
        continue_as_new=ContinueAsNewRequest(input=15, carried_events=tuple(later)),
    )


@pytest.mark.parametrize("orchestrator", COUNTERS)
def test_continue_as_new_carried_event_is_consumed_by_the_next_execution(
    orchestrator: Any,
) -> None:
    first = replay(
        orchestrator, WAITING, [raised("add", 5, t=at(1)), raised("add", 7, t=at(2))], now=at(2)
    )
    assert first.continue_as_new is not None

    # The worker starts the next execution with the new input and the carried events.
    restart = [started(first.continue_as_new.input, execution_id="order-1-x2", timestamp=at(2))]
    second = replay(orchestrator, [], [*restart, *first.continue_as_new.carried_events], now=at(2))

    assert second.continue_as_new == ContinueAsNewRequest(input=22)


def napping(carry: bool) -> Any:
    def orchestrator(ctx: OrchestrationContext, n: int) -> Any:
        yield ctx.create_timer(timedelta(seconds=10))
        ctx.continue_as_new(n + 1, carry_over_events=carry)

    return orchestrator


NAPPING = [episode(T0), started(0), timer(0, at(10), t=T0)]
BUFFERED = [
    raised("b", 1, t=at(1)),
    raised("a", 2, t=at(1)),
    raised("b", 3, t=at(1)),
    raised("a", 4, t=at(2)),
]


def test_continue_as_new_carries_over_buffered_events_in_arrival_order() -> None:
    history = [*NAPPING, episode(at(5)), *BUFFERED]

    result = replay(napping(carry=True), history, [fired(0, at(10))], now=at(10))

    assert result == decision(
        [episode(at(10)), fired(0, at(10)), ContinuedAsNew(timestamp=at(10), input=1)],
        RuntimeStatus.CONTINUED_AS_NEW,
        continue_as_new=ContinueAsNewRequest(input=1, carried_events=tuple(BUFFERED)),
    )


def test_continue_as_new_without_carry_over_drops_buffered_and_later_events() -> None:
    history = [*NAPPING, episode(at(5)), *BUFFERED]
    later = raised("a", 5, t=at(10))

    result = replay(napping(carry=False), history, [fired(0, at(10)), later], now=at(10))

    assert result == decision(
        [episode(at(10)), fired(0, at(10)), ContinuedAsNew(timestamp=at(10), input=1)],
        RuntimeStatus.CONTINUED_AS_NEW,
        continue_as_new=ContinueAsNewRequest(input=1),
    )


def test_continue_as_new_without_carry_over_still_carries_a_terminate_request() -> None:
    # carry_over_events is about external events; a terminate that arrives in the same
    # batch must not be lost, or the next execution runs on as if it never came.
    terminate = ExecutionTerminated(timestamp=at(10), reason="stop")

    result = replay(
        napping(carry=False),
        NAPPING,
        [fired(0, at(10)), raised("a", 1, t=at(10)), terminate],
        now=at(10),
    )

    assert result.continue_as_new == ContinueAsNewRequest(input=1, carried_events=(terminate,))


def test_continue_as_new_then_terminated_in_the_same_batch_is_not_terminated_here() -> None:
    terminate = ExecutionTerminated(timestamp=at(10), reason="stop")

    result = replay(napping(carry=True), NAPPING, [fired(0, at(10)), terminate], now=at(10))

    assert (result.status, result.continue_as_new) == (
        RuntimeStatus.CONTINUED_AS_NEW,
        ContinueAsNewRequest(input=1, carried_events=(terminate,)),
    )
