"""End to end through `Client` and `Worker` on the in-memory store: timers, external
events, custom status, continue-as-new, terminate, suspend/resume, and what a
waiting instance says it waits for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from durable import (
    App,
    Client,
    OrchestrationContext,
    PendingActivity,
    PendingSubOrchestration,
    PendingTimer,
    RuntimeStatus,
    Waiting,
    Worker,
)
from durable.errors import InstanceFinishedError
from durable.history import (
    EventRaised,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionSuspended,
    ExecutionTerminated,
    OrchestratorStarted,
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
entered = threading.Event()
gate = threading.Event()


@app.activity
def note(text: str) -> str:
    return f"noted {text}"


@app.activity
def blocking(text: str) -> str:
    entered.set()
    gate.wait(WAIT.total_seconds())
    return f"unblocked {text}"


@app.orchestrator
def deadline(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    timer = ctx.create_timer(timedelta(minutes=5))
    approval = ctx.wait_for_event("approve")
    winner = yield ctx.when_any([timer, approval])
    if winner is timer:
        late = yield ctx.wait_for_event("approve")  # the losing wait was released
        return {"winner": "timer", "late": late}
    yield timer  # a losing timer runs on
    return {"winner": "event", "data": approval.result, "timer_fired_at": ctx.now.isoformat()}


@app.orchestrator
def all_or_deadline(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    timer = ctx.create_timer(timedelta(minutes=5))
    both = ctx.when_all([ctx.wait_for_event("approve"), ctx.wait_for_event("sign")])
    winner = yield ctx.when_any([both, timer])
    if winner is timer:
        late = yield ctx.wait_for_event("approve")  # the losing when_all's waits are released
        return {"winner": "timer", "late": late}
    return {"winner": "both", "data": winner.result}


@app.orchestrator
def staged(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    ctx.set_custom_status({"stage": "waiting", "for": "go"})
    value = yield ctx.wait_for_event("go")
    ctx.set_custom_status({"stage": "done"})
    return value


@app.orchestrator
def two_events(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    first = yield ctx.wait_for_event("a")
    second = yield ctx.wait_for_event("b")
    done = yield ctx.call_activity(note, f"{first}+{second}")
    return [first, second, done]


@app.orchestrator
def looping(ctx: OrchestrationContext, round: int):  # type: ignore[no-untyped-def]
    if round < 2:
        yield ctx.call_activity(blocking if round == 1 else note, f"round {round}")
        ctx.continue_as_new(round + 1)
        return None
    value = yield ctx.wait_for_event("go")
    return {"round": round, "go": value}


@app.orchestrator
def waiter(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield ctx.wait_for_event("never"))


@app.orchestrator
def stuck(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    results = yield ctx.when_all(
        [
            ctx.call_activity(blocking, "stuck"),
            ctx.create_timer(timedelta(hours=2)),
            ctx.wait_for_event("approval"),
            ctx.call_sub_orchestrator(waiter, instance_id="stuck-child"),
            ctx.wait_for_event("review"),
        ]
    )
    return results


@pytest.fixture(autouse=True)
def _gates() -> None:
    entered.clear()
    gate.clear()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(store: MemoryStore, clock: ManualClock) -> Client:
    return Client(store, app=app, clock=clock)


@pytest.fixture
def worker(store: MemoryStore, clock: ManualClock) -> Iterator[Worker]:
    with Worker(app, store, clock=clock) as running:
        yield running
        gate.set()  # a graceful stop waits for running activities: unblock them first


def status_when(store: MemoryStore, client: Client, instance_id: str, check: Any) -> Any:
    """The instance's status once `check(status)` holds."""
    return wait_until(
        store,
        lambda: status if check(status := client.status(instance_id)) else None,
        what=f"instance {instance_id!r} to satisfy {check.__name__}",
    )


def waits_for_event_and_timer(status: Any) -> bool:
    return bool(status.waiting.events and status.waiting.timers)


def test_when_any_timer_first_then_the_event_goes_to_the_next_wait(
    store: MemoryStore, client: Client, clock: ManualClock, worker: Worker
) -> None:
    client.start(deadline, instance_id="timer-first")
    waiting = status_when(store, client, "timer-first", waits_for_event_and_timer).waiting
    assert (waiting.timers, waiting.events) == (
        (PendingTimer(seq=0, fire_at=T0 + timedelta(minutes=5)),),
        ("approve",),
    )
    clock.advance(timedelta(minutes=5))
    worker.wake()
    status_when(store, client, "timer-first", lambda s: not s.waiting.timers)
    client.raise_event("timer-first", "approve", "too late")
    status = finish(store, "timer-first")
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {"winner": "timer", "late": "too late"},
    )


def test_when_any_event_first_then_the_timer_still_fires(
    store: MemoryStore, client: Client, clock: ManualClock, worker: Worker
) -> None:
    client.start(deadline, instance_id="event-first")
    status_when(store, client, "event-first", waits_for_event_and_timer)
    client.raise_event("event-first", "approve", {"by": "ana"})
    waiting = status_when(store, client, "event-first", lambda s: not s.waiting.events).waiting
    assert (waiting.timers, waiting.events) == (
        (PendingTimer(seq=0, fire_at=T0 + timedelta(minutes=5)),),
        (),
    )
    clock.advance(timedelta(minutes=5))
    worker.wake()
    status = finish(store, "event-first")
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {"winner": "event", "data": {"by": "ana"}, "timer_fired_at": "2030-01-01T00:05:00+00:00"},
    )
    with pytest.raises(InstanceFinishedError, match="it is already COMPLETED"):
        client.raise_event("event-first", "approve", "again")


def test_when_any_releases_the_event_waits_of_a_losing_when_all(
    store: MemoryStore, client: Client, clock: ManualClock, worker: Worker
) -> None:
    client.start(all_or_deadline, instance_id="all-or-deadline")
    status_when(store, client, "all-or-deadline", waits_for_event_and_timer)
    clock.advance(timedelta(minutes=5))
    worker.wake()
    after_timer = status_when(store, client, "all-or-deadline", lambda s: not s.waiting.timers)
    assert after_timer.waiting.events == ("approve",)  # not the loser's "sign"
    client.raise_event("all-or-deadline", "approve", "late")
    status = finish(store, "all-or-deadline")
    assert status.output == {"winner": "timer", "late": "late"}


def test_custom_status_is_visible_while_running_and_after(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(staged, instance_id="staged")
    running = status_when(store, client, "staged", lambda s: s.custom_status is not None)
    assert (running.status, running.custom_status) == (
        RuntimeStatus.RUNNING,
        {"stage": "waiting", "for": "go"},
    )
    client.raise_event("staged", "go", 42)
    done = finish(store, "staged")
    assert (done.status, done.output, done.custom_status) == (
        RuntimeStatus.COMPLETED,
        42,
        {"stage": "done"},
    )


def test_continue_as_new_carries_an_event_raised_while_it_continues_to_the_next_execution(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(looping, 0, instance_id="loop")
    assert entered.wait(WAIT.total_seconds())  # round 1 runs its activity
    first_execution = client.status("loop").execution_id
    client.raise_event("loop", "go", "green")
    wait_until(
        store,
        lambda: any(isinstance(event, EventRaised) for event in client.history("loop")),
        what="round 1 to take the event in",
    )
    gate.set()  # round 1 now continues as new, with the event unconsumed
    status = finish(store, "loop")
    assert (status.status, status.input, status.output) == (
        RuntimeStatus.COMPLETED,
        2,
        {"round": 2, "go": "green"},
    )
    assert status.execution_id != first_execution
    history = client.history("loop")
    assert [type(event).__name__ for event in history] == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "EventRaised",
        "ExecutionCompleted",
    ]
    assert isinstance(history[1], ExecutionStarted)
    assert (history[1].input, history[1].execution_id) == (2, status.execution_id)


def test_terminate_while_waiting_ends_the_instance_with_the_reason(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(staged, instance_id="doomed")
    status_when(store, client, "doomed", lambda s: s.status is RuntimeStatus.RUNNING)
    client.terminate("doomed", "no longer needed")
    status = finish(store, "doomed")
    assert (status.status, status.output, status.failure, status.completed_at) == (
        RuntimeStatus.TERMINATED,
        "no longer needed",
        None,
        T0,
    )
    assert client.history("doomed")[-2:] == [
        OrchestratorStarted(timestamp=T0),
        ExecutionTerminated(timestamp=T0, reason="no longer needed"),
    ]
    with pytest.raises(InstanceFinishedError, match="cannot raise event 'go' to instance"):
        client.raise_event("doomed", "go")


def test_terminate_before_the_first_episode_carries_out_no_call(store: MemoryStore) -> None:
    client = Client(store, app=app)
    client.start(two_events, instance_id="never-ran")  # no worker yet: both requests queue up
    client.raise_event("never-ran", "a", 1)
    client.raise_event("never-ran", "b", 2)
    client.terminate("never-ran", "cancelled")
    with Worker(app, store):
        status = finish(store, "never-ran")
    assert (status.status, status.output) == (RuntimeStatus.TERMINATED, "cancelled")
    kinds = [type(event).__name__ for event in client.history("never-ran")]
    assert kinds == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "EventRaised",
        "EventRaised",
        "ExecutionTerminated",
    ]


def test_suspended_instance_holds_events_until_resumed(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(two_events, instance_id="paused")
    status_when(store, client, "paused", lambda s: s.waiting.events == ("a",))
    client.suspend("paused", "maintenance")
    status_when(store, client, "paused", lambda s: s.status is RuntimeStatus.SUSPENDED)
    client.raise_event("paused", "a", 1)
    client.raise_event("paused", "b", 2)
    wait_until(
        store,
        lambda: sum(isinstance(e, EventRaised) for e in client.history("paused")) == 2,
        what="both events to be taken in while suspended",
    )
    held = client.status("paused")
    assert (held.status, held.output, held.waiting) == (
        RuntimeStatus.SUSPENDED,
        None,
        Waiting(events=("a",)),  # the events came in but are held, not delivered
    )
    client.resume("paused", "done")
    status = finish(store, "paused")
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, [1, 2, "noted 1+2"])
    kinds = [type(event) for event in client.history("paused")]
    assert (
        kinds.index(ExecutionSuspended) < kinds.index(EventRaised) < kinds.index(ExecutionResumed)
    )


def test_status_of_a_stuck_instance_shows_what_it_waits_for(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(stuck, instance_id="stuck")
    assert entered.wait(WAIT.total_seconds())
    waiting = client.status("stuck").waiting
    assert waiting == Waiting(
        activities=(PendingActivity(seq=0, name="blocking", scheduled_at=T0),),
        timers=(PendingTimer(seq=1, fire_at=T0 + timedelta(hours=2)),),
        events=("approval", "review"),
        sub_orchestrations=(
            PendingSubOrchestration(seq=2, name="waiter", instance_id="stuck-child"),
        ),
    )
    client.terminate("stuck", "seen enough")
    assert finish(store, "stuck").waiting == Waiting()
