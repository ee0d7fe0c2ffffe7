"""The 30-day approval (examples/testing/approval.py): a reminder a day, approved on day 17."""

from __future__ import annotations

import json
from datetime import timedelta

from durable import RuntimeStatus
from durable.testing import Simulation, explore, export_history
from tests.testing.workflows import T0, approval_example

example = approval_example()
DAY = timedelta(days=1)


def test_approval_reminds_every_day_until_it_is_approved_on_day_17() -> None:
    with Simulation(example.app, seed=0) as simulation:
        instance_id = example.scenario(simulation)
        status = simulation.status(instance_id)
        reminders = [(call.at, call.input["day"]) for call in simulation.calls("send_reminder")]
        assert (status.status, status.output, status.completed_at, simulation.now) == (
            RuntimeStatus.COMPLETED,
            {"approved": True, "day": 17, "ticket": "ticket-17"},
            T0 + timedelta(days=16, hours=9),
            T0 + timedelta(days=16, hours=9),
        )
        assert reminders == [(T0 + day * DAY, day) for day in range(1, 17)]


def test_approval_never_approved_gives_up_after_30_reminders() -> None:
    with Simulation(example.app) as simulation:
        instance_id = simulation.start(example.approval, {"id": 1})
        simulation.run_until_idle()
        assert (
            simulation.status(instance_id).output,
            len(simulation.calls("send_reminder")),
            simulation.now,
        ) == ({"approved": False, "day": 30, "ticket": "ticket-1"}, 30, T0 + 30 * DAY)


def test_approval_runs_of_one_seed_give_identical_histories_bit_for_bit() -> None:
    def history_text(seed: int) -> str:
        with Simulation(example.app, seed=seed) as simulation:
            instance_id = example.scenario(simulation)
            return json.dumps(export_history(simulation, instance_id))

    first, again = history_text(5), history_text(5)
    assert (first == again, '"timestamp": "2030-01-17T09:00:00+00:00"' in first) == (True, True)


def test_approval_ends_the_same_way_under_every_seed() -> None:
    def outcome(simulation: Simulation) -> object:
        return simulation.status(example.scenario(simulation)).output

    outputs = explore(outcome, seeds=range(8), app=example.app)
    assert outputs == {
        seed: {"approved": True, "day": 17, "ticket": "ticket-17"} for seed in range(8)
    }
