"""Custom status, terminate, suspend and resume, from hand-built histories."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.events import (
    ExecutionResumed,
    ExecutionSuspended,
    ExecutionTerminated,
)
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
    failure_of,
    fired,
    raised,
    scheduled,
    started,
    timer,
)

# -- custom status -------------------------------------------------------------------------


class Stage(enum.Enum):
    CHARGED = "charged"


@dataclass
class Progress:
    stage: Stage
    done: int


def reporting_generator(ctx: OrchestrationContext) -> Any:
    ctx.set_custom_status("starting")
    yield ctx.call_activity("charge")
    ctx.set_custom_status(Progress(stage=Stage.CHARGED, done=1))
    yield ctx.wait_for_event("go")
    return "done"


async def reporting_async(ctx: OrchestrationContext) -> str:
    ctx.set_custom_status("starting")
    await ctx.call_activity("charge")
    ctx.set_custom_status(Progress(stage=Stage.CHARGED, done=1))
    await ctx.wait_for_event("go")
    return "done"


@pytest.mark.parametrize("orchestrator", [reporting_generator, reporting_async])
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_custom_status_is_in_every_decision_as_json(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator)

    assert run.run([started()], now=T0) == decision(
        [episode(T0), started(), scheduled(0, "charge", t=T0)],
        custom_status="starting",
        waiting=Waiting(activities=(PendingActivity(seq=0, name="charge", scheduled_at=T0),)),
    )
    progress = {"stage": "charged", "done": 1}
    assert run.run([completed(0, t=at(1))], now=at(1)) == decision(
        [episode(at(1)), completed(0, t=at(1))],
        custom_status=progress,
        waiting=Waiting(events=("go",)),
    )
    assert run.run([raised("go", t=at(2))], now=at(2)) == decision(
        [episode(at(2)), raised("go", t=at(2)), execution_completed("done", t=at(2))],
        RuntimeStatus.COMPLETED,
        output="done",
        custom_status=progress,
    )


def unconvertible_status(ctx: OrchestrationContext) -> Any:
    ctx.set_custom_status({"when": object()})
    yield ctx.call_activity("never")


def test_custom_status_that_cannot_become_json_fails_at_the_call() -> None:
    result = replay(unconvertible_status, [], [started()], now=T0)

    details = failure_of(result)
    assert (details.type_name, details.message) == (
        "PayloadError",
        "custom status: cannot convert a value of type object (inside dict, at $.when) to JSON; "
        "use JSON types, datetimes, enums, attrs classes or dataclasses",
    )
    assert result.actions == ()


# -- terminate -----------------------------------------------------------------------------


def waiter_generator(ctx: OrchestrationContext) -> Any:
    deadline = ctx.create_timer(timedelta(hours=1))
    first = yield ctx.when_any([deadline, ctx.wait_for_event("go")])
    yield ctx.call_activity("after", first is deadline)
    return "finished"


async def waiter_async(ctx: OrchestrationContext) -> str:
    deadline = ctx.create_timer(timedelta(hours=1))
    first = await ctx.when_any([deadline, ctx.wait_for_event("go")])
    await ctx.call_activity("after", first is deadline)
    return "finished"


WAITERS = [waiter_generator, waiter_async]
HOUR = at(3600)
WAITING = [episode(T0), started(), timer(0, HOUR, t=T0)]
STILL_WAITING = Waiting(timers=(PendingTimer(seq=0, fire_at=HOUR),), events=("go",))


@pytest.mark.parametrize("orchestrator", WAITERS)
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_terminate_while_waiting_ends_the_instance_with_the_reason(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator, history=WAITING)
    stop = ExecutionTerminated(timestamp=at(5), reason="customer cancelled")

    terminated = run.run([stop, raised("go", t=at(6))], now=at(6))
    assert terminated == decision(
        [episode(at(6)), stop], RuntimeStatus.TERMINATED, output="customer cancelled"
    )

    # Whatever comes afterwards changes nothing and starts nothing.
    after = run.run([fired(0, HOUR)], now=HOUR)
    assert after == decision([episode(HOUR)], RuntimeStatus.TERMINATED, output="customer cancelled")


def two_events_generator(ctx: OrchestrationContext) -> Any:
    first = yield ctx.wait_for_event("a")
    second = yield ctx.wait_for_event("b")
    return (yield ctx.call_activity("note", [first, second]))


async def two_events_async(ctx: OrchestrationContext) -> Any:
    first = await ctx.wait_for_event("a")
    second = await ctx.wait_for_event("b")
    return await ctx.call_activity("note", [first, second])


@pytest.mark.parametrize("orchestrator", [two_events_generator, two_events_async])
def test_terminate_in_the_same_episode_drops_the_calls_made_before_it(orchestrator: Any) -> None:
    events = [
        started(),
        raised("a", 1, t=T0),
        raised("b", 2, t=T0),
        ExecutionTerminated(timestamp=T0, reason="cancelled"),
    ]

    result = replay(orchestrator, [], events, now=at(1))

    assert result == decision(
        [episode(at(1)), *events], RuntimeStatus.TERMINATED, output="cancelled"
    )


# -- suspend and resume --------------------------------------------------------------------


@pytest.mark.parametrize("orchestrator", WAITERS)
@pytest.mark.parametrize("recorder", [Recorder, LiveRecorder])
def test_suspend_queues_events_until_resume_processes_them_in_order(
    orchestrator: Any, recorder: type[Recorder]
) -> None:
    run = recorder(orchestrator, history=WAITING)
    suspend = ExecutionSuspended(timestamp=at(1), reason="audit")

    suspended = run.run([suspend, raised("go", "first", t=at(2))], now=at(2))
    assert suspended == decision(
        [episode(at(2)), suspend, raised("go", "first", t=at(2))],
        RuntimeStatus.SUSPENDED,
        waiting=STILL_WAITING,
    )

    # The timer fires while suspended: queued behind the event, nothing advances.
    still = run.run([fired(0, HOUR)], now=HOUR)
    assert still == decision(
        [episode(HOUR), fired(0, HOUR)], RuntimeStatus.SUSPENDED, waiting=STILL_WAITING
    )

    resume = ExecutionResumed(timestamp=at(4000), reason="audit done")
    resumed = run.run([resume], now=at(4000))
    # The event queued first wins the race, so "after" gets False (not the timer).
    assert resumed == decision(
        [episode(at(4000)), resume, scheduled(1, "after", False, t=at(4000))],
        waiting=Waiting(activities=(PendingActivity(seq=1, name="after", scheduled_at=at(4000)),)),
    )

    done = run.run([completed(1, t=at(4001))], now=at(4001))
    assert done == decision(
        [episode(at(4001)), completed(1, t=at(4001)), execution_completed("finished", t=at(4001))],
        RuntimeStatus.COMPLETED,
        output="finished",
    )


@pytest.mark.parametrize("orchestrator", WAITERS)
def test_suspend_twice_then_resume_once_resumes(orchestrator: Any) -> None:
    suspend = [ExecutionSuspended(timestamp=at(1)), ExecutionSuspended(timestamp=at(2))]
    history = [*WAITING, episode(at(2)), *suspend, raised("go", t=at(2))]
    resume = ExecutionResumed(timestamp=at(3))

    result = replay(orchestrator, history, [resume], now=at(3))

    assert result == decision(
        [episode(at(3)), resume, scheduled(1, "after", False, t=at(3))],
        waiting=Waiting(
            activities=(PendingActivity(seq=1, name="after", scheduled_at=at(3)),),
            timers=(PendingTimer(seq=0, fire_at=HOUR),),
        ),
    )


@pytest.mark.parametrize("orchestrator", WAITERS)
def test_resume_without_suspend_changes_nothing(orchestrator: Any) -> None:
    resume = ExecutionResumed(timestamp=at(1))

    result = replay(orchestrator, WAITING, [resume], now=at(1))

    assert result == decision([episode(at(1)), resume], waiting=STILL_WAITING)


@pytest.mark.parametrize("orchestrator", WAITERS)
def test_terminate_while_suspended_terminates(orchestrator: Any) -> None:
    history = [*WAITING, episode(at(1)), ExecutionSuspended(timestamp=at(1))]
    stop = ExecutionTerminated(timestamp=at(2), reason="gone")

    result = replay(orchestrator, history, [raised("go", t=at(2)), stop], now=at(2))

    assert result == decision(
        [episode(at(2)), raised("go", t=at(2)), stop], RuntimeStatus.TERMINATED, output="gone"
    )
