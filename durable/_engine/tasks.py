"""Durable tasks: what an orchestrator awaits (or yields).

A task is settled once, with a value or an error, by the engine when history
delivers its completion. Awaiting a task (``await task``) and yielding it from
a generator orchestrator (``yield task``) both hand it to the engine, which
resumes the orchestrator with the value or throws the error at that point.

Leaf tasks answer one scheduled call (`ActivityTask`, `TimerTask`,
`SubOrchestratorTask`) or one event wait (`EventTask`). `WhenAllTask` and
`WhenAnyTask` combine tasks; `BranchTask` runs a coroutine as a concurrent
branch inside the instance (see `durable._engine.fibers`).

Callbacks run synchronously and in registration order, so settling is
deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from durable.errors import DurableError, TaskCancelledError

__all__ = [
    "ActivityTask",
    "EventTask",
    "SubOrchestratorTask",
    "Task",
    "TimerTask",
    "WhenAllTask",
    "WhenAnyTask",
]

T = TypeVar("T")
Callback = Callable[["Task[Any]"], None]


class Task(Generic[T]):
    """A durable result an orchestrator can await or yield."""

    __slots__ = ("_callbacks", "_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callback] | None = []

    @property
    def is_completed(self) -> bool:
        """Whether the task has settled, with a value or an error."""
        return self._done

    @property
    def is_failed(self) -> bool:
        """Whether the task settled with an error."""
        return self._error is not None

    @property
    def result(self) -> T:
        """The value; raises the task's error if it failed, DurableError if not settled."""
        if not self._done:
            raise DurableError("the task has not completed yet; await or yield it first")
        if self._error is not None:
            raise self._error
        value: T = self._value
        return value

    def __await__(self) -> Generator[Task[T], Any, T]:
        value: T = yield self
        return value

    def add_done_callback(self, callback: Callback) -> None:
        """Call `callback(task)` when the task settles (at once if it has)."""
        if self._callbacks is None:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        self._value = value
        self._error = error
        callbacks, self._callbacks = self._callbacks, None
        for callback in callbacks or ():
            callback(self)

    def _describe(self) -> str:
        return type(self).__name__


class ActivityTask(Task[T]):
    """The result of activity call `seq`."""

    __slots__ = ("name", "result_type", "scheduled_at", "seq")

    def __init__(self, seq: int, name: str, result_type: Any, scheduled_at: datetime) -> None:
        super().__init__()
        self.seq = seq
        self.name = name
        self.result_type = result_type
        self.scheduled_at = scheduled_at


class SubOrchestratorTask(Task[T]):
    """The result of sub-orchestration call `seq`."""

    __slots__ = ("instance_id", "name", "result_type", "seq")

    def __init__(self, seq: int, name: str, instance_id: str, result_type: Any) -> None:
        super().__init__()
        self.seq = seq
        self.name = name
        self.instance_id = instance_id
        self.result_type = result_type


class TimerTask(Task[None]):
    """Durable timer `seq`, due at `fire_at`. Cancel it to stop waiting for it."""

    __slots__ = ("_release", "fire_at", "seq")

    def __init__(self, seq: int, fire_at: datetime, release: Callable[[TimerTask], None]) -> None:
        super().__init__()
        self.seq = seq
        self.fire_at = fire_at
        self._release = release

    def cancel(self) -> None:
        """Stop the timer: its firing is ignored, and awaiting it raises TaskCancelledError."""
        if not self._done:
            self._release(self)
            self._settle(None, TaskCancelledError(f"timer due at {self.fire_at} was cancelled"))


class EventTask(Task[T]):
    """A wait for the next external event called `name`."""

    __slots__ = ("_release", "name", "result_type")

    def __init__(
        self, name: str, result_type: Any, release: Callable[[EventTask[Any]], None]
    ) -> None:
        super().__init__()
        self.name = name
        self.result_type = result_type
        self._release = release

    def cancel(self) -> None:
        """Stop waiting: a later event of this name goes to the next wait instead."""
        if not self._done:
            self._release(self)
            self._settle(
                None, TaskCancelledError(f"the wait for event {self.name!r} was cancelled")
            )


class WhenAllTask(Task[list[Any]]):
    """Settles with every child's value in order, or with the first child error."""

    __slots__ = ("_children", "_remaining")

    def __init__(self, children: Sequence[Task[Any]]) -> None:
        super().__init__()
        self._children = tuple(children)
        self._remaining = len(self._children)
        if not self._children:
            self._settle([], None)
        for child in self._children:
            child.add_done_callback(self._on_child)

    def _on_child(self, child: Task[Any]) -> None:
        if self._done:
            return
        if child._error is not None:
            self._settle(None, child._error)
            return
        self._remaining -= 1
        if self._remaining == 0:
            self._settle([each._value for each in self._children], None)

    def cancel(self) -> None:
        """Stop waiting (as a `when_any` loser): cancel the children that can be."""
        if not self._done:
            self._settle(None, TaskCancelledError("the when_all was cancelled"))
            _cancel_losers(self._children)


class WhenAnyTask(Task[Task[Any]]):
    """Settles with the first child to settle (the task itself, not its value).

    Losers that are branches, event waits, or `when_all`/`when_any` groups are
    cancelled: a branch's own timers and event waits are released, a group's
    branches and event waits are, and a later event goes to the next wait for
    it. Losing activities, sub-orchestrations and timers run on; await them
    again to get their results.
    """

    __slots__ = ("_children",)

    def __init__(self, children: Sequence[Task[Any]]) -> None:
        super().__init__()
        self._children = tuple(children)
        if not self._children:
            raise DurableError("when_any needs at least one task")
        for child in self._children:
            child.add_done_callback(self._on_child)

    def _on_child(self, child: Task[Any]) -> None:
        if self._done:
            return
        self._settle(child, None)
        _cancel_losers([each for each in self._children if each is not child])

    def cancel(self) -> None:
        """Stop waiting (as a `when_any` loser): cancel the children that can be."""
        if not self._done:
            self._settle(None, TaskCancelledError("the when_any was cancelled"))
            _cancel_losers(self._children)


def _cancel_losers(tasks: Sequence[Task[Any]]) -> None:
    """Cancel unsettled branches, event waits and groups of them; timers run on."""
    for task in tasks:
        cancel = getattr(task, "cancel", None)
        if cancel is not None and not task._done and not isinstance(task, TimerTask):
            cancel()
