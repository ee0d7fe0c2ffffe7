"""Rewinding a failed execution, from hand-built histories.

Each test fails an instance episode by episode (`Recorder` replays the history
from scratch every episode, as a worker without a cache does), rewinds it with
an `ExecutionRewound`, and checks what the rewind undid (`undone`), what it
carries out again (`reruns`), and that the rewound history replays identically
from scratch later.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.decision import Decision
from durable._engine.execution import Execution
from durable._engine.replay import replay
from durable._model.definitions import OrchestratorDefinition
from durable._model.events import (
    ExecutionFailed,
    ExecutionRewound,
    HistoryEvent,
    TaskFailed,
)
from durable._model.retry import RetryPolicy
from durable._model.status import (
    PendingActivity,
    PendingSubOrchestration,
    PendingTimer,
    RuntimeStatus,
    Waiting,
)
from durable.errors import ActivityError
from durable.testing import replay as replay_check
from tests.unit.engine.histories import (
    T0,
    LiveRecorder,
    Recorder,
    at,
    child,
    child_completed,
    child_failed,
    completed,
    episode,
    execution_completed,
    failed,
    failure,
    fired,
    scheduled,
    started,
    timer,
)

BOOM = failure("ConnectionError", "reset", bases=("OSError", "Exception", "BaseException"))


def rewound(
    reason: str | None = "retry", *, t: Any, undone: tuple[int, ...] = ()
) -> ExecutionRewound:
    """A rewind request (as a client sends it), or as recorded with `undone`."""
    return ExecutionRewound(timestamp=t, reason=reason, undone=undone)


def positions(history: list[HistoryEvent], *events: HistoryEvent) -> tuple[int, ...]:
    """Where each of `events` is in `history` (each must be there exactly once)."""
    found = []
    for event in events:
        matches = [index for index, each in enumerate(history) if each == event]
        assert len(matches) == 1, (event, matches)
        found.append(matches[0])
    return tuple(found)


def ending(history: list[HistoryEvent]) -> ExecutionFailed:
    """The last ExecutionFailed of `history`."""
    last = [event for event in history if isinstance(event, ExecutionFailed)][-1]
    return last


def assert_replays_identically(orchestrator: Any, run: Recorder) -> None:
    """A fresh execution replays the whole history into the state of the last episode."""
    fresh = replay(orchestrator, run.history)
    last = run.decisions[-1]
    assert (fresh.status, fresh.output, fresh.waiting, fresh.custom_status, fresh.actions) == (
        last.status,
        last.output,
        last.waiting,
        last.custom_status,
        (),
    )
    if last.failure is not None:
        assert fresh.failure is not None
        assert fresh.failure.type_name == last.failure.type_name
    assert replay_check(run.history, orchestrator).ok


# -- a chain: one failed activity ----------------------------------------------------------


async def chain(ctx: OrchestrationContext, x: int) -> list[int]:
    a = await ctx.call_activity("double", x)
    b = await ctx.call_activity("charge", a)
    return [a, b]


def failed_chain() -> Recorder:
    run = Recorder(chain)
    run.run([started(3)], now=T0)
    run.run([completed(0, 6, t=at(1))], now=at(1))
    assert run.run([failed(1, BOOM, t=at(2))], now=at(2)).status is RuntimeStatus.FAILED
    return run


def test_rewind_undoes_the_failure_and_runs_only_the_failed_activity_again() -> None:
    run = failed_chain()
    undone = positions(run.history, failed(1, BOOM, t=at(2)), ending(run.history))

    result = run.run([rewound(t=at(9))], now=at(10))

    assert result == Decision(
        new_events=(episode(at(10)), rewound(t=at(9), undone=undone)),
        actions=(),
        reruns=(scheduled(1, "charge", 6, t=at(1)),),
        status=RuntimeStatus.RUNNING,
        waiting=Waiting(activities=(PendingActivity(seq=1, name="charge", scheduled_at=at(1)),)),
    )

    done = run.run([completed(1, 60, t=at(11))], now=at(11))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, [6, 60])
    assert done.new_events[-1] == execution_completed([6, 60], t=at(11))
    assert_replays_identically(chain, run)


def test_rewind_is_recorded_even_when_the_code_fails_again_at_once() -> None:
    async def strict(ctx: OrchestrationContext, x: int) -> int:
        a = await ctx.call_activity("double", x)
        raise ValueError(f"{a} is too small")

    run = Recorder(strict)
    run.run([started(3)], now=T0)
    run.run([completed(0, 6, t=at(1))], now=at(1))
    first_failure = ending(run.history)

    again = run.run([rewound(t=at(5))], now=at(5))

    assert again.status is RuntimeStatus.FAILED
    assert again.reruns == ()
    assert again.new_events[:2] == (
        episode(at(5)),
        rewound(t=at(5), undone=positions(run.history, first_failure)),
    )
    assert isinstance(again.new_events[2], ExecutionFailed)
    assert_replays_identically(strict, run)


def test_rewinding_twice_undoes_only_the_new_failure_the_second_time() -> None:
    run = failed_chain()
    first_undone = positions(run.history, failed(1, BOOM, t=at(2)), ending(run.history))
    run.run([rewound("first", t=at(3))], now=at(3))
    assert run.run([failed(1, BOOM, t=at(4))], now=at(4)).status is RuntimeStatus.FAILED
    second_undone = positions(run.history, failed(1, BOOM, t=at(4)), ending(run.history))

    result = run.run([rewound("second", t=at(5))], now=at(5))

    assert result.new_events[1] == rewound("second", t=at(5), undone=second_undone)
    assert result.reruns == (scheduled(1, "charge", 6, t=at(1)),)
    recorded = [event for event in run.history if isinstance(event, ExecutionRewound)]
    assert [each.undone for each in recorded] == [first_undone, second_undone]
    done = run.run([completed(1, 60, t=at(6))], now=at(6))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, [6, 60])
    assert_replays_identically(chain, run)


def test_a_rewound_history_split_after_the_rewind_replays_like_the_whole() -> None:
    run = failed_chain()
    run.run([rewound(t=at(3))], now=at(3))
    live = LiveRecorder(chain, history=run.history)

    whole = run.run([completed(1, 60, t=at(4))], now=at(4))
    split = live.run([completed(1, 60, t=at(4))], now=at(4))

    assert split == whole


def test_an_execution_that_was_not_prepared_records_a_rewind_that_undoes_nothing() -> None:
    run = failed_chain()
    execution = Execution(OrchestratorDefinition.of(chain), instance_id="order-1")
    execution.replay(run.history)  # without rewind=True

    result = execution.run([rewound(t=at(3))], now=at(3))

    assert result.new_events[1] == rewound(t=at(3), undone=())
    assert (result.status, result.reruns) == (RuntimeStatus.FAILED, ())


def test_a_rewind_replays_the_whole_history_into_a_fresh_execution() -> None:
    run = failed_chain()
    execution = Execution(OrchestratorDefinition.of(chain), instance_id="order-1")
    execution.replay(run.history[:3])

    with pytest.raises(RuntimeError, match="whole history"):
        execution.replay(run.history[3:], rewind=True)


# -- fan-out ---------------------------------------------------------------------------------


async def tolerant_fan_out(ctx: OrchestrationContext, items: list[str]) -> list[str]:
    tasks = [ctx.call_activity("work", item) for item in items]
    results, failures = [], 0
    for task in tasks:
        try:
            results.append(await task)
        except ActivityError:
            failures += 1
    if failures:
        raise ValueError(f"{failures} of {len(items)} items failed")
    return results


def test_fan_out_with_several_failures_runs_every_failed_item_again() -> None:
    run = Recorder(tolerant_fan_out)
    run.run([started(["a", "b", "c"])], now=T0)
    run.run([failed(0, BOOM, t=at(1))], now=at(1))
    run.run([completed(1, "B", t=at(2))], now=at(2))
    assert run.run([failed(2, BOOM, t=at(3))], now=at(3)).status is RuntimeStatus.FAILED
    undone = positions(
        run.history, failed(0, BOOM, t=at(1)), failed(2, BOOM, t=at(3)), ending(run.history)
    )

    result = run.run([rewound(t=at(4))], now=at(4))

    assert result.new_events[1].undone == undone  # type: ignore[attr-defined]
    assert result.reruns == (scheduled(0, "work", "a", t=T0), scheduled(2, "work", "c", t=T0))
    done = run.run([completed(2, "C", t=at(5)), completed(0, "A", t=at(6))], now=at(6))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, ["A", "B", "C"])
    assert_replays_identically(tolerant_fan_out, run)


async def fail_fast_fan_out(ctx: OrchestrationContext, items: list[str]) -> list[str]:
    return await ctx.when_all([ctx.call_activity("work", item) for item in items])


def test_fan_out_runs_again_the_calls_whose_results_the_failure_lost() -> None:
    run = Recorder(fail_fast_fan_out)
    run.run([started(["a", "b", "c"])], now=T0)
    run.run([completed(1, "B", t=at(1))], now=at(1))
    # "a" fails: when_all fails at once; the result of "c" comes too late and is lost.
    assert run.run([failed(0, BOOM, t=at(2))], now=at(2)).status is RuntimeStatus.FAILED

    result = run.run([rewound(t=at(3))], now=at(3))

    assert result.reruns == (scheduled(0, "work", "a", t=T0), scheduled(2, "work", "c", t=T0))
    assert [each.seq for each in result.waiting.activities] == [0, 2]
    done = run.run([completed(0, "A", t=at(4)), completed(2, "C", t=at(4))], now=at(4))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, ["A", "B", "C"])
    assert_replays_identically(fail_fast_fan_out, run)


async def chains(ctx: OrchestrationContext, items: list[str]) -> list[str]:
    async def two_steps(item: str) -> str:
        first = await ctx.call_activity("one", item)
        return await ctx.call_activity("two", first)  # type: ignore[no-any-return]

    return await ctx.when_all([two_steps(item) for item in items])


def test_a_failure_in_the_episode_of_the_last_call_is_undone_when_the_call_did_not_need_it() -> (
    None
):
    run = Recorder(chains)
    run.run([started(["x", "y"])], now=T0)
    # One episode: "x" goes on to step two (call 2) while "y" fails and fails the instance.
    batch = [completed(0, "X1", t=at(1)), failed(1, BOOM, t=at(1))]
    assert run.run(batch, now=at(1)).status is RuntimeStatus.FAILED
    assert run.history[-2] == scheduled(2, "two", "X1", t=at(1))

    result = run.run([rewound(t=at(2))], now=at(2))

    undone = positions(run.history, failed(1, BOOM, t=at(1)), ending(run.history))
    assert result.new_events[1].undone == undone  # type: ignore[attr-defined]
    assert result.reruns == (scheduled(1, "one", "y", t=T0), scheduled(2, "two", "X1", t=at(1)))
    run.run([completed(1, "Y1", t=at(3)), completed(2, "X2", t=at(3))], now=at(3))
    done = run.run([completed(3, "Y2", t=at(4))], now=at(4))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, ["X2", "Y2"])
    assert_replays_identically(chains, run)


# -- failures the orchestrator caught ------------------------------------------------------


async def careful(ctx: OrchestrationContext, x: int) -> Any:
    try:
        await ctx.call_activity("fragile", x)
    except ActivityError:
        fallback = await ctx.call_activity("fallback", x)
        return {"fallback": fallback}
    return {"fragile": True}


def test_a_failure_the_orchestrator_caught_and_answered_with_a_call_stays() -> None:
    run = Recorder(careful)
    run.run([started(1)], now=T0)
    run.run([failed(0, BOOM, t=at(1))], now=at(1))  # caught: call 1 is the answer to it
    assert run.run([failed(1, BOOM, t=at(2))], now=at(2)).status is RuntimeStatus.FAILED

    result = run.run([rewound(t=at(3))], now=at(3))

    assert result.new_events[1].undone == positions(  # type: ignore[attr-defined]
        run.history, failed(1, BOOM, t=at(2)), ending(run.history)
    )
    assert next(event for event in run.history if isinstance(event, TaskFailed)).seq == 0
    assert result.reruns == (scheduled(1, "fallback", 1, t=at(1)),)
    done = run.run([completed(1, "plan B", t=at(4))], now=at(4))
    assert done.output == {"fallback": "plan B"}
    assert_replays_identically(careful, run)


def test_a_caught_failure_in_the_episode_of_the_last_call_stays_when_the_call_answered_it() -> None:
    async def hasty(ctx: OrchestrationContext, x: int) -> Any:
        fragile = ctx.call_activity("fragile", x)
        other = ctx.call_activity("other", x)
        try:
            await fragile
        except ActivityError:
            ctx.call_activity("report", x)  # the answer to the failure, not awaited
        return await other

    run = Recorder(hasty)
    run.run([started(1)], now=T0)
    # One episode: "fragile" fails (the code calls "report"), then "other" fails too.
    assert run.run([failed(0, BOOM, t=at(1)), failed(1, BOOM, t=at(1))], now=at(1)).status is (
        RuntimeStatus.FAILED
    )

    result = run.run([rewound(t=at(2))], now=at(2))

    # Undoing the first failure would lose the recorded call to "report": it stays.
    assert result.new_events[1].undone == positions(  # type: ignore[attr-defined]
        run.history, failed(1, BOOM, t=at(1)), ending(run.history)
    )
    assert [each.seq for each in result.reruns] == [1, 2]
    assert_replays_identically(hasty, run)


# -- retries ---------------------------------------------------------------------------------

RETRY = RetryPolicy(max_attempts=2, first_interval=timedelta(seconds=10))


async def retried(ctx: OrchestrationContext, x: int) -> int:
    return await ctx.call_activity("charge", x, retry=RETRY)  # type: ignore[no-any-return]


def test_rewind_after_retries_ran_out_runs_the_last_attempt_again_and_keeps_the_others() -> None:
    run = Recorder(retried)
    run.run([started(5)], now=T0)
    run.run([failed(0, BOOM, t=at(1))], now=at(1))
    assert run.history[-1] == timer(1, at(11), t=at(1))
    run.run([fired(1, at(11))], now=at(11))
    assert run.run([failed(2, BOOM, t=at(12))], now=at(12)).status is RuntimeStatus.FAILED

    result = run.run([rewound(t=at(20))], now=at(20))

    assert result.new_events[1].undone == positions(  # type: ignore[attr-defined]
        run.history, failed(2, BOOM, t=at(12)), ending(run.history)
    )
    assert result.reruns == (scheduled(2, "charge", 5, t=at(11)),)
    done = run.run([completed(2, 50, t=at(21))], now=at(21))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, 50)
    assert_replays_identically(retried, run)


def test_a_rewound_attempt_that_fails_again_is_not_retried_further() -> None:
    run = Recorder(retried)
    run.run([started(5)], now=T0)
    run.run([failed(0, BOOM, t=at(1))], now=at(1))
    run.run([fired(1, at(11))], now=at(11))
    run.run([failed(2, BOOM, t=at(12))], now=at(12))
    run.run([rewound(t=at(20))], now=at(20))

    again = run.run([failed(2, BOOM, t=at(21))], now=at(21))

    assert again.status is RuntimeStatus.FAILED
    assert again.actions == ()
    assert_replays_identically(retried, run)


# -- timers and sub-orchestrations -----------------------------------------------------------


async def with_deadline(ctx: OrchestrationContext, x: int) -> Any:
    await ctx.when_all([ctx.create_timer(timedelta(hours=1)), ctx.call_activity("work", x)])
    return "both done"


def test_rewind_sets_again_the_timers_the_failure_dropped() -> None:
    run = Recorder(with_deadline)
    run.run([started(1)], now=T0)
    assert run.run([failed(1, BOOM, t=at(5))], now=at(5)).status is RuntimeStatus.FAILED

    result = run.run([rewound(t=at(6))], now=at(6))

    due = T0 + timedelta(hours=1)
    assert result.reruns == (timer(0, due, t=T0), scheduled(1, "work", 1, t=T0))
    assert result.waiting.timers == (PendingTimer(seq=0, fire_at=due),)
    run.run([completed(1, "ok", t=at(7))], now=at(7))
    done = run.run([fired(0, due)], now=due)
    assert done.output == "both done"
    assert_replays_identically(with_deadline, run)


async def parent(ctx: OrchestrationContext, order: str) -> Any:
    reserved = await ctx.call_activity("reserve", order)
    return await ctx.call_sub_orchestrator("shipping", reserved)


def test_rewind_calls_a_failed_sub_orchestration_again_with_the_same_id() -> None:
    run = Recorder(parent)
    run.run([started("o-1")], now=T0)
    run.run([completed(0, "r-1", t=at(1))], now=at(1))
    assert run.run([child_failed(1, BOOM, t=at(2))], now=at(2)).status is RuntimeStatus.FAILED

    result = run.run([rewound(t=at(3))], now=at(3))

    call = child(1, "shipping", "order-1:1", "r-1", t=at(1))
    assert result.new_events[1].undone == positions(  # type: ignore[attr-defined]
        run.history, child_failed(1, BOOM, t=at(2)), ending(run.history)
    )
    assert result.reruns == (call,)
    assert result.waiting.sub_orchestrations == (
        PendingSubOrchestration(seq=1, name="shipping", instance_id="order-1:1"),
    )
    done = run.run([child_completed(1, "shipped", t=at(4))], now=at(4))
    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, "shipped")
    assert_replays_identically(parent, run)
