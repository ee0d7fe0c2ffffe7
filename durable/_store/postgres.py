"""`PostgresStore`: one PostgreSQL database shared by workers on any number of machines.

Every write is one transaction on a pooled connection (see
`postgres_connections`); reads and single-statement writes run in autocommit
mode. Work is handed out under leases, taken with ``FOR UPDATE SKIP
LOCKED``, so concurrent takers in any process never wait for each other and
never take the same instance or task. A take writes a fresh ``lock_token``
and ``locked_until``; every later write for that lease checks the token with
the instance row locked, so a stale holder's commit changes nothing
(invariant 2 of `durable._store.protocol`).

Concurrency under READ COMMITTED: a commit locks every instance row it
touches (its own, message targets, sub-orchestrations) in one statement, in
id order, and only then writes, in one more statement; two commits cannot
deadlock. Instance rows are always locked before task rows. A transaction
rolled back by a transient conflict is run again from the start; everything
it writes was serialized before it began, so nothing but the database can
fail half-way.

Waking workers: a transaction that adds work also calls ``pg_notify`` on the
store's channel (``durable_<schema>``) with this store's id as payload, so the
notification is delivered at commit and only if it commits. Listeners hear
this store's own commits at once, on the committing thread, after the commit
(as in the other stores); on the first `add_listener` a `Listener` thread
starts and calls them when another store (another process, or another
`PostgresStore` in this one) commits: at once, then at most every 20 ms
while commits keep coming. The worker's slow polling is the safety net for
a notification lost to a broken connection.

SQL and the row layout live in `postgres_queries`; the schema, migrations and
URL handling in `postgres_schema`; the pool, transactions, errors and the
listening thread in `postgres_connections`.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import attrs
import psycopg
from psycopg.rows import DictRow

from durable._model.converter import PayloadConverter, default_converter
from durable._model.events import (
    ExecutionRewound,
    ExecutionStarted,
    HistoryEvent,
    SubOrchestrationFailed,
)
from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus
from durable._store import postgres_queries as q
from durable._store._memory_rows import finished_action
from durable._store.one_at_a_time import OneAtATime
from durable._store.postgres_connections import Cursor, Database, Listener
from durable._store.postgres_schema import (
    DEFAULT_SCHEMA,
    check_schema_name,
    migrate,
    parse_url,
)
from durable._store.protocol import (
    ActivityWorkItem,
    ChildRewind,
    Claim,
    Completion,
    Continuation,
    Delivery,
    EpisodeCommit,
    EpisodeWrite,
    Handover,
    InstancePage,
    InstanceQuery,
    InstanceStart,
    NewMessage,
    OrchestrationWorkItem,
    check_limit,
    child_start,
    completion_message,
    decode_continuation,
    encode_continuation,
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

__all__ = ["PostgresStore"]

_log = logging.getLogger(__name__)

_FINISHED = frozenset(status for status in RuntimeStatus if status.is_terminal)


def _check_lease(lease: timedelta) -> None:
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise InvalidArgumentError(f"lease must be a positive timedelta, got {lease!r}")


def _check_count(name: str, value: object, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidArgumentError(f"{name} must be an int of at least {least}, got {value!r}")
    return value


def _new_token(owner: str) -> str:
    return f"{owner}:{secrets.token_hex(16)}"


def _accepts_messages(status: RuntimeStatus | None) -> bool:
    """Whether an instance in `status` (None: missing) takes messages from others."""
    return status is not None and not status.is_terminal


class PostgresStore(OneAtATime):
    """A `Store` in a PostgreSQL database, shared by workers in many processes on many machines.

    Args:
        url: ``postgresql://user:password@host:port/database`` (``postgres://``
            works too, and so do libpq's query parameters such as ``sslmode``).
            A ``schema`` query parameter names the PostgreSQL schema for the
            store's tables; the `schema` argument does the same.
        schema: the PostgreSQL schema holding the tables (default ``durable``);
            created, with the tables, if missing.
        converter: the payload converter for stored JSON; a default one if None.
        min_connections: connections the pool keeps open.
        max_connections: connections the pool opens at most; one more is
            opened for listening once a listener is added.
        connect_timeout: how long to wait for the server when connecting, and
            for a free pooled connection.
        create: create the schema and tables if the schema holds none. With
            False (for tools that only look at existing instances) a missing
            store is a `StoreError`. An older store is migrated either way.

    Raises:
        StoreError: the server cannot be reached, refuses the login, the schema
            holds someone else's tables, or holds none and `create` is False;
            nothing was written.
        SchemaVersionError: the store was written by a newer `durable`; nothing
            was written.
        InvalidArgumentError: the URL, schema name or a limit is not valid.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        converter: PayloadConverter | None = None,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: timedelta = timedelta(seconds=10),
        create: bool = True,
    ) -> None:
        parsed = parse_url(url)
        if schema is not None and parsed.schema is not None and schema != parsed.schema:
            raise InvalidArgumentError(
                f"the schema argument {schema!r} and the URL's schema {parsed.schema!r} differ"
            )
        chosen = schema if schema is not None else parsed.schema
        self._schema = check_schema_name(DEFAULT_SCHEMA if chosen is None else chosen)
        _check_count("min_connections", min_connections, least=0)
        _check_count("max_connections", max_connections, least=max(1, min_connections))
        if not isinstance(connect_timeout, timedelta) or connect_timeout <= timedelta(0):
            raise InvalidArgumentError(
                f"connect_timeout must be a positive timedelta, got {connect_timeout!r}"
            )
        self._db = Database(
            parsed,
            min_connections=min_connections,
            max_connections=max_connections,
            connect_timeout=connect_timeout,
        )
        self._sql = q.Statements(self._schema)
        self._rows = q.Rows(converter or default_converter())
        self._id = uuid4().hex  # this store's notifications carry it: its listener skips them
        self._wake = {"channel": f"durable_{self._schema}"[:63], "payload": self._id}
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        self._listener: Listener | None = None
        with self._db.connect() as connection:
            migrate(connection, self._schema, parsed.display, create=create)
        self._db.open_pool()

    @property
    def url(self) -> str:
        """The store's URL with its password masked."""
        return self._db.url.display

    @property
    def schema(self) -> str:
        """The PostgreSQL schema that holds the store's tables."""
        return self._schema

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r}, schema={self._schema!r})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- instances -----------------------------------------------------------------

    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        """See `Store.create_instances`.

        The starts lock and insert their rows in instance-id order (as every
        transaction here does), so that two batches of the same ids cannot
        deadlock; the outcomes come back in the caller's order.
        """
        rows = [(start.started.instance_id, self._start_params(start)) for start in starts]
        in_id_order = sorted(range(len(rows)), key=lambda index: rows[index][0])

        def work(cursor: Cursor) -> tuple[InstanceExistsError | None, ...]:
            outcomes: list[InstanceExistsError | None] = [None] * len(rows)
            for index in in_id_order:
                instance_id, params = rows[index]
                status = self._lock_status(cursor, instance_id)
                if status is not None and not status.is_terminal:
                    outcomes[index] = InstanceExistsError(instance_id, status.value)
                    continue
                if status is not None:
                    self._delete_instances(cursor, [instance_id])
                cursor.execute(self._sql(q.CREATE_INSTANCE), params)
            return tuple(outcomes)

        outcomes = self._db.run(work)
        if None in outcomes:
            self._notify()
        return outcomes

    def _start_params(self, start: InstanceStart) -> dict[str, Any]:
        message = self._rows.message(start.message)
        return {
            **self._rows.new_instance(start.started, now=start.now),
            "visible_at": message["visible_at"],
            "event": message["event"],
            **self._wake,
        }

    def get_instance(self, instance_id: str) -> InstanceStatus | None:
        """See `Store.get_instance`."""
        row = self._one(q.SELECT_INSTANCE, {"instance_id": instance_id})
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
        rows = self._all(q.select_instances(where, after=query.continuation is not None), params)
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
        rows = self._all(q.SELECT_HISTORY, {"instance_id": instance_id})
        if not rows:
            raise InstanceNotFoundError(instance_id)
        return self._rows.to_events(row["event"] for row in rows if row["event"] is not None)

    def send_message(self, message: NewMessage) -> None:
        """See `Store.send_message`."""
        params = {**self._rows.message(message), **self._wake}

        def work(cursor: Cursor) -> None:
            status = self._share_status(cursor, message.instance_id)
            if status is None:
                raise InstanceNotFoundError(message.instance_id)
            if status.is_terminal:
                action = finished_action(message.event)
                raise InstanceFinishedError(message.instance_id, status.value, action)
            cursor.execute(self._sql(q.SEND_MESSAGE), params)

        self._db.run(work)
        self._notify()

    def rewind_instance(self, instance_id: str, event: ExecutionRewound, *, now: datetime) -> None:
        """See `Store.rewind_instance`."""
        message = NewMessage(instance_id=instance_id, event=event, visible_at=now)
        params = {**self._rows.reopen(instance_id, now), **self._rows.message(message)}

        def work(cursor: Cursor) -> None:
            status = self._lock_status(cursor, instance_id)
            if status is None:
                raise InstanceNotFoundError(instance_id)
            if status is not RuntimeStatus.FAILED:
                raise InstanceNotFailedError(instance_id, status.value)
            cursor.execute(self._sql(q.REOPEN_INSTANCE), {**params, **self._wake})

        self._db.run(work)
        self._notify()

    def purge_instance(self, instance_id: str) -> bool:
        """See `Store.purge_instance`."""

        def work(cursor: Cursor) -> bool:
            status = self._lock_status(cursor, instance_id)
            if status is None:
                return False
            if not status.is_terminal:
                raise InstanceExistsError(instance_id, status.value)
            self._delete_instances(cursor, [instance_id])
            return True

        return self._db.run(work)

    def purge_instances(self, query: InstanceQuery) -> int:
        """See `Store.purge_instances`; `page_size` and `continuation` are ignored."""
        statuses = _FINISHED if query.statuses is None else query.statuses & _FINISHED
        where, params = self._filter(query, statuses)
        statement = self._sql(q.lock_candidates(where))

        def work(cursor: Cursor) -> int:
            ids = [row["instance_id"] for row in cursor.execute(statement, params).fetchall()]
            if ids:
                self._delete_instances(cursor, ids)
            return len(ids)

        return self._db.run(work)

    # -- orchestration work --------------------------------------------------------

    def take_orchestration(
        self, *, now: datetime, lease: timedelta, owner: str
    ) -> OrchestrationWorkItem | None:
        """See `Store.take_orchestration`.

        The take is one statement; the messages are read by a second one, after
        the lease is committed, so that it sees every commit that finished
        before the take. If they are gone (a commit by the last lease holder
        consumed them while the take waited), the lease is given back and the
        take tries again.
        """
        _check_lease(lease)
        token, locked_until = _new_token(owner), now + lease
        params = {"now": q.to_us(now), "lock_token": token, "locked_until": q.to_us(locked_until)}
        for _ in range(3):
            row = self._one(q.TAKE_ORCHESTRATION, params)
            if row is None:
                return None
            messages = self._all(
                q.SELECT_WORK, {"instance_id": row["instance_id"], "now": params["now"]}
            )
            if messages:
                return OrchestrationWorkItem(
                    instance=self._rows.to_instance(row),
                    history_length=int(messages[0]["history_length"]),
                    messages=tuple(self._rows.to_message(message) for message in messages),
                    lock_token=token,
                    locked_until=locked_until,
                )
            self._unlock(row["instance_id"], token)
        return None

    def take_orchestrations(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[OrchestrationWorkItem, ...]:
        """See `Store.take_orchestrations`: `take_orchestration` up to `limit` times.

        Each take stays its own statement, so that the messages read after it
        see every commit that finished before its lease (see `take_orchestration`).
        """
        taken = []
        for _ in range(check_limit(limit)):
            item = self.take_orchestration(now=now, lease=lease, owner=owner)
            if item is None:
                break
            taken.append(item)
        return tuple(taken)

    def commit_episode(
        self, item: OrchestrationWorkItem, commit: EpisodeCommit, *, claim: Claim | None = None
    ) -> tuple[ActivityWorkItem, ...]:
        """See `Store.commit_episode` and `EpisodeCommit`.

        Everything is serialized before the transaction starts, so nothing but
        the database can fail half-way, and the transaction rolls that back.
        """
        prepared = self._prepare(item.instance.instance_id, commit, claim)
        leased = self._db.run(lambda cursor: self._apply(cursor, item.lock_token, prepared))
        self._notify()
        return leased

    def commit_episodes(self, writes: Sequence[EpisodeWrite]) -> tuple[Handover, ...]:
        """See `Store.commit_episodes`: one transaction per write.

        One transaction for all would lock the rows each write touches in an
        order no other worker shares, and so could deadlock; the writes are few
        next to the round trips the worker saves elsewhere.
        """
        outcomes = []
        for write in writes:
            try:
                leased = self.commit_episode(write.item, write.commit, claim=write.claim)
            except LeaseLostError as lost:
                outcomes.append(Handover(error=lost))
            else:
                outcomes.append(Handover(leased=leased))
        return tuple(outcomes)

    def _prepare(self, instance_id: str, commit: EpisodeCommit, claim: Claim | None) -> _Prepared:
        return _Prepared(
            instance_id=instance_id,
            commit=commit,
            claim=claim,
            children=[self._child(started, commit) for started in commit.sub_orchestrations],
            events=[self._rows.event_text(event) for event in commit.history],
            messages=[self._rows.message(message) for message in commit.messages],
            tasks=[self._rows.task(task) for task in commit.activities],
            rewinds=[self._child_rewind(child, commit) for child in commit.rewound_children],
        )

    def _apply(
        self, cursor: Cursor, lock_token: str, prepared: _Prepared
    ) -> tuple[ActivityWorkItem, ...]:
        """Apply a prepared commit and release the instance; the tasks leased to its claim."""
        instance_id, commit, claim = prepared.instance_id, prepared.commit, prepared.claim
        children, messages = prepared.children, prepared.messages
        touched = sorted(
            {instance_id, *(row["instance_id"] for row in messages)}
            | {child.instance_id for child in children}
            | {rewind.child.instance_id for rewind in prepared.rewinds}
        )
        locked = cursor.execute(
            self._sql(q.LOCK_EPISODE), {"instance_id": instance_id, "instance_ids": touched}
        ).fetchall()
        rows = {row["instance_id"]: row for row in locked}
        own = rows.get(instance_id)
        if own is None or own["lock_token"] != lock_token:
            raise LeaseLostError(
                f"the lease on instance {instance_id!r} was lost (another worker took it "
                "over after it expired, or it was released); the episode was not committed"
            )
        statuses = {key: RuntimeStatus(row["status"]) for key, row in rows.items()}
        start = int(own["history_length"])
        if commit.reset_history:
            cursor.execute(self._sql(q.DELETE_HISTORY), {"instance_id": instance_id})
            start = 0
        inbox = [  # child starts (or refusals) first: messages may be addressed to them
            self._start_child(cursor, child, statuses, commit, instance_id) for child in children
        ]
        inbox.extend(self._redo_children(cursor, prepared.rewinds, statuses, commit, instance_id))
        inbox.extend(
            row
            for row in messages
            if row["instance_id"] == instance_id
            or _accepts_messages(statuses.get(row["instance_id"]))
        )
        claimed = prepared.tasks[: claim.activities] if claim else []
        leases = [(_new_token(claim.owner), claim.now + claim.lease) for _ in claimed if claim]
        params = self._rows.apply_episode(
            instance_id,
            commit,
            start=start,
            events=prepared.events,
            tasks=prepared.tasks,
            messages=inbox,
            leases=[(token, q.to_us(until)) for token, until in leases],
        )
        result = cursor.execute(self._sql(q.APPLY_EPISODE), {**params, **self._wake}).fetchone()
        ids = (result or {}).get("leased_ids") or []
        return tuple(
            self._rows.to_activity(
                {**task, "id": task_id, "attempt": 1}, lock_token=token, locked_until=until
            )
            for task, task_id, (token, until) in zip(claimed, ids, leases, strict=True)
        )

    def release_orchestration(self, item: OrchestrationWorkItem) -> None:
        """See `Store.release_orchestration`; a lease already lost is left alone."""
        if self._unlock(item.instance.instance_id, item.lock_token):
            self._notify()

    def _unlock(self, instance_id: str, lock_token: str) -> bool:
        """Release a lease still held with `lock_token`; whether it was."""
        params = {"instance_id": instance_id, "lock_token": lock_token, **self._wake}
        return self._one(q.UNLOCK_INSTANCE, params) is not None

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
        now = commit.updated_at
        message = NewMessage(instance_id=child.instance_id, event=rewind.rewound, visible_at=now)
        params = {**self._rows.reopen(child.instance_id, now), **self._rows.message(message)}
        return _ChildRewind(child=child, reopen={**params, **self._wake})

    def _redo_children(
        self,
        cursor: Cursor,
        rewinds: list[_ChildRewind],
        statuses: dict[str, RuntimeStatus],
        commit: EpisodeCommit,
        parent_id: str,
    ) -> list[dict[str, Any]]:
        """Rewind FAILED children, start finished or missing ones again, leave running ones.

        Returns:
            The messages that start children again, to insert with the commit's.
        """
        starts = []
        for rewind in rewinds:
            status = statuses.get(rewind.child.instance_id)
            if status is RuntimeStatus.FAILED:
                cursor.execute(self._sql(q.REOPEN_INSTANCE), rewind.reopen)
                statuses[rewind.child.instance_id] = RuntimeStatus.PENDING
            elif status is None or status.is_terminal:
                starts.append(self._start_child(cursor, rewind.child, statuses, commit, parent_id))
        return starts

    def _start_child(
        self,
        cursor: Cursor,
        child: _Child,
        statuses: dict[str, RuntimeStatus],
        commit: EpisodeCommit,
        parent_id: str,
    ) -> dict[str, Any]:
        """Create a sub-orchestration, or refuse it; the message to insert either way."""
        status = statuses.get(child.instance_id)
        if status is None or status.is_terminal:
            if status is not None:
                self._delete_instances(cursor, [child.instance_id])
            cursor.execute(self._sql(q.INSERT_INSTANCE), child.row)
            statuses[child.instance_id] = RuntimeStatus.PENDING
            return child.start
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
        return self._rows.message(refusal)

    # -- activity work -------------------------------------------------------------

    def take_activities(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[ActivityWorkItem, ...]:
        """See `Store.take_activities`."""
        _check_lease(lease)
        claim = Claim(owner=owner, now=now, lease=lease, activities=check_limit(limit))
        return self._db.run(lambda cursor: self._take_tasks(cursor, claim), transaction=False)

    def _take_tasks(self, cursor: Cursor, claim: Claim) -> tuple[ActivityWorkItem, ...]:
        """Lease the oldest takeable tasks as `claim` says, in one statement."""
        locked_until = claim.now + claim.lease
        params = {
            "now": q.to_us(claim.now),
            "limit": claim.activities,
            "lock_tokens": [_new_token(claim.owner) for _ in range(claim.activities)],
            "locked_until": q.to_us(locked_until),
        }
        rows = cursor.execute(self._sql(q.TAKE_ACTIVITIES), params).fetchall()
        return tuple(
            self._rows.to_activity(row, lock_token=row["lock_token"], locked_until=locked_until)
            for row in sorted(rows, key=lambda row: row["n"])
        )

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
        statement = self._sql(q.RENEW_TASK)
        renewed = self._db.run(
            lambda cursor: cursor.execute(statement, params).rowcount > 0, transaction=False
        )
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
        The result is dropped if the instance is gone or has finished.
        Listeners in this process are called if an instance takes messages,
        whether or not its result was the first. Completions are applied in
        instance id order (each instance's own in the order given), so that two
        transactions lock instance rows in one order and cannot deadlock; with
        a continuation the instance row is locked for update (not share) from
        the start, so that two completions for one instance queue instead.
        Each continuation runs inside a savepoint, so one that fails is undone
        alone.
        """
        params = [
            {"id": each.item.id, **self._rows.message(completion_message(each, now)), **self._wake}
            for each in completions
        ]
        order = sorted(range(len(completions)), key=lambda at: completions[at].item.instance_id)

        def work(
            cursor: Cursor,
        ) -> tuple[dict[int, tuple[bool, Handover]], tuple[ActivityWorkItem, ...]]:
            done = {at: self._complete(cursor, completions[at], params[at], now) for at in order}
            taken = () if take is None or not take.activities else self._take_tasks(cursor, take)
            return done, taken

        outcomes, taken = self._db.run(work)
        if any(delivered for delivered, _ in outcomes.values()):
            self._notify()
        handovers = tuple(outcomes[at][1] for at in range(len(completions)))
        return Delivery(handovers=handovers, taken=taken)

    def _complete(
        self, cursor: Cursor, completion: Completion, params: dict[str, Any], now: datetime
    ) -> tuple[bool, Handover]:
        """Deliver one result (and run its continuation); whether the instance takes it."""
        item, then = completion.item, completion.then
        # The instance row first: instance rows are always locked before task rows.
        if then is None:
            status = self._share_status(cursor, item.instance_id)
        else:
            status = self._lock_status(cursor, item.instance_id)
        deliver = _accepts_messages(status)
        cursor.execute(self._sql(q.COMPLETE_TASK), {**params, "deliver": deliver})
        if not (deliver and cursor.rowcount > 0 and then is not None):
            return deliver, Handover()
        try:
            with cursor.connection.transaction():  # a savepoint
                return True, Handover(leased=self._continue(cursor, item.instance_id, then, now))
        except psycopg.Error:
            raise
        except Exception as error:  # the result stays delivered
            return True, Handover(error=error)

    def _continue(
        self, cursor: Cursor, instance_id: str, then: Continuation, now: datetime
    ) -> tuple[ActivityWorkItem, ...]:
        """Run and apply the instance's next episode; see `Continuation`."""
        claim = then.claim
        token, locked_until = _new_token(claim.owner), now + claim.lease
        lock = {
            "instance_id": instance_id,
            "now": q.to_us(now),
            "lock_token": token,
            "locked_until": q.to_us(locked_until),
        }
        row = cursor.execute(self._sql(q.CLAIM_INSTANCE), lock).fetchone()
        if row is None:
            return ()
        messages = cursor.execute(self._sql(q.SELECT_WORK), lock).fetchall()
        work = OrchestrationWorkItem(
            instance=self._rows.to_instance(row),
            history_length=int(messages[0]["history_length"]) if messages else 0,
            messages=tuple(self._rows.to_message(message) for message in messages),
            lock_token=token,
            locked_until=locked_until,
        )

        def stored_history() -> list[HistoryEvent]:
            rows = cursor.execute(self._sql(q.SELECT_HISTORY), {"instance_id": instance_id})
            return self._rows.to_events(event["event"] for event in rows.fetchall())

        commit = then.episode(work, stored_history)
        return self._apply(cursor, token, self._prepare(instance_id, commit, claim))

    def release_activity(self, item: ActivityWorkItem, *, now: datetime) -> None:
        """See `Store.release_activity`; a lease already lost is left alone."""
        params = {"id": item.id, "lock_token": item.lock_token, "now": q.to_us(now), **self._wake}
        if self._one(q.RELEASE_TASK, params) is not None:
            self._notify()

    # -- waking up -----------------------------------------------------------------

    def next_due(self, *, now: datetime) -> datetime | None:
        """See `Store.next_due`; a time at or before `now` means work is takeable now."""
        row = self._one(q.NEXT_DUE)
        due = None if row is None else next(iter(row.values()))
        return None if due is None else q.from_us(int(due))

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """See `Store.add_listener`: called after this store's commits and other stores'.

        After each of this store's commits that adds work, once, on the
        committing thread. After other stores' commits, on the listening
        thread, at once and then at most every 20 ms while they keep coming:
        several commits may share one call. The first call starts listening on
        a connection of its own (and fails with `StoreError` if it cannot); it
        is closed with the store.
        """
        with self._listeners_lock:
            if self._listener is None:
                if self._db.closed:
                    raise StoreError(f"PostgreSQL store {self.url} is closed")
                listener = Listener(
                    self._db,
                    str(self._wake["channel"]),
                    own=self._id,
                    wake=self._send_wake,
                    call_back=self._notify,
                )
                listener.start()
                self._listener = listener
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

    def _send_wake(self) -> None:
        self._one(q.NOTIFY, self._wake)

    def close(self) -> None:
        """Stop listening and close the pool; later calls fail with `StoreError`. Idempotent."""
        with self._listeners_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        self._db.close()

    # -- helpers -------------------------------------------------------------------

    def _one(self, query: str, params: dict[str, Any] | None = None) -> DictRow | None:
        """The first row of one statement run on its own (autocommit), or None."""
        statement = self._sql(query)
        return self._db.run(
            lambda cursor: cursor.execute(statement, params).fetchone(), transaction=False
        )

    def _all(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        """The rows of one statement run on its own (autocommit)."""
        statement = self._sql(query)
        return self._db.run(
            lambda cursor: cursor.execute(statement, params).fetchall(), transaction=False
        )

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

    def _lock_status(self, cursor: Cursor, instance_id: str) -> RuntimeStatus | None:
        return _status(cursor.execute(self._sql(q.LOCK_INSTANCE), {"instance_id": instance_id}))

    def _share_status(self, cursor: Cursor, instance_id: str) -> RuntimeStatus | None:
        return _status(cursor.execute(self._sql(q.SHARE_INSTANCE), {"instance_id": instance_id}))

    def _delete_instances(self, cursor: Cursor, instance_ids: list[str]) -> None:
        """Delete instances with their history, inbox and tasks (rows locked by the caller)."""
        key = {"instance_ids": instance_ids}
        for statement in (
            q.DELETE_INSTANCES_HISTORY,
            q.DELETE_INSTANCES_MESSAGES,
            q.DELETE_INSTANCES_TASKS,
            q.DELETE_INSTANCES,
        ):
            cursor.execute(self._sql(statement), key)


@attrs.frozen(kw_only=True)
class _Prepared:
    """An episode commit serialized before its transaction."""

    instance_id: str
    commit: EpisodeCommit
    claim: Claim | None
    children: list[_Child]
    events: list[str]
    messages: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    rewinds: list[_ChildRewind] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class _ChildRewind:
    """A sub-orchestration a rewind calls again, serialized before the transaction."""

    child: _Child
    reopen: dict[str, Any]


def _status(cursor: Cursor) -> RuntimeStatus | None:
    row: DictRow | None = cursor.fetchone()
    return None if row is None else RuntimeStatus(row["status"])


@attrs.frozen(kw_only=True)
class _Child:
    """A sub-orchestration to start, serialized before the transaction."""

    instance_id: str
    seq: int
    row: dict[str, Any]
    start: dict[str, Any]
