"""Retries with durable timers, from hand-built histories.

Every retry waits on a `TimerCreated`/`TimerFired` pair recorded in the
history, due `first_interval * backoff_coefficient ** n` (capped by
`max_interval`) after the episode that saw the failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.decision import Decision
from durable._model.definitions import ActivityDefinition
from durable._model.events import HistoryEvent, TaskScheduled, TimerCreated
from durable._model.failures import FailureDetails
from durable._model.retry import RetryPolicy
from durable._model.status import PendingActivity, PendingTimer, RuntimeStatus, Waiting
from durable.errors import ActivityError
from tests.unit.engine.histories import (
    T0,
    DictRegistry,
    LiveRecorder,
    Recorder,
    at,
    completed,
    decision,
    episode,
    execution_completed,
    failed,
    failure,
    fired,
    scheduled,
    started,
    timer,
)

POLICY = RetryPolicy(
    max_attempts=3,
    first_interval=timedelta(seconds=10),
    backoff_coefficient=3,
    max_interval=timedelta(seconds=60),
)
BOOM = failure("ConnectionError", "reset", bases=("OSError", "Exception", "BaseException"))


def flaky_generator(ctx: OrchestrationContext) -> Any:
    return (yield ctx.call_activity("flaky", 1, retry=POLICY))


async def flaky_async(ctx: OrchestrationContext) -> Any:
    return await ctx.call_activity("flaky", 1, retry=POLICY)


def _waiting_for_activity(seq: int, t: datetime) -> Waiting:
    return Waiting(activities=(PendingActivity(seq=seq, name="flaky", scheduled_at=t),))


def _waiting_for_timer(seq: int, fire_at: datetime) -> Waiting:
    return Waiting(timers=(PendingTimer(seq=seq, fire_at=fire_at),))


@pytest.mark.parametrize("orchestrator", [flaky_generator, flaky_async])
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_retry_succeeds_on_the_third_attempt_after_two_durable_timers(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator)
    steps: list[tuple[list[HistoryEvent], datetime, Decision]] = [
        (
            [started()],
            T0,
            decision(
                [episode(T0), started(), scheduled(0, "flaky", 1, t=T0)],
                waiting=_waiting_for_activity(0, T0),
            ),
        ),
        (
            [failed(0, BOOM, t=at(1))],
            at(1),
            decision(
                [episode(at(1)), failed(0, BOOM, t=at(1)), timer(1, at(11), t=at(1))],
                waiting=_waiting_for_timer(1, at(11)),
            ),
        ),
        (
            [fired(1, at(11))],
            at(11),
            decision(
                [episode(at(11)), fired(1, at(11)), scheduled(2, "flaky", 1, t=at(11))],
                waiting=_waiting_for_activity(2, at(11)),
            ),
        ),
        (
            [failed(2, BOOM, t=at(12))],
            at(12),
            decision(
                # 10 s * 3 ** 1 after the second failure
                [episode(at(12)), failed(2, BOOM, t=at(12)), timer(3, at(42), t=at(12))],
                waiting=_waiting_for_timer(3, at(42)),
            ),
        ),
        (
            [fired(3, at(42))],
            at(42),
            decision(
                [episode(at(42)), fired(3, at(42)), scheduled(4, "flaky", 1, t=at(42))],
                waiting=_waiting_for_activity(4, at(42)),
            ),
        ),
        (
            [completed(4, "ok", t=at(43))],
            at(43),
            decision(
                [
                    episode(at(43)),
                    completed(4, "ok", t=at(43)),
                    execution_completed("ok", t=at(43)),
                ],
                RuntimeStatus.COMPLETED,
                output="ok",
            ),
        ),
    ]

    for new_events, now, expected in steps:
        assert run.run(new_events, now=now) == expected


def _drive_failures(
    orchestrator: Any, failures: list[FailureDetails], *, registry: DictRegistry | None = None
) -> Recorder:
    """Fail each attempt with the next failure and fire each retry timer at once."""
    run = Recorder(orchestrator, registry=registry)
    result = run.run([started()], now=T0)
    clock = 0
    for each in failures:
        if result.status is not RuntimeStatus.RUNNING:
            break
        (attempt,) = result.actions
        clock += 1
        result = run.run([failed(attempt.seq, each, t=at(clock))], now=at(clock))  # type: ignore[attr-defined]
        if result.actions:
            (wait,) = result.actions
            fire_at = wait.fire_at  # type: ignore[attr-defined]
            clock = int((fire_at - T0).total_seconds())
            result = run.run([fired(wait.seq, fire_at)], now=fire_at)  # type: ignore[attr-defined]
    return run


def _timers(history: list[HistoryEvent]) -> list[tuple[int, datetime, datetime]]:
    return [
        (each.seq, each.timestamp, each.fire_at)
        for each in history
        if isinstance(each, TimerCreated)
    ]


def catching(policy: RetryPolicy) -> Any:
    def orchestrator(ctx: OrchestrationContext) -> Any:
        try:
            yield ctx.call_activity("flaky", 1, retry=policy)
        except ActivityError as error:
            return f"gave up: {error.failure.message}"
        return "succeeded"

    return orchestrator


def test_retry_gives_up_after_max_attempts_with_backoff_capped_by_max_interval() -> None:
    policy = RetryPolicy(
        max_attempts=5,
        first_interval=timedelta(seconds=10),
        backoff_coefficient=3,
        max_interval=timedelta(seconds=60),
    )
    failures = [failure("ValueError", f"attempt {n}") for n in range(1, 6)]

    run = _drive_failures(catching(policy), failures)

    # Waits 10, 30, 60 (not 90) and 60 (not 270) seconds after each failing episode.
    assert _timers(run.history) == [
        (1, at(1), at(11)),
        (3, at(12), at(42)),
        (5, at(43), at(103)),
        (7, at(104), at(164)),
    ]
    assert run.decisions[-1] == decision(
        [
            episode(at(165)),
            failed(8, failures[4], t=at(165)),
            execution_completed("gave up: attempt 5", t=at(165)),
        ],
        RuntimeStatus.COMPLETED,
        output="gave up: attempt 5",
    )


@pytest.mark.parametrize(
    ("policy", "failures", "attempts"),
    [
        pytest.param(
            RetryPolicy(max_attempts=3, retry_on=("OSError",)),
            [BOOM, BOOM, BOOM],
            3,
            id="retry_on-matches-a-base-name",
        ),
        pytest.param(
            RetryPolicy(max_attempts=3, retry_on=("OSError",)),
            [failure("ValueError", "bad input")],
            1,
            id="retry_on-does-not-match",
        ),
        pytest.param(
            RetryPolicy(max_attempts=3, do_not_retry=("ConnectionError",)),
            [BOOM],
            1,
            id="do_not_retry-matches-the-type-name",
        ),
        pytest.param(
            RetryPolicy(max_attempts=3, do_not_retry=("KeyError",)),
            [BOOM, BOOM, BOOM],
            3,
            id="do_not_retry-does-not-match",
        ),
        pytest.param(
            RetryPolicy(max_attempts=3),
            [failure("PayloadError", "not JSON", non_retryable=True)],
            1,
            id="non_retryable-failure",
        ),
        pytest.param(
            # attempt 1 fails at 1 s: 1 + 10 <= 40, retry at 11 s; attempt 2 fails at
            # 12 s: 12 + 30 > 40, give up.
            RetryPolicy(
                max_attempts=10,
                first_interval=timedelta(seconds=10),
                backoff_coefficient=3,
                timeout=timedelta(seconds=40),
            ),
            [BOOM, BOOM, BOOM],
            2,
            id="overall-timeout",
        ),
    ],
)
def test_retry_policy_decides_which_failures_are_tried_again(
    policy: RetryPolicy, failures: list[FailureDetails], attempts: int
) -> None:
    run = _drive_failures(catching(policy), failures)

    made = [each.seq for each in run.history if isinstance(each, TaskScheduled)]
    assert len(made) == attempts
    assert run.decisions[-1].status is RuntimeStatus.COMPLETED
    assert run.decisions[-1].output == f"gave up: {failures[attempts - 1].message}"


def by_default(ctx: OrchestrationContext) -> Any:
    try:
        yield ctx.call_activity("flaky", 1)
    except ActivityError as error:
        return f"gave up: {error.failure.message}"
    return "succeeded"


def test_retry_uses_the_activity_default_policy_from_the_registry() -> None:
    registry = DictRegistry(
        [
            ActivityDefinition(
                name="flaky",
                retry=RetryPolicy(max_attempts=2, first_interval=timedelta(seconds=5)),
            )
        ]
    )

    run = _drive_failures(by_default, [BOOM, failure("ValueError", "second")], registry=registry)

    assert _timers(run.history) == [(1, at(1), at(6))]
    assert run.decisions[-1].output == "gave up: second"


def overriding(ctx: OrchestrationContext) -> Any:
    try:
        yield ctx.call_activity("flaky", 1, retry=RetryPolicy(max_attempts=1))
    except ActivityError as error:
        return f"gave up: {error.failure.message}"
    return "succeeded"


def test_retry_given_at_the_call_overrides_the_activity_default() -> None:
    registry = DictRegistry([ActivityDefinition(name="flaky", retry=RetryPolicy(max_attempts=5))])

    run = _drive_failures(overriding, [BOOM], registry=registry)

    assert _timers(run.history) == []
    assert run.decisions[-1].output == "gave up: reset"
