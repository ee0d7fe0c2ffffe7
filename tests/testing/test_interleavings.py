"""Seeded interleavings: the seed orders concurrent work; `explore` and the pytest form."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest

from durable import App, OrchestrationContext, Task
from durable.testing import ExplorationError, Simulation, explore
from tests.testing.workflows import make_app


@pytest.fixture
def app() -> App:
    return make_app()


def completion_order(app: App, seed: int) -> list[int]:
    with Simulation(app, seed=seed) as simulation:
        simulation.start("fan_out", [1, 2, 3, 4, 5])
        simulation.run_until_idle()
        return [call.input for call in simulation.calls()]


def test_one_seed_orders_concurrent_activities_the_same_way_every_time(app: App) -> None:
    assert completion_order(app, 3) == completion_order(app, 3)


def test_seeds_order_concurrent_activities_differently(app: App) -> None:
    orders = {tuple(completion_order(app, seed)) for seed in range(10)}
    assert len(orders) > 1


def test_seeds_order_the_episodes_of_concurrent_instances_differently(app: App) -> None:
    def call_order(seed: int) -> tuple[str, ...]:
        with Simulation(app, seed=seed) as simulation:
            for n in range(3):
                simulation.start("chain", n, instance_id=f"i{n}")
            simulation.run_until_idle()
            return tuple(call.instance_id for call in simulation.calls())

    assert len({call_order(seed) for seed in range(8)}) > 1


def racing_app() -> App:
    """Two activities race; the orchestrator reports which one it saw first."""
    app = App()

    @app.activity
    def left() -> str:
        return "left"

    @app.activity
    def right() -> str:
        return "right"

    @app.orchestrator
    def race(ctx: OrchestrationContext) -> Generator[Task[Any], Any, str]:
        first = yield ctx.when_any([ctx.call_activity(left), ctx.call_activity(right)])
        return str(first.result)

    return app


def first_past_the_post(simulation: Simulation) -> str:
    instance_id = simulation.start("race")
    simulation.run_until_idle()
    output = simulation.status(instance_id).output
    assert output == "left", f"right won with seed {simulation.seed}"
    return str(output)


def test_explore_returns_each_seeds_result() -> None:
    results = explore(lambda simulation: simulation.seed * 2, seeds=[3, 1, 2], app=racing_app())
    assert results == {3: 6, 1: 2, 2: 4}


def test_explore_names_the_seed_whose_interleaving_fails_and_it_reruns_alone() -> None:
    app = racing_app()
    with pytest.raises(ExplorationError, match=r"the scenario failed with seed \d+") as caught:
        explore(first_past_the_post, seeds=range(20), app=app)
    error = caught.value
    assert (isinstance(error.error, AssertionError), error.__cause__ is error.error) == (True, True)
    with Simulation(app, seed=error.seed) as simulation, pytest.raises(AssertionError):
        first_past_the_post(simulation)
    assert f"Simulation(app, seed={error.seed})" in str(error)


@pytest.mark.durable_seeds(4)
def test_durable_seeds_marker_runs_the_simulation_fixture_under_each_seed(
    simulation: Simulation, durable_seed: int, request: pytest.FixtureRequest
) -> None:
    assert (simulation.seed, request.node.callspec.id) == (durable_seed, f"seed={durable_seed}")


@pytest.mark.durable_seeds([7, 9])
def test_durable_seeds_marker_takes_explicit_seeds(
    simulation: Simulation, durable_seed: int
) -> None:
    assert simulation.seed == durable_seed in (7, 9)


def test_an_event_arriving_as_a_timer_fires_wins_or_loses_the_race_by_seed() -> None:
    app = App()

    @app.orchestrator
    def deadline(ctx: OrchestrationContext) -> Generator[Task[Any], Any, str]:
        answer = ctx.wait_for_event("answer")
        winner = yield ctx.when_any([answer, ctx.create_timer(timedelta(hours=1))])
        return "answer" if winner is answer else "timer"

    def winner(simulation: Simulation) -> str:
        instance_id = simulation.start(deadline)
        simulation.raise_event(instance_id, "answer", at=timedelta(hours=1))
        simulation.run_until_idle()
        return str(simulation.status(instance_id).output)

    first, again = explore(winner, seeds=range(12), app=app), explore(winner, range(12), app=app)
    assert (first == again, set(first.values())) == (True, {"answer", "timer"})
