"""`AsyncClient`: the `Client` API for asyncio programs.

Store calls run in a worker thread so the event loop never blocks on I/O;
`wait` sleeps on the loop and wakes on commits made in this process.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from durable._app import App
from durable._client.client import Client
from durable._client.waiting import WaitPacer
from durable._model.events import HistoryEvent
from durable._model.status import InstanceStatus, RuntimeStatus
from durable._store.protocol import InstancePage, InstanceStart, Store
from durable._worker.batches import Batcher
from durable._worker.clock import Clock

__all__ = ["AsyncClient"]


class AsyncClient:
    """Starts and manages orchestration instances; every method is a coroutine.

    Takes the same arguments as `Client` and raises the same errors.
    """

    def __init__(self, store: Store, *, app: App | None = None, clock: Clock | None = None) -> None:
        self.sync = Client(store, app=app, clock=clock)
        self._batchers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, Batcher[InstanceStart, Exception | None]
        ] = weakref.WeakKeyDictionary()
        self._batchers_lock = threading.Lock()

    async def start(
        self,
        orchestrator: str | Callable[..., Any],
        input: Any = None,
        *,
        instance_id: str | None = None,
        start_at: datetime | None = None,
    ) -> str:
        """Start an instance (see `Client.start`).

        Starts made concurrently (for example under `asyncio.gather`) are
        stored together, in one store transaction; each is still made or
        refused on its own (a store failure fails them all). A start cancelled
        before its batch went to the store is not made; one cancelled later
        may have been.
        """
        start = self.sync._prepare_start(
            orchestrator, input, instance_id=instance_id, start_at=start_at
        )
        error = await self._starts_on_this_loop().submit(start)
        if error is not None:
            raise error
        return start.started.instance_id

    def _starts_on_this_loop(self) -> Batcher[InstanceStart, Exception | None]:
        """The running loop's batch of starts: a batch waits on the loop it was made on."""
        loop = asyncio.get_running_loop()
        with self._batchers_lock:
            batcher = self._batchers.get(loop)
            if batcher is None:
                batcher = Batcher(self._create, _nothing_held, drop_cancelled=True)
                self._batchers[loop] = batcher
        return batcher

    async def _create(self, starts: builtins.list[InstanceStart]) -> Sequence[Exception | None]:
        return await asyncio.to_thread(self.sync.store.create_instances, starts)

    async def restart(self, instance_id: str, *, new_instance_id: bool = True) -> str:
        """Run the instance's orchestrator again (see `Client.restart`)."""
        return await asyncio.to_thread(
            self.sync.restart, instance_id, new_instance_id=new_instance_id
        )

    async def status(self, instance_id: str) -> InstanceStatus:
        """The instance's status (see `Client.status`)."""
        return await asyncio.to_thread(self.sync.status, instance_id)

    async def wait(self, instance_id: str, *, timeout: timedelta | None = None) -> InstanceStatus:
        """Wait until the instance finishes (see `Client.wait`)."""
        pacer = WaitPacer(self.sync.clock, timeout)
        commits = _CommitSignal(asyncio.get_running_loop())
        remove = self.sync.store.add_listener(commits.notify)
        try:
            while True:
                commits.clear()
                status = await self.status(instance_id)
                if status.is_finished:
                    return status
                pause = pacer.next_pause(status)  # before the wait: it may raise
                await commits.wait(pause)
                await asyncio.sleep(pacer.gap_left())
        finally:
            remove()

    async def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver an external event (see `Client.raise_event`)."""
        await asyncio.to_thread(self.sync.raise_event, instance_id, name, data)

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        """Terminate the instance (see `Client.terminate`)."""
        await asyncio.to_thread(self.sync.terminate, instance_id, reason)

    async def suspend(self, instance_id: str, reason: str | None = None) -> None:
        """Suspend the instance (see `Client.suspend`)."""
        await asyncio.to_thread(self.sync.suspend, instance_id, reason)

    async def resume(self, instance_id: str, reason: str | None = None) -> None:
        """Resume the instance (see `Client.resume`)."""
        await asyncio.to_thread(self.sync.resume, instance_id, reason)

    async def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Run a failed instance on from before its failure (see `Client.rewind`)."""
        await asyncio.to_thread(self.sync.rewind, instance_id, reason)

    async def purge(self, instance_id: str) -> bool:
        """Delete a finished instance (see `Client.purge`)."""
        return await asyncio.to_thread(self.sync.purge, instance_id)

    async def purge_many(
        self,
        *,
        status: Iterable[RuntimeStatus] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> int:
        """Delete finished instances matching the filters (see `Client.purge_many`)."""
        return await asyncio.to_thread(
            lambda: self.sync.purge_many(
                status=status, created_from=created_from, created_to=created_to
            )
        )

    async def list(self, **filters: Any) -> InstancePage:
        """One page of instances (see `Client.list` for the filters)."""
        return await asyncio.to_thread(lambda: self.sync.list(**filters))

    async def history(self, instance_id: str) -> builtins.list[HistoryEvent]:
        """The instance's history (see `Client.history`)."""
        return await asyncio.to_thread(self.sync.history, instance_id)


async def _nothing_held(_: Exception | None) -> None:
    """A start whose caller stopped waiting holds nothing: the instance is made or refused."""


class _CommitSignal:
    """Tells one waiter on the event loop that the store committed, waking the loop sparingly.

    The store calls `notify` from its threads at every commit. Only a waiter
    inside `wait` needs the loop woken, and only once however many commits
    come before it runs; at any other time `notify` just marks the change,
    which `wait` then sees without sleeping.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self._changed = False
        self._listening = False
        self._wake_pending = False

    def clear(self) -> None:
        """Forget the commits so far (before looking at the store)."""
        self._changed = False
        self._event.clear()

    def notify(self) -> None:
        """A commit happened (called by the store from any thread)."""
        self._changed = True
        if self._listening and not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits now
                self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Return at the first commit since `clear`, or after `seconds`."""
        self._listening = True
        try:
            if self._changed:  # a commit came before the waiter listened
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        finally:
            self._listening = False
