"""Non-determinism: code that no longer matches its history fails the instance, uncatchably."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.events import ExecutionFailed
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from tests.unit.engine.histories import (
    T0,
    at,
    completed,
    decision,
    episode,
    failure_of,
    raised,
    scheduled,
    started,
    without_traceback,
)

# Recorded by: reserve(1) -> charge(result) -> wait for "shipped" -> return.
HISTORY = [
    episode(T0),  # 0
    started(),  # 1
    scheduled(0, "reserve", 1, t=T0),  # 2
    episode(at(1)),  # 3
    completed(0, 2, t=at(1)),  # 4
    scheduled(1, "charge", 2, t=at(1)),  # 5
    episode(at(2)),  # 6
    completed(1, 3, t=at(2)),  # 7
]
SHIPPED = raised("shipped", t=at(3))
PREFIX = "non-deterministic orchestrator in instance 'order-1' at history event"


def original(ctx: OrchestrationContext) -> Any:
    a = yield ctx.call_activity("reserve", 1)
    b = yield ctx.call_activity("charge", a)
    yield ctx.wait_for_event("shipped")
    return b


def renamed_generator(ctx: OrchestrationContext) -> Any:
    a = yield ctx.call_activity("reserve", 1)
    b = yield ctx.call_activity("bill", a)
    yield ctx.wait_for_event("shipped")
    return b


async def renamed_async(ctx: OrchestrationContext) -> Any:
    a = await ctx.call_activity("reserve", 1)
    b = await ctx.call_activity("bill", a)
    await ctx.wait_for_event("shipped")
    return b


def reordered_generator(ctx: OrchestrationContext) -> Any:
    b = yield ctx.call_activity("charge", 1)
    a = yield ctx.call_activity("reserve", b)
    yield ctx.wait_for_event("shipped")
    return a


async def reordered_async(ctx: OrchestrationContext) -> Any:
    b = await ctx.call_activity("charge", 1)
    a = await ctx.call_activity("reserve", b)
    await ctx.wait_for_event("shipped")
    return a


def removed_generator(ctx: OrchestrationContext) -> Any:
    a = yield ctx.call_activity("reserve", 1)
    yield ctx.wait_for_event("shipped")
    return a


async def removed_async(ctx: OrchestrationContext) -> Any:
    a = await ctx.call_activity("reserve", 1)
    await ctx.wait_for_event("shipped")
    return a


async def removed_and_returned(ctx: OrchestrationContext) -> Any:
    return await ctx.call_activity("reserve", 1)


def added_generator(ctx: OrchestrationContext) -> Any:
    a = yield ctx.call_activity("reserve", 1)
    yield ctx.call_activity("audit", a)
    b = yield ctx.call_activity("charge", a)
    yield ctx.wait_for_event("shipped")
    return b


async def added_async(ctx: OrchestrationContext) -> Any:
    a = await ctx.call_activity("reserve", 1)
    await ctx.call_activity("audit", a)
    b = await ctx.call_activity("charge", a)
    await ctx.wait_for_event("shipped")
    return b


async def added_at_episode_end(ctx: OrchestrationContext) -> Any:
    a = await ctx.call_activity("reserve", 1)
    charging = ctx.call_activity("charge", a)
    ctx.call_activity("notify", a)  # a new fire-and-forget call after the recorded one
    b = await charging
    await ctx.wait_for_event("shipped")
    return b


async def timer_instead(ctx: OrchestrationContext) -> Any:
    a = await ctx.call_activity("reserve", 1)
    await ctx.create_timer(timedelta(seconds=5))
    await ctx.wait_for_event("shipped")
    return a


CASES = [
    pytest.param(
        orchestrator,
        f"{PREFIX} {position}: history recorded {recorded}, but the code now asks for {requested}",
        id=f"{name}-{orchestrator.__name__}",
    )
    for name, orchestrators, position, recorded, requested in [
        (
            "changed-name",
            [renamed_generator, renamed_async],
            5,
            "activity 'charge' (call 1)",
            "activity 'bill' (call 1)",
        ),
        (
            "changed-order",
            [reordered_generator, reordered_async],
            2,
            "activity 'reserve' (call 0)",
            "activity 'charge' (call 0)",
        ),
        (
            "removed-call",
            [removed_generator, removed_async],
            5,
            "activity 'charge' (call 1)",
            "no call number 1",
        ),
        (
            "removed-call-and-returned",
            [removed_and_returned],
            5,
            "activity 'charge' (call 1)",
            "nothing (it returned)",
        ),
        (
            "added-call",
            [added_generator, added_async],
            5,
            "activity 'charge' (call 1)",
            "activity 'audit' (call 1)",
        ),
        (
            "added-call-at-the-end-of-an-episode",
            [added_at_episode_end],
            6,
            "no further call in the previous episode",
            "activity 'notify' (call 2)",
        ),
        (
            "changed-kind",
            [timer_instead],
            5,
            "activity 'charge' (call 1)",
            "a timer due 2024-01-01T00:00:06+00:00 (call 1)",
        ),
    ]
    for orchestrator in orchestrators
]


def _non_determinism(message: str) -> FailureDetails:
    return FailureDetails(
        type_name="NonDeterminismError",
        message=message,
        base_type_names=("DurableError", "Exception", "BaseException"),
        non_retryable=True,
    )


def test_original_code_replays_its_own_history() -> None:
    result = replay(original, HISTORY, [SHIPPED], now=at(3))

    assert result.status is RuntimeStatus.COMPLETED


@pytest.mark.parametrize(("orchestrator", "message"), CASES)
def test_nondeterminism_fails_the_next_episode_naming_instance_position_and_calls(
    orchestrator: Any, message: str
) -> None:
    result = replay(orchestrator, HISTORY, [SHIPPED], now=at(3))

    details = failure_of(result)
    assert without_traceback(details) == _non_determinism(message)
    assert result == decision(
        [episode(at(3)), ExecutionFailed(timestamp=at(3), failure=details)],
        RuntimeStatus.FAILED,
        failure=details,
    )
    assert result.is_nondeterministic


@pytest.mark.parametrize(("orchestrator", "message"), CASES)
def test_nondeterminism_shows_in_a_replay_without_an_episode(
    orchestrator: Any, message: str
) -> None:
    result = replay(orchestrator, HISTORY)

    assert without_traceback(failure_of(result)) == _non_determinism(message)
    assert (result.status, result.actions, result.new_events) == (RuntimeStatus.FAILED, (), ())


def catches_everything(ctx: OrchestrationContext) -> Any:
    try:
        a = yield ctx.call_activity("reserve", 1)
        b = yield ctx.call_activity("bill", a)
        yield ctx.wait_for_event("shipped")
    except Exception as error:
        yield ctx.call_activity("report", repr(error))
        return "caught"
    except BaseException:
        return "caught a base exception"
    return b


async def catches_everything_async(ctx: OrchestrationContext) -> Any:
    try:
        a = await ctx.call_activity("reserve", 1)
        b = await ctx.call_activity("bill", a)
        await ctx.wait_for_event("shipped")
    except Exception as error:
        await ctx.call_activity("report", repr(error))
        return "caught"
    return b


@pytest.mark.parametrize("orchestrator", [catches_everything, catches_everything_async])
def test_nondeterminism_cannot_be_caught_by_the_orchestrator(orchestrator: Any) -> None:
    result = replay(orchestrator, HISTORY, [SHIPPED], now=at(3))

    assert result.is_nondeterministic
    assert (result.status, result.actions, result.output) == (RuntimeStatus.FAILED, (), None)


async def parallel_reordered(ctx: OrchestrationContext) -> Any:
    return await ctx.when_all(
        [ctx.call_activity("charge", 1), ctx.call_activity("reserve", 1), ctx.call_activity("x")]
    )


def test_nondeterminism_emits_none_of_the_calls_the_diverged_code_made() -> None:
    history = [
        episode(T0),
        started(),
        scheduled(0, "reserve", 1, t=T0),
        scheduled(1, "charge", 1, t=T0),
        scheduled(2, "x", t=T0),
    ]

    result = replay(parallel_reordered, history, [completed(0, 1, t=at(1))], now=at(1))

    details = failure_of(result)
    assert without_traceback(details) == _non_determinism(
        f"{PREFIX} 2: history recorded activity 'reserve' (call 0), "
        "but the code now asks for activity 'charge' (call 0)"
    )
    assert result == decision(
        [episode(at(1)), ExecutionFailed(timestamp=at(1), failure=details)],
        RuntimeStatus.FAILED,
        failure=details,
    )


def test_nondeterminism_at_an_added_call_emits_no_action_for_it() -> None:
    result = replay(added_at_episode_end, HISTORY, [SHIPPED], now=at(3))

    assert result.actions == ()
    assert [type(each).__name__ for each in result.new_events] == [
        "OrchestratorStarted",
        "ExecutionFailed",
    ]
