"""Client.wait looks at the instance at most every 10 ms, however often it is woken.

Every store write in the process wakes a waiter; a busy instance (or a busy
store) would otherwise have the waiter read the instance row after every one
of them, competing with the worker for the store. These tests wake a waiter
with thousands of writes and count its reads. They bound the count from above
only: a slow machine makes fewer reads, never more. AsyncClient.wait keeps the
same gap through the same `WaitPacer`.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from durable import App, AsyncClient, Client, OrchestrationContext
from durable.errors import DeadlineExceededError
from durable.stores import MemoryStore

app = App()
WAIT = timedelta(milliseconds=300)
WRITES = 3000


@app.orchestrator
def waits_for_ever(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    yield ctx.wait_for_event("never")


class CountingStore(MemoryStore):
    """Counts the instance reads made by every thread but the writer's."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.writer: int | None = None

    def get_instance(self, instance_id: str) -> Any:
        if threading.get_ident() != self.writer:
            self.reads += 1
        return super().get_instance(instance_id)


def _busy(client: Client, instance_id: str, done: threading.Event) -> threading.Thread:
    def write() -> None:
        assert isinstance(client.store, CountingStore)
        client.store.writer = threading.get_ident()
        for index in range(WRITES):
            if done.is_set():
                return
            client.raise_event(instance_id, "noise", index)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_client_wait_reads_at_most_every_10_ms_while_writes_wake_it() -> None:
    store = CountingStore()
    client = Client(store, app=app)
    instance_id = client.start(waits_for_ever)
    done = threading.Event()
    writer = _busy(client, instance_id, done)
    try:
        with pytest.raises(DeadlineExceededError):
            client.wait(instance_id, timeout=WAIT)
    finally:
        done.set()
        writer.join()
    assert store.reads <= WAIT / timedelta(milliseconds=10) + 2


def test_async_client_wait_reads_at_most_every_10_ms_while_writes_wake_it() -> None:
    store = CountingStore()
    client = AsyncClient(store, app=app)
    instance_id = client.sync.start(waits_for_ever)
    store.reads = 0
    done = threading.Event()
    writer = _busy(client.sync, instance_id, done)
    try:
        with pytest.raises(DeadlineExceededError):
            asyncio.run(client.wait(instance_id, timeout=WAIT))
    finally:
        done.set()
        writer.join()
    assert store.reads <= WAIT / timedelta(milliseconds=10) + 2
