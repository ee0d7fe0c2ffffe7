"""`SQLiteStore`: the embedded store, one local database file, safe for several processes.

Every write is one ``BEGIN IMMEDIATE`` transaction, so it takes SQLite's write
lock up front (no deadlock-prone read-to-write upgrade) and commits all of its
rows or none; reads run in a deferred transaction, a consistent WAL snapshot
that never blocks writers. Work is handed out under leases: a take writes a
fresh ``lock_token`` and ``locked_until``, and every later write for that
lease checks the token inside its own transaction, so a stale holder's commit
changes nothing (invariant 2 of `durable._store.protocol`).

Threads: one connection per store, guarded by a lock. Writes serialise on
SQLite's lock anyway; queueing this process's threads on a mutex is fair and
immediate, where separate connections would poll each other through the busy
handler. It also lets `close` release the one connection from any thread.
Other processes use their own connections and wait through ``busy_timeout``.

`take_orchestration` and `take_activity` look with a read first and only
then pick again under ``BEGIN IMMEDIATE``, so idle pollers in many processes
never queue on the write lock. SQLite errors leave as `StoreError` naming the
file, with a hint when the cause is one a user can fix (locked, read-only).

Listeners are in-process only: they run after a commit that added work, on
the committing thread, outside the transaction and the lock. Other processes
learn of new work by polling (see `next_due`).

SQL and the row layout live in `sqlite_queries`; the schema, migrations and
the checks made before a file is touched in `sqlite_schema`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from durable._model.converter import PayloadConverter, default_converter
from durable._model.events import (
    ExecutionRewound,
    HistoryEvent,
)
from durable._model.status import InstanceStatus, RuntimeStatus
from durable._store import sqlite_queries as q
from durable._store._memory_rows import finished_action
from durable._store.one_at_a_time import OneAtATime
from durable._store.protocol import (
    ActivityWorkItem,
    Claim,
    Completion,
    Continuation,
    Delivery,
    EpisodeWrite,
    Handover,
    InstancePage,
    InstanceQuery,
    InstanceStart,
    Message,
    NewMessage,
    OrchestrationWorkItem,
    check_limit,
    completion_message,
    decode_continuation,
    encode_continuation,
)
from durable._store.sqlite_episodes import (
    EpisodeWriter,
    delete_instance,
    deliver,
    instance_status,
    new_token,
    reopen_instance,
)
from durable._store.sqlite_schema import (
    SYNCHRONOUS_MODES,
    error_hint,
    open_database,
    sqlite_path_from_url,
)
from durable.errors import (
    InstanceExistsError,
    InstanceFinishedError,
    InstanceNotFailedError,
    InstanceNotFoundError,
    InvalidArgumentError,
    LeaseLostError,
    StoreError,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["SQLiteStore", "sqlite_path_from_url"]

_log = logging.getLogger(__name__)

_FINISHED = frozenset(status for status in RuntimeStatus if status.is_terminal)


def _check_lease(lease: timedelta) -> None:
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise InvalidArgumentError(f"lease must be a positive timedelta, got {lease!r}")


class SQLiteStore(OneAtATime):
    """A `Store` in one SQLite database file (WAL mode), shared by threads and processes.

    Args:
        path: the database file. Its directory must exist; the file is created
            and migrated if it is missing or empty.
        converter: the payload converter for stored JSON; a default one if None.
        synchronous: ``"FULL"`` (the default: every commit is on disk when it
            returns) or ``"NORMAL"`` (faster; in WAL mode a power loss may undo
            the last commits, but never leaves one half-written).
        busy_timeout: how long a write waits for another process's lock
            before it fails with `StoreError`.

    Raises:
        StoreError: the path cannot hold a store (missing directory, not a
            SQLite file, someone else's database, read-only); nothing was written.
        SchemaVersionError: the database was written by a newer `durable`.
        InvalidArgumentError: `synchronous` or `busy_timeout` is out of range.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        converter: PayloadConverter | None = None,
        synchronous: str = "FULL",
        busy_timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        mode = synchronous.upper() if isinstance(synchronous, str) else synchronous
        if mode not in SYNCHRONOUS_MODES:
            raise InvalidArgumentError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}"
            )
        if not isinstance(busy_timeout, timedelta) or busy_timeout < timedelta(0):
            raise InvalidArgumentError(
                f"busy_timeout must be a non-negative timedelta, got {busy_timeout!r}"
            )
        self._path = Path(path)
        self._synchronous = mode
        self._rows = q.Rows(converter or default_converter())
        self._episodes = EpisodeWriter(self._rows)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        self._connection: sqlite3.Connection | None = open_database(
            self._path, synchronous=mode, busy_timeout_ms=busy_timeout // timedelta(milliseconds=1)
        )
        self._connection.row_factory = sqlite3.Row

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._path)!r})"

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------

    @contextmanager
    def _transaction(self, begin: str, *, synced: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"SQLite store {self._path} is closed")
            relaxed = not synced and self._synchronous == "FULL"
            try:
                if relaxed:
                    connection.execute("PRAGMA synchronous = NORMAL")
                try:
                    connection.execute(begin)
                    yield connection
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                finally:
                    if relaxed:
                        connection.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as error:
                raise StoreError(
                    f"SQLite store {self._path}: {error}{error_hint(error)}"
                ) from error

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN IMMEDIATE")

    def _lease_write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write of leases alone, which the commit does not wait to reach the disk.

        A lease is not progress: a power loss that undoes one also ended the
        worker that held it. The next synced commit makes it durable anyway,
        since the WAL is written in order.
        """
        return self._transaction("BEGIN IMMEDIATE", synced=False)

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN DEFERRED")

    # -- instances -------------------------------------------------------------

    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        """See `Store.create_instances`."""
        rows = [
            (
                start.started.instance_id,
                self._rows.new_instance(start.started, now=start.now),
                self._rows.message(start.message),
            )
            for start in starts
        ]
        outcomes: list[InstanceExistsError | None] = []
        with self._write() as db:
            for instance_id, row, message in rows:
                status = instance_status(db, instance_id)
                if status is not None and not status.is_terminal:
                    outcomes.append(InstanceExistsError(instance_id, status.value))
                    continue
                if status is not None:
                    delete_instance(db, instance_id)
                db.execute(q.INSERT_INSTANCE, row)
                db.execute(q.INSERT_MESSAGE, message)
                outcomes.append(None)
        if None in outcomes:
            self._notify()
        return tuple(outcomes)

    def get_instance(self, instance_id: str) -> InstanceStatus | None:
        """See `Store.get_instance`."""
        with self._read() as db:
            row = db.execute(q.SELECT_INSTANCE, {"instance_id": instance_id}).fetchone()
        return None if row is None else self._rows.to_instance(row)

    def list_instances(self, query: InstanceQuery) -> InstancePage:
        """See `Store.list_instances`."""
        where, params = self._filter(query, query.statuses)
        if query.continuation is not None:
            created_at, last_id = decode_continuation(query.continuation)
            if created_at.tzinfo is None:  # not one of ours: those carry aware times
                raise InvalidArgumentError(
                    f"continuation token {query.continuation!r} is not valid"
                )
            params.update(after_created_at=q.to_us(created_at), after_id=last_id)
        params["limit"] = query.page_size + 1
        sql = q.select_instances(where, after=query.continuation is not None)
        with self._read() as db:
            rows = db.execute(sql, params).fetchall()
        instances = tuple(self._rows.to_instance(row) for row in rows[: query.page_size])
        if len(rows) <= query.page_size:
            return InstancePage(instances=instances)
        last = instances[-1]
        return InstancePage(
            instances=instances,
            continuation=encode_continuation(last.created_at, last.instance_id),
        )

    def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """See `Store.get_history`."""
        with self._read() as db:
            if instance_status(db, instance_id) is None:
                raise InstanceNotFoundError(instance_id)
            texts = _column(db, q.SELECT_HISTORY, {"instance_id": instance_id})
        return self._rows.to_events(texts)

    def send_message(self, message: NewMessage) -> None:
        """See `Store.send_message`."""
        params = self._rows.message(message)
        with self._write() as db:
            status = instance_status(db, message.instance_id)
            if status is None:
                raise InstanceNotFoundError(message.instance_id)
            if status.is_terminal:
                action = finished_action(message.event)
                raise InstanceFinishedError(message.instance_id, status.value, action)
            db.execute(q.INSERT_MESSAGE, params)
        self._notify()

    def rewind_instance(self, instance_id: str, event: ExecutionRewound, *, now: datetime) -> None:
        """See `Store.rewind_instance`."""
        reopen = self._rows.reopen(instance_id, now)
        message = NewMessage(instance_id=instance_id, event=event, visible_at=now)
        rewound = self._rows.message(message)
        with self._write() as db:
            status = instance_status(db, instance_id)
            if status is None:
                raise InstanceNotFoundError(instance_id)
            if status is not RuntimeStatus.FAILED:
                raise InstanceNotFailedError(instance_id, status.value)
            reopen_instance(db, reopen, rewound)
        self._notify()

    def purge_instance(self, instance_id: str) -> bool:
        """See `Store.purge_instance`."""
        with self._write() as db:
            status = instance_status(db, instance_id)
            if status is None:
                return False
            if not status.is_terminal:
                raise InstanceExistsError(instance_id, status.value)
            delete_instance(db, instance_id)
        return True

    def purge_instances(self, query: InstanceQuery) -> int:
        """See `Store.purge_instances`; `page_size` and `continuation` are ignored."""
        statuses = _FINISHED if query.statuses is None else query.statuses & _FINISHED
        where, params = self._filter(query, statuses)
        with self._write() as db:
            ids = [row[0] for row in db.execute(q.purge_candidates(where), params)]
            for instance_id in ids:
                delete_instance(db, instance_id)
        return len(ids)

    # -- orchestration work ----------------------------------------------------

    def take_orchestrations(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[OrchestrationWorkItem, ...]:
        """See `Store.take_orchestrations`: one pick after another, in one transaction."""
        _check_lease(lease)
        check_limit(limit)
        pick = {"now": q.to_us(now)}
        # A read first, so that idle pollers never take the write lock.
        with self._read() as db:
            if db.execute(q.PICK_ORCHESTRATION, pick).fetchone() is None:
                return ()
        taken: list[OrchestrationWorkItem] = []
        with self._lease_write() as db:
            while len(taken) < limit:
                picked = db.execute(q.PICK_ORCHESTRATION, pick).fetchone()
                if picked is None:
                    break
                instance_id = picked["instance_id"]
                taken.append(
                    self._lock_instance(db, instance_id, now=now, lease=lease, owner=owner)
                )
        return tuple(taken)

    def commit_episodes(self, writes: Sequence[EpisodeWrite]) -> tuple[Handover, ...]:
        """See `Store.commit_episodes`: all in one transaction.

        Everything is serialized before the transaction starts, so nothing but
        the database can fail half-way, and the transaction rolls that back. A
        lost lease is found before anything of its write is changed.
        """
        prepared = [
            self._episodes.prepare(write.item.instance.instance_id, write.commit)
            for write in writes
        ]
        outcomes = []
        with self._write() as db:
            for write, ready in zip(writes, prepared, strict=True):
                instance_id = write.item.instance.instance_id
                try:
                    _check_lock(db, instance_id, write.item.lock_token)
                except LeaseLostError as lost:
                    outcomes.append(Handover(error=lost))
                    continue
                leased = self._episodes.apply(db, write.item, write.commit, ready, write.claim)
                outcomes.append(Handover(leased=leased))
        self._notify()
        return tuple(outcomes)

    def _lock_instance(
        self,
        db: sqlite3.Connection,
        instance_id: str,
        *,
        now: datetime,
        lease: timedelta,
        owner: str,
    ) -> OrchestrationWorkItem:
        token, locked_until = new_token(owner), now + lease
        key = {"instance_id": instance_id}
        db.execute(
            q.LOCK_INSTANCE, {**key, "lock_token": token, "locked_until": q.to_us(locked_until)}
        )
        row = db.execute(q.SELECT_INSTANCE, key).fetchone()
        (length,) = db.execute(q.HISTORY_LENGTH, key).fetchone()
        messages = db.execute(q.SELECT_VISIBLE_MESSAGES, {**key, "now": q.to_us(now)}).fetchall()
        return OrchestrationWorkItem(
            instance=self._rows.to_instance(row),
            history_length=length,
            messages=tuple(self._rows.to_message(message) for message in messages),
            lock_token=token,
            locked_until=locked_until,
        )

    def release_orchestration(self, item: OrchestrationWorkItem) -> None:
        """See `Store.release_orchestration`; a lease already lost is left alone."""
        params = {"instance_id": item.instance.instance_id, "lock_token": item.lock_token}
        with self._lease_write() as db:
            released = db.execute(q.UNLOCK_INSTANCE, params).rowcount > 0
        if released:
            self._notify()

    # -- activity work ---------------------------------------------------------

    def take_activities(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[ActivityWorkItem, ...]:
        """See `Store.take_activities`."""
        _check_lease(lease)
        claim = Claim(owner=owner, now=now, lease=lease, activities=check_limit(limit))
        with self._read() as db:
            pick = {"now": q.to_us(now), "limit": 1}
            if db.execute(q.PICK_ACTIVITIES, pick).fetchone() is None:
                return ()
        with self._lease_write() as db:
            return self._take_tasks(db, claim)

    def _take_tasks(self, db: sqlite3.Connection, claim: Claim) -> tuple[ActivityWorkItem, ...]:
        """Lease the oldest takeable tasks as `claim` says (inside a write transaction)."""
        locked_until = claim.now + claim.lease
        pick = {"now": q.to_us(claim.now), "limit": claim.activities}
        taken = []
        for row in db.execute(q.PICK_ACTIVITIES, pick).fetchall():
            token = new_token(claim.owner)
            lease_row = {"id": row["id"], "lock_token": token}
            db.execute(q.LEASE_TASK, {**lease_row, "locked_until": q.to_us(locked_until)})
            taken.append(self._rows.to_activity(row, lock_token=token, locked_until=locked_until))
        return tuple(taken)

    def renew_activity(
        self, item: ActivityWorkItem, *, now: datetime, lease: timedelta
    ) -> ActivityWorkItem:
        """See `Store.renew_activity`."""
        _check_lease(lease)
        locked_until = now + lease
        params = {
            "id": item.id,
            "lock_token": item.lock_token,
            "locked_until": q.to_us(locked_until),
        }
        with self._lease_write() as db:
            renewed = db.execute(q.RENEW_TASK, params).rowcount > 0
        if not renewed:
            raise LeaseLostError(
                f"the lease on activity task {item.id} ({item.name!r}, seq {item.seq} of instance "
                f"{item.instance_id!r}) was lost: another worker took it over or it was delivered"
            )
        return attrs.evolve(item, locked_until=locked_until)

    def complete_activities(
        self, completions: Sequence[Completion], *, now: datetime, take: Claim | None = None
    ) -> Delivery:
        """See `Store.complete_activities`.

        The first result delivered wins, even one whose lease has run out:
        the work was done, and the other worker's result is then a no-op.
        The result is dropped if the instance is gone or has finished. Each
        continuation runs inside a savepoint, so one that fails is undone alone.
        A result its continuation takes is never stored as a message, so it is
        serialized only if it goes to the inbox.
        """
        messages = [completion_message(each, now) for each in completions]
        with self._write() as db:
            outcomes = [
                self._complete(db, completion, message, now)
                for completion, message in zip(completions, messages, strict=True)
            ]
            taken = () if take is None or not take.activities else self._take_tasks(db, take)
        if any(delivered for delivered, _ in outcomes):
            self._notify()
        return Delivery(handovers=tuple(done for _, done in outcomes), taken=taken)

    def _complete(
        self, db: sqlite3.Connection, completion: Completion, message: NewMessage, now: datetime
    ) -> tuple[bool, Handover]:
        """Deliver one result (and run its continuation); whether it was delivered."""
        item, then = completion.item, completion.then
        task = {"id": item.id, "execution_id": item.execution_id, "seq": item.seq}
        if db.execute(q.DELETE_TASK, task).rowcount == 0:
            return False, Handover()
        if then is None:
            return deliver(db, self._rows.message(message)), Handover()
        row = db.execute(q.SELECT_INSTANCE_AND_LOCK, {"instance_id": item.instance_id}).fetchone()
        if row is None or RuntimeStatus(row["status"]).is_terminal:
            return False, Handover()
        if not _row_is_free(row, now):
            db.execute(q.INSERT_MESSAGE, self._rows.message(message))
            return True, Handover()
        db.execute("SAVEPOINT continuation")
        try:
            done = Handover(leased=self._continue(db, row, completion, then, now))
        except Exception as error:  # the result waits in the inbox
            db.execute("ROLLBACK TO continuation")
            db.execute(q.INSERT_MESSAGE, self._rows.message(message))
            done = Handover(error=error)
        db.execute("RELEASE continuation")
        return True, done

    def _continue(
        self,
        db: sqlite3.Connection,
        row: sqlite3.Row,
        completion: Completion,
        then: Continuation,
        now: datetime,
    ) -> tuple[ActivityWorkItem, ...]:
        """Run and apply the instance's next episode; see `Continuation`.

        The write transaction holds the instance, so no lease is written. The
        result goes to the episode without a trip through the inbox: it is the
        last of the instance's messages, after those waiting there.
        """
        item, claim = completion.item, then.claim
        instance_id = item.instance_id
        key = {"instance_id": instance_id}
        (length,) = db.execute(q.HISTORY_LENGTH, key).fetchone()
        waiting = db.execute(q.SELECT_VISIBLE_MESSAGES, {**key, "now": q.to_us(now)}).fetchall()
        result = Message(
            id=None,
            instance_id=instance_id,
            event=completion.result,
            visible_at=now,
            execution_id=item.execution_id,
        )
        work = OrchestrationWorkItem(
            instance=self._rows.to_instance(row),
            history_length=length,
            messages=(*(self._rows.to_message(each) for each in waiting), result),
            lock_token=claim.owner,  # never written: the transaction holds the instance
            locked_until=now + claim.lease,
        )

        def stored_history() -> list[HistoryEvent]:
            return self._rows.to_events(_column(db, q.SELECT_HISTORY, key))

        commit = then.episode(work, stored_history)
        prepared = self._episodes.prepare(instance_id, commit)
        return self._episodes.apply(db, work, commit, prepared, claim)

    def release_activity(self, item: ActivityWorkItem, *, now: datetime) -> None:
        """See `Store.release_activity`; a lease already lost is left alone."""
        params = {"id": item.id, "lock_token": item.lock_token, "now": q.to_us(now)}
        with self._lease_write() as db:
            released = db.execute(q.RELEASE_TASK, params).rowcount > 0
        if released:
            self._notify()

    # -- waking up ---------------------------------------------------------------

    def next_due(self, *, now: datetime) -> datetime | None:
        """See `Store.next_due`; a time at or before `now` means work is takeable now."""
        queries = (
            q.NEXT_DUE_UNLOCKED_INSTANCE,
            q.NEXT_DUE_LOCKED_INSTANCE,
            q.NEXT_DUE_TASK,
        )
        with self._read() as db:
            rows = [db.execute(query).fetchone() for query in queries]
        due = [row[0] for row in rows if row is not None and row[0] is not None]
        return q.from_us(min(due)) if due else None

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """See `Store.add_listener`. Listeners hear of this process's commits only."""
        with self._listeners_lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._listeners_lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def _notify(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # the commit stands; a listener must not undo it
                _log.exception("store listener %r raised", listener)

    def pragma(self, name: str) -> object:
        """The current value of a connection setting, for diagnostics.

        Args:
            name: one of ``journal_mode``, ``synchronous`` (0 OFF, 1 NORMAL,
                2 FULL), ``busy_timeout`` (milliseconds) or ``foreign_keys``.
        """
        if name not in _READABLE_PRAGMAS:
            raise InvalidArgumentError(
                f"pragma must be one of {', '.join(_READABLE_PRAGMAS)}, got {name!r}"
            )
        with self._read() as db:
            value: object = db.execute(f"PRAGMA {name}").fetchone()[0]
        return value

    def _filter(
        self, query: InstanceQuery, statuses: frozenset[RuntimeStatus] | None
    ) -> tuple[str, dict[str, object]]:
        return self._rows.filter(
            statuses,
            name=query.name,
            created_from=query.created_from,
            created_to=query.created_to,
            id_prefix=query.instance_id_prefix,
        )

    def close(self) -> None:
        """Close the connection; later calls fail with `StoreError`. Idempotent."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


_READABLE_PRAGMAS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")


def _check_lock(db: sqlite3.Connection, instance_id: str, lock_token: str) -> None:
    row = db.execute(q.SELECT_INSTANCE_LOCK, {"instance_id": instance_id}).fetchone()
    if row is None or row["lock_token"] != lock_token:
        raise LeaseLostError(
            f"the lease on instance {instance_id!r} was lost (another worker took it over "
            "after it expired, or it was released); the episode was not committed"
        )


def _column(db: sqlite3.Connection, query: str, params: dict[str, Any]) -> list[Any]:
    """The first column of every row: plain tuples, not `sqlite3.Row`s (a long history).

    Each row is dropped once read, so a long history never holds every row at once.
    """
    cursor = db.cursor()
    cursor.row_factory = None
    return [row[0] for row in cursor.execute(query, params)]


def _row_is_free(row: sqlite3.Row, now: datetime) -> bool:
    """Whether nobody holds an unexpired lease on the instance of `row`."""
    return row["lock_token"] is None or row["locked_until"] <= q.to_us(now)
