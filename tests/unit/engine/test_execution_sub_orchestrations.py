"""Sub-orchestrations from hand-built histories: ids, results, failures, retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.definitions import OrchestratorDefinition
from durable._model.events import ExecutionFailed, SubOrchestrationCreated
from durable._model.retry import RetryPolicy
from durable._model.status import PendingSubOrchestration, RuntimeStatus, Waiting
from durable.errors import SubOrchestratorError
from tests.unit.engine.histories import (
    INSTANCE,
    T0,
    DictRegistry,
    Recorder,
    at,
    child,
    child_completed,
    child_failed,
    completed,
    decision,
    episode,
    execution_completed,
    failure,
    failure_of,
    fired,
    scheduled,
    started,
    timer,
)

CHILD_FAILURE = failure(
    "ValueError", "no stock", bases=("Exception", "BaseException"), traceback="Traceback ...\n"
)


def parent_generator(ctx: OrchestrationContext, order: str) -> Any:
    reserved = yield ctx.call_activity("reserve", order)
    try:
        shipped = yield ctx.call_sub_orchestrator("shipping", reserved)
    except SubOrchestratorError as error:
        return {
            "orchestrator": error.orchestrator,
            "instance_id": error.instance_id,
            "type_name": error.type_name,
            "message": str(error),
            "traceback": error.failure.traceback,
        }
    return {"shipped": shipped}


async def parent_async(ctx: OrchestrationContext, order: str) -> Any:
    reserved = await ctx.call_activity("reserve", order)
    try:
        shipped = await ctx.call_sub_orchestrator("shipping", reserved)
    except SubOrchestratorError as error:
        return {
            "orchestrator": error.orchestrator,
            "instance_id": error.instance_id,
            "type_name": error.type_name,
            "message": str(error),
            "traceback": error.failure.traceback,
        }
    return {"shipped": shipped}


PARENTS = [parent_generator, parent_async]
BEFORE_CHILD = [
    episode(T0),
    started("o-7"),
    scheduled(0, "reserve", "o-7", t=T0),
    episode(at(1)),
    completed(0, "box-3", t=at(1)),
    child(1, "shipping", f"{INSTANCE}:1", "box-3", t=at(1)),
]


@pytest.mark.parametrize("orchestrator", PARENTS)
def test_sub_orchestration_gets_the_default_id_parent_colon_seq(orchestrator: Any) -> None:
    run = Recorder(orchestrator, history=BEFORE_CHILD[:3])

    result = run.run([completed(0, "box-3", t=at(1))], now=at(1))

    assert result == decision(
        BEFORE_CHILD[3:],
        waiting=Waiting(
            sub_orchestrations=(
                PendingSubOrchestration(seq=1, name="shipping", instance_id="order-1:1"),
            )
        ),
    )


@pytest.mark.parametrize("orchestrator", PARENTS)
def test_sub_orchestration_success_returns_its_output(orchestrator: Any) -> None:
    result = replay(
        orchestrator, BEFORE_CHILD, [child_completed(1, "tracking-9", t=at(2))], now=at(2)
    )

    assert result == decision(
        [
            episode(at(2)),
            child_completed(1, "tracking-9", t=at(2)),
            execution_completed({"shipped": "tracking-9"}, t=at(2)),
        ],
        RuntimeStatus.COMPLETED,
        output={"shipped": "tracking-9"},
    )


@pytest.mark.parametrize("orchestrator", PARENTS)
def test_sub_orchestration_failure_is_raised_as_sub_orchestrator_error(orchestrator: Any) -> None:
    result = replay(
        orchestrator, BEFORE_CHILD, [child_failed(1, CHILD_FAILURE, t=at(2))], now=at(2)
    )

    output = {
        "orchestrator": "shipping",
        "instance_id": "order-1:1",
        "type_name": "ValueError",
        "message": "sub-orchestration 'shipping' (order-1:1) failed with ValueError: no stock",
        "traceback": "Traceback ...\n",
    }
    assert result == decision(
        [
            episode(at(2)),
            child_failed(1, CHILD_FAILURE, t=at(2)),
            execution_completed(output, t=at(2)),
        ],
        RuntimeStatus.COMPLETED,
        output=output,
    )


def uncaught(ctx: OrchestrationContext) -> Any:
    return (yield ctx.call_sub_orchestrator("shipping", instance_id="ship-o-7"))


def test_sub_orchestration_failure_not_caught_fails_the_parent() -> None:
    history = [episode(T0), started(), child(0, "shipping", "ship-o-7", t=T0)]

    result = replay(uncaught, history, [child_failed(0, CHILD_FAILURE, t=at(1))], now=at(1))

    details = failure_of(result)
    assert (details.type_name, details.message) == (
        "SubOrchestratorError",
        "sub-orchestration 'shipping' (ship-o-7) failed with ValueError: no stock",
    )
    assert result.new_events == (
        episode(at(1)),
        child_failed(0, CHILD_FAILURE, t=at(1)),
        ExecutionFailed(timestamp=at(1), failure=details),
    )


def test_sub_orchestration_explicit_id_and_registered_version_are_recorded() -> None:
    registry = DictRegistry(
        orchestrators=[OrchestratorDefinition.of(uncaught, name="shipping", version="2")]
    )

    result = replay(uncaught, [], [started()], now=T0, registry=registry)

    created = SubOrchestrationCreated(
        timestamp=T0, seq=0, name="shipping", instance_id="ship-o-7", version="2"
    )
    assert result == decision(
        [episode(T0), started(), created],
        waiting=Waiting(
            sub_orchestrations=(
                PendingSubOrchestration(seq=0, name="shipping", instance_id="ship-o-7"),
            )
        ),
    )


def shipping(ctx: OrchestrationContext, box: str) -> Any:
    yield ctx.call_activity("label", box)
    raise LookupError(f"no carrier for {box}")


def retrying_parent(ctx: OrchestrationContext) -> Any:
    policy = RetryPolicy(max_attempts=2, first_interval=timedelta(seconds=30))
    try:
        return (yield ctx.call_sub_orchestrator(shipping, "box-3", retry=policy))
    except SubOrchestratorError as error:
        return f"gave up on {error.instance_id}: {error.failure.message}"


def test_sub_orchestration_that_raised_is_retried_as_a_new_child() -> None:
    # The child's own decision says how it failed; the parent gets that failure.
    child_history = [episode(T0), started("box-3", name="shipping", instance_id="order-1:0")]
    child_history.append(scheduled(0, "label", "box-3", t=T0))
    child_failure = failure_of(
        replay(shipping, child_history, [completed(0, None, t=at(1))], now=at(1))
    )
    assert (child_failure.type_name, child_failure.non_retryable) == ("LookupError", False)

    run = Recorder(retrying_parent)
    run.run([started()], now=T0)
    retried = run.run([child_failed(0, child_failure, t=at(2))], now=at(2))
    assert retried.actions == (timer(1, at(32), t=at(2)),)

    second = run.run([fired(1, at(32))], now=at(32))
    assert second.actions == (child(2, "shipping", "order-1:2", "box-3", t=at(32)),)

    gave_up = run.run([child_failed(2, child_failure, t=at(33))], now=at(33))
    assert gave_up.output == "gave up on order-1:2: no carrier for box-3"
