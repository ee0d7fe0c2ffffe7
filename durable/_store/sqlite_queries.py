"""Every SQL statement the SQLite store runs, as named queries, and the row layout.

The schema itself (DDL and migrations) lives in `sqlite_schema`; this module
holds the statements `SQLiteStore` runs against it, so that a reviewer reads
all of the store's SQL in one place, and `Rows`, which turns model values into
the parameters of those statements and result rows back into model values:
whatever knows a column's name and encoding is here. Conventions:

- Times are integers, microseconds since the epoch in UTC, so that every
  comparison is an integer comparison that an index can serve.
- Parameters are named (``:instance_id``); the store passes dicts.
- A lease is held while ``lock_token IS NOT NULL``; it has expired once
  ``locked_until <= :now``. Expired leases are left in place and simply
  overwritten by the next take, so a stale holder's token never matches again.
- JSON columns hold the converter's text: events via ``dump_event``, payloads
  via ``dumps``, `FailureDetails` and `Waiting` unstructured by its cattrs.
- `instance_filter` is the one place where SQL is assembled at run time, and
  it only joins fixed fragments: every value goes in as a parameter.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus, Waiting
from durable._store.protocol import (
    ActivityWorkItem,
    EpisodeCommit,
    Message,
    NewActivityTask,
    NewMessage,
)
from durable.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Collection

    from durable._model.converter import PayloadConverter
    from durable._model.events import ExecutionStarted, HistoryEvent, JSONValue

__all__ = [
    "DELETE_HISTORY",
    "DELETE_INSTANCE",
    "DELETE_INSTANCE_MESSAGES",
    "DELETE_INSTANCE_TASKS",
    "DELETE_MESSAGE",
    "DELETE_TASK",
    "HISTORY_LENGTH",
    "INSERT_HISTORY",
    "INSERT_INSTANCE",
    "INSERT_LEASED_TASK",
    "INSERT_MESSAGE",
    "INSERT_MESSAGE_FOR_EXECUTION",
    "INSERT_TASK",
    "LEASE_TASK",
    "LOCK_INSTANCE",
    "NEXT_DUE_LOCKED_INSTANCE",
    "NEXT_DUE_TASK",
    "NEXT_DUE_UNLOCKED_INSTANCE",
    "PICK_ACTIVITIES",
    "PICK_ORCHESTRATION",
    "RELEASE_TASK",
    "RENEW_TASK",
    "REOPEN_INSTANCE",
    "SELECT_HISTORY",
    "SELECT_INSTANCE",
    "SELECT_INSTANCE_AND_LOCK",
    "SELECT_INSTANCE_LOCK",
    "SELECT_VISIBLE_MESSAGES",
    "UNLOCK_INSTANCE",
    "Rows",
    "from_us",
    "instance_filter",
    "purge_candidates",
    "select_instances",
    "to_us",
    "update_after_episode",
]

# -- instances ---------------------------------------------------------------

_INSTANCE_COLUMNS = """
    instance_id, name, version, status, input, output, failure, custom_status, waiting,
    created_at, last_updated_at, completed_at, scheduled_start, parent_instance_id,
    execution_id
"""

SELECT_INSTANCE = f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE instance_id = :instance_id"

SELECT_INSTANCE_AND_LOCK = f"""
    SELECT {_INSTANCE_COLUMNS}, lock_token, locked_until FROM instances
    WHERE instance_id = :instance_id
"""

SELECT_INSTANCE_LOCK = """
    SELECT status, lock_token FROM instances WHERE instance_id = :instance_id
"""

INSERT_INSTANCE = f"""
    INSERT INTO instances ({_INSTANCE_COLUMNS})
    VALUES (
        :instance_id, :name, :version, :status, :input, :output, :failure, :custom_status,
        :waiting, :created_at, :last_updated_at, :completed_at, :scheduled_start,
        :parent_instance_id, :execution_id
    )
"""

DELETE_INSTANCE = "DELETE FROM instances WHERE instance_id = :instance_id"

_UPDATE_AFTER_EPISODE = """
    UPDATE instances SET {status}
        input = COALESCE(:input, input), output = :output, failure = :failure,
        custom_status = :custom_status, waiting = :waiting, execution_id = :execution_id,
        completed_at = :completed_at, last_updated_at = :last_updated_at,
        lock_token = NULL, locked_until = NULL
    WHERE instance_id = :instance_id
"""
_UPDATES_AFTER_EPISODE = {
    True: _UPDATE_AFTER_EPISODE.format(status="status = :status,"),
    False: _UPDATE_AFTER_EPISODE.format(status=""),
}


def update_after_episode(*, status: bool) -> str:
    """The UPDATE of an instance after its episode; it sets `status` only if asked.

    SQLite rewrites an index's entry whenever the UPDATE sets one of its columns,
    changed or not; leaving an unchanged status out spares instances_by_status.
    """
    return _UPDATES_AFTER_EPISODE[status]


LOCK_INSTANCE = """
    UPDATE instances SET lock_token = :lock_token, locked_until = :locked_until
    WHERE instance_id = :instance_id
"""

# A FAILED instance back to PENDING, for a rewind; any other row is left as it is.
REOPEN_INSTANCE = """
    UPDATE instances SET
        status = :pending, output = :output, failure = NULL, completed_at = NULL,
        last_updated_at = :last_updated_at
    WHERE instance_id = :instance_id AND status = :failed
"""

UNLOCK_INSTANCE = """
    UPDATE instances SET lock_token = NULL, locked_until = NULL
    WHERE instance_id = :instance_id AND lock_token = :lock_token
"""

# The instance whose oldest visible message became visible first, among the
# instances nobody holds an unexpired lease on. Walks messages_by_visible in
# order and stops at the first free instance.
PICK_ORCHESTRATION = """
    SELECT m.instance_id
    FROM messages AS m JOIN instances AS i ON i.instance_id = m.instance_id
    WHERE m.visible_at <= :now AND (i.lock_token IS NULL OR i.locked_until <= :now)
    ORDER BY m.visible_at, m.id
    LIMIT 1
"""

# -- history -----------------------------------------------------------------

SELECT_HISTORY = """
    SELECT event FROM history WHERE instance_id = :instance_id ORDER BY position
"""

# Positions run 0, 1, 2, ... so the length is one past the last: an index
# seek, not a count over the whole history.
HISTORY_LENGTH = """
    SELECT COALESCE(MAX(position) + 1, 0) FROM history WHERE instance_id = :instance_id
"""

INSERT_HISTORY = """
    INSERT INTO history (instance_id, position, event) VALUES (:instance_id, :position, :event)
"""

DELETE_HISTORY = "DELETE FROM history WHERE instance_id = :instance_id"

# -- messages ----------------------------------------------------------------

INSERT_MESSAGE = """
    INSERT INTO messages (instance_id, visible_at, execution_id, event)
    VALUES (:instance_id, :visible_at, :execution_id, :event)
"""

# A message for the instance's current execution (a rewind), whatever its id is now.
INSERT_MESSAGE_FOR_EXECUTION = """
    INSERT INTO messages (instance_id, visible_at, execution_id, event)
    SELECT instance_id, :visible_at, execution_id, :event FROM instances
    WHERE instance_id = :instance_id
"""

SELECT_VISIBLE_MESSAGES = """
    SELECT id, instance_id, visible_at, execution_id, event FROM messages
    WHERE instance_id = :instance_id AND visible_at <= :now
    ORDER BY id
"""

DELETE_MESSAGE = "DELETE FROM messages WHERE id = :id AND instance_id = :instance_id"

DELETE_INSTANCE_MESSAGES = "DELETE FROM messages WHERE instance_id = :instance_id"

# -- activity tasks ----------------------------------------------------------

_TASK_COLUMNS = """
    id, instance_id, execution_id, seq, name, input, visible_at, lock_token, locked_until, attempt
"""

INSERT_TASK = """
    INSERT INTO activity_tasks (
        instance_id, execution_id, seq, name, input, visible_at, available_at
    ) VALUES (:instance_id, :execution_id, :seq, :name, :input, :visible_at, :visible_at)
"""

# A task's available_at is when it can be taken: its visible_at while nobody
# holds it, its locked_until while somebody does (leases start after a task is
# visible). Every statement that sets the one sets available_at too.
INSERT_LEASED_TASK = """
    INSERT INTO activity_tasks (
        instance_id, execution_id, seq, name, input, visible_at, lock_token, locked_until, attempt,
        available_at
    ) VALUES (
        :instance_id, :execution_id, :seq, :name, :input, :visible_at, :lock_token, :locked_until,
        1, :locked_until
    )
"""

PICK_ACTIVITIES = f"""
    SELECT {_TASK_COLUMNS} FROM activity_tasks INDEXED BY activity_tasks_by_visible
    WHERE available_at <= :now
    ORDER BY visible_at, id
    LIMIT :limit
"""

LEASE_TASK = """
    UPDATE activity_tasks
    SET lock_token = :lock_token, locked_until = :locked_until, available_at = :locked_until,
        attempt = attempt + 1
    WHERE id = :id
"""

RENEW_TASK = """
    UPDATE activity_tasks SET locked_until = :locked_until, available_at = :locked_until
    WHERE id = :id AND lock_token = :lock_token
"""

RELEASE_TASK = """
    UPDATE activity_tasks
    SET lock_token = NULL, locked_until = NULL, visible_at = :now, available_at = :now
    WHERE id = :id AND lock_token = :lock_token
"""

# Task ids may be used again once a task is gone: a task is its id, execution and seq.
DELETE_TASK = """
    DELETE FROM activity_tasks WHERE id = :id AND execution_id = :execution_id AND seq = :seq
"""

DELETE_INSTANCE_TASKS = "DELETE FROM activity_tasks WHERE instance_id = :instance_id"

# -- next_due ----------------------------------------------------------------
# Three small queries, each served by an index, instead of one MIN over a
# CASE that would scan every row. The store takes the least non-NULL answer.

NEXT_DUE_UNLOCKED_INSTANCE = """
    SELECT m.visible_at
    FROM messages AS m JOIN instances AS i ON i.instance_id = m.instance_id
    WHERE i.lock_token IS NULL
    ORDER BY m.visible_at, m.id
    LIMIT 1
"""

NEXT_DUE_LOCKED_INSTANCE = """
    SELECT MIN(MAX(
        i.locked_until,
        (SELECT MIN(m.visible_at) FROM messages AS m WHERE m.instance_id = i.instance_id)
    ))
    FROM instances AS i
    WHERE i.lock_token IS NOT NULL
"""

NEXT_DUE_TASK = """
    SELECT MIN(available_at) FROM activity_tasks
"""

# -- listing and purging -----------------------------------------------------


def instance_filter(
    *,
    statuses: Collection[str] | None,
    name: str | None,
    created_from: int | None,
    created_to: int | None,
    id_prefix: str | None,
) -> tuple[str, dict[str, object]]:
    """A WHERE clause (without the keyword) and its parameters for an instance query.

    `statuses` is None for any status; an empty collection matches nothing.
    The id prefix is compared with `substr`, not LIKE, which would treat ``%``
    and ``_`` as wildcards and ignore ASCII case.
    """
    clauses: list[str] = ["1"]
    params: dict[str, object] = {}
    if statuses is not None:
        names = [f":status_{index}" for index in range(len(statuses))]
        clauses.append(f"status IN ({', '.join(names)})" if names else "0")
        params.update(zip((n[1:] for n in names), sorted(statuses), strict=True))
    if name is not None:
        clauses.append("name = :name")
        params["name"] = name
    if created_from is not None:
        clauses.append("created_at >= :created_from")
        params["created_from"] = created_from
    if created_to is not None:
        clauses.append("created_at < :created_to")
        params["created_to"] = created_to
    if id_prefix:
        clauses.append("substr(instance_id, 1, length(:id_prefix)) = :id_prefix")
        params["id_prefix"] = id_prefix
    return " AND ".join(clauses), params


def select_instances(where: str, *, after: bool) -> str:
    """One page of instances: `where` from `instance_filter`, keyset-paged.

    With `after`, only rows strictly after ``(:after_created_at, :after_id)``.
    The caller passes ``:limit`` as the page size plus one, to learn whether
    another page follows.
    """
    keyset = " AND (created_at, instance_id) > (:after_created_at, :after_id)" if after else ""
    return f"""
        SELECT {_INSTANCE_COLUMNS} FROM instances
        WHERE {where}{keyset}
        ORDER BY created_at, instance_id
        LIMIT :limit
    """


def purge_candidates(where: str) -> str:
    """The ids of the instances matching `where` (from `instance_filter`).

    The caller restricts `where` to finished statuses.
    """
    return f"SELECT instance_id FROM instances WHERE {where}"


# -- the row layout ----------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime counts as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def from_us(value: int) -> datetime:
    """The aware UTC datetime of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


def _maybe_us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def _maybe_datetime(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


_NOTHING_AWAITED = Waiting()
_WRITTEN_WAITING_KEPT = 1024
_WRITTEN_WAITING_MAX_CHARS = 1024  # a chain's step; a wide fan-out's list is parsed again


class Rows:
    """Model values to statement parameters, and result rows back, through one converter."""

    def __init__(self, converter: PayloadConverter) -> None:
        self._converter = converter
        self._nothing_awaited = self._dump_value(_NOTHING_AWAITED)
        self._written_waiting: OrderedDict[str, Waiting] = OrderedDict()

    def filter(
        self,
        statuses: Collection[RuntimeStatus] | None,
        *,
        name: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        id_prefix: str | None,
    ) -> tuple[str, dict[str, object]]:
        """`instance_filter` for model values."""
        return instance_filter(
            statuses=None if statuses is None else {status.value for status in statuses},
            name=name,
            created_from=_maybe_us(created_from),
            created_to=_maybe_us(created_to),
            id_prefix=id_prefix,
        )

    def new_instance(self, started: ExecutionStarted, *, now: datetime) -> dict[str, Any]:
        """Parameters of `INSERT_INSTANCE` for a new PENDING instance."""
        dumps = self._converter.dumps
        what = f"input of instance {started.instance_id!r}"
        return {
            "instance_id": started.instance_id,
            "name": started.name,
            "version": started.version,
            "status": RuntimeStatus.PENDING.value,
            "input": self._dumps(started.input, what),
            "output": dumps(None),
            "failure": None,
            "custom_status": dumps(None),
            "waiting": self._nothing_awaited,
            "created_at": to_us(now),
            "last_updated_at": to_us(now),
            "completed_at": None,
            "scheduled_start": _maybe_us(started.scheduled_start),
            "parent_instance_id": None if started.parent is None else started.parent.instance_id,
            "execution_id": started.execution_id,
        }

    def episode(self, instance_id: str, commit: EpisodeCommit) -> dict[str, Any]:
        """Parameters of `update_after_episode`; the input changes only on a reset."""
        dumps, where = self._dumps, f"of instance {instance_id!r}"
        return {
            "instance_id": instance_id,
            "status": commit.status.value,
            "input": dumps(commit.input, f"input {where}") if commit.reset_history else None,
            "output": dumps(commit.output, f"output {where}"),
            "failure": None if commit.failure is None else self._dump_value(commit.failure),
            "custom_status": dumps(commit.custom_status, f"custom status {where}"),
            "waiting": self._dump_waiting(commit.waiting),
            "execution_id": commit.execution_id,
            "completed_at": _maybe_us(commit.completed_at),
            "last_updated_at": to_us(commit.updated_at),
        }

    def reopen(self, instance_id: str, now: datetime) -> dict[str, Any]:
        """Parameters of `REOPEN_INSTANCE`: a FAILED instance back to PENDING at `now`."""
        return {
            "instance_id": instance_id,
            "pending": RuntimeStatus.PENDING.value,
            "failed": RuntimeStatus.FAILED.value,
            "output": self._converter.dumps(None),
            "last_updated_at": to_us(now),
        }

    def message(self, message: NewMessage) -> dict[str, Any]:
        """Parameters of `INSERT_MESSAGE`."""
        return {
            "instance_id": message.instance_id,
            "visible_at": to_us(message.visible_at),
            "execution_id": message.execution_id,
            "event": self.event_text(message.event),
        }

    def task(self, task: NewActivityTask) -> dict[str, Any]:
        """Parameters of `INSERT_TASK`."""
        return {
            "instance_id": task.instance_id,
            "execution_id": task.execution_id,
            "seq": task.seq,
            "name": task.name,
            "input": self._dumps(task.input, f"input of activity {task.name!r}"),
            "visible_at": to_us(task.visible_at),
        }

    def event_text(self, event: HistoryEvent) -> str:
        """The ``event`` column of a history or message row."""
        try:
            return self._converter.dump_event(event)
        except (TypeError, ValueError) as error:
            what = f"{type(event).__name__} event"
            raise PayloadError(f"{what} cannot be stored as JSON: {error}") from error

    def to_events(self, texts: Iterable[str]) -> list[HistoryEvent]:
        """The events of history rows' ``event`` columns, in order."""
        return self._converter.load_events(texts)

    def to_instance(self, row: Any) -> InstanceStatus:
        """The instance of a row selected by `SELECT_INSTANCE` or `select_instances`."""
        loads = self._converter.loads
        structure = self._converter.cattrs.structure
        failure = row["failure"]
        return InstanceStatus(
            instance_id=row["instance_id"],
            name=row["name"],
            version=row["version"],
            status=RuntimeStatus(row["status"]),
            input=loads(row["input"]),
            output=loads(row["output"]),
            failure=None if failure is None else structure(loads(failure), FailureDetails),
            custom_status=loads(row["custom_status"]),
            created_at=from_us(row["created_at"]),
            last_updated_at=from_us(row["last_updated_at"]),
            completed_at=_maybe_datetime(row["completed_at"]),
            scheduled_start=_maybe_datetime(row["scheduled_start"]),
            parent_instance_id=row["parent_instance_id"],
            execution_id=row["execution_id"],
            waiting=self._to_waiting(row["waiting"]),
        )

    def _to_waiting(self, text: str) -> Waiting:
        """The `Waiting` of a row; one this process wrote lately is not parsed again.

        The next episode of an instance, and a client's status call, read back
        what the last commit wrote; parsing is most of the cost of a row.
        """
        if text == self._nothing_awaited:  # a pending or finished instance
            return _NOTHING_AWAITED
        written = self._written_waiting.get(text)
        if written is not None:
            return written
        return self._converter.cattrs.structure(self._converter.loads(text), Waiting)

    def to_message(self, row: Any) -> Message:
        """The message of a row selected by `SELECT_VISIBLE_MESSAGES`."""
        return Message(
            id=row["id"],
            instance_id=row["instance_id"],
            event=self._converter.load_event(row["event"]),
            visible_at=from_us(row["visible_at"]),
            execution_id=row["execution_id"],
        )

    def to_activity(self, row: Any, *, lock_token: str, locked_until: datetime) -> ActivityWorkItem:
        """The work item of a task row selected by `PICK_ACTIVITIES` and then leased."""
        return ActivityWorkItem(
            id=row["id"],
            instance_id=row["instance_id"],
            execution_id=row["execution_id"],
            seq=row["seq"],
            name=row["name"],
            input=self._converter.loads(row["input"]),
            attempt=row["attempt"] + 1,
            lock_token=lock_token,
            locked_until=locked_until,
        )

    def _dumps(self, value: JSONValue, what: str) -> str:
        try:
            return self._converter.dumps(value)
        except (TypeError, ValueError) as error:
            raise PayloadError(f"{what} cannot be stored as JSON: {error}") from error

    def _dump_value(self, value: FailureDetails | Waiting) -> str:
        return self._dumps(self._converter.cattrs.unstructure(value), type(value).__name__)

    def _dump_waiting(self, waiting: Waiting) -> str:
        if not waiting:
            return self._nothing_awaited
        text = self._dump_value(waiting)
        if len(text) <= _WRITTEN_WAITING_MAX_CHARS:
            self._remember_waiting(text, waiting)
        return text

    def _remember_waiting(self, text: str, waiting: Waiting) -> None:
        """Keep the `_WRITTEN_WAITING_KEPT` small waiting values written last, by their text.

        Only values whose times are in UTC, so that what is remembered is what
        a parse would give. Single C-level dict operations only: threads share
        the store's `Rows`.
        """
        times = (
            *(activity.scheduled_at for activity in waiting.activities),
            *(timer.fire_at for timer in waiting.timers),
        )
        if any(moment.tzinfo is not UTC for moment in times):
            return
        self._written_waiting[text] = waiting
        self._written_waiting.move_to_end(text)
        if len(self._written_waiting) > _WRITTEN_WAITING_KEPT:
            with contextlib.suppress(KeyError):  # another thread emptied it meanwhile
                self._written_waiting.popitem(last=False)
