"""Monitor in virtual time: poll times, success, expiry, continue-as-new with bounded history."""

from __future__ import annotations

import re
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import pytest

from durable import App, OrchestrationContext, RetryPolicy, RuntimeStatus
from durable.errors import InvalidArgumentError
from durable.patterns import Monitor, MonitorOutcome, MonitorProgress, monitor, register_monitor
from durable.testing import Simulation
from tests.patterns.helpers import START, Call, GenerationSizes, calls

app = App()
MINUTE = timedelta(minutes=1)
EXPIRY: dict[str, Any] = {}


@app.activity
def job_state(job: str) -> str:
    return "running"


@app.activity
def alert(report: dict[str, Any]) -> str:
    return f"alerted after {report['polls']} polls"


@app.activity
def give_up(report: dict[str, Any]) -> str:
    return f"gave up on {report['input']}"


def _done(state: str) -> bool:
    return state == "done"


@app.orchestrator
def generator_monitor(ctx: OrchestrationContext, job: str) -> Generator[Any, Any, Any]:
    result = yield monitor(
        ctx,
        job_state,
        job,
        interval="PT5M",
        until=_done,
        expires_after="PT12M",
        on_success=alert,
        on_expiry="give_up",
    )
    return {"outcome": result.outcome.value, "polls": result.polls, "output": result.action_output}


@app.orchestrator
async def async_monitor(ctx: OrchestrationContext, job: str) -> Any:
    result = await monitor(
        ctx,
        "job_state",
        job,
        interval=timedelta(minutes=5),
        until=_done,
        expires_after=timedelta(minutes=12),
        on_success="alert",
        on_expiry=give_up,
    )
    return {"outcome": result.outcome.value, "polls": result.polls, "output": result.action_output}


@app.orchestrator
async def until_deadline(ctx: OrchestrationContext, job: str) -> Any:
    result = await monitor(ctx, job_state, job, interval="PT10M", until=_done, **EXPIRY)
    return {"outcome": result.outcome.value, "polls": result.polls, "at": result.at}


register_monitor(
    app,
    "watch_job",
    check=job_state,
    interval="PT1M",
    until=_done,
    expires_after="P30D",
    on_success=alert,
    continue_every=50,
)

register_monitor(
    app,
    "watch_briefly",
    check=job_state,
    interval="PT1M",
    until=_done,
    expires_after="PT2H5M",
    on_expiry=give_up,
    continue_every=50,
)


@app.orchestrator
async def twice_each_poll(ctx: OrchestrationContext, job: str) -> Any:
    async def probe(job: str) -> Any:
        await ctx.call_activity(job_state, f"{job}/build")
        return await ctx.call_activity(job_state, job)

    spec = Monitor(probe=probe, interval="PT5M", until=_done)  # type: ignore[arg-type]
    result = await spec.run(ctx, job)
    return {"outcome": result.outcome.value, "polls": result.polls, "value": result.value}


@app.orchestrator
async def three_polls(ctx: OrchestrationContext, job: str) -> Any:
    result = await monitor(
        ctx, job_state, job, interval="PT5M", until=_done, max_polls=3, on_expiry=give_up
    )
    return {"outcome": result.outcome.value, "polls": result.polls, "output": result.action_output}


@app.orchestrator
async def back_to_back(ctx: OrchestrationContext, job: str) -> Any:
    async def probe(job: str) -> Any:
        await ctx.create_timer(2 * MINUTE)
        return await ctx.call_activity(job_state, job)

    spec = Monitor(probe=probe, interval=None, until=_done, max_polls=3)
    result = await spec.run(ctx, job)
    return {"outcome": result.outcome.value, "polls": result.polls}


@app.orchestrator
async def own_checkpoint(ctx: OrchestrationContext, state: dict[str, Any]) -> Any:
    spec = Monitor(
        check=job_state,
        interval="PT1M",  # type: ignore[arg-type]
        until=_done,
        continue_every=2,
        checkpoint=lambda job, progress: {"job": job, "polls": progress.polls},
    )
    progress = None
    if "polls" in state:
        progress = MonitorProgress(started_at=ctx.now, polls=state["polls"])
    result = await spec.run(ctx, state["job"], progress=progress)
    return {"outcome": result.outcome.value, "polls": result.polls}


@pytest.fixture
def sim(simulation_factory: Any, durable_seed: int) -> Simulation:
    return simulation_factory(app, start=START, seed=durable_seed)


def _done_after(polls: int) -> Any:
    seen: list[str] = []

    def state(job: str) -> str:
        seen.append(job)
        return "done" if len(seen) >= polls else "running"

    return state


@pytest.mark.parametrize("orchestrator", [generator_monitor, async_monitor])
def test_monitor_polls_on_the_interval_until_the_predicate_holds(
    sim: Simulation, orchestrator: Any
) -> None:
    sim.fake("job_state", _done_after(3))
    instance = sim.start(orchestrator, "job-7")
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "outcome": "satisfied",
        "polls": 3,
        "output": "alerted after 3 polls",
    }
    assert calls(sim) == [
        Call("job_state", "job-7", START),
        Call("job_state", "job-7", START + 5 * MINUTE),
        Call("job_state", "job-7", START + 10 * MINUTE),
        Call(
            "alert",
            {"input": "job-7", "value": "done", "polls": 3, "at": "2024-01-01T09:10:00+00:00"},
            START + 10 * MINUTE,
        ),
    ]


@pytest.mark.parametrize("orchestrator", [generator_monitor, async_monitor])
def test_monitor_expires_at_the_expiry_and_calls_the_expiry_activity(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, "job-8")
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "outcome": "expired",
        "polls": 3,
        "output": "gave up on job-8",
    }
    assert [(call.name, call.at) for call in calls(sim)] == [
        ("job_state", START),
        ("job_state", START + 5 * MINUTE),
        ("job_state", START + 10 * MINUTE),
        ("give_up", START + 12 * MINUTE),
    ]


def test_a_probe_polls_with_its_own_calls(sim: Simulation) -> None:
    states = iter(["building", "running", "built", "done"])
    sim.fake("job_state", lambda job: next(states))
    instance = sim.start(twice_each_poll, "job-4")
    sim.run_until_idle()
    assert sim.status(instance).output == {"outcome": "satisfied", "polls": 2, "value": "done"}
    assert calls(sim) == [
        Call("job_state", "job-4/build", START),
        Call("job_state", "job-4", START),
        Call("job_state", "job-4/build", START + 5 * MINUTE),
        Call("job_state", "job-4", START + 5 * MINUTE),
    ]


def test_max_polls_gives_up_after_the_last_poll_without_waiting_again(sim: Simulation) -> None:
    instance = sim.start(three_polls, "job-5")
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.output, status.completed_at) == (
        {"outcome": "exhausted", "polls": 3, "output": "gave up on job-5"},
        START + 10 * MINUTE,
    )
    assert [(call.name, call.at) for call in calls(sim)] == [
        ("job_state", START),
        ("job_state", START + 5 * MINUTE),
        ("job_state", START + 10 * MINUTE),
        ("give_up", START + 10 * MINUTE),
    ]


def test_a_monitor_without_an_interval_polls_back_to_back(sim: Simulation) -> None:
    instance = sim.start(back_to_back, "job-6")
    sim.run_until_idle()
    assert sim.status(instance).output == {"outcome": "exhausted", "polls": 3}
    assert [call.at for call in calls(sim)] == [START + n * 2 * MINUTE for n in (1, 2, 3)]


def test_a_checkpoint_function_makes_the_next_executions_input(sim: Simulation) -> None:
    sim.fake("job_state", _done_after(5))
    sizes = GenerationSizes(sim.store)
    instance = sim.start(own_checkpoint, {"job": "job-7"})
    sim.run_until_idle()
    assert sim.status(instance).output == {"outcome": "satisfied", "polls": 5}
    assert len(sizes.sizes) == 3
    assert [call.at for call in calls(sim)] == [START + n * MINUTE for n in range(5)]


def test_monitor_honours_an_absolute_expiry(sim: Simulation) -> None:
    EXPIRY["expires_at"] = START + 25 * MINUTE
    try:
        instance = sim.start(until_deadline, "job-9")
        sim.run_until_idle()
    finally:
        EXPIRY.clear()
    assert sim.status(instance).output == {
        "outcome": "expired",
        "polls": 3,
        "at": (START + 25 * MINUTE).isoformat(),
    }


def test_monitor_rejects_an_expiry_before_the_start_before_scheduling_anything(
    sim: Simulation,
) -> None:
    EXPIRY["expires_at"] = START - MINUTE
    try:
        instance = sim.start(until_deadline, "job-9")
        sim.run_until_idle()
    finally:
        EXPIRY.clear()
    status = sim.status(instance)
    assert status.failure is not None
    assert (status.failure.type_name, status.failure.message) == (
        "InvalidArgumentError",
        "expires_at 2024-01-01T08:59:00+00:00 is not after the monitor's start "
        "2024-01-01T09:00:00+00:00; give a later time",
    )
    assert calls(sim) == []


def test_monitor_rejects_a_naive_expiry(sim: Simulation) -> None:
    EXPIRY["expires_at"] = datetime(2030, 1, 1)
    try:
        instance = sim.start(until_deadline, "job-9")
        sim.run_until_idle()
    finally:
        EXPIRY.clear()
    failure = sim.status(instance).failure
    assert failure is not None
    # While a simulation runs, freezegun's FakeDatetime stands in for datetime.
    assert re.fullmatch(
        r"expires_at must be an aware datetime, got \w+(\.\w+)?\(2030, 1, 1, 0, 0\)",
        failure.message,
    )
    assert calls(sim) == []


def test_register_monitor_continues_as_new_and_keeps_counting(sim: Simulation) -> None:
    sim.fake("job_state", _done_after(120))
    sizes = GenerationSizes(sim.store)
    instance = sim.start("watch_job", "job-1")
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.status, status.custom_status) == (RuntimeStatus.COMPLETED, {"polls": 100})
    assert status.output == {
        "outcome": "satisfied",
        "polls": 120,
        "at": (START + 119 * MINUTE).isoformat(),
        "value": "done",
        "action_output": "alerted after 120 polls",
    }
    assert len(sizes.sizes) == 3
    assert [call.at for call in calls(sim)][:3] == [START, START + MINUTE, START + 2 * MINUTE]
    assert calls(sim)[50].at == START + 50 * MINUTE


def test_register_monitor_keeps_its_absolute_expiry_across_generations(
    sim: Simulation,
) -> None:
    sizes = GenerationSizes(sim.store)
    instance = sim.start("watch_briefly", "job-2")
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "outcome": "expired",
        "polls": 125,
        "at": (START + timedelta(hours=2, minutes=5)).isoformat(),
        "value": "running",
        "action_output": "gave up on job-2",
    }
    assert len(sizes.sizes) == 3
    assert calls(sim)[-2:] == [
        Call("job_state", "job-2", START + timedelta(minutes=124)),
        Call(
            "give_up",
            {"input": "job-2", "value": "running", "polls": 125, "at": "2024-01-01T11:05:00+00:00"},
            START + timedelta(hours=2, minutes=5),
        ),
    ]


def test_monitor_polling_10000_times_keeps_every_generation_bounded(
    simulation_factory: Any,
) -> None:
    sim = simulation_factory(app, start=START, replay_check=False)
    sim.fake("job_state", _done_after(10_000))
    sizes = GenerationSizes(sim.store)
    instance = sim.start("watch_job", "job-3")
    sim.run_until_idle()
    output = sim.status(instance).output
    assert (output["outcome"], output["polls"]) == ("satisfied", 10_000)
    assert len(sizes.sizes) == 200
    # Per poll: a check scheduled and answered and a timer created and fired, over
    # three episodes; 50 polls per generation, plus its start and its end.
    assert max(sizes.sizes.values()) <= 7 * 50 + 10


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"interval": "PT0S"}, r"^interval must be more than zero"),
        ({"interval": timedelta(seconds=-5)}, r"^interval must not be negative"),
        ({"interval": "soon"}, r"^interval 'soon' is not an ISO 8601 duration"),
        ({"interval": "PT1M", "expires_after": "PT0S"}, r"^expires_after must be more than zero"),
        (
            {"interval": "PT1M", "continue_every": 0},
            r"^continue_every must be an int of at least 1",
        ),
        ({"interval": "PT1M", "until": "done"}, r"^until must be a function"),
        ({"interval": "PT1M", "check": ""}, r"^check must be a registered name"),
        ({"interval": "PT1M", "check": None}, r"exactly one of check= .* got neither"),
        ({"interval": "PT1M", "on_expiry": 5}, r"^on_expiry must be a registered name"),
        ({"interval": "PT1M", "probe": _done}, r"exactly one of check= .* got both"),
        ({"interval": "PT1M", "probe": "job_state", "check": None}, r"^probe must be a function"),
        (
            {"interval": "PT1M", "probe": _done, "check": None, "retry": RetryPolicy()},
            r"^retry applies to the check activity",
        ),
        ({"interval": None, "max_polls": 3}, r"without an interval .* needs a probe and max_polls"),
        (
            {"interval": None, "probe": _done, "check": None},
            r"without an interval .* needs a probe and max_polls",
        ),
        ({"interval": "PT1M", "max_polls": 0}, r"^max_polls must be an int of at least 1"),
        ({"interval": "PT1M", "checkpoint": {}}, r"^checkpoint must be a function or None"),
    ],
)
def test_monitor_spec_rejects_bad_arguments(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Monitor(**{"check": "job_state", **arguments})


def test_register_monitor_rejects_a_zero_interval() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^interval must be more than zero"):
        register_monitor(App(), "bad", check="job_state", interval=timedelta(0))


def test_monitor_resume_passes_a_first_input_through() -> None:
    assert Monitor.resume({"job": 1}) == ({"job": 1}, None)


def test_monitor_outcome_values_are_stable() -> None:
    assert [each.value for each in MonitorOutcome] == [
        "satisfied",
        "expired",
        "exhausted",
        "continued_as_new",
    ]
