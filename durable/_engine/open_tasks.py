"""The tasks an execution is waiting on, and the events that came before anyone waited.

`OpenTasks` keeps the unsettled leaf tasks by sequence number (activities,
timers, sub-orchestrations), the event waits by name, and a buffer of events
raised before a wait for them existed. History events settle tasks through it;
an answer for an unknown sequence number (a duplicate, a cancelled timer) is
ignored. It also says what the instance waits for, for its status.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from durable._engine.tasks import ActivityTask, EventTask, SubOrchestratorTask, Task, TimerTask
from durable._model.converter import PayloadConverter
from durable._model.events import EventRaised, JSONValue
from durable._model.failures import FailureDetails
from durable._model.status import PendingActivity, PendingSubOrchestration, PendingTimer, Waiting
from durable.errors import ActivityError, SubOrchestratorError

__all__ = ["OpenTasks"]

_WAITING_SHOWN = 100


class OpenTasks:
    """Unsettled tasks of one execution, settled by the history events that answer them."""

    def __init__(self, converter: PayloadConverter) -> None:
        self._converter = converter
        self._activities: dict[int, ActivityTask[Any]] = {}
        self._timers: dict[int, TimerTask] = {}
        self._children: dict[int, SubOrchestratorTask[Any]] = {}
        self._waiters: dict[str, deque[EventTask[Any]]] = {}
        # Events that came before anyone waited for them, each with its arrival number,
        # so that continue-as-new carries them over in the order they arrived.
        self._buffer: dict[str, deque[tuple[int, EventRaised]]] = {}
        self._arrivals = itertools.count()

    # -- opening ----------------------------------------------------------------------------

    def open_activity(self, task: ActivityTask[Any]) -> None:
        """Track an activity call until its result arrives."""
        self._activities[task.seq] = task

    def open_timer(self, task: TimerTask) -> None:
        """Track a timer until it fires or is cancelled."""
        self._timers[task.seq] = task

    def release_timer(self, task: TimerTask) -> None:
        """Forget a cancelled timer: its firing will be ignored."""
        self._timers.pop(task.seq, None)

    def open_child(self, task: SubOrchestratorTask[Any]) -> None:
        """Track a sub-orchestration until it answers."""
        self._children[task.seq] = task

    def wait_event(self, task: EventTask[Any]) -> None:
        """Settle `task` with a buffered event of its name, or queue it for the next one."""
        buffered = self._buffer.get(task.name)
        if buffered:
            _, event = buffered.popleft()
            self._settle(task, event.input, f"data of event {task.name!r}")
        else:
            self._waiters.setdefault(task.name, deque()).append(task)

    def release_event(self, task: EventTask[Any]) -> None:
        """Stop `task` waiting, so the next event of its name goes elsewhere."""
        waiters = self._waiters.get(task.name)
        if waiters and task in waiters:
            waiters.remove(task)

    # -- settling ---------------------------------------------------------------------------

    def activity_completed(self, seq: int, output: JSONValue) -> None:
        """Activity call `seq` returned `output`."""
        task = self._activities.pop(seq, None)
        if task is not None:
            self._settle(task, output, f"result of activity {task.name!r}")

    def activity_failed(self, seq: int, failure: FailureDetails) -> None:
        """Activity call `seq` raised."""
        task = self._activities.pop(seq, None)
        if task is not None:
            task._settle(None, ActivityError(task.name, failure))

    def timer_fired(self, seq: int) -> None:
        """Timer `seq` came due."""
        task = self._timers.pop(seq, None)
        if task is not None:
            task._settle(None, None)

    def child_completed(self, seq: int, output: JSONValue) -> None:
        """Sub-orchestration call `seq` returned `output`."""
        task = self._children.pop(seq, None)
        if task is not None:
            self._settle(task, output, f"result of sub-orchestration {task.name!r}")

    def child_failed(self, seq: int, failure: FailureDetails) -> None:
        """Sub-orchestration call `seq` failed."""
        task = self._children.pop(seq, None)
        if task is not None:
            task._settle(None, SubOrchestratorError(task.name, task.instance_id, failure))

    def event_raised(self, event: EventRaised) -> None:
        """Give `event` to the oldest wait for its name, or keep it for the next one."""
        waiters = self._waiters.get(event.name)
        if waiters:
            self._settle(waiters.popleft(), event.input, f"data of event {event.name!r}")
        else:
            self._buffer.setdefault(event.name, deque()).append((next(self._arrivals), event))

    def open_seqs(self) -> list[int]:
        """The sequence numbers of the calls still waiting for an answer."""
        return [*self._activities, *self._timers, *self._children]

    def buffered_events(self) -> tuple[EventRaised, ...]:
        """The events nobody has waited for yet, in the order they arrived."""
        return tuple(event for _, event in sorted(itertools.chain(*self._buffer.values())))

    def waiting(self) -> Waiting:
        """What the execution waits for: the first 100 of each kind."""
        shown = _WAITING_SHOWN
        return Waiting(
            activities=tuple(
                PendingActivity(seq=task.seq, name=task.name, scheduled_at=task.scheduled_at)
                for task in itertools.islice(self._activities.values(), shown)
            ),
            timers=tuple(
                PendingTimer(seq=task.seq, fire_at=task.fire_at)
                for task in itertools.islice(self._timers.values(), shown)
            ),
            events=tuple(name for name, waiters in self._waiters.items() if waiters),
            sub_orchestrations=tuple(
                PendingSubOrchestration(seq=task.seq, name=task.name, instance_id=task.instance_id)
                for task in itertools.islice(self._children.values(), shown)
            ),
        )

    def _settle(self, task: Task[Any], payload: JSONValue, what: str) -> None:
        annotation = getattr(task, "result_type", Any)
        try:
            value = self._converter.from_json(payload, annotation, what=what)
        except Exception as error:
            task._settle(None, error)
            return
        task._settle(value, None)
