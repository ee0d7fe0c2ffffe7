"""The replay check: every episode replayed from scratch catches nondeterministic orchestrators."""

from __future__ import annotations

import gc
import itertools
import logging
import random
import time
import uuid
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from random import random as bound_random
from typing import Any
from uuid import uuid4 as bound_uuid4

import pytest

from durable import App, OrchestrationContext, RetryPolicy, RuntimeStatus, Task
from durable.errors import NonDeterminismError
from durable.testing import Simulation, explore

Orchestration = Generator[Task[Any], Any, Any]


def app_with(orchestrator: Callable[..., Orchestration]) -> App:
    """An app with `orchestrator` and two activities it may call."""
    app = App()

    @app.activity
    def double(value: int) -> int:
        return value * 2

    @app.activity
    def shout(text: str) -> str:
        return text.upper()

    app.orchestrator(name="subject")(orchestrator)
    return app


def run(app: App, *, replay_check: bool = True) -> Simulation:
    simulation = Simulation(app, replay_check=replay_check)
    try:
        simulation.start("subject", instance_id="subject")
        simulation.run_until_idle()
    finally:
        simulation.close()
    return simulation


def branches_on_the_clock(ctx: OrchestrationContext) -> Orchestration:
    if datetime.now().hour < 12:
        yield ctx.call_activity("double", 1)
    else:
        yield ctx.call_activity("shout", "late")


def branches_on_random(ctx: OrchestrationContext) -> Orchestration:
    if random.random() < 0.5:
        yield ctx.call_activity("double", 1)
    else:
        yield ctx.call_activity("shout", "tails")


def branches_on_uuid4(ctx: OrchestrationContext) -> Orchestration:
    if uuid.uuid4().int % 2:
        yield ctx.call_activity("double", 1)
    else:
        yield ctx.call_activity("shout", "even")


def branches_on_time_time(ctx: OrchestrationContext) -> Orchestration:
    if int(time.time()) % 2:
        yield ctx.call_activity("double", 1)
    else:
        yield ctx.call_activity("shout", "even")


@pytest.mark.parametrize(
    ("orchestrator", "read"),
    [
        (branches_on_the_clock, "datetime.now()"),
        (branches_on_random, "random.random()"),
        (branches_on_uuid4, "uuid.uuid4()"),
        (branches_on_time_time, "time.time()"),
    ],
    ids=["datetime.now", "random.random", "uuid.uuid4", "time.time"],
)
def test_replay_check_catches_a_nondeterministic_read_in_decision_logic(
    orchestrator: Callable[..., Orchestration], read: str
) -> None:
    with pytest.raises(NonDeterminismError) as caught:
        run(app_with(orchestrator))
    error = caught.value
    assert (error.instance_id, error.position, error.recorded) == (
        "subject",
        1,
        "ExecutionStarted of 'subject'",
    )
    assert error.requested.startswith(f"{read} at {__file__}:")
    assert "use ctx.now, ctx.new_uuid() or an activity instead" in str(error)


def test_replay_check_catches_random_values_read_through_names_imported_early() -> None:
    def passes_a_random_input(ctx: OrchestrationContext) -> Orchestration:
        yield ctx.call_activity("double", int(bound_random() * 1_000_000))

    with pytest.raises(
        NonDeterminismError,
        match=r"at history event 2: history recorded activity 'double' \(call 0\) with input "
        r"\d+, but the code now asks for activity 'double' \(call 0\) with input \d+",
    ):
        run(app_with(passes_a_random_input))


def test_replay_check_catches_uuids_from_a_uuid4_imported_early() -> None:
    def passes_a_uuid(ctx: OrchestrationContext) -> Orchestration:
        yield ctx.call_activity("shout", str(bound_uuid4()))

    with pytest.raises(NonDeterminismError, match="activity 'shout' \\(call 0\\) with input"):
        run(app_with(passes_a_uuid))


def test_replay_check_names_the_first_divergent_call() -> None:
    runs = itertools.count()

    def changes_its_mind(ctx: OrchestrationContext) -> Orchestration:
        yield ctx.call_activity("double", 1)
        if next(runs) == 0:
            yield ctx.call_activity("double", 2)
        else:
            yield ctx.call_activity("shout", "two")

    with pytest.raises(NonDeterminismError) as caught:
        run(app_with(changes_its_mind))
    error = caught.value
    assert (error.position, error.recorded, error.requested) == (
        5,
        "activity 'double' (call 1)",
        "activity 'shout' (call 1)",
    )


def test_replay_check_catches_a_custom_status_that_differs_on_replay() -> None:
    counter = itertools.count()

    def counts_its_runs(ctx: OrchestrationContext) -> Orchestration:
        ctx.set_custom_status({"run": next(counter)})
        yield ctx.call_activity("double", 1)

    with pytest.raises(
        NonDeterminismError,
        match=r'history recorded custom status \{"run":0\} \(the live run\), but the code now '
        r'asks for custom status \{"run":1\}',
    ):
        run(app_with(counts_its_runs))


def test_replay_check_catches_a_wait_for_another_event_on_replay() -> None:
    counter = itertools.count()

    def waits_for_whatever(ctx: OrchestrationContext) -> Orchestration:
        yield ctx.wait_for_event(f"event-{next(counter)}")

    with pytest.raises(NonDeterminismError, match=r"waiting .*event-0.* waiting .*event-1"):
        run(app_with(waits_for_whatever))


def test_replay_check_catches_an_output_that_differs_on_replay() -> None:
    counter = itertools.count()

    def returns_a_count(ctx: OrchestrationContext) -> Orchestration:
        yield ctx.call_activity("double", 1)
        return next(counter)

    with pytest.raises(
        NonDeterminismError,
        match="history recorded ExecutionCompleted with output 0, but the code now asks for "
        "ExecutionCompleted with output 1",
    ):
        run(app_with(returns_a_count))


def test_replay_check_off_lets_nondeterministic_code_run() -> None:
    simulation = run(app_with(branches_on_random), replay_check=False)
    assert simulation.closed


def test_replay_check_passes_deterministic_code_that_logs_and_uses_the_context() -> None:
    def well_behaved(ctx: OrchestrationContext) -> Orchestration:
        logging.getLogger("user.orchestrator").warning("started at %s", ctx.now)
        ctx.log.info("replay-safe")
        doubled = yield ctx.call_activity("double", len(ctx.new_uuid()))
        yield ctx.create_timer(ctx.now + timedelta(hours=1))
        winner = yield ctx.when_any([ctx.wait_for_event("go"), ctx.create_timer(timedelta(1))])
        ctx.set_custom_status({"at": ctx.now.isoformat(), "doubled": doubled})
        return winner.is_completed

    app = app_with(well_behaved)
    with Simulation(app) as simulation:
        instance_id = simulation.start("subject")
        simulation.run_until_idle()
        assert (simulation.status(instance_id).status, simulation.status(instance_id).output) == (
            RuntimeStatus.COMPLETED,
            True,
        )


def test_replay_check_puts_random_and_uuid4_back_after_it_fails() -> None:
    functions = (random.random, uuid.uuid4, uuid.uuid1)
    with pytest.raises(NonDeterminismError):
        run(app_with(branches_on_uuid4))
    assert (random.random, uuid.uuid4, uuid.uuid1) == functions


def feature_app() -> App:
    """Sub-orchestrations, fan-in, events between instances, continue-as-new, retries."""
    app = App()

    @app.activity
    def inc(value: int) -> int:
        return value + 1

    @app.orchestrator
    def child(ctx: OrchestrationContext, value: int) -> Orchestration:
        return (yield ctx.call_activity(inc, value))

    @app.orchestrator
    def parent(ctx: OrchestrationContext, value: int) -> Orchestration:
        first = yield ctx.call_sub_orchestrator(child, value)
        both = yield ctx.when_all(
            [ctx.call_sub_orchestrator(child, first), ctx.call_activity(inc, first)]
        )
        ctx.send_event("listener", "ping", both)
        return both

    @app.orchestrator
    def listener(ctx: OrchestrationContext) -> Orchestration:
        return (yield ctx.wait_for_event("ping"))

    @app.orchestrator
    def counter(ctx: OrchestrationContext, count: int) -> Orchestration:
        yield ctx.create_timer(timedelta(hours=1))
        if count < 3:
            ctx.continue_as_new(count + 1)
            return None
        return count

    @app.orchestrator
    def waiter(ctx: OrchestrationContext) -> Orchestration:
        value = yield ctx.wait_for_event("go")
        retry = RetryPolicy(max_attempts=3, first_interval=timedelta(seconds=5))
        return (yield ctx.call_activity(inc, value, retry=retry))

    return app


def test_replay_check_passes_every_engine_feature_under_random_crashes() -> None:
    def scenario(simulation: Simulation) -> list[Any]:
        simulation.crash(probability=0.3)
        simulation.fail("inc", probability=0.2)
        ids = [
            simulation.start("listener", instance_id="listener"),
            simulation.start("counter", 0),
            simulation.start("waiter"),
        ]
        simulation.advance(timedelta(minutes=1))
        simulation.client.suspend(ids[2])
        simulation.raise_event(ids[2], "go", 10)
        simulation.advance(timedelta(minutes=1))
        simulation.client.resume(ids[2])
        simulation.run_until_idle()
        return [simulation.status(each).status.value for each in ids]

    outcomes = explore(scenario, seeds=range(6), app=feature_app())
    assert set(map(tuple, outcomes.values())) <= {
        ("RUNNING", "COMPLETED", "COMPLETED"),
        ("RUNNING", "COMPLETED", "FAILED"),
    }


def test_replay_check_passes_a_parent_and_its_children() -> None:
    with Simulation(feature_app()) as simulation:
        simulation.start("listener", instance_id="listener")
        parent = simulation.start("parent", 1)
        simulation.run_until_idle()
        assert (simulation.status(parent).output, simulation.status("listener").output) == (
            [3, 3],
            [3, 3],
        )


def test_replay_check_ignores_clock_reads_by_garbage_collection_callbacks() -> None:
    timings: list[float] = []

    def timing_callback(phase: str, info: dict[str, int]) -> None:
        timings.append(time.perf_counter())  # as hypothesis does

    def allocates(ctx: OrchestrationContext) -> Orchestration:
        garbage = [[index] for index in range(2000)]
        yield ctx.call_activity("double", len(garbage))

    thresholds = gc.get_threshold()
    gc.callbacks.append(timing_callback)
    gc.set_threshold(1)
    try:
        run(app_with(allocates))
    finally:
        gc.callbacks.remove(timing_callback)
        gc.set_threshold(*thresholds)
    assert timings != []
