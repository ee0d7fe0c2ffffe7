"""`when_any` of a timer and an event, in both orders, from hand-built histories."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.status import PendingActivity, PendingTimer, RuntimeStatus, Waiting
from durable.errors import TaskCancelledError
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

HOUR = at(3600)


def race_generator(ctx: OrchestrationContext) -> Any:
    deadline = ctx.create_timer(timedelta(hours=1))
    approval = ctx.wait_for_event("approval")
    winner = yield ctx.when_any([deadline, approval])
    if winner is approval:
        shipped = yield ctx.call_activity("ship", approval.result)
        return ["approved", shipped]
    assert winner is deadline
    late = yield ctx.wait_for_event("approval")
    return ["timed out", late]


async def race_async(ctx: OrchestrationContext) -> list[Any]:
    deadline = ctx.create_timer(timedelta(hours=1))
    approval = ctx.wait_for_event("approval")
    winner = await ctx.when_any([deadline, approval])
    if winner is approval:
        shipped = await ctx.call_activity("ship", approval.result)
        return ["approved", shipped]
    assert winner is deadline
    late = await ctx.wait_for_event("approval")
    return ["timed out", late]


RACES = [race_generator, race_async]
START = [episode(T0), started(), timer(0, HOUR, t=T0)]


@pytest.mark.parametrize("orchestrator", RACES)
def test_when_any_starts_a_timer_and_waits_for_both(orchestrator: Any) -> None:
    assert replay(orchestrator, [], [started()], now=T0) == decision(
        START,
        waiting=Waiting(timers=(PendingTimer(seq=0, fire_at=HOUR),), events=("approval",)),
    )


@pytest.mark.parametrize("orchestrator", RACES)
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_when_any_event_first_wins_and_the_later_timer_firing_is_ignored(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator, history=START)
    ship = PendingActivity(seq=1, name="ship", scheduled_at=at(10))
    still_timed = PendingTimer(seq=0, fire_at=HOUR)

    won = run.run([raised("approval", "yes", t=at(10))], now=at(10))
    assert won == decision(
        [
            episode(at(10)),
            raised("approval", "yes", t=at(10)),
            scheduled(1, "ship", "yes", t=at(10)),
        ],
        waiting=Waiting(activities=(ship,), timers=(still_timed,)),
    )

    ignored = run.run([fired(0, HOUR)], now=HOUR)
    assert ignored == decision([episode(HOUR), fired(0, HOUR)], waiting=Waiting(activities=(ship,)))

    done = run.run([completed(1, "parcel", t=at(4000))], now=at(4000))
    assert done == decision(
        [
            episode(at(4000)),
            completed(1, "parcel", t=at(4000)),
            execution_completed(["approved", "parcel"], t=at(4000)),
        ],
        RuntimeStatus.COMPLETED,
        output=["approved", "parcel"],
    )


@pytest.mark.parametrize("orchestrator", RACES)
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_when_any_timer_first_wins_and_releases_the_event_wait(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator, history=START)

    timed_out = run.run([fired(0, HOUR)], now=HOUR)
    assert timed_out == decision(
        [episode(HOUR), fired(0, HOUR)], waiting=Waiting(events=("approval",))
    )

    # The released wait does not swallow the event: the next wait_for_event gets it.
    done = run.run([raised("approval", "late yes", t=at(4000))], now=at(4000))
    assert done == decision(
        [
            episode(at(4000)),
            raised("approval", "late yes", t=at(4000)),
            execution_completed(["timed out", "late yes"], t=at(4000)),
        ],
        RuntimeStatus.COMPLETED,
        output=["timed out", "late yes"],
    )


@pytest.mark.parametrize("orchestrator", RACES)
def test_when_any_first_of_two_completions_in_one_episode_wins(orchestrator: Any) -> None:
    events = [fired(0, HOUR), raised("approval", "same batch", t=HOUR)]

    result = replay(orchestrator, START, events, now=HOUR)

    assert result == decision(
        [
            episode(HOUR),
            *events,
            execution_completed(["timed out", "same batch"], t=HOUR),
        ],
        RuntimeStatus.COMPLETED,
        output=["timed out", "same batch"],
    )


@pytest.mark.parametrize("orchestrator", RACES)
def test_when_any_event_that_came_before_the_wait_wins_at_once(orchestrator: Any) -> None:
    # The event arrives in the first episode, before the code asks for it: it is kept
    # and settles the wait as soon as the code makes it.
    result = replay(orchestrator, [], [started(), raised("approval", "early", t=T0)], now=T0)

    assert result == decision(
        [
            episode(T0),
            started(),
            raised("approval", "early", t=T0),
            timer(0, HOUR, t=T0),
            scheduled(1, "ship", "early", t=T0),
        ],
        waiting=Waiting(
            activities=(PendingActivity(seq=1, name="ship", scheduled_at=T0),),
            timers=(PendingTimer(seq=0, fire_at=HOUR),),
        ),
    )


def cancelling(ctx: OrchestrationContext) -> Any:
    deadline = ctx.create_timer(timedelta(hours=1))
    approval = ctx.wait_for_event("approval")
    winner = yield ctx.when_any([approval, deadline])
    deadline.cancel()
    shipped = yield ctx.call_activity("ship", winner.result)
    try:
        yield deadline
    except TaskCancelledError as error:
        return [shipped, str(error)]
    return [shipped, "timer awaited"]


def test_when_any_loser_timer_cancelled_by_the_code_is_released() -> None:
    run = Recorder(cancelling, history=START)

    won = run.run([raised("approval", "yes", t=at(10))], now=at(10))
    assert won == decision(
        [
            episode(at(10)),
            raised("approval", "yes", t=at(10)),
            scheduled(1, "ship", "yes", t=at(10)),
        ],
        waiting=Waiting(activities=(PendingActivity(seq=1, name="ship", scheduled_at=at(10)),)),
    )

    fired_late = run.run([fired(0, HOUR), completed(1, "parcel", t=HOUR)], now=HOUR)
    output = ["parcel", "timer due at 2024-01-01 01:00:00+00:00 was cancelled"]
    assert fired_late == decision(
        [
            episode(HOUR),
            fired(0, HOUR),
            completed(1, "parcel", t=HOUR),
            execution_completed(output, t=HOUR),
        ],
        RuntimeStatus.COMPLETED,
        output=output,
    )


def group_or_deadline_generator(ctx: OrchestrationContext) -> Any:
    deadline = ctx.create_timer(timedelta(hours=1))
    both = ctx.when_all([ctx.wait_for_event("approval"), ctx.wait_for_event("signature")])
    winner = yield ctx.when_any([both, deadline])
    if winner is deadline:
        late = yield ctx.wait_for_event("approval")
        return ["timed out", late]
    return ["both", winner.result]


async def group_or_deadline_async(ctx: OrchestrationContext) -> list[Any]:
    deadline = ctx.create_timer(timedelta(hours=1))
    either = ctx.when_any([ctx.wait_for_event("approval"), ctx.wait_for_event("signature")])
    winner = await ctx.when_any([either, deadline])
    if winner is deadline:
        late = await ctx.wait_for_event("approval")
        return ["timed out", late]
    return ["either", winner.result.result]


@pytest.mark.parametrize("orchestrator", [group_or_deadline_generator, group_or_deadline_async])
def test_when_any_releases_the_event_waits_inside_a_losing_group(orchestrator: Any) -> None:
    run = Recorder(orchestrator, history=START)

    timed_out = run.run([fired(0, HOUR)], now=HOUR)
    assert timed_out == decision(
        [episode(HOUR), fired(0, HOUR)], waiting=Waiting(events=("approval",))
    )

    done = run.run([raised("approval", "late yes", t=at(4000))], now=at(4000))
    assert done.output == ["timed out", "late yes"]
