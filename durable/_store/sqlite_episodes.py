"""The SQLite store's writes of an episode commit, and the row-level writes its methods share.

`EpisodeWriter.prepare` serializes a commit before its transaction, so that
nothing but the database can fail inside it; `EpisodeWriter.apply` writes it:
history appended, consumed messages deleted, tasks inserted (the first ones
leased to the claimant), children started or rewound, messages delivered,
the instance row updated and unlocked.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

import attrs

from durable._model.events import ExecutionStarted, SubOrchestrationFailed
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from durable._store import sqlite_queries as q
from durable._store.protocol import (
    ActivityWorkItem,
    ChildRewind,
    Claim,
    EpisodeCommit,
    NewMessage,
    OrchestrationWorkItem,
    child_start,
)
from durable.errors import InstanceExistsError

__all__ = [
    "EpisodeWriter",
    "PreparedCommit",
    "delete_instance",
    "deliver",
    "instance_status",
    "new_token",
    "reopen_instance",
]


class EpisodeWriter:
    """Prepares and applies episode commits, with the row layout of `rows`."""

    def __init__(self, rows: q.Rows) -> None:
        self._rows = rows

    def prepare(self, instance_id: str, commit: EpisodeCommit) -> PreparedCommit:
        """Serialize `commit` before its transaction, so only the database can fail in it."""
        return PreparedCommit(
            children=[self._child(started, commit) for started in commit.sub_orchestrations],
            events=[self._rows.event_text(event) for event in commit.history],
            messages=[self._rows.message(message) for message in commit.messages],
            tasks=[self._rows.task(task) for task in commit.activities],
            row=self._rows.episode(instance_id, commit),
            rewinds=[self._child_rewind(child, commit) for child in commit.rewound_children],
        )

    def apply(
        self,
        db: sqlite3.Connection,
        work: OrchestrationWorkItem,
        commit: EpisodeCommit,
        prepared: PreparedCommit,
        claim: Claim | None,
    ) -> tuple[ActivityWorkItem, ...]:
        """Apply a prepared commit and release the instance; the tasks leased to `claim`.

        Only the columns that changed are set, so that SQLite leaves the indexes
        on the others alone (fewer pages written per commit). New history goes
        after `work.history_length`: nobody else appends while `work` is held.
        """
        instance_id = work.instance.instance_id
        key = {"instance_id": instance_id}
        for message_id in commit.consumed:
            db.execute(q.DELETE_MESSAGE, {**key, "id": message_id})
        if commit.clear_inbox:
            db.execute(q.DELETE_INSTANCE_MESSAGES, key)
        start = work.history_length
        if commit.reset_history:
            db.execute(q.DELETE_HISTORY, key)
            start = 0
        events = enumerate(prepared.events, start)
        db.executemany(
            q.INSERT_HISTORY, [{**key, "position": at, "event": text} for at, text in events]
        )
        leased = []
        tasks = prepared.tasks
        if claim is not None:
            leased = [self._insert_leased(db, task, claim) for task in tasks[: claim.activities]]
            tasks = tasks[claim.activities :]
        if tasks:
            db.executemany(q.INSERT_TASK, tasks)
        for child in prepared.children:  # before the messages, which may be addressed to them
            self._start_child(db, child, commit, parent_id=instance_id)
        for rewind in prepared.rewinds:
            self._redo_child(db, rewind, commit, parent_id=instance_id)
        for message in prepared.messages:
            deliver(db, message, sender=instance_id)
        same_status = commit.status == work.instance.status
        db.execute(q.update_after_episode(status=not same_status), prepared.row)
        return tuple(leased)

    def _insert_leased(
        self, db: sqlite3.Connection, task: dict[str, Any], claim: Claim
    ) -> ActivityWorkItem:
        token, locked_until = new_token(claim.owner), claim.now + claim.lease
        params = {**task, "lock_token": token, "locked_until": q.to_us(locked_until)}
        task_id = db.execute(q.INSERT_LEASED_TASK, params).lastrowid
        assert task_id is not None
        return self._rows.to_activity(
            {**task, "id": task_id, "attempt": 0}, lock_token=token, locked_until=locked_until
        )

    def _child(self, started: ExecutionStarted, commit: EpisodeCommit) -> _Child:
        seq, start = child_start(started, commit.updated_at)
        return _Child(
            instance_id=started.instance_id,
            seq=seq,
            row=self._rows.new_instance(started, now=commit.updated_at),
            start=self._rows.message(start),
        )

    def _child_rewind(self, rewind: ChildRewind, commit: EpisodeCommit) -> _ChildRewind:
        child = self._child(rewind.started, commit)
        event = NewMessage(
            instance_id=child.instance_id, event=rewind.rewound, visible_at=commit.updated_at
        )
        return _ChildRewind(
            child=child,
            reopen=self._rows.reopen(child.instance_id, commit.updated_at),
            rewound=self._rows.message(event),
        )

    def _redo_child(
        self, db: sqlite3.Connection, rewind: _ChildRewind, commit: EpisodeCommit, *, parent_id: str
    ) -> None:
        """Rewind a FAILED child, start a finished or missing one again, leave a running one."""
        status = instance_status(db, rewind.child.instance_id)
        if status is RuntimeStatus.FAILED:
            reopen_instance(db, rewind.reopen, rewind.rewound)
        elif status is None or status.is_terminal:
            self._start_child(db, rewind.child, commit, parent_id=parent_id)

    def _start_child(
        self, db: sqlite3.Connection, child: _Child, commit: EpisodeCommit, *, parent_id: str
    ) -> None:
        """Create a sub-orchestration, or tell the parent that its id is taken."""
        status = instance_status(db, child.instance_id)
        if status is None or status.is_terminal:
            if status is not None:
                delete_instance(db, child.instance_id)
            db.execute(q.INSERT_INSTANCE, child.row)
            db.execute(q.INSERT_MESSAGE, child.start)
            return
        error = InstanceExistsError(child.instance_id, status.value)
        failed = SubOrchestrationFailed(
            timestamp=commit.updated_at, seq=child.seq, failure=FailureDetails.from_exception(error)
        )
        refusal = NewMessage(
            instance_id=parent_id,
            event=failed,
            visible_at=commit.updated_at,
            execution_id=commit.execution_id,
        )
        db.execute(q.INSERT_MESSAGE, self._rows.message(refusal))


def new_token(owner: str) -> str:
    """A fresh lease token, naming its owner."""
    return f"{owner}:{secrets.token_hex(16)}"


def instance_status(db: sqlite3.Connection, instance_id: str) -> RuntimeStatus | None:
    """The instance's status, or None if there is no such instance."""
    row = db.execute(q.SELECT_INSTANCE_LOCK, {"instance_id": instance_id}).fetchone()
    return None if row is None else RuntimeStatus(row["status"])


@attrs.frozen(kw_only=True)
class PreparedCommit:
    """An episode commit serialized before its transaction."""

    children: list[_Child]
    events: list[str]
    messages: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    row: dict[str, Any]
    rewinds: list[_ChildRewind] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class _ChildRewind:
    """A sub-orchestration a rewind calls again, serialized before the transaction."""

    child: _Child
    reopen: dict[str, Any]
    rewound: dict[str, Any]


@attrs.frozen(kw_only=True)
class _Child:
    """A sub-orchestration to start, serialized before the transaction."""

    instance_id: str
    seq: int
    row: dict[str, Any]
    start: dict[str, Any]


def deliver(db: sqlite3.Connection, message: dict[str, Any], *, sender: str = "") -> bool:
    """Insert a message unless it is for another instance that is missing or finished.

    Returns:
        Whether it was inserted.
    """
    if message["instance_id"] != sender:
        status = instance_status(db, message["instance_id"])
        if status is None or status.is_terminal:
            return False
    db.execute(q.INSERT_MESSAGE, message)
    return True


def reopen_instance(
    db: sqlite3.Connection, reopen: dict[str, Any], rewound: dict[str, Any]
) -> None:
    """A FAILED instance back to PENDING, its ExecutionRewound in, its activity tasks gone."""
    db.execute(q.REOPEN_INSTANCE, reopen)
    db.execute(q.INSERT_MESSAGE_FOR_EXECUTION, rewound)
    db.execute(q.DELETE_INSTANCE_TASKS, {"instance_id": reopen["instance_id"]})


def delete_instance(db: sqlite3.Connection, instance_id: str) -> None:
    """Remove the instance with its history, inbox and activity tasks."""
    key = {"instance_id": instance_id}
    for statement in (
        q.DELETE_HISTORY,
        q.DELETE_INSTANCE_MESSAGES,
        q.DELETE_INSTANCE_TASKS,
        q.DELETE_INSTANCE,
    ):
        db.execute(statement, key)
