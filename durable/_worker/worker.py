"""`Worker`: the asyncio loop that takes work from a store and does it.

Two dispatch loops, one for orchestration episodes and one for activity
tasks, each bounded by its own concurrency limit. A loop that finds no work
sleeps until the store says work is due, a commit in this process wakes it
(store listeners), or the poll interval (which backs off while idle) runs out,
so work from other processes is noticed too. Store calls run in one I/O
thread; sync activities in a thread pool; async activities on the loop.
Episodes run on the loop thread: orchestrator code is quick by contract.

`start()`/`stop()` (or ``with Worker(...)``) run the loop in a background
thread for programs that do not use asyncio; ``async with Worker(...)`` and
`run()` serve those that do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from durable._app import App
from durable._model.events import HistoryEvent
from durable._model.retry import check_duration
from durable._store.protocol import ActivityWorkItem, OrchestrationWorkItem, Store
from durable._worker.activities import prepare_activity
from durable._worker.cache import ExecutionCache
from durable._worker.clock import Clock, SystemClock
from durable._worker.episodes import EpisodeRunner
from durable.errors import InvalidArgumentError, LeaseLostError

__all__ = ["Worker"]

_log = logging.getLogger("durable.worker")
P = ParamSpec("P")
R = TypeVar("R")


class Worker:
    """Runs an app's orchestrations and activities from a store.

    Args:
        app: the registered orchestrators and activities.
        store: where the work is.
        clock: the time source (default: the system clock).
        max_activities: activities run at once.
        max_orchestrations: episodes run at once.
        lease: how long taken work stays locked without renewal.
        poll_interval: the longest idle sleep before looking at the store again
            (for work committed by other processes).
        cache_size: live executions kept between episodes.
        worker_id: a name for this worker in leases and logs.
    """

    def __init__(
        self,
        app: App,
        store: Store,
        *,
        clock: Clock | None = None,
        max_activities: int = 16,
        max_orchestrations: int = 16,
        lease: timedelta = timedelta(seconds=60),
        poll_interval: timedelta = timedelta(seconds=1),
        cache_size: int = 1024,
        worker_id: str | None = None,
    ) -> None:
        for name, value in (
            ("max_activities", max_activities),
            ("max_orchestrations", max_orchestrations),
        ):
            if not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an int of at least 1, got {value!r}")
        self.app = app
        self.store = store
        self.clock = clock or SystemClock()
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self._lease = check_duration("lease", lease, allow_zero=False)
        self._poll = check_duration("poll_interval", poll_interval, allow_zero=False)
        self._max_activities = max_activities
        self._max_orchestrations = max_orchestrations
        self.episodes = EpisodeRunner(
            app, store, cache=ExecutionCache(cache_size), new_id=lambda: uuid.uuid4().hex
        )
        self._io = ThreadPoolExecutor(1, thread_name_prefix=f"{self.worker_id}-io")
        self._pool = ThreadPoolExecutor(max_activities, thread_name_prefix=f"{self.worker_id}-act")
        self._stopping: asyncio.Event | None = None
        self._wakers: list[asyncio.Event] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._main: asyncio.Task[None] | None = None

    # -- asyncio API ------------------------------------------------------------------------

    async def run(self) -> None:
        """Take and do work until `stop` is called."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        orchestration_wake, activity_wake = asyncio.Event(), asyncio.Event()
        self._wakers = [orchestration_wake, activity_wake]

        def wake() -> None:
            loop.call_soon_threadsafe(self._wake_all)

        remove_listener = self.store.add_listener(wake)
        self._started.set()
        try:
            await asyncio.gather(
                self._dispatch(
                    orchestration_wake, self._max_orchestrations, self._take_episode, self._episode
                ),
                self._dispatch(
                    activity_wake, self._max_activities, self._take_activity, self._activity
                ),
            )
        finally:
            remove_listener()
            self.episodes.cache.clear()

    async def __aenter__(self) -> Worker:
        self._main = asyncio.create_task(self.run())
        while self._stopping is None:
            await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop_async()

    async def stop_async(self, *, graceful: bool = True) -> None:
        """Stop taking work; finish what is running (graceful) or give its leases back."""
        if self._stopping is None:
            return
        self._graceful = graceful
        self._stopping.set()
        self._wake_all()
        if self._main is not None:
            await self._main

    # -- thread facade ------------------------------------------------------------------------

    def start(self) -> Worker:
        """Run the worker in a background thread (for programs without asyncio)."""
        if self._thread is not None:
            raise InvalidArgumentError("this worker has already been started")
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run_in_thread()), name=self.worker_id, daemon=True
        )
        self._thread.start()
        self._started.wait()
        return self

    async def _run_in_thread(self) -> None:
        self._main = asyncio.current_task()
        await self.run()

    def stop(self, *, graceful: bool = True, timeout: timedelta | None = None) -> None:
        """Stop a worker started with `start` and wait for its thread to end."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._stopping is None:
            return
        self._graceful = graceful
        loop.call_soon_threadsafe(self._stopping.set)
        loop.call_soon_threadsafe(self._wake_all)
        thread.join(timeout.total_seconds() if timeout else None)
        self._thread = None
        self._io.shutdown(wait=False)
        self._pool.shutdown(wait=False)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- dispatch -----------------------------------------------------------------------------

    _graceful = True

    def _wake_all(self) -> None:
        for event in self._wakers:
            event.set()

    async def _dispatch(
        self,
        wake: asyncio.Event,
        limit: int,
        take: Callable[[], Any],
        handle: Callable[[Any], Any],
    ) -> None:
        assert self._stopping is not None
        running: set[asyncio.Task[None]] = set()
        items: dict[asyncio.Task[None], Any] = {}
        idle = timedelta(milliseconds=5)
        while not self._stopping.is_set():
            if len(running) >= limit:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running -= done
                continue
            wake.clear()
            item = await take()
            if item is not None:
                idle = timedelta(milliseconds=5)
                task = asyncio.create_task(handle(item))
                running.add(task)
                items[task] = item
                task.add_done_callback(running.discard)
                task.add_done_callback(items.pop)
                continue
            await self._sleep(wake, idle)
            idle = min(idle * 2, self._poll)
        await self._finish(running, items)

    async def _sleep(self, wake: asyncio.Event, idle: timedelta) -> None:
        assert self._stopping is not None
        now = self.clock.now()
        due = await self._call(self.store.next_due, now=now)
        delay = idle if due is None else min(idle, max(due - now, timedelta(0)))
        if delay <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), delay.total_seconds())

    async def _finish(
        self, running: set[asyncio.Task[None]], items: dict[asyncio.Task[None], Any]
    ) -> None:
        if not running:
            return
        if self._graceful:
            await asyncio.gather(*running, return_exceptions=True)
            return
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for item in items.values():
            with contextlib.suppress(Exception):
                if isinstance(item, ActivityWorkItem):
                    await self._call(self.store.release_activity, item, now=self.clock.now())
                else:
                    await self._call(self.store.release_orchestration, item)

    async def _call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, lambda: function(*args, **kwargs))

    # -- episodes -----------------------------------------------------------------------------

    async def _take_episode(self) -> OrchestrationWorkItem | None:
        return await self._call(
            self.store.take_orchestration,
            now=self.clock.now(),
            lease=self._lease,
            owner=self.worker_id,
        )

    async def _episode(self, item: OrchestrationWorkItem) -> None:
        try:
            episode = self.episodes.run(item, self.clock.now())
            await self._call(self.store.commit_episode, item, episode.commit)
        except LeaseLostError:
            _log.warning(
                "lease on instance %s was lost; its episode is dropped", item.instance.instance_id
            )
            return
        except Exception:
            _log.exception("episode of instance %s failed", item.instance.instance_id)
            with contextlib.suppress(Exception):
                await self._call(self.store.release_orchestration, item)
            return
        self.episodes.committed(item, episode)

    # -- activities ---------------------------------------------------------------------------

    async def _take_activity(self) -> ActivityWorkItem | None:
        return await self._call(
            self.store.take_activity, now=self.clock.now(), lease=self._lease, owner=self.worker_id
        )

    async def _activity(self, item: ActivityWorkItem) -> None:
        heartbeat = asyncio.create_task(self._renew(item))
        try:
            result = await self._perform(item)
        finally:
            heartbeat.cancel()
        try:
            await self._call(self.store.complete_activity, item, result, now=self.clock.now())
        except Exception:
            _log.exception(
                "could not record the result of activity %s (%s)", item.name, item.instance_id
            )

    async def _perform(self, item: ActivityWorkItem) -> HistoryEvent:
        call = prepare_activity(self.app, item, self.clock.now())
        if isinstance(call, HistoryEvent):
            return call
        if call.is_async:
            return await call.run_async(self.clock.now)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, call.run, self.clock.now)

    async def _renew(self, item: ActivityWorkItem) -> None:
        interval = self._lease.total_seconds() / 3
        current = item
        while True:
            await asyncio.sleep(interval)
            try:
                current = await self._call(
                    self.store.renew_activity, current, now=self.clock.now(), lease=self._lease
                )
            except LeaseLostError:
                _log.warning("lease on activity %s (%s) was lost", item.name, item.instance_id)
                return
