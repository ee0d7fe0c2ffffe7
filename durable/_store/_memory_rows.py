"""The rows `MemoryStore` keeps, and their conversion to and from protocol values.

An instance row owns its history and inbox; payloads and events are held as
JSON text made by the `PayloadConverter`, the way a database keeps them, so a
stored row shares no mutable value with any caller. `RowCodec` is the only
place that dumps and loads that text; a value JSON cannot carry fails with
`PayloadError` before anything is stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from durable._model.events import (
    EventRaised,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionSuspended,
    ExecutionTerminated,
    HistoryEvent,
    JSONValue,
)
from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus, Waiting
from durable._store.protocol import (
    ActivityWorkItem,
    InstanceQuery,
    Message,
    NewActivityTask,
)
from durable.errors import PayloadError

if TYPE_CHECKING:
    from durable._model.converter import PayloadConverter

__all__ = [
    "InstanceRow",
    "MessageRow",
    "RowCodec",
    "TaskRow",
    "finished_action",
    "lock_token",
    "matches",
    "sort_key",
]


@attrs.define(eq=False)
class MessageRow:
    """A message in an inbox; `event` is JSON text."""

    id: int
    event: str
    visible_at: datetime
    execution_id: str | None


@attrs.define(eq=False)
class InstanceRow:
    """An instance with its history and inbox; payload fields are JSON text."""

    instance_id: str
    name: str
    version: str | None
    status: RuntimeStatus
    created_at: datetime
    last_updated_at: datetime
    execution_id: str
    input: str
    scheduled_start: datetime | None
    parent_instance_id: str | None
    output: str = "null"
    failure: str | None = None
    custom_status: str = "null"
    waiting: str = "{}"
    completed_at: datetime | None = None
    lock_token: str | None = None
    locked_until: datetime | None = None
    history: list[str] = attrs.field(factory=list)
    inbox: dict[int, MessageRow] = attrs.field(factory=dict)  # in id (insertion) order


@attrs.define(eq=False)
class TaskRow:
    """An activity task; `input` is JSON text, `attempt` counts the takes."""

    id: int
    instance_id: str
    execution_id: str
    seq: int
    name: str
    input: str
    visible_at: datetime
    attempt: int = 0
    lock_token: str | None = None
    locked_until: datetime | None = None

    @property
    def due(self) -> datetime:
        """When the task can be taken: once visible, or once its lease runs out."""
        return self.visible_at if self.locked_until is None else self.locked_until


class RowCodec:
    """Turns protocol values into rows of JSON text and back."""

    def __init__(self, converter: PayloadConverter) -> None:
        self._converter = converter

    def dumps(self, value: JSONValue, what: str) -> str:
        """JSON text of a payload, or `PayloadError` naming `what`."""
        try:
            return self._converter.dumps(value)
        except (TypeError, ValueError) as error:
            raise PayloadError(f"{what} cannot be stored as JSON: {error}") from error

    def dump_event(self, event: HistoryEvent) -> str:
        """JSON text of an event, or `PayloadError` naming its type."""
        try:
            return self._converter.dump_event(event)
        except (TypeError, ValueError) as error:
            what = f"{type(event).__name__} event"
            raise PayloadError(f"{what} cannot be stored as JSON: {error}") from error

    def dump_value(self, value: FailureDetails | Waiting) -> str:
        """JSON text of an attrs value of the row."""
        what = type(value).__name__
        return self.dumps(self._converter.to_json(value, what=what), what)

    def load_event(self, text: str) -> HistoryEvent:
        """The event of JSON text."""
        return self._converter.load_event(text)

    def load_events(self, texts: Iterable[str]) -> list[HistoryEvent]:
        """The events of JSON texts, in order."""
        return self._converter.load_events(texts)

    def new_instance(self, started: ExecutionStarted, now: datetime) -> InstanceRow:
        """A PENDING row for `started`, created at `now`, with an empty inbox."""
        return InstanceRow(
            instance_id=started.instance_id,
            name=started.name,
            version=started.version,
            status=RuntimeStatus.PENDING,
            created_at=now,
            last_updated_at=now,
            execution_id=started.execution_id,
            input=self.dumps(started.input, f"input of instance {started.instance_id!r}"),
            scheduled_start=started.scheduled_start,
            parent_instance_id=started.parent.instance_id if started.parent else None,
        )

    def new_task(self, task: NewActivityTask) -> TaskRow:
        """A task row, numbered 0 until it is inserted."""
        return TaskRow(
            id=0,
            instance_id=task.instance_id,
            execution_id=task.execution_id,
            seq=task.seq,
            name=task.name,
            input=self.dumps(task.input, f"input of activity {task.name!r}"),
            visible_at=task.visible_at,
        )

    def status(self, row: InstanceRow) -> InstanceStatus:
        """The instance row as clients see it."""
        loads = self._converter.loads
        return InstanceStatus(
            instance_id=row.instance_id,
            name=row.name,
            status=row.status,
            created_at=row.created_at,
            last_updated_at=row.last_updated_at,
            execution_id=row.execution_id,
            version=row.version,
            input=loads(row.input),
            output=loads(row.output),
            failure=None if row.failure is None else self._load(row.failure, FailureDetails),
            custom_status=loads(row.custom_status),
            completed_at=row.completed_at,
            scheduled_start=row.scheduled_start,
            parent_instance_id=row.parent_instance_id,
            waiting=self._load(row.waiting, Waiting),
        )

    def message(self, instance_id: str, message: MessageRow) -> Message:
        """An inbox message as a worker takes it."""
        return Message(
            id=message.id,
            instance_id=instance_id,
            event=self.load_event(message.event),
            visible_at=message.visible_at,
            execution_id=message.execution_id,
        )

    def activity(self, task: TaskRow, token: str, locked_until: datetime) -> ActivityWorkItem:
        """A task as the worker that leased it with `token` until `locked_until` sees it."""
        return ActivityWorkItem(
            id=task.id,
            instance_id=task.instance_id,
            execution_id=task.execution_id,
            seq=task.seq,
            name=task.name,
            input=self._converter.loads(task.input),
            attempt=task.attempt,
            lock_token=token,
            locked_until=locked_until,
        )

    def _load(self, text: str, kind: type[Any]) -> Any:
        return self._converter.from_json(self._converter.loads(text), kind, what=kind.__name__)


def lock_token(owner: str) -> str:
    """A fresh lease token that names its owner."""
    return f"{owner}:{secrets.token_hex(16)}"


def sort_key(row: InstanceRow) -> tuple[datetime, str]:
    """The listing order: creation time, then id."""
    return row.created_at, row.instance_id


def matches(row: InstanceRow, query: InstanceQuery) -> bool:
    """Whether the row passes every filter of `query` (paging fields aside)."""
    prefix = query.instance_id_prefix
    return (
        (query.statuses is None or row.status in query.statuses)
        and (query.name is None or row.name == query.name)
        and (query.created_from is None or row.created_at >= query.created_from)
        and (query.created_to is None or row.created_at < query.created_to)
        and (prefix is None or row.instance_id.startswith(prefix))
    )


def finished_action(event: HistoryEvent) -> str:
    """What sending `event` to an instance means, for `InstanceFinishedError`."""
    match event:
        case EventRaised(name=name):
            return f"raise event {name!r} to"
        case ExecutionTerminated():
            return "terminate"
        case ExecutionSuspended():
            return "suspend"
        case ExecutionResumed():
            return "resume"
        case _:
            return f"send {type(event).__name__} to"
