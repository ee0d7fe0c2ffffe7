"""Fibers: orchestrator code driven one step at a time.

A fiber wraps a generator or coroutine (the orchestrator itself, or a branch)
and runs it until it waits on a task that has not settled. When that task
settles, the fiber is put on the engine's ready queue and resumed, in FIFO
order, when the engine drains the queue after applying an event. Every fiber
runs on the caller's stack (no threads, no event loop), so the order of
everything that happens is a function of the history alone.

Tasks a branch creates (timers, event waits, nested branches) are owned by
that branch; cancelling the branch cancels them and closes its coroutine.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Protocol

from durable._engine.tasks import EventTask, Task, TimerTask
from durable.errors import TaskCancelledError, UnsupportedAwaitError

__all__ = ["BranchTask", "Fiber", "FiberHost", "Steppable", "is_steppable"]

Steppable = Generator[Any, Any, Any] | Coroutine[Any, Any, Any]


def is_steppable(value: object) -> bool:
    """Whether `value` is a generator or coroutine object the engine can drive."""
    return isinstance(value, Generator | Coroutine)


class FiberHost(Protocol):
    """What a fiber needs from the execution that runs it."""

    ready: deque[tuple[Fiber, Task[Any]]]
    current_fiber: Fiber | None

    def fail_fatally(self, error: BaseException) -> None:
        """Fail the whole instance with an error user code must not catch."""
        ...


class Fiber:
    """One generator or coroutine being driven by the engine."""

    __slots__ = ("_compact_at", "_host", "_on_done", "_target", "closed", "owned")

    def __init__(
        self,
        target: Steppable,
        host: FiberHost,
        on_done: Callable[[Any, BaseException | None], None],
    ) -> None:
        self._target = target
        self._host = host
        self._on_done = on_done
        self.closed = False
        self.owned: list[Task[Any]] = []
        self._compact_at = 64

    def start(self) -> None:
        """Run the fiber until it first waits."""
        self.resume(None, None)

    def resume(self, value: Any, error: BaseException | None) -> None:
        """Send `value` (or throw `error`) in, and run until the fiber waits or ends."""
        if self.closed:
            return
        host = self._host
        previous, host.current_fiber = host.current_fiber, self
        try:
            self._run(value, error)
        finally:
            host.current_fiber = previous

    def _run(self, value: Any, error: BaseException | None) -> None:
        target = self._target
        while True:
            try:
                yielded = target.send(value) if error is None else target.throw(error)
            except StopIteration as stop:
                self._finish(stop.value, None)
                return
            except Exception as raised:
                if _needs_event_loop(raised):
                    self.closed = True
                    self._host.fail_fatally(_unsupported(raised))
                else:
                    self._finish(None, raised)
                return
            task = self._as_task(yielded)
            if task is None:
                return
            if not task._done:
                task.add_done_callback(self._wake)
                return
            value, error = task._value, task._error

    def _as_task(self, yielded: Any) -> Task[Any] | None:
        if isinstance(yielded, Task):
            return yielded
        if is_steppable(yielded):
            return BranchTask(yielded, self._host)
        self.closed = True
        self._host.fail_fatally(_unsupported(yielded))
        return None

    def _wake(self, task: Task[Any]) -> None:
        self._host.ready.append((self, task))

    def _finish(self, value: Any, error: BaseException | None) -> None:
        self.closed = True
        self._on_done(value, error)

    def own(self, task: Task[Any]) -> None:
        """Record a cancellable task this fiber created."""
        if len(self.owned) >= self._compact_at:
            # Drop settled tasks; compact again only once the live ones have doubled,
            # so owning n tasks costs O(n) overall.
            self.owned = [each for each in self.owned if not each._done]
            self._compact_at = max(64, 2 * len(self.owned))
        self.owned.append(task)

    def close(self) -> None:
        """Cancel the tasks this fiber owns and close its generator or coroutine."""
        if self.closed:
            return
        self.closed = True
        for task in self.owned:
            if not task._done and isinstance(task, TimerTask | EventTask | BranchTask):
                task.cancel()
        # RuntimeError: the code awaited inside `finally`; ValueError: it cancelled its
        # own branch while running. Either way the branch is over.
        with contextlib.suppress(RuntimeError, ValueError):
            self._target.close()


class BranchTask(Task[Any]):
    """A coroutine or generator run as a concurrent branch; settles with its return value."""

    __slots__ = ("_fiber",)

    def __init__(self, target: Steppable, host: FiberHost) -> None:
        super().__init__()
        owner = host.current_fiber
        self._fiber = Fiber(target, host, self._settle)
        if owner is not None:
            owner.own(self)
        self._fiber.start()

    def cancel(self) -> None:
        """Cancel the branch: release its timers and event waits and close its code."""
        if not self._done:
            self._fiber.close()
            self._settle(None, TaskCancelledError("the branch was cancelled"))


def _needs_event_loop(error: Exception) -> bool:
    """Whether orchestrator code failed by using asyncio: episodes run without an event loop."""
    return isinstance(error, RuntimeError) and str(error) == "no running event loop"


def _unsupported(yielded: Any) -> UnsupportedAwaitError:
    if isinstance(yielded, RuntimeError):
        kind = "an asyncio awaitable (asyncio found no running event loop)"
    elif yielded is None:
        kind = "None (a bare yield, as asyncio.sleep(0) does)"
    else:
        kind = type(yielded).__name__
    return UnsupportedAwaitError(
        f"an orchestrator awaited or yielded {kind}, which is not a durable task; orchestrators "
        "may only await what the context gives (ctx.call_activity, ctx.create_timer instead of "
        "asyncio.sleep, ctx.wait_for_event, ctx.when_all, ctx.when_any, "
        "ctx.call_sub_orchestrator) or coroutines that await only those; do I/O in activities"
    )
