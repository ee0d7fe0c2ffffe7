"""Chaining in virtual time: order, retries, the failing step named, saga compensation."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest

from durable import App, OrchestrationContext, RetryPolicy, RuntimeStatus
from durable.errors import InvalidArgumentError
from durable.history import TaskScheduled
from durable.patterns import Chain, ChainStepError, Step, register_chain, run_chain
from durable.testing import Simulation
from tests.patterns.helpers import START, Call, calls

app = App()
STEPS: list[Any] = []


@app.activity
def add_one(value: int) -> int:
    return value + 1


@app.activity
def double(value: int) -> int:
    return value * 2


@app.activity
def book_flight(trip: str) -> str:
    return f"flight-for-{trip}"


@app.activity
def book_hotel(flight: str) -> str:
    return f"hotel-after-{flight}"


@app.activity
def charge(hotel: str) -> str:
    raise RuntimeError(f"card declined for {hotel}")


@app.activity
def cancel_flight(flight: str) -> str:
    return f"cancelled {flight}"


@app.activity
def cancel_hotel(hotel: str) -> str:
    return f"cancelled {hotel}"


SAGA = [
    Step(activity=book_flight, compensate=cancel_flight),
    Step(activity="book_hotel", compensate="cancel_hotel", name="hotel"),
    Step(activity=charge),
]


@app.orchestrator
def generator_chain(ctx: OrchestrationContext, value: int) -> Generator[Any, Any, Any]:
    return (yield run_chain(ctx, [add_one, "double", add_one], value))


@app.orchestrator
async def async_chain(ctx: OrchestrationContext, value: int) -> Any:
    return await run_chain(ctx, [add_one, "double", add_one], value)


@app.orchestrator
async def flaky_chain(ctx: OrchestrationContext, value: int) -> Any:
    policy = RetryPolicy(max_attempts=3, first_interval=timedelta(minutes=1))
    return await run_chain(ctx, [add_one, Step(activity="flaky", retry=policy)], value)


@app.activity
def flaky(value: int) -> int:
    return value


@app.orchestrator
async def async_saga(ctx: OrchestrationContext, trip: str) -> Any:
    return await run_chain(ctx, SAGA, trip)


@app.orchestrator
def generator_saga(ctx: OrchestrationContext, trip: str) -> Generator[Any, Any, Any]:
    return (yield run_chain(ctx, SAGA, trip))


@app.orchestrator
async def caught_saga(ctx: OrchestrationContext, trip: str) -> Any:
    try:
        return await run_chain(ctx, SAGA, trip)
    except ChainStepError as error:
        return {
            "step": error.step,
            "index": error.index,
            "type": error.failure.type_name,
            "compensated": list(error.compensated),
            "failed": [name for name, _ in error.compensation_failures],
        }


@app.orchestrator
async def empty_chain(ctx: OrchestrationContext, value: int) -> Any:
    return await run_chain(ctx, STEPS, value)


register_chain(app, "ready_chain", steps=[add_one, double])


@pytest.fixture
def sim(simulation_factory: Any, durable_seed: int) -> Simulation:
    return simulation_factory(app, start=START, seed=durable_seed)


def _scheduled(sim: Simulation, instance_id: str) -> list[tuple[str, Any]]:
    return [
        (event.name, event.input)
        for event in sim.history(instance_id)
        if isinstance(event, TaskScheduled)
    ]


@pytest.mark.parametrize("orchestrator", [generator_chain, async_chain])
def test_chain_passes_each_output_to_the_next_step(sim: Simulation, orchestrator: Any) -> None:
    instance = sim.start(orchestrator, 3)
    sim.run_until_idle()
    assert (sim.status(instance).status, sim.status(instance).output) == (
        RuntimeStatus.COMPLETED,
        9,
    )
    assert calls(sim) == [
        Call("add_one", 3, START),
        Call("double", 4, START),
        Call("add_one", 8, START),
    ]


def test_chain_retries_a_step_with_its_own_policy_on_durable_timers(
    sim: Simulation,
) -> None:
    attempts: list[int] = []

    def flaky_fake(value: int) -> int:
        attempts.append(value)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return value * 10

    sim.fake("flaky", flaky_fake)
    instance = sim.start(flaky_chain, 1)
    sim.run_until_idle()
    assert sim.status(instance).output == 20
    assert calls(sim) == [
        Call("add_one", 1, START),
        Call("flaky", 2, START),
        Call("flaky", 2, START + timedelta(minutes=1)),
        Call("flaky", 2, START + timedelta(minutes=3)),
    ]


@pytest.mark.parametrize("orchestrator", [generator_saga, async_saga])
def test_chain_failure_names_the_step_after_compensating_in_reverse_order(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, "rome")
    sim.run_until_idle()
    status = sim.status(instance)
    assert status.status is RuntimeStatus.FAILED
    assert status.failure is not None
    assert (status.failure.type_name, status.failure.message) == (
        "ChainStepError",
        "chain step 3 ('charge') failed with RuntimeError: card declined for "
        "hotel-after-flight-for-rome; compensated: hotel, book_flight",
    )
    assert "DurableError" in status.failure.base_type_names
    assert _scheduled(sim, instance) == [
        ("book_flight", "rome"),
        ("book_hotel", "flight-for-rome"),
        ("charge", "hotel-after-flight-for-rome"),
        ("cancel_hotel", "hotel-after-flight-for-rome"),
        ("cancel_flight", "flight-for-rome"),
    ]


def test_chain_runs_the_other_compensations_when_one_fails(sim: Simulation) -> None:
    def broken_cancel(hotel: str) -> str:
        raise OSError("hotel system down")

    sim.fake("cancel_hotel", broken_cancel)
    instance = sim.start(caught_saga, "oslo")
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "step": "charge",
        "index": 2,
        "type": "RuntimeError",
        "compensated": ["book_flight"],
        "failed": ["hotel"],
    }
    assert [name for name, _ in _scheduled(sim, instance)][-2:] == [
        "cancel_hotel",
        "cancel_flight",
    ]


def test_register_chain_registers_a_ready_made_orchestrator_reporting_progress(
    sim: Simulation,
) -> None:
    instance = sim.start("ready_chain", 5)
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.output, status.custom_status) == (12, {"step": 2, "of": 2, "name": "double"})


def test_run_chain_rejects_an_empty_step_list_before_scheduling_anything(
    sim: Simulation,
) -> None:
    instance = sim.start(empty_chain, 1)
    sim.run_until_idle()
    status = sim.status(instance)
    assert status.failure is not None
    assert (status.failure.type_name, status.failure.message) == (
        "InvalidArgumentError",
        "a chain needs at least one step; the step list is empty",
    )
    assert (_scheduled(sim, instance), calls(sim)) == ([], [])


def test_register_chain_rejects_an_empty_step_list() -> None:
    with pytest.raises(InvalidArgumentError, match=r"needs at least one step"):
        register_chain(App(), "nothing", steps=[])


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("add_one", r"chain steps must be a list of steps, got str"),
        ([add_one, 42], r"step 2 must be a registered name .* got int 42"),
    ],
)
def test_chain_of_rejects_malformed_steps(steps: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Chain.of(steps)


def test_step_rejects_a_retry_that_is_not_a_policy() -> None:
    with pytest.raises(InvalidArgumentError, match=r"step retry must be a RetryPolicy or None"):
        Step(activity="a", retry=3)  # type: ignore[arg-type]


def test_step_rejects_a_compensation_that_is_not_an_activity() -> None:
    with pytest.raises(InvalidArgumentError, match=r"step compensate must be a registered name"):
        Step(activity="a", compensate="")


def test_step_label_is_the_name_or_the_activity_name() -> None:
    assert [step.label for step in Chain.of([add_one, "double", SAGA[1]]).steps] == [
        "add_one",
        "double",
        "hotel",
    ]
