"""`Worker`: the asyncio loop that takes work from a store and does it.

Two dispatch loops, one for orchestration episodes and one for activity
tasks, each bounded by its own concurrency limit. A loop that finds no work
sleeps until the store says work is due, a commit in this process wakes it
(store listeners), or the poll interval (which backs off while idle) runs out,
so work from other processes is noticed too. Store calls run in one I/O
thread; sync activities in a thread pool; async activities on the loop.
Episodes run on the loop thread: orchestrator code is quick by contract. The
exception is a chain of sync activities (see `ActivityRun`): its pool thread
delivers each result, runs the next episode in that transaction, and goes on
with the next step, as long as no other store call is under way.

`start()`/`stop()` (or ``with Worker(...)``) run the loop in a background
thread for programs that do not use asyncio; ``async with Worker(...)`` and
`run()` serve those that do. Stopping takes no new work; a graceful stop lets
running work finish and commit, an abrupt one (or a graceful one that runs
out of time) cancels it and gives its leases back so another worker takes it
over at once. A store error while looking for work is logged and retried
after the idle pause; it does not end the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from durable._app import App
from durable._model.events import HistoryEvent
from durable._model.retry import check_duration
from durable._store.protocol import (
    ActivityWorkItem,
    Handover,
    OrchestrationWorkItem,
    Store,
)
from durable._worker.activities import ActivityCall, prepare_activity
from durable._worker.batches import Batcher
from durable._worker.cache import ExecutionCache
from durable._worker.clock import Clock, SystemClock
from durable._worker.episodes import Episode, EpisodeRunner
from durable._worker.handovers import Handovers
from durable._worker.lanes import Lane
from durable._worker.lifecycle import RunState, all_of, check_count
from durable._worker.runs import ActivityRun
from durable.errors import InvalidArgumentError, LeaseLostError

__all__ = ["Worker"]

_log = logging.getLogger("durable.worker")
_FIRST_IDLE = timedelta(milliseconds=5)
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


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
        cache_size: live executions kept between episodes (0: none, replay every episode).
        worker_id: a name for this worker in leases and logs.

    Raises:
        InvalidArgumentError: a limit below 1, a negative cache size, or a lease or
            poll interval that is not a positive duration.
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
        check_count("max_activities", max_activities, least=1)
        check_count("max_orchestrations", max_orchestrations, least=1)
        check_count("cache_size", cache_size, least=0)
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
        self._episodes = Lane(max_orchestrations, self._episode)
        self._activities = Lane(max_activities, self._activity)
        self._store_gate = threading.Lock()  # held by the store call under way (see _deliver_here)
        self._completions = Batcher(self._deliver, self._orphaned)
        self._releasing: set[asyncio.Future[None]] = set()
        self._commits = Batcher(self._commit_all, self._orphaned)
        self._handovers = Handovers(
            store=store,
            episodes=self.episodes,
            activities=self._activities,
            clock=self.clock,
            owner=self.worker_id,
            lease=self._lease,
            state=self._state,
            start_taken=self._start_taken,
        )
        self._in_store_call = threading.local()
        self._run: RunState | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._main: asyncio.Task[None] | None = None

    # -- asyncio API ------------------------------------------------------------------------

    async def run(self) -> None:
        """Take and do work until `stop` (or `stop_async`) is called.

        Raises:
            InvalidArgumentError: the worker is already running.
        """
        if self._run is not None:
            raise InvalidArgumentError(f"worker {self.worker_id!r} is already running")
        state = self._run = RunState(
            asyncio.get_running_loop(), self.worker_id, self._max_activities
        )
        remove_listener = self.store.add_listener(self._store_changed)
        self._started.set()
        try:
            await asyncio.gather(
                self._dispatch(state.wakers[0], self._episodes, self._take_episodes, self._release),
                self._dispatch(
                    state.wakers[1], self._activities, self._take_activities, self._abandon
                ),
            )
        finally:
            remove_listener()
            self.episodes.cache.clear()
            state.close()
            self._run = None

    async def __aenter__(self) -> Worker:
        main = self._main = asyncio.create_task(self.run())
        while self._run is None and not main.done():
            await asyncio.sleep(0)
        if main.done():
            main.result()  # run() failed to start: raise its error here
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop_async()

    async def stop_async(self, *, graceful: bool = True, timeout: timedelta | None = None) -> None:
        """Stop a worker running on this event loop (see `stop` for the semantics)."""
        main, state = self._main, self._run
        if main is None or state is None:
            return
        state.request_stop(graceful=graceful)
        if timeout is not None:
            await asyncio.wait({main}, timeout=check_duration("timeout", timeout).total_seconds())
            state.request_stop(graceful=False)
        await main

    def wake(self) -> None:
        """Look at the store again at once (thread-safe).

        Commits made in this process wake the worker by themselves; call this when
        work became due without a commit, e.g. after moving a manual clock.
        """
        state = self._run
        if state is not None:
            state.call_soon(state.wake_all)

    def _store_changed(self) -> None:
        """A store listener: wake the loops, unless the change is this worker's own.

        After its own calls the worker wakes only the loop that has work no
        handover took care of (see `Handovers`), so a step of a sequential
        orchestration wakes nothing.
        """
        if not getattr(self._in_store_call, "active", False):
            self.wake()

    # -- thread facade ------------------------------------------------------------------------

    def start(self) -> Worker:
        """Run the worker in a background thread (for programs without asyncio)."""
        if self._thread is not None or self._run is not None:
            raise InvalidArgumentError(f"worker {self.worker_id!r} has already been started")
        self._started.clear()
        self._thread = threading.Thread(target=self._thread_main, name=self.worker_id, daemon=True)
        self._thread.start()
        self._started.wait()
        return self

    def _thread_main(self) -> None:
        async def main() -> None:
            self._main = asyncio.current_task()
            await self.run()

        try:
            asyncio.run(main())
        finally:
            self._started.set()  # never leave start() waiting, even if run() failed

    def stop(self, *, graceful: bool = True, timeout: timedelta | None = None) -> None:
        """Stop a worker started with `start` and wait for its thread to end.

        No new work is taken. Graceful: running activities and episodes finish and
        their results are committed; if `timeout` passes first, the rest is stopped
        as if not graceful. Not graceful: running work is abandoned and its leases
        are given back at once, so another worker takes it over without waiting for
        the leases to run out (a sync activity's thread cannot be interrupted: it
        runs on, and its result is dropped).
        """
        thread, state = self._thread, self._run
        if thread is None:
            return
        if state is not None:
            state.call_soon(state.request_stop, graceful)
        seconds = None if timeout is None else check_duration("timeout", timeout).total_seconds()
        thread.join(seconds)
        if thread.is_alive() and state is not None:
            state.call_soon(state.request_stop, False)
            thread.join()
        self._thread = None

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

    async def _dispatch(
        self,
        wake: asyncio.Event,
        lane: Lane[T],
        take: Callable[[], Awaitable[Sequence[Any]]],
        give_back: Callable[[T], Awaitable[None]],
    ) -> None:
        """Take work into `lane` while it has free slots (`take` admits what it takes).

        Once stopping, `give_back` gives back the leases of work abandoned in the lane.
        """
        state = self._state()
        idle = _FIRST_IDLE
        while not state.stopping.is_set():
            if lane.full:
                await lane.wait_for_slot(state.stopping)
                continue
            wake.clear()
            try:
                items = await take()
            except Exception:
                _log.exception("worker %s could not take work from the store", self.worker_id)
                items = ()
            if items:
                idle = _FIRST_IDLE
                for item in items:
                    lane.start(item)
                continue
            await self._sleep(wake, idle)
            idle = min(idle * 2, self._poll)
        await self._finish(lane, give_back)

    async def _sleep(self, wake: asyncio.Event, idle: timedelta) -> None:
        """Sleep until woken, until the store's next due time, or for `idle` at most."""
        now = self.clock.now()
        try:
            due = await self._call(self.store.next_due, now=now)
        except Exception:
            _log.exception("worker %s could not ask the store for due work", self.worker_id)
            due = None
        delay = idle if due is None else min(idle, max(due - now, timedelta(0)))
        if delay <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), delay.total_seconds())

    async def _finish(self, lane: Lane[T], give_back: Callable[[T], Awaitable[None]]) -> None:
        """Let running work finish (graceful) or abandon it and give its leases back."""
        state = self._state()
        running = dict(lane.running)  # a copy: finished tasks remove themselves
        if running and not state.abort.is_set():
            await all_of(set(running), state.abort)
        running = dict(lane.running)  # work handed over meanwhile included
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for task, item in running.items():
            if task.cancelled():
                await give_back(item)

    async def _release(self, item: ActivityWorkItem | OrchestrationWorkItem) -> None:
        try:
            if isinstance(item, ActivityWorkItem):
                await self._call(self.store.release_activity, item, now=self.clock.now())
            else:
                await self._call(self.store.release_orchestration, item)
        except Exception:
            _log.exception("worker %s could not give back its lease on %r", self.worker_id, item)

    async def _call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Call a (blocking) store method, or a step made of them, in the I/O thread.

        The store's listeners know the changes made there are this worker's own.
        """

        def call() -> R:
            with self._store_gate:
                return self._own_store_call(function, *args, **kwargs)

        state = self._state()
        return await state.run_in(state.io, call)

    def _own_store_call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Call `function` marked as this worker's own store call (see `_store_changed`)."""
        self._in_store_call.active = True
        try:
            return function(*args, **kwargs)
        finally:
            self._in_store_call.active = False

    def _state(self) -> RunState:
        state = self._run
        assert state is not None, "the worker is not running"
        return state

    # -- episodes -----------------------------------------------------------------------------

    async def _take_episodes(self) -> tuple[OrchestrationWorkItem, ...]:
        return await self._call(self._take_episodes_now)

    def _take_episodes_now(self) -> tuple[OrchestrationWorkItem, ...]:
        slots = self._episodes.free()
        if not slots:
            return ()
        taken = self.store.take_orchestrations(
            now=self.clock.now(), lease=self._lease, owner=self.worker_id, limit=slots
        )
        self._episodes.admit(len(taken))
        return taken

    async def _episode(self, item: OrchestrationWorkItem) -> None:
        try:
            # The engine runs on the loop, so it overlaps the I/O thread's commits.
            episode = self.episodes.run(item, self.clock.now())
            done = await self._commits.submit((item, episode))
        except Exception:
            # Keep the lock: the instance is retried when its lease runs out, so an
            # episode that fails every time (a store outage, a bug) backs off by one
            # lease instead of spinning.
            _log.exception(
                "episode of instance %s failed; it is retried after its lease of %s",
                item.instance.instance_id,
                self._lease,
            )
            return
        if isinstance(done.error, LeaseLostError):
            _log.warning(
                "lease on instance %s was lost; its episode is dropped", item.instance.instance_id
            )
            return
        await self._start_activities(done.leased)

    async def _commit_all(
        self, batch: list[tuple[OrchestrationWorkItem, Episode]]
    ) -> tuple[Handover, ...]:
        return await self._call(self._handovers.commit, batch)

    async def _start_activities(self, leased: tuple[ActivityWorkItem, ...]) -> None:
        """Run tasks the store leased to this worker, or give them back if it is stopping."""
        for item in leased:
            if self._state().stopping.is_set():
                self._activities.drop()
                await self._release(item)
            else:
                self._activities.start(ActivityRun(item))

    # -- activities ---------------------------------------------------------------------------

    async def _take_activities(self) -> tuple[ActivityRun, ...]:
        return await self._call(self._take_activities_now)

    def _take_activities_now(self) -> tuple[ActivityRun, ...]:
        slots = self._activities.free()
        if not slots:
            return ()
        taken = self.store.take_activities(
            now=self.clock.now(), lease=self._lease, owner=self.worker_id, limit=slots
        )
        self._activities.admit(len(taken))
        return tuple(ActivityRun(item) for item in taken)

    async def _activity(self, run: ActivityRun) -> None:
        heartbeat = asyncio.create_task(self._renew(run))
        following: ActivityCall | None = None
        try:
            while True:
                try:
                    item, done = await self._perform(run, following)
                except Exception:
                    _log.exception("could not record the result of activity %s", run.current)
                    return
                if done.error is not None:
                    _log.error(
                        "the episode of instance %s that took the result of activity %s failed; "
                        "the result waits in its inbox",
                        item.instance_id,
                        item.name,
                        exc_info=done.error,
                    )
                following = self._goes_on(run, done)
                if following is None:
                    break
        finally:
            heartbeat.cancel()
        await self._start_activities(done.leased)

    def _goes_on(self, run: ActivityRun, done: Handover) -> ActivityCall | None:
        """The call the run goes on with: the one sync task its delivery leased (on the loop).

        A chain step whose result went through the loop's batch carries on in
        the same slot, with the same heartbeat, as one the pool thread delivered
        itself: no new task to start and to end per step. None ends the run.
        """
        following = self._following(done)
        if following is None:
            return None
        with run.lock:
            if run.abandoned:
                return None
            run.advance(done.leased, carry_on=True)
        self._activities.carry_on()
        return following

    async def _perform(
        self, run: ActivityRun, following: ActivityCall | None = None
    ) -> tuple[ActivityWorkItem, Handover]:
        """Run the activity (a chain of them, see `ActivityRun`) and deliver the last result.

        Args:
            following: the current task's call, when the run went on to it and
                has prepared it already.
        """
        item = run.current
        assert item is not None, "a run starts with a task"
        call = (
            following
            if following is not None
            else prepare_activity(self.app, item, self.clock.now())
        )
        if isinstance(call, HistoryEvent):
            result = call
        elif call.is_async:
            result = await call.run_async(self.clock.now)
        else:
            state = self._state()
            last, outcome = await state.run_in(state.pool, lambda: self._run_sync(run, call))
            if isinstance(outcome, Handover):
                return last, Handover(leased=run.take_leftover(), error=outcome.error)
            item, result = last, outcome
        return item, await self._completions.submit((item, result))

    def _run_sync(
        self, run: ActivityRun, call: ActivityCall
    ) -> tuple[ActivityWorkItem, Handover | HistoryEvent]:
        """Run sync activities while they chain (in a pool thread; see `ActivityRun`).

        Returns the last task run with its delivery, or with its result for the
        loop to deliver in a batch.
        """
        while True:
            result = call.run(self.clock.now)
            with run.lock:
                item = run.current
                assert item is not None, "a run works on a task until it delivers"
                done = None if run.abandoned else self._deliver_here(item, result)
                if done is None:
                    return item, result
                following = self._following(done)
                run.advance(done.leased, carry_on=following is not None)
            if following is None:
                return item, done
            self._activities.carry_on()
            call = following

    def _deliver_here(self, item: ActivityWorkItem, result: HistoryEvent) -> Handover | None:
        """Deliver a chain step's result from this thread, or None to batch it via the loop.

        Only a result that will run its instance's next episode at once, and only
        while no other store call is under way: results that meet a busy I/O
        thread go in its next batch.
        """
        if self._state().stopping.is_set() or not self.episodes.cache.awaits_one(item.instance_id):
            return None
        if not self._store_gate.acquire(blocking=False):
            return None
        try:
            (done,) = self._own_store_call(self._handovers.deliver, [(item, result)])
        finally:
            self._store_gate.release()
        return done

    def _following(self, done: Handover) -> ActivityCall | None:
        """The call to make next in a chain: the one sync task `done` leased, if so."""
        if done.error is not None or len(done.leased) != 1 or self._state().stopping.is_set():
            return None
        call = prepare_activity(self.app, done.leased[0], self.clock.now())
        if isinstance(call, HistoryEvent) or call.is_async:
            return None
        return call

    async def _deliver(
        self, batch: list[tuple[ActivityWorkItem, HistoryEvent]]
    ) -> tuple[Handover, ...]:
        return await self._call(self._handovers.deliver, batch)

    def _start_taken(self, taken: tuple[ActivityWorkItem, ...]) -> None:
        """Start tasks a delivery took for this worker, or give them back if stopping (loop)."""
        if not self._state().stopping.is_set():
            for item in taken:
                self._activities.start(ActivityRun(item))
            return
        releasing = asyncio.ensure_future(self._start_activities(taken))
        self._releasing.add(releasing)  # a reference until it is done
        releasing.add_done_callback(self._releasing.discard)

    async def _orphaned(self, handover: Handover) -> None:
        for item in handover.leased:
            self._activities.drop()
            await self._release(item)

    async def _abandon(self, run: ActivityRun) -> None:
        """Give back the leases of a run the worker stopped waiting for."""
        try:
            current, leftover = await self._call(run.abandon)
        except Exception:
            _log.exception("worker %s could not abandon %r", self.worker_id, run.current)
            return
        for _ in leftover:
            self._activities.drop()
        for item in (*current, *leftover):
            await self._release(item)

    async def _renew(self, run: ActivityRun) -> None:
        """Renew the lease on the run's current task every third of a lease."""
        interval = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            item = run.current
            if item is None:
                continue
            try:
                await self._call(
                    self.store.renew_activity, item, now=self.clock.now(), lease=self._lease
                )
            except LeaseLostError:
                if run.current is not item:  # it was delivered and the run went on
                    continue
                _log.warning("lease on activity %s (%s) was lost", item.name, item.instance_id)
                return
            except Exception:  # the store hiccuped: try again at the next beat
                _log.exception("could not renew the lease on activity %s", item.name)
