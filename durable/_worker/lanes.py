"""`Lane`: the running work of one kind in a worker, bounded by a limit.

A worker has two lanes, episodes and activities. Work enters a lane either
from the lane's dispatch loop (a take from the store) or handed over by the
store in the transaction that created it (tasks leased to the worker by a
claim). Both are store calls made in the worker's one I/O thread, which asks
the lane how many slots are free just before the call and admits what it got
just after, so two calls never count the same free slot. Admitted items are
started on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Lane"]

T = TypeVar("T")


class Lane(Generic[T]):
    """Running tasks of one kind, each handling one work item.

    Args:
        limit: how many run at once, admitted items not yet started included.
        handle: the coroutine function that does one item.
    """

    def __init__(self, limit: int, handle: Callable[[T], Awaitable[None]]) -> None:
        self.limit = limit
        self.running: dict[asyncio.Task[None], T] = {}
        self._handle = handle
        self._admitted = 0  # leased to the worker, not started yet
        self._lock = threading.Lock()
        self._freed = asyncio.Event()

    @property
    def full(self) -> bool:
        """Whether no slot is free for a take."""
        return self.free() == 0

    def free(self, *, extra: int = 0) -> int:
        """Free slots (from any thread), plus `extra` (a caller's own slot, about to end)."""
        with self._lock:
            return max(0, self.limit - len(self.running) - self._admitted) + extra

    def admit(self, count: int) -> None:
        """Count `count` items leased to the worker as taken slots until they start (any thread)."""
        with self._lock:
            self._admitted += count

    def start(self, item: T) -> None:
        """Run an admitted `item` in a task of its own (on the loop)."""
        task = asyncio.ensure_future(self._handle(item))
        with self._lock:
            self._admitted -= 1
            self.running[task] = item
        task.add_done_callback(self._done)

    def carry_on(self) -> None:
        """Count an admitted item as going on in the slot of a running task (any thread)."""
        with self._lock:
            self._admitted -= 1

    def drop(self) -> None:
        """Give up the slot of an admitted item that will not start (on the loop)."""
        with self._lock:
            self._admitted -= 1
        self._freed.set()

    async def wait_for_slot(self, stopping: asyncio.Event) -> None:
        """Wait until a slot may have come free, or until `stopping` is set."""
        self._freed.clear()
        if not self.full:
            return
        waiters = {asyncio.ensure_future(event.wait()) for event in (self._freed, stopping)}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _done(self, task: asyncio.Task[None]) -> None:
        with self._lock:
            del self.running[task]
        self._freed.set()
