"""What one run of a `Worker` owns, and the small waits its dispatch loops need.

A `RunState` lives from `Worker.run()` entering to it returning: the event loop,
the I/O thread (all store calls, one at a time), the pool for sync activities,
and the stop and wake signals. Signals are set on the loop; `call_soon` is the
one thread-safe way in, and it does nothing once the loop has closed, so a late
stop or wake request can never raise in the caller's thread. Calls that arrive
before the loop has run the earlier ones share one wake-up of the loop: each
wake-up is a write to its self-pipe, a system call that a busy worker would
otherwise make for every store call it finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from durable.errors import InvalidArgumentError

__all__ = ["RunState", "all_of", "check_count", "first_of"]

R = TypeVar("R")


class RunState:
    """What one run of a worker owns: its loop, threads, and stop and wake signals."""

    def __init__(self, loop: asyncio.AbstractEventLoop, worker_id: str, threads: int) -> None:
        self.loop = loop
        self.io = ThreadPoolExecutor(1, thread_name_prefix=f"{worker_id}-io")
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=f"{worker_id}-act")
        self.stopping = asyncio.Event()  # take no new work
        self.abort = asyncio.Event()  # and abandon running work
        self.wakers = (asyncio.Event(), asyncio.Event())  # orchestrations, activities
        self._calls: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._calls_lock = threading.Lock()
        self._wake_pending = False

    def call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        """Run `callback` on the loop, from any thread; nothing if the run has ended."""
        with self._calls_lock:
            self._calls.append((callback, args))
            if self._wake_pending:
                return
            self._wake_pending = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to do
            self.loop.call_soon_threadsafe(self._run_calls)

    async def run_in(self, executor: Executor, function: Callable[[], R]) -> R:
        """`function()` in a thread of `executor`; its outcome comes back by `call_soon`.

        If the waiter gives up before a thread is free, `function` is not called.
        """
        future: asyncio.Future[R] = self.loop.create_future()

        def run() -> None:
            if future.cancelled():
                return
            try:
                result = function()
            except BaseException as error:
                self.call_soon(_settle, future, None, error)
            else:
                self.call_soon(_settle, future, result, None)

        executor.submit(run)
        return await future

    def _run_calls(self) -> None:
        with self._calls_lock:
            calls, self._calls = self._calls, []
            self._wake_pending = False
        for callback, args in calls:
            try:
                callback(*args)
            except Exception as error:  # as the loop does for a failed callback
                self.loop.call_exception_handler(
                    {"message": f"callback {callback!r} raised", "exception": error}
                )

    def wake_all(self) -> None:
        """Wake both dispatch loops (on the loop)."""
        for event in self.wakers:
            event.set()

    def request_stop(self, graceful: bool = True) -> None:
        """Stop taking work; abandon running work too unless `graceful` (on the loop)."""
        self.stopping.set()
        if not graceful:
            self.abort.set()
        self.wake_all()

    def close(self) -> None:
        """Let the threads go; a sync activity still running ends on its own."""
        self.io.shutdown(wait=False)
        self.pool.shutdown(wait=False)


def _settle(future: asyncio.Future[R], result: R, error: BaseException | None) -> None:
    """Give `future` its outcome, unless its waiter gave up on it (on the loop)."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def check_count(name: str, value: object, *, least: int) -> None:
    """Fail naming `name` unless `value` is an int (not a bool) of at least `least`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidArgumentError(f"{name} must be an int of at least {least}, got {value!r}")


async def first_of(tasks: set[asyncio.Task[None]], event: asyncio.Event) -> None:
    """Wait until one of `tasks` is done or `event` is set."""
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({*tasks, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


async def all_of(tasks: set[asyncio.Task[None]], event: asyncio.Event) -> None:
    """Wait until all of `tasks` are done, or until `event` is set."""
    pending = set(tasks)
    while pending and not event.is_set():
        await first_of(pending, event)
        pending = {task for task in pending if not task.done()}
