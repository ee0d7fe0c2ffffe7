"""Fan-out/fan-in in virtual time: input order, the max_parallel bound, failure policies, scale."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import timedelta
from typing import Any

import pytest

from durable import App, OrchestrationContext, RuntimeStatus
from durable.errors import InvalidArgumentError
from durable.history import HistoryEvent, TaskCompleted, TaskFailed, TaskScheduled
from durable.patterns import FanOut, FanOutError, fan_out, register_fan_out
from durable.testing import Simulation
from tests.patterns.helpers import START, Call, calls

app = App()
LIMIT: dict[str, Any] = {"max_parallel": 0}


@app.activity
def square(value: int) -> int:
    if value < 0:
        raise ValueError(f"negative: {value}")
    return value * value


@app.activity
def total(values: list[int | None]) -> int:
    return sum(value for value in values if value is not None)


@app.orchestrator
async def sleepy(ctx: OrchestrationContext, hours: int) -> int:
    await ctx.create_timer(timedelta(hours=hours))
    return hours * 10


@app.orchestrator
def generator_squares(ctx: OrchestrationContext, items: list[int]) -> Generator[Any, Any, Any]:
    return (yield fan_out(ctx, items, activity=square, max_parallel=2))


@app.orchestrator
async def async_squares(ctx: OrchestrationContext, items: list[int]) -> Any:
    return await fan_out(ctx, items, activity="square", max_parallel=2)


@app.orchestrator
async def one_at_a_time(ctx: OrchestrationContext, items: list[int]) -> Any:
    return await fan_out(ctx, items, activity=square, max_parallel=1)


@app.orchestrator
async def caught_fail_fast(ctx: OrchestrationContext, items: list[int]) -> Any:
    try:
        return await fan_out(ctx, items, activity=square)
    except FanOutError as error:
        return {"index": error.index, "target": error.target, "type": error.failure.type_name}


@app.orchestrator
def generator_collect(ctx: OrchestrationContext, items: list[int]) -> Generator[Any, Any, Any]:
    result = yield fan_out(ctx, items, activity=square, failure_policy="collect", aggregate=total)
    return _summary(result)


@app.orchestrator
async def async_collect(ctx: OrchestrationContext, items: list[int]) -> Any:
    result = await fan_out(ctx, items, activity=square, failure_policy="collect", aggregate="total")
    return _summary(result)


def _summary(result: Any) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "results": result.results,
        "failed": [(each.index, each.failure.message) for each in result.failures],
        "aggregate": result.aggregate,
    }


@app.orchestrator
async def aggregated(ctx: OrchestrationContext, items: list[int]) -> Any:
    return await fan_out(ctx, items, activity=square, aggregate=total, max_parallel=3)


@app.orchestrator
async def squares_up_to(ctx: OrchestrationContext, spec: dict[str, Any]) -> Any:
    # The items are made here, not passed in, so that the instance's input stays small:
    # the store decodes an instance's input on every episode.
    items = list(range(spec["count"]))
    limit, aggregate = spec.get("max_parallel"), total if spec.get("total") else None
    return await fan_out(ctx, items, activity=square, max_parallel=limit, aggregate=aggregate)


@app.orchestrator
def generator_children(ctx: OrchestrationContext, items: list[int]) -> Generator[Any, Any, Any]:
    return (yield fan_out(ctx, items, sub_orchestrator=sleepy, max_parallel=2))


@app.orchestrator
async def async_children(ctx: OrchestrationContext, items: list[int]) -> Any:
    return await fan_out(ctx, items, sub_orchestrator="sleepy")


@app.orchestrator
async def bad_limit(ctx: OrchestrationContext, items: list[int]) -> Any:
    return await fan_out(ctx, items, activity=square, **LIMIT)


register_fan_out(app, "ready_fan_out", activity=square, max_parallel=4, aggregate=total)


@pytest.fixture
def sim(simulation_factory: Any, durable_seed: int) -> Simulation:
    return simulation_factory(app, start=START, seed=durable_seed)


def _most_outstanding(history: Sequence[HistoryEvent]) -> int:
    outstanding = most = 0
    for event in history:
        if isinstance(event, TaskScheduled):
            outstanding += 1
            most = max(most, outstanding)
        elif isinstance(event, TaskCompleted | TaskFailed):
            outstanding -= 1
    return most


def _scheduled_inputs(sim: Simulation, instance: str) -> list[Any]:
    return [event.input for event in sim.history(instance) if isinstance(event, TaskScheduled)]


@pytest.mark.durable_seeds(5)
@pytest.mark.parametrize("orchestrator", [generator_squares, async_squares])
def test_fan_out_returns_results_in_input_order_within_max_parallel(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, [1, 2, 3, 4, 5])
    sim.run_until_idle()
    assert sim.status(instance).output == [1, 4, 9, 16, 25]
    assert _most_outstanding(sim.history(instance)) == 2
    ran = sorted(calls(sim), key=lambda call: call.input)
    assert ran == [Call("square", value, START) for value in [1, 2, 3, 4, 5]]


@pytest.mark.durable_seeds(5)
@pytest.mark.parametrize("orchestrator", [generator_children, async_children])
def test_fan_out_over_sub_orchestrators_keeps_input_order_when_they_finish_out_of_order(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, [3, 1, 2])
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, [30, 10, 20])


def test_fan_out_bound_delays_items_until_a_lane_is_free(sim: Simulation) -> None:
    instance = sim.start(generator_children, [3, 1, 2])
    sim.run_until_idle()
    assert sim.status(instance).completed_at == START + timedelta(hours=3)
    assert [sim.status(f"{instance}:{seq}").output for seq in range(3)] == [30, 10, 20]
    assert sim.status(f"{instance}:2").created_at == START + timedelta(hours=1)


def test_fan_out_fail_fast_names_the_item_and_starts_no_further_items(
    sim: Simulation,
) -> None:
    instance = sim.start(one_at_a_time, [1, -2, 3, 4])
    sim.run_until_idle()
    status = sim.status(instance)
    assert status.failure is not None
    assert (status.failure.type_name, status.failure.message) == (
        "FanOutError",
        "fan-out of 'square': item 1 (of 4) failed with ValueError: negative: -2",
    )
    assert _scheduled_inputs(sim, instance) == [1, -2]


def test_fan_out_fail_fast_error_can_be_caught(sim: Simulation) -> None:
    instance = sim.start(caught_fail_fast, [1, 2, -3])
    sim.run_until_idle()
    assert sim.status(instance).output == {"index": 2, "target": "square", "type": "ValueError"}


@pytest.mark.durable_seeds(5)
@pytest.mark.parametrize("orchestrator", [generator_collect, async_collect])
def test_fan_out_collect_finishes_every_item_and_reports_each_failure(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, [-1, 2, -3, 4])
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "ok": False,
        "results": [None, 4, None, 16],
        "failed": [[0, "negative: -1"], [2, "negative: -3"]],
        "aggregate": 20,
    }
    assert calls(sim)[-1] == Call("total", [None, 4, None, 16], START)


@pytest.mark.durable_seeds(5)
def test_fan_out_aggregation_output_is_the_result(sim: Simulation) -> None:
    instance = sim.start(aggregated, [1, 2, 3, 4])
    sim.run_until_idle()
    assert sim.status(instance).output == 30
    assert _most_outstanding(sim.history(instance)) == 3


def test_fan_out_over_no_items_returns_an_empty_list(sim: Simulation) -> None:
    instance = sim.start(async_squares, [])
    sim.run_until_idle()
    assert (sim.status(instance).output, calls(sim)) == ([], [])


@pytest.mark.durable_seeds(5)
def test_register_fan_out_registers_a_ready_made_orchestrator(sim: Simulation) -> None:
    instance = sim.start("ready_fan_out", list(range(10)))
    sim.run_until_idle()
    assert sim.status(instance).output == 285
    assert _most_outstanding(sim.history(instance)) == 4


def test_fan_out_of_10000_items_keeps_the_bound_and_the_order(simulation_factory: Any) -> None:
    sim = simulation_factory(app, start=START, replay_check=False)
    instance = sim.start(squares_up_to, {"count": 10_000, "max_parallel": 10})
    sim.run_until_idle()
    assert sim.status(instance).output == [value * value for value in range(10_000)]
    history = sim.history(instance)
    assert _most_outstanding(history) == 10
    assert sum(isinstance(event, TaskScheduled) for event in history) == 10_000


def test_fan_out_of_all_items_at_once_schedules_them_in_one_episode(
    simulation_factory: Any,
) -> None:
    # 500, not 10,000: the simulation's scheduler re-reads every pending message at
    # every step, so thousands of results outstanding at once cost it quadratic time.
    sim = simulation_factory(app, start=START, replay_check=False)
    instance = sim.start(squares_up_to, {"count": 500, "total": True})
    sim.run_until_idle()
    assert sim.status(instance).output == sum(value * value for value in range(500))
    assert _most_outstanding(sim.history(instance)) == 500


def test_fan_out_rejects_a_bad_max_parallel_before_scheduling_anything(
    sim: Simulation,
) -> None:
    instance = sim.start(bad_limit, [1, 2])
    sim.run_until_idle()
    status = sim.status(instance)
    assert status.failure is not None
    assert (status.failure.type_name, status.failure.message) == (
        "InvalidArgumentError",
        "max_parallel must be an int of at least 1, got 0",
    )
    assert calls(sim) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"activity": "square", "max_parallel": 0}, r"max_parallel must be an int of at least 1"),
        ({"activity": "square", "max_parallel": -3}, r"max_parallel .* got -3"),
        ({"activity": "square", "max_parallel": True}, r"max_parallel .* got True"),
        ({"activity": "square", "max_parallel": "2"}, r"max_parallel .* got '2'"),
        ({}, r"exactly one of activity= and sub_orchestrator=, got neither"),
        ({"activity": "a", "sub_orchestrator": "b"}, r"got both"),
        ({"activity": 7}, r"activity must be a registered name"),
        ({"activity": "a", "failure_policy": "explode"}, r"'fail_fast' or 'collect'"),
        ({"activity": "a", "aggregate": ""}, r"aggregate must be a registered name"),
        ({"activity": "a", "retry": 3}, r"retry must be a RetryPolicy"),
    ],
)
def test_fan_out_spec_rejects_bad_arguments(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        FanOut(**arguments)


def test_register_fan_out_rejects_a_bad_max_parallel() -> None:
    with pytest.raises(InvalidArgumentError, match=r"max_parallel must be an int of at least 1"):
        register_fan_out(App(), "bad", activity="square", max_parallel=0)
