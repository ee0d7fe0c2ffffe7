"""Simulation fakes and faults: fake results, injected failures, delays, worker crashes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest

from durable import App, FailureDetails, OrchestrationContext, RuntimeStatus
from durable.errors import ActivityNotFoundError, InvalidArgumentError
from durable.testing import InjectedFailure, Simulation, SimulationError
from tests.testing.workflows import T0, make_app

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def app() -> App:
    return make_app()


def outcomes(simulation: Simulation) -> list[tuple[str, int, Any, str]]:
    """(name, attempt, time offset, outcome) of every call."""
    return [(c.name, c.attempt, c.at - T0, c.outcome) for c in simulation.calls()]


def run(simulation: Simulation, orchestrator: str, value: Any = None) -> str:
    instance_id = simulation.start(orchestrator, value)
    simulation.run_until_idle()
    return instance_id


# -- fakes ------------------------------------------------------------------------------------


def test_fake_constant_answers_every_call(simulation: Simulation) -> None:
    simulation.fake("double", 100)
    instance_id = run(simulation, "chain", 3)
    assert (simulation.status(instance_id).output, [c.faked for c in simulation.calls()]) == (
        100,
        [True, True],
    )


def test_fake_function_gets_the_structured_input(simulation: Simulation) -> None:
    simulation.fake("double", lambda value: value + 1)
    instance_id = run(simulation, "chain", 3)
    assert simulation.status(instance_id).output == 5


def test_fake_async_function_is_awaited(simulation: Simulation) -> None:
    async def plus_ten(value: int) -> int:
        return value + 10

    simulation.fake("double", plus_ten)
    instance_id = run(simulation, "chain", 1)
    assert simulation.status(instance_id).output == 21


def test_fake_exception_fails_every_call(simulation: Simulation) -> None:
    simulation.fake("double", ValueError("boom"))
    instance_id = run(simulation, "chain", 3)
    status, call = simulation.status(instance_id), simulation.calls()[0]
    assert (status.status, status.failure and status.failure.type_name) == (
        RuntimeStatus.FAILED,
        "ActivityError",
    )
    assert (call.outcome, call.failure and call.failure.type_name, call.failure.message) == (
        "failed",
        "ValueError",
        "boom",
    )


def test_fake_sequence_is_consumed_in_order_results_and_errors(simulation: Simulation) -> None:
    simulation.fake("double", sequence=[7, KeyError("second")])
    instance_id = run(simulation, "chain", 3)
    assert [(c.input, c.outcome, c.output) for c in simulation.calls()] == [
        (3, "completed", 7),
        (7, "failed", None),
    ]
    assert simulation.status(instance_id).status is RuntimeStatus.FAILED


def test_fake_sequence_that_runs_out_stops_the_simulation(simulation: Simulation) -> None:
    simulation.fake("double", sequence=[7])
    simulation.start("chain", 3)
    with pytest.raises(SimulationError, match=r"fake of activity 'double' ran out: .* call 2"):
        simulation.run_until_idle()


def test_fake_answers_an_activity_registered_by_name_only(simulation: Simulation) -> None:
    simulation.fake("charge", lambda amount: f"receipt for {amount}")
    instance_id = run(simulation, "pay", 5)
    assert simulation.status(instance_id).output == "receipt for 5"


def test_activity_registered_by_name_only_and_not_faked_fails_the_call(
    simulation: Simulation,
) -> None:
    run(simulation, "pay", 5)
    failure = simulation.calls()[0].failure
    assert (failure and failure.type_name, failure and failure.non_retryable) == (
        "ActivityNotFoundError",
        True,
    )


def test_fake_of_an_unregistered_activity_fails(simulation: Simulation) -> None:
    with pytest.raises(ActivityNotFoundError, match="'missing'"):
        simulation.fake("missing", 1)


@pytest.mark.parametrize("arguments", [{}, {"result": 1, "sequence": [1]}], ids=["neither", "both"])
def test_fake_takes_a_result_or_a_sequence_exactly(
    simulation: Simulation, arguments: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError, match=r"a result .* or sequence=\[...\], exactly one"):
        simulation.fake("double", **arguments)


# -- failures ---------------------------------------------------------------------------------


def test_fail_times_fails_the_first_calls_and_retries_run_on_virtual_timers(
    simulation: Simulation,
) -> None:
    simulation.fail("flaky", times=2)
    instance_id = run(simulation, "retried", 5)
    assert (simulation.status(instance_id).output, outcomes(simulation)) == (
        5,
        [
            ("flaky", 1, timedelta(0), "failed"),
            ("flaky", 1, MINUTE, "failed"),
            ("flaky", 1, 3 * MINUTE, "completed"),
        ],
    )
    first = simulation.calls()[0].failure
    assert first is not None
    assert attrs.evolve(first, traceback=None) == FailureDetails(
        type_name="InjectedFailure",
        message="injected failure of activity 'flaky' (call 1, set to fail)",
        base_type_names=("RuntimeError", "Exception", "BaseException"),
    )


def test_fail_more_times_than_retries_fails_the_instance(simulation: Simulation) -> None:
    simulation.fail("flaky", times=3, error=ConnectionError)
    instance_id = run(simulation, "retried", 5)
    failure = simulation.status(instance_id).failure
    assert (failure and failure.message, [c.outcome for c in simulation.calls()]) == (
        "activity 'flaky' failed with ConnectionError: injected failure of activity 'flaky' "
        "(call 3, set to fail)",
        ["failed", "failed", "failed"],
    )


def test_fail_raises_the_given_exception_instance(simulation: Simulation) -> None:
    simulation.fail("double", times=1, error=TimeoutError("gateway slow"))
    run(simulation, "chain", 1)
    failure = simulation.calls()[0].failure
    assert (failure and failure.type_name, failure and failure.message) == (
        "TimeoutError",
        "gateway slow",
    )


def test_fail_counts_calls_from_when_it_is_set(simulation: Simulation) -> None:
    run(simulation, "chain", 1)
    simulation.fail("double", times=1)
    run(simulation, "chain", 1)
    assert [c.outcome for c in simulation.calls()] == ["completed", "completed", "failed"]


def test_fail_with_probability_fails_a_seeded_share_of_calls(app: App) -> None:
    def pattern(seed: int) -> list[str]:
        with Simulation(app, seed=seed) as simulation:
            simulation.fail("double", probability=0.5)
            run(simulation, "fan_out", list(range(40)))
            return [c.outcome for c in simulation.calls()]

    first, again = pattern(4), pattern(4)
    assert (first == again, 5 < first.count("failed") < 35) == (True, True)


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_fail_with_probability_zero_or_one_never_or_always_fails(
    simulation: Simulation, probability: float
) -> None:
    simulation.fail("double", probability=probability)
    run(simulation, "fan_out", [1, 2, 3])
    failed = [c.outcome == "failed" for c in simulation.calls()]
    assert failed == [probability == 1.0] * 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "times=N or probability=p, exactly one"),
        ({"times": 1, "probability": 0.5}, "times=N or probability=p, exactly one"),
        ({"times": -1}, "times must be at least 0"),
        ({"probability": 1.5}, "probability must be from 0 to 1"),
        ({"probability": "often"}, "probability must be a number"),
    ],
)
def test_fail_rejects_bad_arguments(
    simulation: Simulation, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        simulation.fail("double", **arguments)


def test_fail_on_an_unregistered_activity_fails(simulation: Simulation) -> None:
    with pytest.raises(ActivityNotFoundError, match="'missing'"):
        simulation.fail("missing", times=1)


# -- delays -----------------------------------------------------------------------------------


def test_delay_holds_each_result_back_for_that_virtual_time(simulation: Simulation) -> None:
    simulation.delay("double", 2 * HOUR)
    instance_id = simulation.start("chain", 3)
    simulation.advance(HOUR)
    assert simulation.status(instance_id).status is RuntimeStatus.RUNNING
    simulation.run_until_idle()
    assert (
        simulation.status(instance_id).completed_at,
        [(c.at - T0, c.delivered_at and c.delivered_at - T0) for c in simulation.calls()],
    ) == (T0 + 4 * HOUR, [(timedelta(0), 2 * HOUR), (2 * HOUR, 4 * HOUR)])


def test_delay_longer_than_the_lease_does_not_run_the_activity_twice(app: App) -> None:
    with Simulation(app, lease=MINUTE) as simulation:
        simulation.delay("double", timedelta(days=2))
        run(simulation, "chain", 1)
        assert [c.attempt for c in simulation.calls()] == [1, 1]


@pytest.mark.parametrize("duration", [timedelta(seconds=-1), 60])
def test_delay_rejects_negative_or_non_timedelta_durations(
    simulation: Simulation, duration: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match="delay needs a timedelta of 0 or more"):
        simulation.delay("double", duration)


# -- crashes ----------------------------------------------------------------------------------


def counting_app() -> tuple[App, list[str]]:
    """An app whose orchestrator notes each time its function is called afresh."""
    app, starts = App(), []

    @app.activity
    def step(value: int) -> int:
        return value + 1

    @app.orchestrator
    def counted(ctx: OrchestrationContext, value: int) -> Iterator[Any]:
        starts.append("start")
        first = yield ctx.call_activity(step, value)
        second = yield ctx.call_activity(step, first)
        return second

    return app, starts


def test_crash_drops_work_in_flight_which_is_retried_after_its_lease(app: App) -> None:
    with Simulation(app, lease=MINUTE) as simulation:
        simulation.delay("double", 2 * HOUR)
        instance_id = simulation.start("chain", 3)
        simulation.advance(HOUR)
        simulation.crash()
        simulation.run_until_idle()
        assert (simulation.status(instance_id).output, outcomes(simulation)) == (
            12,
            [
                ("double", 1, timedelta(0), "lost"),
                ("double", 2, HOUR + MINUTE, "completed"),
                ("double", 1, 3 * HOUR + MINUTE, "completed"),
            ],
        )


def test_crash_makes_the_next_episode_replay_from_the_store() -> None:
    app, starts = counting_app()
    with Simulation(app, replay_check=False) as simulation:
        simulation.delay("step", HOUR)
        instance_id = simulation.start("counted", 1)
        simulation.advance(HOUR)  # the first result is in; the second call is in flight
        simulation.crash()
        simulation.run_until_idle()
        assert (simulation.status(instance_id).output, len(starts)) == (3, 2)


def test_without_a_crash_the_cached_execution_runs_every_episode() -> None:
    app, starts = counting_app()
    with Simulation(app, replay_check=False) as simulation:
        simulation.delay("step", HOUR)
        simulation.start("counted", 1)
        simulation.run_until_idle()
        assert len(starts) == 1


def test_crash_at_a_virtual_time_happens_then(app: App) -> None:
    with Simulation(app, lease=MINUTE) as simulation:
        simulation.delay("double", 2 * HOUR)
        simulation.start("chain", 3)
        simulation.crash(at=HOUR)
        simulation.run_until_idle()
        assert [(c.attempt, c.outcome) for c in simulation.calls()][:2] == [
            (1, "lost"),
            (2, "completed"),
        ]


def test_crash_with_probability_one_crashes_after_every_episode_and_work_still_finishes() -> None:
    app, starts = counting_app()
    with Simulation(app, replay_check=False) as simulation:
        simulation.crash(probability=1.0)
        instance_id = simulation.start("counted", 1)
        simulation.run_until_idle()
        assert (simulation.status(instance_id).output, len(starts)) == (3, 3)


@pytest.mark.parametrize(
    "arguments", [{"probability": 2.0}, {"probability": 0.5, "at": HOUR}, {"at": -HOUR}]
)
def test_crash_rejects_bad_arguments(simulation: Simulation, arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError, match=r"crash\(probability=p\)|negative delay"):
        simulation.crash(**arguments)


def test_injected_failure_is_a_runtime_error_as_user_code_would_raise() -> None:
    assert issubclass(InjectedFailure, RuntimeError)
