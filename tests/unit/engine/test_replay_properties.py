"""Properties the worker's cache relies on, over recorded histories of several scenarios.

- Replaying a history split at any points gives the same state as replaying it whole.
- Replaying a finished instance, with any late events, yields no new actions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable._engine.context import OrchestrationContext
from durable._engine.execution import Execution
from durable._engine.replay import replay
from durable._model.converter import PayloadConverter
from durable._model.definitions import OrchestratorDefinition
from durable._model.events import (
    ExecutionResumed,
    ExecutionSuspended,
    ExecutionTerminated,
    HistoryEvent,
)
from durable._model.retry import RetryPolicy
from durable._model.status import RuntimeStatus
from durable.errors import ActivityError
from tests.unit.engine.histories import (
    INSTANCE,
    T0,
    Recorder,
    at,
    child_completed,
    completed,
    episode,
    failed,
    failure,
    fired,
    raised,
    started,
)

CONVERTER = PayloadConverter()


@attrs.frozen
class Scenario:
    name: str
    orchestrator: Callable[..., Any]
    history: tuple[HistoryEvent, ...]
    status: RuntimeStatus


async def chain(ctx: OrchestrationContext, x: int) -> list[int]:
    a = await ctx.call_activity("double", x)
    b = await ctx.call_activity("increment", a)
    return [a, b]


def race(ctx: OrchestrationContext) -> Any:
    deadline = ctx.create_timer(timedelta(hours=1))
    approval = ctx.wait_for_event("approval")
    winner = yield ctx.when_any([deadline, approval])
    later = yield ctx.wait_for_event("approval")
    return [winner is deadline, later]


async def flaky(ctx: OrchestrationContext) -> Any:
    policy = RetryPolicy(max_attempts=3, first_interval=timedelta(seconds=10))
    return await ctx.call_activity("flaky", retry=policy)


async def reserve_and_ship(ctx: OrchestrationContext) -> Any:
    stock = await ctx.call_activity("reserve")
    await ctx.create_timer(timedelta(minutes=5))
    return await ctx.call_activity("ship", stock)


async def charge_and_confirm(ctx: OrchestrationContext) -> Any:
    payment = await ctx.call_activity("charge")
    return [payment, await ctx.wait_for_event("confirmed")]


def branches(ctx: OrchestrationContext) -> Any:
    both = yield ctx.when_all([reserve_and_ship(ctx), charge_and_confirm(ctx)])
    first = yield ctx.when_any([reserve_and_ship(ctx), charge_and_confirm(ctx)])
    return [both, first.result]


async def parent(ctx: OrchestrationContext) -> Any:
    try:
        await ctx.call_activity("risky")
    except ActivityError as error:
        ctx.set_custom_status({"recovering": error.type_name})
    shipped = await ctx.call_sub_orchestrator("shipping", "box")
    await ctx.wait_for_event("go")
    return shipped


async def forever(ctx: OrchestrationContext, n: int) -> None:
    await ctx.wait_for_event("tick")
    ctx.continue_as_new(n + 1)


def _record(
    orchestrator: Callable[..., Any], episodes: list[list[HistoryEvent]], start: Any = None
) -> Scenario:
    run = Recorder(orchestrator, converter=CONVERTER)
    run.run([started(start), *episodes[0]], now=T0)
    for number, events in enumerate(episodes[1:], start=1):
        when = at(number * 1000)
        run.run(events, now=when)
    return Scenario(
        name=orchestrator.__name__,
        orchestrator=orchestrator,
        history=tuple(run.history),
        status=run.decisions[-1].status,
    )


SCENARIOS = [
    _record(chain, [[], [completed(0, 6, t=at(1))], [completed(1, 7, t=at(1000))]], start=3),
    _record(race, [[], [raised("approval", "yes", t=at(10))], [fired(0, at(3600))]]),
    _record(race, [[], [fired(0, at(3600))], [raised("approval", "late", t=at(4000))]]),
    _record(
        flaky,
        [
            [],
            [failed(0, failure(), t=at(1))],
            [fired(1, at(1010))],
            [failed(2, failure(), t=at(2001))],
            [fired(3, at(3020))],
            [completed(4, "ok", t=at(4001))],
        ],
    ),
    _record(
        branches,
        [
            [],
            [completed(1, "pay", t=at(1)), completed(0, "stock", t=at(1))],
            [raised("confirmed", True, t=at(2000)), fired(2, at(1300))],
            [completed(3, "parcel", t=at(3000))],
            [completed(4, "stock-2", t=at(4000)), completed(5, "pay-2", t=at(4000))],
            [raised("confirmed", "again", t=at(5000))],
            [fired(6, at(4300)), completed(7, "late", t=at(6000))],
        ],
    ),
    _record(
        parent,
        [
            [],
            [failed(0, failure("KeyError", "k"), t=at(1))],
            [ExecutionSuspended(timestamp=at(2000)), child_completed(1, "tracking", t=at(2000))],
            [raised("go", t=at(3000))],
            [ExecutionResumed(timestamp=at(4000))],
        ],
    ),
    _record(
        parent,
        [[], [completed(0, t=at(1))], [ExecutionTerminated(timestamp=at(2000), reason="stop")]],
    ),
    _record(forever, [[], [raised("tick", t=at(1)), raised("tick", t=at(2))]], start=0),
    _record(chain, [[], [failed(0, failure(), t=at(1))]], start=3),
]
FINISHED = [each for each in SCENARIOS if each.status is not RuntimeStatus.RUNNING]


def test_scenarios_cover_every_ending() -> None:
    assert [each.status for each in SCENARIOS] == [
        RuntimeStatus.COMPLETED,
        RuntimeStatus.RUNNING,
        RuntimeStatus.COMPLETED,
        RuntimeStatus.COMPLETED,
        RuntimeStatus.COMPLETED,
        RuntimeStatus.COMPLETED,
        RuntimeStatus.TERMINATED,
        RuntimeStatus.CONTINUED_AS_NEW,
        RuntimeStatus.FAILED,
    ]


def _execution(scenario: Scenario) -> Execution:
    return Execution(
        OrchestratorDefinition.of(scenario.orchestrator),
        instance_id=INSTANCE,
        converter=CONVERTER,
    )


def _whole(scenario: Scenario, length: int) -> Any:
    execution = _execution(scenario)
    execution.replay(scenario.history[:length])
    return execution.snapshot()


@st.composite
def split_histories(draw: st.DrawFn) -> tuple[Scenario, int, list[int]]:
    scenario = draw(st.sampled_from(SCENARIOS))
    length = draw(st.integers(0, len(scenario.history)))
    cuts = draw(st.lists(st.integers(0, length), max_size=4))
    return scenario, length, sorted(cuts)


@given(split_histories())
def test_replay_split_at_any_points_equals_replay_whole(
    case: tuple[Scenario, int, list[int]],
) -> None:
    scenario, length, cuts = case
    execution = _execution(scenario)

    for start, end in zip([0, *cuts], [*cuts, length], strict=True):
        execution.replay(scenario.history[start:end])

    assert execution.snapshot() == _whole(scenario, length)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda each: each.name)
def test_replay_of_a_recorded_history_asks_for_nothing_new(scenario: Scenario) -> None:
    result = replay(scenario.orchestrator, scenario.history, converter=CONVERTER)

    assert (result.status, result.actions) == (scenario.status, ())


late_events = st.lists(
    st.one_of(
        st.builds(
            completed,
            st.integers(0, 12),
            st.sampled_from([None, 1, "x"]),
            t=st.just(at(9000)),
        ),
        st.builds(failed, st.integers(0, 12), st.just(failure()), t=st.just(at(9000))),
        st.builds(fired, st.integers(0, 12), st.just(at(9000))),
        st.builds(
            raised,
            st.sampled_from(["approval", "confirmed", "go", "tick"]),
            t=st.just(at(9000)),
        ),
        st.builds(child_completed, st.integers(0, 12), t=st.just(at(9000))),
        st.just(ExecutionSuspended(timestamp=at(9000))),
        st.just(ExecutionResumed(timestamp=at(9000))),
    ),
    max_size=6,
)


@given(st.sampled_from(FINISHED), late_events)
def test_replay_of_a_finished_instance_with_late_events_yields_no_new_actions(
    scenario: Scenario, events: list[HistoryEvent]
) -> None:
    before = replay(scenario.orchestrator, scenario.history, converter=CONVERTER)

    after = replay(
        scenario.orchestrator, scenario.history, events, now=at(9999), converter=CONVERTER
    )

    assert after.actions == ()
    assert after.new_events == (episode(at(9999)),)
    assert (after.status, after.output, after.failure, after.custom_status) == (
        before.status,
        before.output,
        before.failure,
        before.custom_status,
    )
