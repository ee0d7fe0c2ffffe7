"""End to end through `Client` and `Worker` on the in-memory store: activities,
fan-out, failures, retries, sub-orchestrations and branches."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from durable import App, Client, OrchestrationContext, RetryPolicy, RuntimeStatus, Worker
from durable.errors import ActivityError, SubOrchestratorError
from durable.history import (
    ExecutionCompleted,
    ExecutionStarted,
    OrchestratorStarted,
    TaskCompleted,
    TaskFailed,
    TaskScheduled,
    TimerCreated,
    TimerFired,
)
from durable.stores import MemoryStore
from tests.integration.test_end_to_end_support import (
    T0,
    WAIT,
    ManualClock,
    finish,
    wait_until,
)

app = App()
calls: Counter[str] = Counter()
threads: dict[str, str] = {}


@dataclasses.dataclass(frozen=True)
class Order:
    item: str
    quantity: int


@dataclasses.dataclass(frozen=True)
class Quote:
    item: str
    cents: int


@app.activity
def shout(text: str) -> str:
    threads["shout"] = threading.current_thread().name
    return text.upper()


@app.activity
async def exclaim(text: str) -> str:
    threads["exclaim"] = threading.current_thread().name
    return text + "!"


@app.activity
def price(order: Order) -> Quote:
    return Quote(item=order.item, cents=250 * order.quantity)


@app.activity
def square(number: int) -> int:
    return number * number


@app.activity
def out_of_stock(item: str) -> None:
    raise ValueError(f"no stock for {item!r}")


@app.activity
def flaky(key: str) -> str:
    calls[key] += 1
    if calls[key] < 3:
        raise ConnectionError(f"attempt {calls[key]} of {key!r} failed")
    return f"{key} ok on attempt {calls[key]}"


@app.orchestrator
def chain(ctx: OrchestrationContext, text: str):  # type: ignore[no-untyped-def]
    loud = yield ctx.call_activity(shout, text)
    excited = yield ctx.call_activity(exclaim, loud)
    return (yield ctx.call_activity("exclaim", excited))


@app.orchestrator
async def quote(ctx: OrchestrationContext, order: Order) -> dict[str, Any]:
    result: Quote = await ctx.call_activity(price, order)
    return {"is_quote": isinstance(result, Quote), "cents": result.cents}


@app.orchestrator
def fan_out(ctx: OrchestrationContext, count: int):  # type: ignore[no-untyped-def]
    squares = yield ctx.when_all([ctx.call_activity(square, n) for n in range(count)])
    return {"count": len(squares), "sum": sum(squares), "last": squares[-1]}


@app.orchestrator
def careful(ctx: OrchestrationContext, item: str):  # type: ignore[no-untyped-def]
    try:
        yield ctx.call_activity(out_of_stock, item)
    except ActivityError as error:
        return {
            "activity": error.activity,
            "type": error.type_name,
            "message": error.failure.message,
            "is_value_error": error.matches("ValueError"),
            "traceback_names_the_raise": "raise ValueError" in (error.failure.traceback or ""),
        }
    return "not reached"


@app.orchestrator
async def persistent(ctx: OrchestrationContext, key: str) -> str:
    policy = RetryPolicy(max_attempts=4, first_interval=timedelta(seconds=1))
    result: str = await ctx.call_activity(flaky, key, retry=policy)
    return result


@app.orchestrator
def double(ctx: OrchestrationContext, number: int):  # type: ignore[no-untyped-def]
    if number < 0:
        raise ValueError(f"cannot double {number}")
    return (yield ctx.call_activity(square, number)) * 2


@app.orchestrator
def parent(ctx: OrchestrationContext, number: int):  # type: ignore[no-untyped-def]
    try:
        return {"doubled": (yield ctx.call_sub_orchestrator(double, number))}
    except SubOrchestratorError as error:
        return {"child": error.instance_id, "type": error.type_name, "message": str(error)}


async def steps(ctx: OrchestrationContext, label: str, count: int) -> list[str]:
    done = []
    for step in range(count):
        done.append(await ctx.call_activity(shout, f"{label}{step}"))
    return done


async def stalls(ctx: OrchestrationContext) -> str:
    await ctx.when_all([ctx.create_timer(timedelta(hours=1)), ctx.wait_for_event("never")])
    return "stalled"


@app.orchestrator
async def both_branches(ctx: OrchestrationContext) -> list[list[str]]:
    return await ctx.when_all([steps(ctx, "a", 2), steps(ctx, "b", 3)])


@app.orchestrator
async def race(ctx: OrchestrationContext) -> dict[str, Any]:
    winner = await ctx.when_any([steps(ctx, "q", 2), stalls(ctx)])
    ctx.set_custom_status("raced")
    after = await ctx.wait_for_event("next")
    return {"winner": winner.result, "after": after}


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    threads.clear()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(store: MemoryStore) -> Client:
    return Client(store, app=app)


@pytest.fixture
def worker(store: MemoryStore) -> Iterator[Worker]:
    with Worker(app, store) as running:
        yield running


def test_sequential_activities_record_every_step_in_order(store: MemoryStore) -> None:
    clock = ManualClock()
    client = Client(store, app=app, clock=clock)
    with Worker(app, store, clock=clock):
        client.start(chain, "hi", instance_id="chain-1")
        status = finish(store, "chain-1")
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, "HI!!")
    started = ExecutionStarted(
        timestamp=T0,
        name="chain",
        instance_id="chain-1",
        execution_id=status.execution_id,
        input="hi",
    )
    assert client.history("chain-1") == [
        OrchestratorStarted(timestamp=T0),
        started,
        TaskScheduled(timestamp=T0, seq=0, name="shout", input="hi"),
        OrchestratorStarted(timestamp=T0),
        TaskCompleted(timestamp=T0, seq=0, output="HI"),
        TaskScheduled(timestamp=T0, seq=1, name="exclaim", input="HI"),
        OrchestratorStarted(timestamp=T0),
        TaskCompleted(timestamp=T0, seq=1, output="HI!"),
        TaskScheduled(timestamp=T0, seq=2, name="exclaim", input="HI!"),
        OrchestratorStarted(timestamp=T0),
        TaskCompleted(timestamp=T0, seq=2, output="HI!!"),
        ExecutionCompleted(timestamp=T0, output="HI!!"),
    ]


def test_activities_run_sync_in_the_pool_and_async_on_the_loop(
    client: Client, worker: Worker
) -> None:
    instance_id = client.start(chain, "x")
    assert client.wait(instance_id, timeout=WAIT).output == "X!!"
    assert threads["shout"].startswith(f"{worker.worker_id}-act")
    assert threads["exclaim"] == worker.worker_id


def test_dataclass_payloads_are_structured_into_annotated_types(
    client: Client, worker: Worker
) -> None:
    instance_id = client.start(quote, Order(item="pen", quantity=4))
    status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.input, status.output) == (
        RuntimeStatus.COMPLETED,
        {"item": "pen", "quantity": 4},
        {"is_quote": True, "cents": 1000},
    )


def test_fan_out_of_a_thousand_activities_gathers_every_result(
    client: Client, worker: Worker
) -> None:
    instance_id = client.start(fan_out, 1000)
    status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {"count": 1000, "sum": sum(n * n for n in range(1000)), "last": 999 * 999},
    )
    kinds = Counter(type(event).__name__ for event in client.history(instance_id))
    assert (kinds["TaskScheduled"], kinds["TaskCompleted"]) == (1000, 1000)


def test_activity_failure_is_caught_by_the_orchestrator(client: Client, worker: Worker) -> None:
    instance_id = client.start(careful, "ink")
    status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {
            "activity": "out_of_stock",
            "type": "ValueError",
            "message": "no stock for 'ink'",
            "is_value_error": True,
            "traceback_names_the_raise": True,
        },
    )


def test_retry_with_backoff_succeeds_on_the_third_attempt_with_timers_in_history(
    store: MemoryStore,
) -> None:
    clock = ManualClock()
    client = Client(store, app=app, clock=clock)
    with Worker(app, store, clock=clock) as worker:
        client.start(persistent, "retry-3", instance_id="retry-3")
        for seq, delay in ((1, timedelta(seconds=1)), (3, timedelta(seconds=2))):
            timers = wait_until(
                store,
                lambda seq=seq: [
                    t for t in client.status("retry-3").waiting.timers if t.seq == seq
                ],
                what=f"retry timer {seq}",
            )
            assert timers[0].fire_at == clock.now() + delay
            clock.advance(delay)
            worker.wake()
        status = finish(store, "retry-3")
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, "retry-3 ok on attempt 3")
    steps_taken = [
        (type(event).__name__, event.seq, getattr(event, "fire_at", None))
        for event in client.history("retry-3")
        if isinstance(event, TaskScheduled | TaskCompleted | TaskFailed | TimerCreated | TimerFired)
    ]
    first_fire, second_fire = T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)
    assert steps_taken == [
        ("TaskScheduled", 0, None),
        ("TaskFailed", 0, None),
        ("TimerCreated", 1, first_fire),
        ("TimerFired", 1, first_fire),
        ("TaskScheduled", 2, None),
        ("TaskFailed", 2, None),
        ("TimerCreated", 3, second_fire),
        ("TimerFired", 3, second_fire),
        ("TaskScheduled", 4, None),
        ("TaskCompleted", 4, None),
    ]


def test_sub_orchestration_result_reaches_the_parent(client: Client, worker: Worker) -> None:
    instance_id = client.start(parent, 7, instance_id="parent-ok")
    status = client.wait(instance_id, timeout=WAIT)
    child = client.status("parent-ok:0")
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, {"doubled": 98})
    assert (child.name, child.status, child.input, child.output, child.parent_instance_id) == (
        "double",
        RuntimeStatus.COMPLETED,
        7,
        98,
        "parent-ok",
    )


def test_sub_orchestration_failure_is_raised_in_the_parent(client: Client, worker: Worker) -> None:
    instance_id = client.start(parent, -1, instance_id="parent-bad")
    status = client.wait(instance_id, timeout=WAIT)
    child = client.status("parent-bad:0")
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {
            "child": "parent-bad:0",
            "type": "ValueError",
            "message": "sub-orchestration 'double' (parent-bad:0) failed with ValueError: "
            "cannot double -1",
        },
    )
    assert child.status is RuntimeStatus.FAILED
    assert child.failure is not None
    assert (child.failure.type_name, child.failure.message) == ("ValueError", "cannot double -1")


def test_two_multi_step_branches_under_when_all_both_finish(client: Client, worker: Worker) -> None:
    instance_id = client.start(both_branches)
    status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        [["A0", "A1"], ["B0", "B1", "B2"]],
    )


def test_when_any_of_two_branches_cancels_the_loser_and_releases_its_waits(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    instance_id = client.start(race)
    raced = wait_until(
        store,
        lambda: (s := client.status(instance_id)).custom_status == "raced" and s,
        what="the race to end",
    )
    assert (raced.status, raced.waiting.timers, raced.waiting.events) == (
        RuntimeStatus.RUNNING,
        (),
        ("next",),
    )
    client.raise_event(instance_id, "next", "later")
    status = client.wait(instance_id, timeout=WAIT)
    assert status.output == {"winner": ["Q0", "Q1"], "after": "later"}
