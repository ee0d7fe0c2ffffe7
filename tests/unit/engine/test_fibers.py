"""Branches: multi-step `async def` helpers run concurrently under `when_all`/`when_any`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.status import PendingActivity, PendingTimer, RuntimeStatus, Waiting
from tests.unit.engine.histories import (
    T0,
    LiveRecorder,
    Recorder,
    at,
    completed,
    decision,
    episode,
    execution_completed,
    fired,
    raised,
    scheduled,
    started,
    timer,
)

# Branch A: reserve (call), wait 5 minutes (timer), ship (call).
# Branch B: charge (call), wait for "confirmed" (event), receipt (call).


async def reserve_and_ship(ctx: OrchestrationContext, order: str) -> str:
    stock = await ctx.call_activity("reserve", order)
    await ctx.create_timer(timedelta(minutes=5))
    return await ctx.call_activity("ship", stock)


async def charge_and_confirm(ctx: OrchestrationContext, order: str) -> list[Any]:
    payment = await ctx.call_activity("charge", order)
    confirmed = await ctx.wait_for_event("confirmed")
    receipt = await ctx.call_activity("receipt", [payment, confirmed])
    return [payment, receipt]


def both_generator(ctx: OrchestrationContext, order: str) -> Any:
    return (yield ctx.when_all([reserve_and_ship(ctx, order), charge_and_confirm(ctx, order)]))


async def both_async(ctx: OrchestrationContext, order: str) -> list[Any]:
    return await ctx.when_all([reserve_and_ship(ctx, order), charge_and_confirm(ctx, order)])


def _activity(seq: int, name: str, t: Any) -> PendingActivity:
    return PendingActivity(seq=seq, name=name, scheduled_at=t)


@pytest.mark.parametrize("orchestrator", [both_generator, both_async])
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_when_all_runs_two_multi_step_branches_concurrently(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator)
    five_minutes = at(2 + 300)

    assert run.run([started("o-1")], now=T0) == decision(
        [
            episode(T0),
            started("o-1"),
            scheduled(0, "reserve", "o-1", t=T0),
            scheduled(1, "charge", "o-1", t=T0),
        ],
        waiting=Waiting(activities=(_activity(0, "reserve", T0), _activity(1, "charge", T0))),
    )
    # Branch B moves first: its results come in before A's.
    assert run.run([completed(1, "pay-1", t=at(1))], now=at(1)) == decision(
        [episode(at(1)), completed(1, "pay-1", t=at(1))],
        waiting=Waiting(activities=(_activity(0, "reserve", T0),), events=("confirmed",)),
    )
    assert run.run([completed(0, "stock-1", t=at(2))], now=at(2)) == decision(
        [episode(at(2)), completed(0, "stock-1", t=at(2)), timer(2, five_minutes, t=at(2))],
        waiting=Waiting(timers=(PendingTimer(seq=2, fire_at=five_minutes),), events=("confirmed",)),
    )
    assert run.run(
        [raised("confirmed", True, t=at(3)), fired(2, five_minutes)], now=five_minutes
    ) == decision(
        [
            episode(five_minutes),
            raised("confirmed", True, t=at(3)),
            fired(2, five_minutes),
            scheduled(3, "receipt", ["pay-1", True], t=five_minutes),
            scheduled(4, "ship", "stock-1", t=five_minutes),
        ],
        waiting=Waiting(
            activities=(_activity(3, "receipt", five_minutes), _activity(4, "ship", five_minutes))
        ),
    )
    end = at(400)
    output = ["parcel-1", ["pay-1", "rcpt-1"]]
    assert run.run(
        [completed(4, "parcel-1", t=end), completed(3, "rcpt-1", t=end)], now=end
    ) == decision(
        [
            episode(end),
            completed(4, "parcel-1", t=end),
            completed(3, "rcpt-1", t=end),
            execution_completed(output, t=end),
        ],
        RuntimeStatus.COMPLETED,
        output=output,
    )


def first_generator(ctx: OrchestrationContext, order: str) -> Any:
    ship = reserve_and_ship(ctx, order)
    confirm = charge_and_confirm(ctx, order)
    winner = yield ctx.when_any([ship, confirm])
    later = yield ctx.wait_for_event("confirmed")
    return [winner.result, later]


async def first_async(ctx: OrchestrationContext, order: str) -> list[Any]:
    winner = await ctx.when_any([reserve_and_ship(ctx, order), charge_and_confirm(ctx, order)])
    later = await ctx.wait_for_event("confirmed")
    return [winner.result, later]


FIRSTS = [first_generator, first_async]
RACE_START = [
    episode(T0),
    started("o-1"),
    scheduled(0, "reserve", "o-1", t=T0),
    scheduled(1, "charge", "o-1", t=T0),
]


@pytest.mark.parametrize("orchestrator", FIRSTS)
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_when_any_cancels_the_losing_branch_and_releases_its_event_wait(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator, history=RACE_START)
    fire_at = at(301)

    run.run([completed(0, "stock-1", t=at(1)), completed(1, "pay-1", t=at(1))], now=at(1))
    # A wins; B was waiting for "confirmed": its wait is released, so the orchestrator's
    # own wait_for_event gets the next "confirmed".
    run.run([fired(2, fire_at)], now=fire_at)
    won = run.run([completed(3, "parcel-1", t=at(302))], now=at(302))
    assert won == decision(
        [episode(at(302)), completed(3, "parcel-1", t=at(302))],
        waiting=Waiting(events=("confirmed",)),
    )

    done = run.run([raised("confirmed", "yes", t=at(303))], now=at(303))
    assert done == decision(
        [
            episode(at(303)),
            raised("confirmed", "yes", t=at(303)),
            execution_completed(["parcel-1", "yes"], t=at(303)),
        ],
        RuntimeStatus.COMPLETED,
        output=["parcel-1", "yes"],
    )


@pytest.mark.parametrize("orchestrator", FIRSTS)
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_when_any_cancels_the_losing_branch_and_releases_its_timer(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator, history=RACE_START)
    fire_at = at(301)

    waiting = run.run([completed(0, "stock-1", t=at(1)), completed(1, "pay-1", t=at(1))], now=at(1))
    assert waiting.waiting == Waiting(
        timers=(PendingTimer(seq=2, fire_at=fire_at),), events=("confirmed",)
    )
    # B goes on to its receipt while A waits on its timer.
    run.run([raised("confirmed", "yes", t=at(2))], now=at(2))
    won = run.run([completed(3, "rcpt-1", t=at(3))], now=at(3))
    # B won: A's timer is released (no longer waited for), the orchestrator waits again.
    assert won == decision(
        [episode(at(3)), completed(3, "rcpt-1", t=at(3))], waiting=Waiting(events=("confirmed",))
    )

    # A's timer fires later: ignored; A never calls "ship".
    ignored = run.run([fired(2, fire_at)], now=fire_at)
    assert ignored == decision(
        [episode(fire_at), fired(2, fire_at)], waiting=Waiting(events=("confirmed",))
    )


@pytest.mark.parametrize("orchestrator", FIRSTS)
def test_when_any_ignores_a_later_result_for_the_cancelled_branch(orchestrator: Any) -> None:
    # A is still waiting for "reserve" when B wins; the late result does not wake A.
    run = Recorder(orchestrator, history=RACE_START)
    run.run([completed(1, "pay-1", t=at(1))], now=at(1))
    run.run([raised("confirmed", "yes", t=at(2))], now=at(2))
    won = run.run([completed(2, "rcpt-1", t=at(3))], now=at(3))
    assert won == decision(
        [episode(at(3)), completed(2, "rcpt-1", t=at(3))],
        waiting=Waiting(activities=(_activity(0, "reserve", T0),), events=("confirmed",)),
    )

    late = run.run([completed(0, "stock-1", t=at(4))], now=at(4))

    assert late == decision(
        [episode(at(4)), completed(0, "stock-1", t=at(4))], waiting=Waiting(events=("confirmed",))
    )


# -- inline helpers ------------------------------------------------------------------------


def inline_generator(ctx: OrchestrationContext, order: str) -> Any:
    shipped = yield reserve_and_ship(ctx, order)
    receipt = yield ctx.call_activity("notify", shipped)
    return [shipped, receipt]


async def inline_async(ctx: OrchestrationContext, order: str) -> list[Any]:
    shipped = await reserve_and_ship(ctx, order)
    receipt = await ctx.call_activity("notify", shipped)
    return [shipped, receipt]


@pytest.mark.parametrize("orchestrator", [inline_generator, inline_async])
def test_helper_coroutine_runs_inline_in_both_styles(orchestrator: Any) -> None:
    history = [
        episode(T0),
        started("o-1"),
        scheduled(0, "reserve", "o-1", t=T0),
        episode(at(1)),
        completed(0, "stock-1", t=at(1)),
        timer(1, at(301), t=at(1)),
        episode(at(301)),
        fired(1, at(301)),
        scheduled(2, "ship", "stock-1", t=at(301)),
    ]

    result = replay(orchestrator, history, [completed(2, "parcel-1", t=at(302))], now=at(302))

    assert result == decision(
        [
            episode(at(302)),
            completed(2, "parcel-1", t=at(302)),
            scheduled(3, "notify", "parcel-1", t=at(302)),
        ],
        waiting=Waiting(activities=(_activity(3, "notify", at(302)),)),
    )


async def nested(ctx: OrchestrationContext, order: str) -> list[Any]:
    inner = await ctx.when_all([reserve_and_ship(ctx, order), ctx.call_activity("audit", order)])
    return inner


def nesting(ctx: OrchestrationContext) -> Any:
    first, second = yield ctx.when_all([nested(ctx, "a"), nested(ctx, "b")])
    return [first, second]


def test_branches_nest_and_number_their_calls_in_the_order_they_are_made() -> None:
    # A coroutine starts when when_all receives it, so "audit" (called while the list
    # is built) comes before the branch's "reserve".
    result = replay(nesting, [], [started()], now=T0)

    assert result.actions == (
        scheduled(0, "audit", "a", t=T0),
        scheduled(1, "reserve", "a", t=T0),
        scheduled(2, "audit", "b", t=T0),
        scheduled(3, "reserve", "b", t=T0),
    )
