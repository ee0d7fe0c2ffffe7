"""A chain of sync activities runs on in the slot that ran its first step.

The pool thread that ran a step of an instance waiting on that step alone
delivers the result itself, with the instance's next episode, and runs the
next step the episode leased it (`durable._worker.runs.ActivityRun`). A step
whose result met the I/O thread busy goes through the loop's batch instead,
and the run then goes on from the loop, in the same slot. These tests hold
what must stay true of both ways: the lease the worker renews and gives back
is the one of the step the chain is on, a stop ends the chain between steps,
and the histories it writes replay as any other.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from durable import App, Client, OrchestrationContext, RetryPolicy, RuntimeStatus, Worker
from durable.history import TaskCompleted, TaskScheduled
from durable.stores import SQLiteStore
from durable.testing import replay
from tests.integration.test_end_to_end_support import WAIT, wait_until

LENGTH = 5
HELD = 2  # the input of the step a test holds


class Steps:
    """What the chain's activity did: runs per input, threads, and a step a test holds."""

    def __init__(self) -> None:
        self.runs: Counter[int] = Counter()
        self.threads: set[str] = set()
        self.held = threading.Event()  # the held step is running
        self.go_on = threading.Event()  # the test lets it return
        self.pause = 0.0  # seconds the held step sleeps instead, if set
        self.lock = threading.Lock()

    def step(self, number: int) -> int:
        with self.lock:
            self.runs[number] += 1
            self.threads.add(threading.current_thread().name)
        if number == HELD:
            self.held.set()
            if self.pause:
                self.go_on.wait(self.pause)
            else:
                self.go_on.wait(WAIT.total_seconds())
        return number + 1


def chain_app(steps: Steps) -> App:
    app = App()

    @app.activity(name="step")
    def step(number: int) -> int:
        return steps.step(number)

    @app.orchestrator(name="chain")
    def chain(ctx: OrchestrationContext, length: int):  # type: ignore[no-untyped-def]
        number = 0
        for _ in range(length):
            number = yield ctx.call_activity("step", number)
        return number

    return app


@pytest.fixture
def steps() -> Steps:
    return Steps()


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "chains.db")


@pytest.fixture(params=["pool thread", "loop batch"])
def delivery(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Who delivers a chain step's result: the pool thread that ran it, or the loop's batch.

    The loop's batch is what a step gets when the I/O thread is busy (many
    instances at once); here every step gets it.
    """
    if request.param == "loop batch":
        monkeypatch.setattr(Worker, "_deliver_here", lambda *_: None)
    return str(request.param)


def held_chain(store: SQLiteStore, steps: Steps) -> tuple[App, Client, Worker, str]:
    """A worker (leases of five minutes) running a chain that is now on the held step."""
    app = chain_app(steps)
    client = Client(store, app=app)
    worker = Worker(app, store, lease=timedelta(minutes=5)).start()
    instance_id = client.start("chain", LENGTH)
    assert steps.held.wait(WAIT.total_seconds())
    return app, client, worker, instance_id


def completed_steps(store: SQLiteStore, instance_id: str) -> list[int]:
    return [
        event.seq for event in store.get_history(instance_id) if isinstance(event, TaskCompleted)
    ]


def test_a_chain_is_delivered_by_the_thread_that_runs_it(store: SQLiteStore, steps: Steps) -> None:
    app = chain_app(steps)
    delivering: set[str] = set()
    complete = store.complete_activities

    def watched(completions: Any, **kw: Any) -> Any:
        delivering.add(threading.current_thread().name)
        return complete(completions, **kw)

    store.complete_activities = watched  # type: ignore[method-assign]
    steps.go_on.set()
    client = Client(store, app=app)
    with Worker(app, store, max_activities=4):
        status = client.wait(client.start("chain", 20), timeout=WAIT)

    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, 20)
    assert steps.runs == Counter(range(20))
    assert len(steps.threads) == 1
    # A step whose result meets the I/O thread busy goes in its next batch instead.
    assert steps.threads <= delivering


def test_a_chain_delivered_through_the_loop_goes_on_in_one_slot(
    store: SQLiteStore, steps: Steps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Worker, "_deliver_here", lambda *_: None)
    app = chain_app(steps)
    steps.go_on.set()
    client = Client(store, app=app)
    with Worker(app, store, max_activities=4) as worker:
        lane = worker._activities
        start = lane.start
        started: list[Any] = []

        def counted(run: Any) -> None:
            started.append(run)
            start(run)

        lane.start = counted  # type: ignore[method-assign]
        status = client.wait(client.start("chain", 20), timeout=WAIT)

    # Checked once the worker has stopped: the last step's run gives its slot back
    # just after its commit, which the client may see first.
    assert lane.free() == 4
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, 20)
    assert steps.runs == Counter(range(20))
    assert len(started) == 1  # one run, one slot, for the twenty steps


def test_the_lease_renewed_is_the_one_of_the_step_the_chain_is_on(
    store: SQLiteStore, steps: Steps, delivery: str
) -> None:
    # The held step outlasts its lease twice over; a second worker takes any task
    # whose lease runs out. If the heartbeat renewed the chain's first task (long
    # delivered), the held step would run twice.
    app = chain_app(steps)
    steps.pause = 2.5
    lease = timedelta(seconds=0.9)
    client = Client(store, app=app)
    with (
        Worker(app, store, lease=lease, poll_interval=timedelta(milliseconds=50)),
        Worker(app, store, lease=lease, poll_interval=timedelta(milliseconds=50)),
    ):
        status = client.wait(client.start("chain", LENGTH), timeout=WAIT)

    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, LENGTH)
    assert steps.runs == Counter(range(LENGTH))


def test_an_abrupt_stop_gives_back_the_lease_of_the_step_the_chain_is_on(
    store: SQLiteStore, steps: Steps, delivery: str
) -> None:
    app, client, worker, instance_id = held_chain(store, steps)

    worker.stop(graceful=False)

    assert completed_steps(store, instance_id) == [0, 1]
    task = store.take_activity(now=worker.clock.now(), lease=timedelta(minutes=1), owner="next")
    assert task is not None  # not held for the five minutes of the stopped worker's lease
    assert (task.seq, task.input, task.attempt) == (HELD, HELD, 2)
    store.release_activity(task, now=worker.clock.now())
    steps.go_on.set()  # the abandoned step returns; its result is dropped
    with Worker(app, store):
        status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, LENGTH)
    assert completed_steps(store, instance_id) == list(range(LENGTH))
    assert steps.runs == Counter({**dict.fromkeys(range(LENGTH), 1), HELD: 2})


def test_a_graceful_stop_ends_the_chain_after_the_step_it_is_on(
    store: SQLiteStore, steps: Steps, delivery: str
) -> None:
    app, client, worker, instance_id = held_chain(store, steps)
    stopping = threading.Thread(target=worker.stop)
    stopping.start()
    run = worker._run  # the test must know that the stop request has landed
    assert run is not None
    wait_until(store, lambda: run.stopping.is_set(), what="the worker to begin stopping")

    steps.go_on.set()
    stopping.join(WAIT.total_seconds())

    assert not stopping.is_alive()
    assert steps.runs == Counter(range(HELD + 1))  # the next step was not run
    # The held step's result waits in the inbox: a stopping worker runs no new episode.
    assert completed_steps(store, instance_id) == [0, 1]
    assert (
        store.take_activity(now=worker.clock.now(), lease=timedelta(minutes=1), owner="x") is None
    )
    with Worker(app, store):
        status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, LENGTH)
    assert steps.runs == Counter(range(LENGTH))


def test_the_history_a_chain_writes_replays(
    store: SQLiteStore, steps: Steps, delivery: str
) -> None:
    app = chain_app(steps)
    steps.go_on.set()
    client = Client(store, app=app)
    with Worker(app, store):
        instance_id = client.start("chain", LENGTH)
        client.wait(instance_id, timeout=WAIT)
    history = store.get_history(instance_id)

    result = replay(history, "chain", app=app)

    assert (result.status, result.output, result.divergence) == (
        RuntimeStatus.COMPLETED,
        LENGTH,
        None,
    )
    scheduled = [event.input for event in history if isinstance(event, TaskScheduled)]
    assert scheduled == list(range(LENGTH))
    assert completed_steps(store, instance_id) == list(range(LENGTH))


def test_a_chain_goes_on_past_a_retried_failure_and_an_async_step(store: SQLiteStore) -> None:
    # The failure's retry waits on a timer and the async step runs on the loop:
    # both end the chain in its thread, and the steps after them start a new one.
    app = App()
    calls: Counter[str] = Counter()
    retry = RetryPolicy(max_attempts=2, first_interval=timedelta(milliseconds=10))

    @app.activity(name="add")
    def add(number: int) -> int:
        calls[f"add {number}"] += 1
        if number == 1 and calls["add 1"] == 1:
            raise RuntimeError("the first try of step 1 fails")
        return number + 1

    @app.activity(name="add_async")
    async def add_async(number: int) -> int:
        calls[f"add_async {number}"] += 1
        return number + 1

    @app.orchestrator(name="mixed")
    def mixed(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
        number = 0
        for name in ("add", "add", "add_async", "add", "add"):
            number = yield ctx.call_activity(name, number, retry=retry)
        return number

    client = Client(store, app=app)
    with Worker(app, store):
        instance_id = client.start("mixed")
        status = client.wait(instance_id, timeout=WAIT)

    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, 5)
    assert calls == Counter({"add 0": 1, "add 1": 2, "add_async 2": 1, "add 3": 1, "add 4": 1})
    result = replay(store.get_history(instance_id), "mixed", app=app)
    assert (result.status, result.output, result.divergence) == (RuntimeStatus.COMPLETED, 5, None)
