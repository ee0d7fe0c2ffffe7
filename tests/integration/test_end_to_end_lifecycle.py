"""End to end through `Client` and `Worker` on the in-memory store: listing, purging,
scheduled starts, id reuse, the asyncio forms, and how a worker stops."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from durable import (
    App,
    AsyncClient,
    Client,
    InstanceStatus,
    OrchestrationContext,
    RuntimeStatus,
    Worker,
)
from durable.errors import InstanceExistsError, InstanceNotFoundError, StoreError
from durable.history import ExecutionStarted, OrchestratorStarted
from durable.stores import MemoryStore
from tests.integration.test_end_to_end_support import (
    T0,
    WAIT,
    ManualClock,
    finish,
    store_state,
    wait_until,
)

app = App()
calls: Counter[str] = Counter()
entered = threading.Event()
gate = threading.Event()


@app.activity
def greet(name: str) -> str:
    return f"Hello, {name}!"


@app.activity
async def greet_async(name: str) -> str:
    return f"Hi, {name}!"


@app.activity
def slow_step(key: str) -> str:
    calls[key] += 1
    if calls[key] == 1:
        entered.set()
        gate.wait(WAIT.total_seconds())
    return f"{key} done on call {calls[key]}"


@app.orchestrator
def greeting(ctx: OrchestrationContext, name: str):  # type: ignore[no-untyped-def]
    return (yield ctx.call_activity(greet, name))


@app.orchestrator
async def greetings(ctx: OrchestrationContext, name: str) -> list[str]:
    sync_result: str = await ctx.call_activity(greet, name)
    async_result: str = await ctx.call_activity(greet_async, name)
    told = await ctx.wait_for_event("go")
    return [sync_result, async_result, told]


@app.orchestrator
def hold(ctx: OrchestrationContext, label: str):  # type: ignore[no-untyped-def]
    told = yield ctx.wait_for_event("go")
    return [label, told]


@app.orchestrator
def one_slow_step(ctx: OrchestrationContext, key: str):  # type: ignore[no-untyped-def]
    return (yield ctx.call_activity(slow_step, key))


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    calls.clear()
    entered.clear()
    gate.clear()
    yield
    gate.set()  # never leave an activity thread blocked


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


def running(store: MemoryStore, client: Client, instance_id: str) -> InstanceStatus:
    return wait_until(
        store,
        lambda: s if (s := client.status(instance_id)).status is RuntimeStatus.RUNNING else None,
        what=f"{instance_id} to run",
    )


def ids(statuses: Any) -> list[str]:
    return [status.instance_id for status in statuses]


def test_list_filters_by_status_name_and_created_time_and_pages_in_creation_order(
    store: MemoryStore, client: Client, clock: ManualClock, worker: Worker
) -> None:
    for number, orchestrator in enumerate([greeting, hold, greeting, hold, greeting], start=1):
        client.start(orchestrator, f"n{number}", instance_id=f"l-{number}")
        if orchestrator is greeting:
            finish(store, f"l-{number}")
        else:
            running(store, client, f"l-{number}")
        clock.advance(timedelta(minutes=1))
    client.terminate("l-4", "stop")
    finish(store, "l-4")

    completed = client.list(status=[RuntimeStatus.COMPLETED])
    assert (ids(completed.instances), completed.continuation) == (["l-1", "l-3", "l-5"], None)
    assert ids(client.list(name="hold").instances) == ["l-2", "l-4"]
    assert ids(client.list(status=[RuntimeStatus.RUNNING], name="hold").instances) == ["l-2"]
    assert ids(client.list(created_from=T0 + timedelta(minutes=3)).instances) == ["l-4", "l-5"]
    window = client.list(
        created_from=T0 + timedelta(minutes=1), created_to=T0 + timedelta(minutes=3)
    )
    assert ids(window.instances) == ["l-2", "l-3"]
    assert client.list(status=[RuntimeStatus.FAILED]).instances == ()

    pages, continuation = [], None
    while True:
        page = client.list(page_size=2, continuation=continuation)
        pages.append(ids(page.instances))
        if (continuation := page.continuation) is None:
            break
    assert pages == [["l-1", "l-2"], ["l-3", "l-4"], ["l-5"]]


def test_purge_deletes_a_finished_instance_and_refuses_a_running_one(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(greeting, "a", instance_id="gone")
    client.start(hold, "b", instance_id="kept")
    finish(store, "gone")
    running(store, client, "kept")

    assert client.purge("gone") is True
    with pytest.raises(InstanceNotFoundError, match="no instance with id 'gone'"):
        client.status("gone")
    with pytest.raises(InstanceNotFoundError, match="no instance with id 'gone'"):
        client.history("gone")
    assert client.purge("gone") is False

    before = store_state(client)
    with pytest.raises(InstanceExistsError, match="'kept' already exists and is RUNNING"):
        client.purge("kept")
    assert store_state(client) == before
    assert ids(client.list().instances) == ["kept"]


def test_purge_many_deletes_finished_instances_matching_the_filters(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    for number in range(3):
        client.start(greeting, "x", instance_id=f"done-{number}")
        finish(store, f"done-{number}")
    client.start(hold, "y", instance_id="ended")
    client.terminate("ended")
    finish(store, "ended")
    client.start(hold, "z", instance_id="live")
    running(store, client, "live")

    assert client.purge_many(status=[RuntimeStatus.TERMINATED]) == 1
    assert ids(client.list().instances) == ["done-0", "done-1", "done-2", "live"]
    assert client.purge_many() == 3
    assert ids(client.list().instances) == ["live"]


def test_scheduled_start_stays_pending_until_its_time(
    store: MemoryStore, client: Client, clock: ManualClock, worker: Worker
) -> None:
    later = T0 + timedelta(hours=1)
    client.start(hold, "later", instance_id="scheduled", start_at=later)
    client.raise_event("scheduled", "go", "early bird")
    client.start(greeting, "now", instance_id="prompt")
    assert finish(store, "prompt").status is RuntimeStatus.COMPLETED  # the worker is at work
    pending = client.status("scheduled")
    assert (pending.status, pending.scheduled_start, client.history("scheduled")) == (
        RuntimeStatus.PENDING,
        later,
        [],
    )

    clock.advance(timedelta(hours=1))
    worker.wake()
    status = finish(store, "scheduled")
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, ["later", "early bird"])
    history = client.history("scheduled")
    assert history[0] == OrchestratorStarted(timestamp=later)
    assert isinstance(history[1], ExecutionStarted)
    assert history[1].scheduled_start == later


def test_terminating_a_scheduled_instance_ends_it_before_its_start_time(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(hold, "never", instance_id="cancelled", start_at=T0 + timedelta(days=1))
    client.terminate("cancelled", "plans changed")
    status = finish(store, "cancelled")
    assert (status.status, status.output) == (RuntimeStatus.TERMINATED, "plans changed")


def test_starting_an_unfinished_id_is_refused_and_a_finished_id_is_reused(
    store: MemoryStore, client: Client, worker: Worker
) -> None:
    client.start(hold, "first", instance_id="again", start_at=T0 + timedelta(hours=1))
    with pytest.raises(InstanceExistsError, match="'again' already exists and is PENDING"):
        client.start(hold, "second", instance_id="again")
    client.terminate("again")
    finish(store, "again")

    client.start(hold, "third", instance_id="again")
    first_run = running(store, client, "again")
    before = store_state(client)
    with pytest.raises(InstanceExistsError, match="'again' already exists and is RUNNING"):
        client.start(greeting, "fourth", instance_id="again")
    assert store_state(client) == before

    client.raise_event("again", "go", 3)
    assert finish(store, "again").output == ["third", 3]
    client.start(greeting, "fifth", instance_id="again")
    reused = finish(store, "again")
    assert (reused.name, reused.input, reused.output) == ("greeting", "fifth", "Hello, fifth!")
    assert reused.execution_id != first_run.execution_id
    history = client.history("again")
    assert isinstance(history[1], ExecutionStarted)
    assert (history[1].input, len(history)) == ("fifth", 6)


def test_async_worker_and_async_client_run_sync_and_async_activities() -> None:
    async def scenario() -> tuple[InstanceStatus, list[str]]:
        store = MemoryStore()
        client = AsyncClient(store, app=app)
        async with Worker(app, store):
            instance_id = await client.start(greetings, "Ada", instance_id="async")
            await client.raise_event(instance_id, "go", "told")
            status = await client.wait(instance_id, timeout=WAIT)
            history = await client.history(instance_id)
        return status, [type(event).__name__ for event in history]

    status, kinds = asyncio.run(scenario())
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        ["Hello, Ada!", "Hi, Ada!", "told"],
    )
    assert kinds.count("TaskCompleted") == 2


def test_graceful_stop_lets_the_running_activity_finish_and_commit() -> None:
    store = MemoryStore()

    async def scenario() -> InstanceStatus:
        client = AsyncClient(store, app=app)
        worker = Worker(app, store)
        async with worker:
            await client.start(one_slow_step, "graceful", instance_id="graceful")
            assert await asyncio.to_thread(entered.wait, WAIT.total_seconds())
            stopping = asyncio.create_task(worker.stop_async())
            await asyncio.sleep(0)  # stop_async has asked the worker to stop
            gate.set()
            await stopping
        return await client.status("graceful")

    stopped = asyncio.run(scenario())
    assert stopped.status is RuntimeStatus.RUNNING  # no episode ran after the stop
    with Worker(app, store):
        status = Client(store).wait("graceful", timeout=WAIT)
    assert (status.status, status.output, calls["graceful"]) == (
        RuntimeStatus.COMPLETED,
        "graceful done on call 1",
        1,
    )


@pytest.mark.parametrize(
    "stop",
    [{"graceful": False}, {"timeout": timedelta(milliseconds=20)}],
    ids=["abrupt", "graceful-timing-out"],
)
def test_stop_gives_running_leases_back_so_another_worker_finishes_at_once(
    stop: dict[str, Any],
) -> None:
    store = MemoryStore()
    client = Client(store, app=app)
    first = Worker(app, store, max_activities=1, lease=timedelta(minutes=10)).start()
    client.start(one_slow_step, "handoff", instance_id="handoff")
    assert entered.wait(WAIT.total_seconds())
    first.stop(**stop)
    assert client.status("handoff").status is RuntimeStatus.RUNNING
    with Worker(app, store):
        status = client.wait("handoff", timeout=WAIT)
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, "handoff done on call 2")


class ListenerRecordingStore(MemoryStore):
    """A store that remembers every listener ever added."""

    def __init__(self) -> None:
        super().__init__()
        self.every_listener: list[Any] = []

    def add_listener(self, callback: Any) -> Any:
        self.every_listener.append(callback)
        return super().add_listener(callback)


def test_async_client_wait_ignores_a_notification_that_comes_after_its_loop_closed() -> None:
    store = ListenerRecordingStore()

    async def scenario() -> InstanceStatus:
        client = AsyncClient(store, app=app)
        async with Worker(app, store):
            return await client.wait(await client.start(greeting, "x"), timeout=WAIT)

    assert asyncio.run(scenario()).status is RuntimeStatus.COMPLETED
    for listener in store.every_listener:  # a store may call one it copied before removal
        listener()


class HiccupStore(MemoryStore):
    """A store whose first take of an orchestration fails."""

    failures = 0

    def take_orchestrations(self, **kwargs: Any) -> Any:
        if self.failures == 0:
            self.failures += 1
            raise StoreError("the disk hiccuped")
        return super().take_orchestrations(**kwargs)


def test_worker_survives_a_store_error_while_taking_work(caplog: pytest.LogCaptureFixture) -> None:
    store = HiccupStore()
    client = Client(store, app=app)
    with caplog.at_level(logging.ERROR, logger="durable.worker"), Worker(app, store):
        instance_id = client.start(greeting, "again")
        status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output, store.failures) == (
        RuntimeStatus.COMPLETED,
        "Hello, again!",
        1,
    )
    assert "could not take work from the store" in caplog.text
