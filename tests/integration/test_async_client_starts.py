"""`AsyncClient.start`: concurrent starts share one transaction, each made or refused alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from durable import App, AsyncClient, OrchestrationContext, RuntimeStatus, Worker
from durable._store.protocol import InstanceStart
from durable.errors import InstanceExistsError, PayloadError, StoreError
from durable.stores import MemoryStore, SQLiteStore
from tests.integration.test_end_to_end_support import WAIT

app = App()


@app.activity
def double(value: int) -> int:
    return value * 2


@app.orchestrator
def doubled(ctx: OrchestrationContext, value: int):  # type: ignore[no-untyped-def]
    return (yield ctx.call_activity(double, value))


class BatchRecordingStore(SQLiteStore):
    """A SQLite store that records the size of every `create_instances` call."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        self.batches.append(len(starts))
        return super().create_instances(starts)


@pytest.fixture
def store(tmp_path: Path) -> BatchRecordingStore:
    return BatchRecordingStore(tmp_path / "starts.db")


def test_gathered_starts_are_created_in_one_store_call_and_all_run(
    store: BatchRecordingStore,
) -> None:
    async def scenario() -> list[tuple[RuntimeStatus, object]]:
        client = AsyncClient(store, app=app)
        ids = await asyncio.gather(*(client.start(doubled, value) for value in range(20)))
        async with Worker(app, store):
            finished = [await client.wait(instance_id, timeout=WAIT) for instance_id in ids]
        return [(status.status, status.output) for status in finished]

    outcomes = asyncio.run(scenario())

    assert store.batches == [20]
    assert outcomes == [(RuntimeStatus.COMPLETED, value * 2) for value in range(20)]


def test_starts_awaited_one_after_another_each_go_alone(store: BatchRecordingStore) -> None:
    async def scenario() -> list[str]:
        client = AsyncClient(store, app=app)
        return [await client.start(doubled, value) for value in range(3)]

    ids = asyncio.run(scenario())

    assert store.batches == [1, 1, 1]
    assert len(set(ids)) == 3


def test_a_taken_id_refuses_only_its_own_start_and_leaves_the_running_instance_alone(
    store: BatchRecordingStore,
) -> None:
    async def scenario() -> list[object]:
        client = AsyncClient(store, app=app)
        await client.start(doubled, 1, instance_id="taken")
        return await asyncio.gather(
            client.start(doubled, 2, instance_id="first"),
            client.start(doubled, 3, instance_id="taken"),
            client.start(doubled, 4, instance_id="first"),
            client.start(doubled, 5, instance_id="last"),
            return_exceptions=True,
        )

    first, taken, again, last = asyncio.run(scenario())

    assert (first, last) == ("first", "last")
    assert isinstance(taken, InstanceExistsError)
    assert (taken.instance_id, taken.status) == ("taken", "PENDING")
    assert isinstance(again, InstanceExistsError)
    assert again.instance_id == "first"
    assert store.batches == [1, 4]
    inputs = {
        instance_id: status.input
        for instance_id in ("taken", "first", "last")
        if (status := store.get_instance(instance_id)) is not None
    }
    assert inputs == {"taken": 1, "first": 2, "last": 5}


def test_a_start_with_bad_input_fails_at_once_and_the_others_are_made(
    store: BatchRecordingStore,
) -> None:
    async def scenario() -> list[object]:
        client = AsyncClient(store, app=app)
        return await asyncio.gather(
            client.start(doubled, 1, instance_id="good"),
            client.start(doubled, object(), instance_id="bad"),
            return_exceptions=True,
        )

    good, bad = asyncio.run(scenario())

    assert good == "good"
    assert isinstance(bad, PayloadError)
    assert "input of orchestrator 'doubled'" in str(bad)
    assert store.get_instance("bad") is None
    assert store.batches == [1]


def test_a_store_failure_fails_every_start_of_its_batch(store: BatchRecordingStore) -> None:
    store.close()

    async def scenario() -> list[object]:
        client = AsyncClient(store, app=app)
        return await asyncio.gather(
            *(client.start(doubled, value) for value in range(3)), return_exceptions=True
        )

    failures = asyncio.run(scenario())

    assert [type(failure) for failure in failures] == [StoreError] * 3
    assert all("is closed" in str(failure) for failure in failures)
    assert store.batches == [3]


def test_a_start_cancelled_before_its_transaction_is_not_made(
    store: BatchRecordingStore,
) -> None:
    async def scenario() -> None:
        client = AsyncClient(store, app=app)
        kept = asyncio.create_task(client.start(doubled, 1, instance_id="kept"))
        dropped = asyncio.create_task(client.start(doubled, 2, instance_id="dropped"))
        await asyncio.sleep(0)  # both wait for their batch, which has not begun
        dropped.cancel()
        assert await kept == "kept"
        with pytest.raises(asyncio.CancelledError):
            await dropped

    asyncio.run(scenario())

    assert store.batches == [1]
    assert store.get_instance("dropped") is None
    assert store.get_instance("kept") is not None


class FirstBatchHeldStore(MemoryStore):
    """Holds its first `create_instances` call until released; later calls go through."""

    def __init__(self) -> None:
        super().__init__()
        self.first_call = threading.Event()
        self.release = threading.Event()
        self._calls = 0

    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        self._calls += 1
        if self._calls == 1:
            self.first_call.set()
            assert self.release.wait(WAIT.total_seconds())
        return super().create_instances(starts)


def test_one_client_starts_on_two_event_loops_at_once_without_waiting_for_each_other() -> None:
    store = FirstBatchHeldStore()
    client = AsyncClient(store, app=app)
    first: list[str] = []
    other_loop = threading.Thread(
        target=lambda: first.append(asyncio.run(client.start(doubled, 1, instance_id="held")))
    )
    other_loop.start()
    try:
        assert store.first_call.wait(WAIT.total_seconds())

        async def second() -> str:
            return await asyncio.wait_for(client.start(doubled, 2, instance_id="free"), 5)

        assert asyncio.run(second()) == "free"  # its own batch, on its own loop
    finally:
        store.release.set()
        other_loop.join()
    assert first == ["held"]
    assert store.get_instance("held") is not None
