"""`OrchestrationContext`: everything an orchestrator may do, all of it replay-safe."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Coroutine, Generator, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from durable._engine.fibers import BranchTask, is_steppable
from durable._engine.retrying import retrying
from durable._engine.tasks import (
    ActivityTask,
    EventTask,
    SubOrchestratorTask,
    Task,
    TimerTask,
    WhenAllTask,
    WhenAnyTask,
)
from durable._model.definitions import ActivityDefinition
from durable._model.events import (
    EventSent,
    SubOrchestrationCreated,
    TaskScheduled,
    TimerCreated,
)
from durable._model.retry import MAX_DURATION, RetryPolicy, check_duration
from durable.errors import InvalidArgumentError

if TYPE_CHECKING:
    from durable._engine.execution import Execution

__all__ = ["OrchestrationContext"]

_UUID_NAMESPACE = uuid.UUID("9b0c4c5e-6a43-4a2f-9d7e-3b4f0f6f2c11")
TaskLike = Task[Any] | Coroutine[Any, Any, Any] | Generator[Any, Any, Any]
_logger = logging.getLogger("durable.orchestrator")


class _ReplaySafeLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that stays silent while the orchestrator replays old events."""

    def __init__(self, context: OrchestrationContext) -> None:
        super().__init__(_logger, {})
        self._context = context

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        return not self._context.is_replaying and super().isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self._context.instance_id}] {msg}", kwargs


class OrchestrationContext:
    """What an orchestrator is given: the only door to time, calls and events.

    Every method is deterministic under replay: calls are matched to history
    by their order, time is the episode's recorded time, ids are derived from
    the instance. Await (or, in a generator orchestrator, yield) the tasks it
    returns.
    """

    def __init__(self, execution: Execution) -> None:
        self._execution = execution
        self._log = _ReplaySafeLogger(self)

    # -- facts -----------------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        """The id of this instance."""
        return self._execution.instance_id

    @property
    def name(self) -> str:
        """The orchestrator's registered name."""
        return self._execution.definition.name

    @property
    def version(self) -> str | None:
        """The orchestrator version recorded when this execution started."""
        started = self._execution.started
        return started.version if started else None

    @property
    def parent_instance_id(self) -> str | None:
        """The parent orchestration's id, for a sub-orchestration."""
        started = self._execution.started
        return started.parent.instance_id if started and started.parent else None

    @property
    def now(self) -> datetime:
        """The current episode's time (UTC), the same on every replay."""
        now = self._execution.now
        if now is None:
            raise InvalidArgumentError("ctx.now is only known once the orchestrator is running")
        return now

    @property
    def is_replaying(self) -> bool:
        """Whether the code is re-running over events recorded before."""
        return self._execution.is_replaying

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger (``durable.orchestrator``) that is silent during replay."""
        return self._log

    def new_uuid(self) -> str:
        """A UUID that is the same on every replay (name-based, from the execution)."""
        execution = self._execution
        started = execution.started
        seed = started.execution_id if started else execution.instance_id
        execution.uuid_counter += 1
        return str(uuid.uuid5(_UUID_NAMESPACE, f"{seed}/{execution.uuid_counter}"))

    # -- calls -----------------------------------------------------------------------------

    def call_activity(
        self,
        activity: str | Callable[..., Any],
        input: Any = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> Task[Any]:
        """Schedule an activity and return the task of its result.

        Args:
            activity: the registered name, or the decorated function itself.
            input: its input; converted to JSON here (PayloadError if it cannot be).
            retry: how to retry failures (default: the activity's own policy).
                Retries wait on durable timers and show in the history.

        Raises:
            ActivityNotFoundError: no activity is registered under that name.
            PayloadError: `input` cannot be converted to JSON.
        """
        execution = self._execution
        definition = execution.registry.find_activity(activity)
        payload = execution.converter.to_json(input, what=f"input of activity {definition.name!r}")
        policy = retry or definition.retry
        if policy is None:
            return self._schedule_activity(definition, payload)
        attempt = functools.partial(self._schedule_activity, definition, payload)
        return BranchTask(retrying(self, attempt, policy), execution)

    def _schedule_activity(self, definition: ActivityDefinition, payload: Any) -> Task[Any]:
        """One attempt of an activity call: its `TaskScheduled` and the task of its result."""
        execution = self._execution
        now = self.now
        seq = execution.next_seq()
        execution.record_action(
            TaskScheduled(timestamp=now, seq=seq, name=definition.name, input=payload)
        )
        task: ActivityTask[Any] = ActivityTask(seq, definition.name, definition.output_type, now)
        execution.tasks.open_activity(task)
        return task

    def call_sub_orchestrator(
        self,
        orchestrator: str | Callable[..., Any],
        input: Any = None,
        *,
        instance_id: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> Task[Any]:
        """Start a child orchestration and return the task of its output.

        Args:
            orchestrator: the registered name, or the decorated function itself.
            input: its input; converted to JSON here.
            instance_id: the child's id (default ``"<this id>:<call number>"``).
            retry: how to retry a failed child (each attempt is a new child).

        Raises:
            OrchestratorNotFoundError: no orchestrator is registered under that name.
            PayloadError: `input` cannot be converted to JSON.
        """
        execution = self._execution
        definition = execution.registry.find_orchestrator(orchestrator)
        what = f"input of sub-orchestration {definition.name!r}"
        payload = execution.converter.to_json(input, what=what)

        def attempt() -> Task[Any]:
            seq = execution.next_seq()
            child_id = instance_id or f"{execution.instance_id}:{seq}"
            execution.record_action(
                SubOrchestrationCreated(
                    timestamp=self.now,
                    seq=seq,
                    name=definition.name,
                    instance_id=child_id,
                    input=payload,
                    version=definition.version,
                )
            )
            task: SubOrchestratorTask[Any] = SubOrchestratorTask(
                seq, definition.name, child_id, definition.output_type
            )
            execution.tasks.open_child(task)
            return task

        if retry is None:
            return attempt()
        return BranchTask(retrying(self, attempt, retry), execution)

    def create_timer(self, fire_at: datetime | timedelta) -> TimerTask:
        """A durable timer due at `fire_at` (an aware datetime, or a delay from `now`).

        Raises:
            InvalidArgumentError: a negative or absurd delay, or a naive datetime.
        """
        execution = self._execution
        due = self._due(fire_at)
        seq = execution.next_seq()
        execution.record_action(TimerCreated(timestamp=self.now, seq=seq, fire_at=due))
        task = TimerTask(seq, due, execution.tasks.release_timer)
        execution.tasks.open_timer(task)
        self._own(task)
        return task

    def wait_for_event(self, name: str, *, data_type: Any = Any) -> Task[Any]:
        """Wait for the next external event called `name` (events that came early are kept).

        Args:
            name: the event name (case-sensitive).
            data_type: the type its data is structured into (default: plain JSON).
        """
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"event name must be a non-empty str, got {name!r}")
        execution = self._execution
        task: EventTask[Any] = EventTask(name, data_type, execution.tasks.release_event)
        execution.tasks.wait_event(task)
        if not task.is_completed:
            self._own(task)
        return task

    def send_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Send external event `name` with `data` to another instance (fire and forget)."""
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"event name must be a non-empty str, got {name!r}")
        execution = self._execution
        payload = execution.converter.to_json(data, what=f"data of event {name!r}")
        seq = execution.next_seq()
        execution.record_action(
            EventSent(
                timestamp=self.now, seq=seq, instance_id=instance_id, name=name, input=payload
            )
        )

    def when_all(self, tasks: Iterable[TaskLike]) -> Task[list[Any]]:
        """A task of every result, in the order given; fails with the first failure.

        Coroutines run as concurrent branches inside this instance.
        """
        return WhenAllTask([self._as_task(each) for each in tasks])

    def when_any(self, tasks: Iterable[TaskLike]) -> Task[Task[Any]]:
        """A task of the first task to finish (the task itself: check ``winner is t``).

        Coroutines run as concurrent branches. Losing branches, event waits and
        when_all/when_any groups are cancelled; losing activities, sub-orchestrations
        and timers run on.
        """
        children = [self._as_task(each) for each in tasks]
        if not children:
            raise InvalidArgumentError("when_any needs at least one task")
        return WhenAnyTask(children)

    # -- state -----------------------------------------------------------------------------

    def set_custom_status(self, value: Any) -> None:
        """Publish `value` (JSON-convertible) as this instance's custom status."""
        execution = self._execution
        execution.custom_status = execution.converter.to_json(value, what="custom status")

    def continue_as_new(self, input: Any = None, *, carry_over_events: bool = True) -> None:
        """Restart this instance with `input` and a fresh history once the code returns.

        Args:
            input: the next execution's input.
            carry_over_events: deliver external events that arrived and were not
                yet consumed to the next execution.
        """
        execution = self._execution
        payload = execution.converter.to_json(input, what="input of continue_as_new")
        execution.continue_as_new_request = (payload, carry_over_events)

    # -- helpers ---------------------------------------------------------------------------

    def _due(self, fire_at: datetime | timedelta) -> datetime:
        if isinstance(fire_at, timedelta):
            return self.now + check_duration("timer delay", fire_at)
        if not isinstance(fire_at, datetime):
            raise InvalidArgumentError(
                f"create_timer takes a datetime or a timedelta, got {type(fire_at).__name__}"
            )
        if fire_at.tzinfo is None:
            raise InvalidArgumentError(
                f"timer time {fire_at.isoformat()} has no time zone; use an aware UTC datetime"
            )
        if fire_at - self.now > MAX_DURATION:
            raise InvalidArgumentError(
                f"timer time {fire_at.isoformat()} is more than {MAX_DURATION.days} days away"
            )
        return fire_at

    def _own(self, task: Task[Any]) -> None:
        fiber = self._execution.current_fiber
        if fiber is not None:
            fiber.own(task)

    def _as_task(self, item: TaskLike) -> Task[Any]:
        if isinstance(item, Task):
            return item
        if is_steppable(item):
            return BranchTask(item, self._execution)
        raise InvalidArgumentError(
            f"when_all and when_any take durable tasks or coroutines, got {type(item).__name__}"
        )
