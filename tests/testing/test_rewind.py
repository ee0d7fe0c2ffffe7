"""Rewind in the simulation harness: the simulated client rewinds, the replay check holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from durable import App, OrchestrationContext, RuntimeStatus
from durable.history import ExecutionRewound, TaskCompleted
from durable.testing import Simulation, explore

app = App()


@app.activity
def reserve(order: str) -> str:
    return f"reserved {order}"


@app.activity
def charge(reservation: str) -> str:
    return f"charged for {reservation}"


@app.orchestrator
async def checkout(ctx: OrchestrationContext, order: str) -> list[str]:
    reservation = await ctx.call_activity(reserve, order)
    receipt = await ctx.call_activity(charge, reservation)
    return [reservation, receipt]


@app.activity
def fetch(item: str) -> str:
    return item.upper()


@app.activity
def store(data: str) -> str:
    return f"stored {data}"


@app.orchestrator
async def pipeline(ctx: OrchestrationContext, items: list[str]) -> list[str]:
    async def one(item: str) -> str:
        data = await ctx.call_activity(fetch, item)
        return await ctx.call_activity(store, data)  # type: ignore[no-any-return]

    return await ctx.when_all([one(item) for item in items])


def test_a_simulated_client_rewinds_a_failed_instance() -> None:
    with Simulation(app, seed=7) as simulation:
        simulation.fail(charge, times=1)
        instance_id = simulation.start(checkout, "o-1")
        simulation.run_until_idle()
        assert simulation.status(instance_id).status is RuntimeStatus.FAILED

        simulation.client.rewind(instance_id, "the card works now")
        simulation.run_until_idle()

        status = simulation.status(instance_id)
        assert (status.status, status.output) == (
            RuntimeStatus.COMPLETED,
            ["reserved o-1", "charged for reserved o-1"],
        )
        assert len(simulation.calls(reserve)) == 1
        assert [call.outcome for call in simulation.calls(charge)] == ["failed", "completed"]
        rewinds = [e for e in simulation.history(instance_id) if isinstance(e, ExecutionRewound)]
        assert [each.reason for each in rewinds] == ["the card works now"]


def rewind_a_failed_fan_out(simulation: Simulation) -> dict[str, Any]:
    simulation.fail(store, times=1)
    simulation.delay(fetch, timedelta(seconds=1))  # results land together: batched episodes
    instance_id = simulation.start(pipeline, ["a", "b", "c"])
    simulation.run_until_idle()
    assert simulation.status(instance_id).status is RuntimeStatus.FAILED
    succeeded = {e.seq for e in simulation.history(instance_id) if isinstance(e, TaskCompleted)}
    calls_before = len(simulation.calls(instance_id=instance_id))

    simulation.client.rewind(instance_id)
    simulation.run_until_idle()

    status = simulation.status(instance_id)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        ["stored A", "stored B", "stored C"],
    )
    again = simulation.calls(instance_id=instance_id)[calls_before:]
    assert not {call.seq for call in again} & succeeded, "a recorded success ran again"
    return {"succeeded_before": len(succeeded), "ran_again": len(again)}


def test_rewinding_a_fan_out_replays_identically_under_many_interleavings() -> None:
    results = explore(rewind_a_failed_fan_out, range(30), app=app)

    assert all(result["ran_again"] >= 1 for result in results.values())
    assert len({result["succeeded_before"] for result in results.values()}) > 1
