"""End to end through `Client` and a real `Worker` on SQLite: rewinding failed instances.

Activities count their calls; `fragile` raises for the keys in `broken`, which
a test mends before it rewinds, so the rewound instance completes. What
succeeded before the failure must not run again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from durable import App, AsyncClient, Client, OrchestrationContext, RuntimeStatus, Worker
from durable.errors import InstanceNotFailedError, InstanceNotFoundError
from durable.history import ExecutionRewound, TaskCompleted
from durable.stores import SQLiteStore
from tests.integration.test_end_to_end_support import WAIT, store_state, wait_until

app = App()
calls: Counter[str] = Counter()
broken: set[str] = set()


@app.activity
def step(key: str) -> str:
    calls[f"step:{key}"] += 1
    return f"{key} stepped"


@app.activity
def fragile(key: str) -> str:
    calls[f"fragile:{key}"] += 1
    if key in broken:
        raise ConnectionError(f"{key}: down")
    return f"{key} done"


@app.orchestrator
async def sequence(ctx: OrchestrationContext, key: str) -> list[str]:
    first = await ctx.call_activity(step, key)
    second = await ctx.call_activity(fragile, key)
    return [first, second]


@app.orchestrator
async def fan_out(ctx: OrchestrationContext, keys: list[str]) -> list[str]:
    calls_made = [
        ctx.call_activity(fragile if key.startswith("bad") else step, key) for key in keys
    ]
    return await ctx.when_all(calls_made)


@app.orchestrator
async def parent(ctx: OrchestrationContext, key: str) -> list[str]:
    before = await ctx.call_activity(step, f"{key}/parent")
    child = await ctx.call_sub_orchestrator(sequence, f"{key}/child")
    return [before, *child]


@app.orchestrator
async def waits(ctx: OrchestrationContext) -> str:
    return await ctx.wait_for_event("go")  # type: ignore[no-any-return]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    calls.clear()
    broken.clear()
    with SQLiteStore(tmp_path / "durable.db") as opened:
        yield opened


@pytest.fixture
def client(store: SQLiteStore) -> Client:
    return Client(store, app=app)


@pytest.fixture
def worker(store: SQLiteStore) -> Iterator[Worker]:
    with Worker(app, store, poll_interval=timedelta(milliseconds=20)) as running:
        yield running


def failed(client: Client, instance_id: str) -> None:
    status = client.wait(instance_id, timeout=WAIT)
    assert status.status is RuntimeStatus.FAILED, status


def test_rewind_runs_the_failed_activity_again_and_not_the_one_that_succeeded(
    client: Client, worker: Worker
) -> None:
    broken.add("k1")
    instance_id = client.start(sequence, "k1")
    failed(client, instance_id)

    broken.clear()
    client.rewind(instance_id, "the service is back")
    done = client.wait(instance_id, timeout=WAIT)

    assert (done.status, done.output, done.failure) == (
        RuntimeStatus.COMPLETED,
        ["k1 stepped", "k1 done"],
        None,
    )
    assert (calls["step:k1"], calls["fragile:k1"]) == (1, 2)
    rewinds = [e for e in client.history(instance_id) if isinstance(e, ExecutionRewound)]
    assert [(each.reason, len(each.undone)) for each in rewinds] == [("the service is back", 2)]


def test_rewind_of_a_fan_out_runs_again_only_what_has_no_recorded_success(
    client: Client, worker: Worker
) -> None:
    keys = ["bad-1", "ok-1", "bad-2", "ok-2", "ok-3"]
    broken.update({"bad-1", "bad-2"})
    instance_id = client.start(fan_out, keys)
    failed(client, instance_id)
    succeeded = {e.seq for e in client.history(instance_id) if isinstance(e, TaskCompleted)}

    broken.clear()
    client.rewind(instance_id)
    done = client.wait(instance_id, timeout=WAIT)

    assert (done.status, done.output) == (
        RuntimeStatus.COMPLETED,
        ["bad-1 done", "ok-1 stepped", "bad-2 done", "ok-2 stepped", "ok-3 stepped"],
    )
    for seq in succeeded:  # a success the history recorded is replayed, never run again
        key = keys[seq]
        assert calls[f"step:{key}"] == 1


def test_rewinding_a_parent_rewinds_its_failed_sub_orchestration(
    client: Client, worker: Worker
) -> None:
    broken.add("p1/child")
    instance_id = client.start(parent, "p1")
    failed(client, instance_id)
    child_id = f"{instance_id}:1"
    assert client.status(child_id).status is RuntimeStatus.FAILED

    broken.clear()
    client.rewind(instance_id, "fixed")
    done = client.wait(instance_id, timeout=WAIT)

    assert (done.status, done.output) == (
        RuntimeStatus.COMPLETED,
        ["p1/parent stepped", "p1/child stepped", "p1/child done"],
    )
    assert client.status(child_id).status is RuntimeStatus.COMPLETED
    child_rewinds = [e for e in client.history(child_id) if isinstance(e, ExecutionRewound)]
    assert [each.reason for each in child_rewinds] == [f"rewound with its parent {instance_id!r}"]
    assert (calls["step:p1/parent"], calls["step:p1/child"], calls["fragile:p1/child"]) == (
        1,
        1,
        2,
    )


def test_async_client_rewinds_too(store: SQLiteStore, client: Client, worker: Worker) -> None:
    broken.add("k2")
    instance_id = client.start(sequence, "k2")
    failed(client, instance_id)
    broken.clear()

    async def rewind_and_wait() -> Any:
        async_client = AsyncClient(store, app=app)
        await async_client.rewind(instance_id, "from asyncio")
        return await async_client.wait(instance_id, timeout=WAIT)

    assert asyncio.run(rewind_and_wait()).output == ["k2 stepped", "k2 done"]


def test_rewinding_what_cannot_be_rewound_raises_and_changes_nothing(
    store: SQLiteStore, client: Client, worker: Worker
) -> None:
    running = client.start(waits)
    wait_until(
        store,
        lambda: "go" in client.status(running).waiting.events,
        what="the instance to wait for 'go'",
    )
    broken.add("k3")
    completed = client.start(sequence, "k3")
    failed(client, completed)
    broken.clear()
    client.rewind(completed)
    client.wait(completed, timeout=WAIT)
    before = store_state(client)

    with pytest.raises(InstanceNotFoundError, match="'nope'"):
        client.rewind("nope")
    with pytest.raises(InstanceNotFailedError, match=f"{running!r}: it is RUNNING"):
        client.rewind(running)
    with pytest.raises(InstanceNotFailedError, match=f"{completed!r}: it is COMPLETED"):
        client.rewind(completed, "again")

    assert store_state(client) == before


def test_rewind_after_the_orchestrator_is_deployed_runs_an_instance_that_could_not_run(
    store: SQLiteStore,
) -> None:
    later = App()

    @later.orchestrator
    async def deployed_late(ctx: OrchestrationContext, key: str) -> str:
        return f"{key} ran"

    client = Client(store)
    instance_id = client.start("deployed_late", "k4")
    with Worker(app, store, poll_interval=timedelta(milliseconds=20)):  # does not know it
        failed(client, instance_id)
        client.rewind(instance_id, "too early")
        failed(client, instance_id)
    assert client.status(instance_id).failure.type_name == "OrchestratorNotFoundError"  # type: ignore[union-attr]

    with Worker(later, store, poll_interval=timedelta(milliseconds=20)):
        client.rewind(instance_id, "deployed now")
        done = client.wait(instance_id, timeout=WAIT)

    assert (done.status, done.output) == (RuntimeStatus.COMPLETED, "k4 ran")
