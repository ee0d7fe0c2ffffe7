"""Activities from hand-built histories: a sequence, a caught failure, a fan-out of 1,000."""

from __future__ import annotations

import random
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.events import ExecutionFailed
from durable._model.failures import FailureDetails
from durable._model.status import PendingActivity, RuntimeStatus, Waiting
from durable.errors import ActivityError
from tests.unit.engine.histories import (
    T0,
    LiveRecorder,
    Recorder,
    at,
    completed,
    decision,
    episode,
    execution_completed,
    failed,
    failure,
    failure_of,
    scheduled,
    started,
    without_traceback,
)

# -- sequential activities -----------------------------------------------------------------


def chain_generator(ctx: OrchestrationContext, x: int) -> Any:
    a = yield ctx.call_activity("double", x)
    b = yield ctx.call_activity("increment", a)
    c = yield ctx.call_activity("square", b)
    return [a, b, c]


async def chain_async(ctx: OrchestrationContext, x: int) -> list[int]:
    a = await ctx.call_activity("double", x)
    b = await ctx.call_activity("increment", a)
    c = await ctx.call_activity("square", b)
    return [a, b, c]


def pending(seq: int, name: str, at_: Any) -> Waiting:
    return Waiting(activities=(PendingActivity(seq=seq, name=name, scheduled_at=at_),))


@pytest.mark.parametrize("orchestrator", [chain_generator, chain_async])
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_sequential_activities_decide_one_call_per_episode(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator)

    first = run.run([started(3)], now=T0)
    assert first == decision(
        [episode(T0), started(3), scheduled(0, "double", 3, t=T0)],
        waiting=pending(0, "double", T0),
    )
    assert first.actions == (scheduled(0, "double", 3, t=T0),)

    second = run.run([completed(0, 6, t=at(1))], now=at(2))
    assert second == decision(
        [episode(at(2)), completed(0, 6, t=at(1)), scheduled(1, "increment", 6, t=at(2))],
        waiting=pending(1, "increment", at(2)),
    )

    third = run.run([completed(1, 7, t=at(3))], now=at(3))
    assert third == decision(
        [episode(at(3)), completed(1, 7, t=at(3)), scheduled(2, "square", 7, t=at(3))],
        waiting=pending(2, "square", at(3)),
    )

    last = run.run([completed(2, 49, t=at(4))], now=at(4))
    assert last == decision(
        [
            episode(at(4)),
            completed(2, 49, t=at(4)),
            execution_completed([6, 7, 49], t=at(4)),
        ],
        RuntimeStatus.COMPLETED,
        output=[6, 7, 49],
    )


@pytest.mark.parametrize("orchestrator", [chain_generator, chain_async])
def test_sequential_activities_replay_to_the_same_state_without_an_episode(
    orchestrator: Any,
) -> None:
    history = [
        episode(T0),
        started(3),
        scheduled(0, "double", 3, t=T0),
        episode(at(1)),
        completed(0, 6, t=at(1)),
        scheduled(1, "increment", 6, t=at(1)),
    ]

    assert replay(orchestrator, history) == decision([], waiting=pending(1, "increment", at(1)))


@pytest.mark.parametrize("orchestrator", [chain_generator, chain_async])
def test_sequential_activities_ignore_a_duplicate_result(orchestrator: Any) -> None:
    history = [
        episode(T0),
        started(3),
        scheduled(0, "double", 3, t=T0),
        episode(at(1)),
        completed(0, 6, t=at(1)),
        scheduled(1, "increment", 6, t=at(1)),
    ]

    result = replay(orchestrator, history, [completed(0, 999, t=at(2))], now=at(2))

    assert result == decision(
        [episode(at(2)), completed(0, 999, t=at(2))], waiting=pending(1, "increment", at(1))
    )


# -- a failure caught by the orchestrator --------------------------------------------------

REMOTE = failure(
    "InsufficientFunds",
    "card declined",
    bases=("PaymentError", "Exception", "BaseException"),
    traceback='Traceback (most recent call last):\n  File "pay.py", line 3\nInsufficientFunds\n',
)


def catching_generator(ctx: OrchestrationContext) -> Any:
    try:
        yield ctx.call_activity("charge", 10)
    except ActivityError as error:
        refund = yield ctx.call_activity("apologise", error.failure.message)
        return _described(error, refund)
    return "charged"


async def catching_async(ctx: OrchestrationContext) -> Any:
    try:
        await ctx.call_activity("charge", 10)
    except ActivityError as error:
        refund = await ctx.call_activity("apologise", error.failure.message)
        return _described(error, refund)
    return "charged"


def _described(error: ActivityError, then: Any) -> dict[str, Any]:
    return {
        "activity": error.activity,
        "type_name": error.type_name,
        "bases": list(error.failure.base_type_names),
        "message": str(error),
        "remote_message": error.failure.message,
        "traceback": error.failure.traceback,
        "matches_base": error.matches("PaymentError"),
        "then": then,
    }


@pytest.mark.parametrize("orchestrator", [catching_generator, catching_async])
def test_activity_failure_is_raised_at_the_await_and_caught(orchestrator: Any) -> None:
    history = [episode(T0), started(), scheduled(0, "charge", 10, t=T0)]
    run = Recorder(orchestrator, history=history)

    caught = run.run([failed(0, REMOTE, t=at(1))], now=at(1))
    assert caught == decision(
        [
            episode(at(1)),
            failed(0, REMOTE, t=at(1)),
            scheduled(1, "apologise", "card declined", t=at(1)),
        ],
        waiting=pending(1, "apologise", at(1)),
    )

    done = run.run([completed(1, "sorry", t=at(2))], now=at(2))
    expected_output = {
        "activity": "charge",
        "type_name": "InsufficientFunds",
        "bases": ["PaymentError", "Exception", "BaseException"],
        "message": "activity 'charge' failed with InsufficientFunds: card declined",
        "remote_message": "card declined",
        "traceback": REMOTE.traceback,
        "matches_base": True,
        "then": "sorry",
    }
    assert done == decision(
        [
            episode(at(2)),
            completed(1, "sorry", t=at(2)),
            execution_completed(expected_output, t=at(2)),
        ],
        RuntimeStatus.COMPLETED,
        output=expected_output,
    )


def uncaught(ctx: OrchestrationContext) -> Any:
    return (yield ctx.call_activity("charge", 10))


def test_activity_failure_not_caught_fails_the_instance_with_activity_error() -> None:
    history = [episode(T0), started(), scheduled(0, "charge", 10, t=T0)]

    result = replay(uncaught, history, [failed(0, REMOTE, t=at(1))], now=at(1))

    details = failure_of(result)
    assert without_traceback(details) == FailureDetails(
        type_name="ActivityError",
        message="activity 'charge' failed with InsufficientFunds: card declined",
        base_type_names=("TaskFailedError", "DurableError", "Exception", "BaseException"),
    )
    assert result == decision(
        [
            episode(at(1)),
            failed(0, REMOTE, t=at(1)),
            ExecutionFailed(timestamp=at(1), failure=details),
        ],
        RuntimeStatus.FAILED,
        failure=details,
    )


# -- fan-out of 1,000 ----------------------------------------------------------------------

FAN = 1000


def fan_generator(ctx: OrchestrationContext, n: int) -> Any:
    results = yield ctx.when_all([ctx.call_activity("square", i) for i in range(n)])
    return results


async def fan_async(ctx: OrchestrationContext, n: int) -> list[int]:
    return await ctx.when_all([ctx.call_activity("square", i) for i in range(n)])


def _shuffled(seed: int) -> list[int]:
    order = list(range(FAN))
    random.Random(seed).shuffle(order)
    return order


def _fan_waiting(remaining: list[int]) -> Waiting:
    shown = sorted(remaining)[:100]
    return Waiting(
        activities=tuple(PendingActivity(seq=i, name="square", scheduled_at=T0) for i in shown)
    )


@pytest.mark.parametrize("orchestrator", [fan_generator, fan_async])
def test_fan_out_schedules_every_call_in_one_episode(orchestrator: Any) -> None:
    calls = [scheduled(i, "square", i, t=T0) for i in range(FAN)]

    result = replay(orchestrator, [], [started(FAN)], now=T0)

    assert result == decision(
        [episode(T0), started(FAN), *calls], waiting=_fan_waiting(list(range(FAN)))
    )
    assert len(result.actions) == FAN


@pytest.mark.parametrize("orchestrator", [fan_generator, fan_async])
def test_fan_out_results_are_in_call_order_when_completions_come_one_per_episode(
    orchestrator: Any,
) -> None:
    run = LiveRecorder(orchestrator)
    run.run([started(FAN)], now=T0)
    order = _shuffled(seed=1)
    remaining = set(range(FAN))

    for step, seq in enumerate(order[:-1], start=1):
        remaining.discard(seq)
        result = run.run([completed(seq, seq * seq, t=at(step))], now=at(step))
        if step in (1, 500, FAN - 1):
            assert result == decision(
                [episode(at(step)), completed(seq, seq * seq, t=at(step))],
                waiting=_fan_waiting(list(remaining)),
            )
    last = order[-1]
    final = run.run([completed(last, last * last, t=at(FAN))], now=at(FAN))

    squares = [i * i for i in range(FAN)]
    assert final == decision(
        [
            episode(at(FAN)),
            completed(last, last * last, t=at(FAN)),
            execution_completed(squares, t=at(FAN)),
        ],
        RuntimeStatus.COMPLETED,
        output=squares,
    )
    assert replay(orchestrator, run.history) == decision(
        [], RuntimeStatus.COMPLETED, output=squares
    )


@pytest.mark.parametrize("orchestrator", [fan_generator, fan_async])
def test_fan_out_results_are_in_call_order_when_completions_come_in_one_episode(
    orchestrator: Any,
) -> None:
    history = [episode(T0), started(FAN), *(scheduled(i, "square", i, t=T0) for i in range(FAN))]
    results = [completed(seq, seq * seq, t=at(1)) for seq in _shuffled(seed=2)]

    final = replay(orchestrator, history, results, now=at(1))

    squares = [i * i for i in range(FAN)]
    assert final == decision(
        [episode(at(1)), *results, execution_completed(squares, t=at(1))],
        RuntimeStatus.COMPLETED,
        output=squares,
    )


def fan_failing(ctx: OrchestrationContext) -> Any:
    try:
        yield ctx.when_all([ctx.call_activity("square", i) for i in range(3)])
    except ActivityError as error:
        return f"failed: {error}"
    return "all good"


def test_fan_out_fails_with_the_first_failure_delivered_and_records_no_later_result() -> None:
    history = [episode(T0), started(), *(scheduled(i, "square", i, t=T0) for i in range(3))]
    events = [
        completed(0, 0, t=at(1)),
        failed(2, failure("ValueError", "two"), t=at(1)),
        failed(1, failure("ValueError", "one"), t=at(1)),
    ]

    final = replay(fan_failing, history, events, now=at(1))

    output = "failed: activity 'square' failed with ValueError: two"
    assert final == decision(
        [episode(at(1)), *events[:2], execution_completed(output, t=at(1))],
        RuntimeStatus.COMPLETED,
        output=output,
    )
