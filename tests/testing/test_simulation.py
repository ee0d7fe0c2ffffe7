"""Simulation: starting instances, moving virtual time, raising events, reading results."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from durable import App, RuntimeStatus
from durable.errors import (
    ActivityNotFoundError,
    InstanceExistsError,
    InstanceFinishedError,
    InstanceNotFoundError,
    InvalidArgumentError,
    OrchestratorNotFoundError,
)
from durable.history import EventRaised, ExecutionTerminated, HistoryEvent
from durable.testing import ActivityCallRecord, Simulation, SimulationError
from tests.testing.workflows import T0, make_app


@pytest.fixture
def app() -> App:
    return make_app()


def kinds(events: list[HistoryEvent]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_simulation_start_leaves_the_instance_pending_until_work_runs(
    simulation: Simulation,
) -> None:
    instance_id = simulation.start("chain", 3, instance_id="c1")
    status = simulation.status(instance_id)
    assert (instance_id, status.status, status.created_at, status.input) == (
        "c1",
        RuntimeStatus.PENDING,
        T0,
        3,
    )


def test_simulation_run_until_idle_runs_a_chain_to_completion(simulation: Simulation) -> None:
    instance_id = simulation.start("chain", 3)
    simulation.run_until_idle()
    assert (simulation.status(instance_id).output, kinds(simulation.history(instance_id))) == (
        12,
        [
            "OrchestratorStarted",
            "ExecutionStarted",
            "TaskScheduled",
            "OrchestratorStarted",
            "TaskCompleted",
            "TaskScheduled",
            "OrchestratorStarted",
            "TaskCompleted",
            "ExecutionCompleted",
        ],
    )


def test_simulation_calls_log_each_activity_call_with_input_time_attempt_and_outcome(
    simulation: Simulation,
) -> None:
    instance_id = simulation.start("chain", 3)
    simulation.run_until_idle()
    common: dict[str, Any] = {
        "name": "double",
        "instance_id": instance_id,
        "attempt": 1,
        "at": T0,
        "delivered_at": T0,
        "outcome": "completed",
    }
    assert simulation.calls() == [
        ActivityCallRecord(seq=0, input=3, output=6, **common),
        ActivityCallRecord(seq=1, input=6, output=12, **common),
    ]


def test_simulation_calls_filter_by_activity_and_instance(simulation: Simulation) -> None:
    chained = simulation.start("chain", 1)
    greeted = simulation.start("greeter")
    simulation.raise_event(greeted, "name", "bo")
    simulation.run_until_idle()
    assert (
        [call.input for call in simulation.calls("double", instance_id=chained)],
        [call.input for call in simulation.calls(instance_id=greeted)],
        [call.instance_id for call in simulation.calls("shout")],
    ) == ([1, 2], ["hello bo"], [greeted])


def test_simulation_calls_of_an_unregistered_activity_fail(simulation: Simulation) -> None:
    with pytest.raises(ActivityNotFoundError, match="'missing'"):
        simulation.calls("missing")


def test_simulation_advance_fires_only_the_timers_due_within_the_span(
    simulation: Simulation,
) -> None:
    instance_id = simulation.start("sleepy", 5)
    simulation.advance(timedelta(hours=4))
    assert (simulation.status(instance_id).status, simulation.now) == (
        RuntimeStatus.RUNNING,
        T0 + timedelta(hours=4),
    )
    simulation.advance(timedelta(hours=1))
    status = simulation.status(instance_id)
    woke = (T0 + timedelta(hours=5)).isoformat()
    assert (status.status, status.output, simulation.custom_status(instance_id)) == (
        RuntimeStatus.COMPLETED,
        woke,
        {"woke": woke},
    )


def test_simulation_advance_fires_timers_in_order_and_ends_at_the_target(
    simulation: Simulation,
) -> None:
    late = simulation.start("sleepy", 3)
    early = simulation.start("sleepy", 1)
    simulation.advance(timedelta(hours=4))
    assert (
        simulation.status(early).completed_at,
        simulation.status(late).completed_at,
        simulation.now,
    ) == (T0 + timedelta(hours=1), T0 + timedelta(hours=3), T0 + timedelta(hours=4))


def test_simulation_advance_by_zero_runs_the_work_due_now(simulation: Simulation) -> None:
    instance_id = simulation.start("chain", 1)
    simulation.advance(timedelta(0))
    assert (simulation.status(instance_id).output, simulation.now) == (4, T0)


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (timedelta(seconds=-1), "time does not go back"),
        (5, "advance needs a timedelta"),
    ],
)
def test_simulation_advance_rejects_negative_or_non_timedelta_deltas(
    simulation: Simulation, delta: Any, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        simulation.advance(delta)


def test_simulation_run_until_idle_stops_at_the_deadline_with_work_pending(
    simulation: Simulation,
) -> None:
    instance_id = simulation.start("sleepy", 48)
    simulation.run_until_idle(deadline=timedelta(hours=24))
    assert (simulation.status(instance_id).status, simulation.now, simulation.is_idle) == (
        RuntimeStatus.RUNNING,
        T0 + timedelta(hours=24),
        False,
    )
    simulation.run_until_idle(deadline=T0 + timedelta(days=3))
    assert (simulation.status(instance_id).status, simulation.now) == (
        RuntimeStatus.COMPLETED,
        T0 + timedelta(hours=48),
    )


def test_simulation_run_until_idle_rejects_a_deadline_in_the_virtual_past(
    simulation: Simulation,
) -> None:
    simulation.advance(timedelta(hours=1))
    with pytest.raises(InvalidArgumentError, match=r"deadline .* is in the virtual past"):
        simulation.run_until_idle(deadline=T0)


def test_simulation_run_until_idle_gives_up_on_a_workflow_that_never_settles(app: App) -> None:
    with Simulation(app, max_steps=50) as simulation:
        simulation.start("forever")
        with pytest.raises(SimulationError, match="ran 50 steps without settling"):
            simulation.run_until_idle()


def test_simulation_raise_event_now_delivers_its_data(simulation: Simulation) -> None:
    instance_id = simulation.start("greeter")
    simulation.raise_event(instance_id, "name", "ada")
    simulation.run_until_idle()
    assert (simulation.status(instance_id).output, simulation.custom_status(instance_id)) == (
        "HELLO ADA",
        "greeting",
    )


@pytest.mark.parametrize("at", [timedelta(hours=2), T0 + timedelta(hours=2)])
def test_simulation_raise_event_at_a_virtual_time_arrives_then(
    simulation: Simulation, at: datetime | timedelta
) -> None:
    instance_id = simulation.start("greeter")
    simulation.raise_event(instance_id, "name", "ada", at=at)
    simulation.advance(timedelta(hours=1))
    assert simulation.status(instance_id).status is RuntimeStatus.RUNNING
    simulation.run_until_idle()
    raised = [event for event in simulation.history(instance_id) if isinstance(event, EventRaised)]
    assert (raised, simulation.status(instance_id).completed_at) == (
        [EventRaised(timestamp=T0 + timedelta(hours=2), name="name", input="ada")],
        T0 + timedelta(hours=2),
    )


def test_simulation_raise_event_for_an_unknown_instance_fails(simulation: Simulation) -> None:
    with pytest.raises(InstanceNotFoundError, match="no instance with id 'nobody'"):
        simulation.raise_event("nobody", "name", "ada", at=timedelta(hours=1))


@pytest.mark.parametrize(
    ("name", "at", "message"),
    [
        ("", None, "event name must be a non-empty str"),
        ("name", T0 - timedelta(seconds=1), "at .* is in the virtual past"),
        ("name", timedelta(seconds=-1), "at must not be a negative delay"),
        ("name", datetime(2030, 1, 2), "at must be an aware datetime"),
    ],
)
def test_simulation_raise_event_rejects_bad_names_and_times(
    simulation: Simulation, name: str, at: Any, message: str
) -> None:
    instance_id = simulation.start("greeter")
    with pytest.raises(InvalidArgumentError, match=message):
        simulation.raise_event(instance_id, name, "ada", at=at)


def test_simulation_raise_event_now_for_a_finished_instance_fails(simulation: Simulation) -> None:
    instance_id = simulation.start("chain", 1)
    simulation.run_until_idle()
    with pytest.raises(InstanceFinishedError, match="already COMPLETED"):
        simulation.raise_event(instance_id, "name", "ada")


def test_simulation_event_planned_for_an_instance_that_finishes_first_is_dropped(
    simulation: Simulation,
) -> None:
    instance_id = simulation.start("chain", 1)
    simulation.raise_event(instance_id, "name", "ada", at=timedelta(hours=1))
    simulation.run_until_idle()
    assert (kinds(simulation.history(instance_id))[-1], simulation.now, simulation.is_idle) == (
        "ExecutionCompleted",
        T0 + timedelta(hours=1),
        True,
    )


def test_simulation_activity_code_reads_virtual_time(simulation: Simulation) -> None:
    later = T0 + timedelta(days=3, hours=7)
    instance_id = simulation.start("read_clock", at=later)
    simulation.run_until_idle()
    assert simulation.status(instance_id).output == {
        "now": later.isoformat(),
        "utcnow": later.replace(tzinfo=None).isoformat(),
        "time": later.timestamp(),
    }


def test_simulation_shows_virtual_time_to_the_test_until_closed(app: App) -> None:
    with Simulation(app, start=T0) as simulation:
        simulation.advance(timedelta(minutes=5))
        inside = (datetime.now(UTC), time.time.__module__)
    assert (inside, time.time.__module__) == (
        (T0 + timedelta(minutes=5), "freezegun.api"),
        "time",
    )


def test_overlapping_simulations_each_show_their_own_time_to_activities(app: App) -> None:
    with Simulation(app) as ahead, Simulation(app) as behind:
        ahead.advance(timedelta(days=1))
        instance_id = behind.start("read_clock")
        behind.run_until_idle()
        reading = behind.status(instance_id).output
    assert reading["now"] == T0.isoformat()


def test_simulation_runs_async_activities(simulation: Simulation) -> None:
    instance_id = simulation.start("async_double", 21)
    simulation.run_until_idle()
    assert simulation.status(instance_id).output == 42


def test_simulation_start_at_a_later_time_waits_for_it(simulation: Simulation) -> None:
    instance_id = simulation.start("chain", 1, at=timedelta(hours=1))
    simulation.advance(timedelta(minutes=30))
    assert simulation.status(instance_id).status is RuntimeStatus.PENDING
    simulation.run_until_idle()
    assert (
        simulation.status(instance_id).output,
        simulation.history(instance_id)[0].timestamp,
    ) == (
        4,
        T0 + timedelta(hours=1),
    )


def test_simulation_start_of_an_unregistered_orchestrator_fails(simulation: Simulation) -> None:
    with pytest.raises(OrchestratorNotFoundError, match="'missing'"):
        simulation.start("missing")


def test_simulation_start_with_the_id_of_a_running_instance_fails(
    simulation: Simulation,
) -> None:
    simulation.start("greeter", instance_id="g")
    with pytest.raises(InstanceExistsError, match="'g' already exists"):
        simulation.start("greeter", instance_id="g")


def test_simulation_status_of_an_unknown_instance_fails(simulation: Simulation) -> None:
    with pytest.raises(InstanceNotFoundError, match="'nobody'"):
        simulation.status("nobody")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"app": "not an app"}, "needs a durable.App"),
        ({"start": datetime(2030, 1, 1)}, "start must be an aware datetime"),
        ({"seed": "7"}, "seed must be an int"),
        ({"lease": timedelta(0)}, "lease must be a positive timedelta"),
        ({"max_steps": 0}, "max_steps must be at least 1"),
    ],
)
def test_simulation_rejects_bad_arguments(
    app: App, arguments: dict[str, Any], message: str
) -> None:
    given = {"app": app, **arguments}
    with pytest.raises(InvalidArgumentError, match=message):
        Simulation(given.pop("app"), **given)


def test_simulation_refuses_work_once_closed(app: App) -> None:
    simulation = Simulation(app)
    simulation.close()
    simulation.close()  # idempotent
    with pytest.raises(SimulationError, match="this simulation is closed"):
        simulation.start("chain", 1)
    assert simulation.closed


def test_simulation_is_idle_only_when_nothing_is_pending(simulation: Simulation) -> None:
    waiting = simulation.start("greeter")
    before = simulation.is_idle
    simulation.run_until_idle()
    assert (before, simulation.is_idle, simulation.status(waiting).waiting.events) == (
        False,
        True,
        ("name",),
    )


def test_simulation_draws_default_instance_ids_from_the_seed(app: App) -> None:
    def ids(seed: int) -> list[str]:
        with Simulation(app, seed=seed) as simulation:
            return [simulation.start("greeter") for _ in range(3)]

    first, again, other = ids(1), ids(1), ids(2)
    assert (first == again, first == other, len(set(first))) == (True, False, 3)


def test_simulation_client_steers_instances_in_virtual_time(simulation: Simulation) -> None:
    instance_id = simulation.start("greeter")
    simulation.advance(timedelta(hours=3))
    simulation.client.terminate(instance_id, "no answer")
    simulation.run_until_idle()
    assert (simulation.status(instance_id).status, simulation.history(instance_id)[-1]) == (
        RuntimeStatus.TERMINATED,
        ExecutionTerminated(timestamp=T0 + timedelta(hours=3), reason="no answer"),
    )


def test_simulation_leaves_the_tests_random_and_uuid4_alone(app: App) -> None:
    @app.activity
    def draw() -> float:
        return random.random() + uuid.uuid4().int % 7

    @app.orchestrator
    def drawing(ctx: Any) -> Iterator[Any]:
        return (yield ctx.call_activity(draw))

    random.seed(11)
    expected = random.random()
    original_uuid4 = uuid.uuid4
    random.seed(11)
    with Simulation(app) as simulation:
        simulation.start(drawing)
        simulation.run_until_idle()
    assert (random.random(), uuid.uuid4 is original_uuid4) == (expected, True)


def test_simulation_refuses_to_spin_when_the_store_reports_work_it_cannot_hand_out(
    simulation: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulation.store, "next_due", lambda *, now: now)
    with pytest.raises(SimulationError, match="the store says work is due at 2030-01-01T00:00"):
        simulation.run_until_idle()
