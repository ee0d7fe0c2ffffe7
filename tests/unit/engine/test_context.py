"""`OrchestrationContext`: time, ids, replay flags, logging, bad input and foreign awaits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.execution import Execution
from durable._engine.replay import replay
from durable._model.definitions import ActivityDefinition, OrchestratorDefinition
from durable._model.events import EventSent, TimerCreated
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from durable.errors import DurableError, InvalidArgumentError, UnsupportedAwaitError
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
    failure_of,
    scheduled,
    started,
)

# -- ctx.now, ctx.new_uuid, ctx.is_replaying -----------------------------------------------


def observer_generator(ctx: OrchestrationContext) -> Any:
    seen = [[ctx.now.isoformat(), ctx.new_uuid(), ctx.is_replaying]]
    yield ctx.call_activity("step")
    seen.append([ctx.now.isoformat(), ctx.new_uuid(), ctx.is_replaying])
    yield ctx.call_activity("step")
    seen.append([ctx.now.isoformat(), ctx.new_uuid(), ctx.is_replaying])
    return seen


async def observer_async(ctx: OrchestrationContext) -> list[list[Any]]:
    seen = [[ctx.now.isoformat(), ctx.new_uuid(), ctx.is_replaying]]
    await ctx.call_activity("step")
    seen.append([ctx.now.isoformat(), ctx.new_uuid(), ctx.is_replaying])
    await ctx.call_activity("step")
    seen.append([ctx.now.isoformat(), ctx.new_uuid(), ctx.is_replaying])
    return seen


OBSERVERS = [observer_generator, observer_async]


def _observed(orchestrator: Any, execution_id: str = "order-1-x1") -> list[list[Any]]:
    history = [
        episode(T0),
        started(execution_id=execution_id),
        scheduled(0, "step", t=T0),
        episode(at(60)),
        completed(0, t=at(30)),
        scheduled(1, "step", t=at(60)),
    ]
    result = replay(orchestrator, history, [completed(1, t=at(100))], now=at(120))
    assert result.status is RuntimeStatus.COMPLETED
    observed: list[list[Any]] = result.output
    return observed


@pytest.mark.parametrize("orchestrator", OBSERVERS)
def test_now_is_the_episode_start_and_is_replaying_true_only_for_old_events(
    orchestrator: Any,
) -> None:
    observed = _observed(orchestrator)

    # Each step's time is its episode's OrchestratorStarted, not the completion's time.
    assert [[when, replaying] for when, _, replaying in observed] == [
        [T0.isoformat(), True],
        [at(60).isoformat(), True],
        [at(120).isoformat(), False],
    ]


@pytest.mark.parametrize("orchestrator", OBSERVERS)
def test_new_uuid_is_name_based_and_the_same_on_every_replay(orchestrator: Any) -> None:
    ids = [each[1] for each in _observed(orchestrator)]

    assert ids == [each[1] for each in _observed(orchestrator)]
    assert len(set(ids)) == 3
    assert all(uuid.UUID(each).version == 5 for each in ids)


@pytest.mark.parametrize("orchestrator", OBSERVERS)
def test_new_uuid_differs_across_executions(orchestrator: Any) -> None:
    first = [each[1] for each in _observed(orchestrator, execution_id="order-1-x1")]
    second = [each[1] for each in _observed(orchestrator, execution_id="order-2-x1")]

    assert set(first).isdisjoint(second)


def test_new_uuid_is_the_same_for_a_live_execution_and_a_rebuilt_one() -> None:
    live = LiveRecorder(observer_generator)
    rebuilt = Recorder(observer_generator)
    for run in (live, rebuilt):
        run.run([started()], now=T0)
        run.run([completed(0, t=at(1))], now=at(1))
        run.run([completed(1, t=at(2))], now=at(2))

    def times_and_ids(run: Recorder) -> list[list[Any]]:
        return [[when, new_id] for when, new_id, _ in run.decisions[-1].output]

    assert times_and_ids(live) == times_and_ids(rebuilt)


# -- ctx.log -------------------------------------------------------------------------------


def chatty(ctx: OrchestrationContext) -> Any:
    ctx.log.info("starting %s", "order")
    yield ctx.call_activity("step")
    ctx.log.warning("step done")
    yield ctx.call_activity("step")
    ctx.log.info("finishing")
    return "done"


@pytest.fixture
def orchestrator_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG, logger="durable.orchestrator"):
        yield caplog


def test_log_is_silent_while_replaying_and_names_the_instance(
    orchestrator_log: pytest.LogCaptureFixture,
) -> None:
    history = [
        episode(T0),
        started(),
        scheduled(0, "step", t=T0),
        episode(at(1)),
        completed(0, t=at(1)),
        scheduled(1, "step", t=at(1)),
    ]

    replay(chatty, history, [completed(1, t=at(2))], now=at(2))

    assert [(r.name, r.levelname, r.getMessage()) for r in orchestrator_log.records] == [
        ("durable.orchestrator", "INFO", "[order-1] finishing")
    ]


def test_log_speaks_once_per_line_when_run_episode_by_episode(
    orchestrator_log: pytest.LogCaptureFixture,
) -> None:
    run = Recorder(chatty)
    run.run([started()], now=T0)
    run.run([completed(0, t=at(1))], now=at(1))
    run.run([completed(1, t=at(2))], now=at(2))

    assert [r.getMessage() for r in orchestrator_log.records] == [
        "[order-1] starting order",
        "[order-1] step done",
        "[order-1] finishing",
    ]


# -- bad input at the context --------------------------------------------------------------


def attempt(call: Any) -> Any:
    """An orchestrator that makes `call(ctx)` and returns what it raised, as data."""

    def orchestrator(ctx: OrchestrationContext) -> Any:
        try:
            call(ctx)
        except DurableError as error:
            return [type(error).__name__, [k.__name__ for k in type(error).__mro__], str(error)]
        yield ctx.call_activity("unreachable")
        return None

    return orchestrator


NAIVE = datetime(2024, 1, 2)  # naive on purpose


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda ctx: ctx.create_timer(timedelta(seconds=-1)),
            "timer delay must be zero or more, got -1 day, 23:59:59",
            id="negative-delay",
        ),
        pytest.param(
            lambda ctx: ctx.create_timer(timedelta(days=366 * 100 + 1)),
            "timer delay must be at most 36600 days, got 36601 days, 0:00:00",
            id="absurd-delay",
        ),
        pytest.param(
            lambda ctx: ctx.create_timer(T0 + timedelta(days=366 * 100 + 1)),
            "timer time 2124-03-18T00:00:00+00:00 is more than 36600 days away",
            id="absurd-time",
        ),
        pytest.param(
            lambda ctx: ctx.create_timer(NAIVE),
            "timer time 2024-01-02T00:00:00 has no time zone; use an aware UTC datetime",
            id="naive-datetime",
        ),
        pytest.param(
            lambda ctx: ctx.create_timer(5),
            "create_timer takes a datetime or a timedelta, got int",
            id="seconds-as-int",
        ),
        pytest.param(
            lambda ctx: ctx.wait_for_event(""),
            "event name must be a non-empty str, got ''",
            id="empty-event-name",
        ),
        pytest.param(
            lambda ctx: ctx.send_event("other", ""),
            "event name must be a non-empty str, got ''",
            id="empty-sent-event-name",
        ),
        pytest.param(
            lambda ctx: ctx.when_any([]),
            "when_any needs at least one task",
            id="when-any-of-nothing",
        ),
        pytest.param(
            lambda ctx: ctx.when_all([42]),
            "when_all and when_any take durable tasks or coroutines, got int",
            id="when-all-of-a-non-task",
        ),
    ],
)
def test_context_rejects_bad_input_with_an_invalid_argument_error(call: Any, message: str) -> None:
    result = replay(attempt(call), [], [started()], now=T0)

    assert result == decision(
        [episode(T0), started(), execution_completed(result.output, t=T0)],
        RuntimeStatus.COMPLETED,
        output=result.output,
    )
    name, mro, text = result.output
    assert (name, text) == ("InvalidArgumentError", message)
    assert {"DurableError", "ValueError"} <= set(mro)


def test_context_bad_input_raised_at_the_call_site_is_the_documented_type() -> None:
    execution = Execution(OrchestratorDefinition.of(observer_generator), instance_id="i")
    execution.now = T0

    with pytest.raises(InvalidArgumentError, match=r"^timer delay must be zero or more, got "):
        execution.context.create_timer(timedelta(microseconds=-1))


def test_context_now_before_the_first_episode_is_an_invalid_argument() -> None:
    execution = Execution(OrchestratorDefinition.of(observer_generator), instance_id="i")

    with pytest.raises(
        InvalidArgumentError, match=r"^ctx\.now is only known once the orchestrator is running$"
    ):
        _ = execution.context.now


def test_context_zero_delay_timer_is_allowed() -> None:
    def orchestrator(ctx: OrchestrationContext) -> Any:
        yield ctx.create_timer(timedelta(0))

    result = replay(orchestrator, [], [started()], now=T0)

    assert result.actions == (TimerCreated(timestamp=T0, seq=0, fire_at=T0),)


# -- awaiting something that is not durable ------------------------------------------------

INSTEAD = (
    "which is not a durable task; orchestrators may only await what the context gives "
    "(ctx.call_activity, ctx.create_timer instead of asyncio.sleep, ctx.wait_for_event, "
    "ctx.when_all, ctx.when_any, ctx.call_sub_orchestrator) or coroutines that await only "
    "those; do I/O in activities"
)


async def sleeps(ctx: OrchestrationContext) -> str:
    await ctx.call_activity("step")
    try:
        await asyncio.sleep(0)
    except Exception:
        return "caught"
    return "slept"


def _future_awaiter() -> Any:
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    loop.close()

    async def awaits_future(ctx: OrchestrationContext) -> str:
        await ctx.call_activity("step")
        return await future  # type: ignore[no-any-return]

    return awaits_future


def yields_a_value(ctx: OrchestrationContext) -> Any:
    yield ctx.call_activity("step")
    yield 5


@pytest.mark.parametrize(
    ("orchestrator", "what"),
    [
        pytest.param(sleeps, "None (a bare yield, as asyncio.sleep(0) does)", id="asyncio-sleep"),
        pytest.param(_future_awaiter(), "Future", id="asyncio-future"),
        pytest.param(yields_a_value, "int", id="generator-yields-a-value"),
    ],
)
def test_awaiting_a_non_durable_awaitable_fails_the_instance(orchestrator: Any, what: str) -> None:
    history = [episode(T0), started(), scheduled(0, "step", t=T0)]

    result = replay(orchestrator, history, [completed(0, t=at(1))], now=at(1))

    details = failure_of(result)
    assert details == FailureDetails(
        type_name="UnsupportedAwaitError",
        message=f"an orchestrator awaited or yielded {what}, {INSTEAD}",
        base_type_names=("DurableError", "TypeError", "Exception", "BaseException"),
        non_retryable=True,
    )
    assert result.status is RuntimeStatus.FAILED
    assert result.actions == ()
    assert issubclass(UnsupportedAwaitError, DurableError)


# -- send_event and unknown names ----------------------------------------------------------


def notifier_generator(ctx: OrchestrationContext) -> Any:
    ctx.send_event("billing-7", "invoice", {"amount": 5})
    yield ctx.call_activity("archive")
    ctx.send_event("billing-7", "closed")
    return "sent"


async def notifier_async(ctx: OrchestrationContext) -> str:
    ctx.send_event("billing-7", "invoice", {"amount": 5})
    await ctx.call_activity("archive")
    ctx.send_event("billing-7", "closed")
    return "sent"


@pytest.mark.parametrize("orchestrator", [notifier_generator, notifier_async])
def test_send_event_is_a_numbered_call_emitted_even_by_a_returning_episode(
    orchestrator: Any,
) -> None:
    run = Recorder(orchestrator)
    invoice = EventSent(
        timestamp=T0, seq=0, instance_id="billing-7", name="invoice", input={"amount": 5}
    )
    closed = EventSent(timestamp=at(1), seq=2, instance_id="billing-7", name="closed")

    first = run.run([started()], now=T0)
    assert first.actions == (invoice, scheduled(1, "archive", t=T0))

    last = run.run([completed(1, t=at(1))], now=at(1))
    assert last == decision(
        [episode(at(1)), completed(1, t=at(1)), closed, execution_completed("sent", t=at(1))],
        RuntimeStatus.COMPLETED,
        output="sent",
    )


def calls_unknown(ctx: OrchestrationContext) -> Any:
    yield ctx.call_activity("refund")


def test_call_to_an_unregistered_activity_fails_the_instance_naming_it() -> None:
    registry = DictRegistry([ActivityDefinition(name="charge")])

    result = replay(calls_unknown, [], [started()], now=T0, registry=registry)

    details = failure_of(result)
    assert (details.type_name, details.message) == (
        "ActivityNotFoundError",
        "no activity is registered under the name 'refund'; registered: charge",
    )
    assert result.actions == ()
