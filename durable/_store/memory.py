"""`MemoryStore`: the `Store` interface over plain dicts, for tests and simulations.

It keeps every invariant of `durable._store.protocol` the way a database
store does. One `threading.Lock` guards all state, so each method is one
transaction; `commit_episode` checks the lease and serializes everything
before it changes anything. Events and payloads are held as JSON text (see
`_memory_rows`), so values JSON does not carry losslessly (tuples, int dict
keys) come back as they would from SQLite. Times are always passed in; the
store never reads a clock. Listeners are called after the lock is released.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from typing import TYPE_CHECKING

import attrs

from durable._model.converter import PayloadConverter, default_converter
from durable._model.events import (
    ExecutionRewound,
    HistoryEvent,
    SubOrchestrationFailed,
)
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from durable._store._memory_rows import (
    InstanceRow,
    MessageRow,
    RowCodec,
    TaskRow,
    finished_action,
    lock_token,
    matches,
    sort_key,
)
from durable._store.one_at_a_time import OneAtATime
from durable._store.protocol import (
    ActivityWorkItem,
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
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime, timedelta

    from durable._model.status import InstanceStatus

__all__ = ["MemoryStore"]


@attrs.frozen(kw_only=True)
class _Prepared:
    """A commit serialized up front, so that applying it cannot fail half-way."""

    history: list[str]
    input: str | None  # written only on continue-as-new (reset_history)
    output: str
    failure: str | None
    custom_status: str
    waiting: str
    tasks: list[TaskRow]
    children: list[tuple[InstanceRow, str, int]]  # row, its ExecutionStarted, the parent's seq
    messages: list[tuple[NewMessage, str]]
    # Children a rewind calls again: row, its ExecutionStarted, the parent's seq, its rewind.
    rewinds: list[tuple[InstanceRow, str, int, str]] = attrs.field(factory=list)


class MemoryStore(OneAtATime):
    """A `Store` kept in memory: thread-safe, JSON-faithful, driven by passed-in times."""

    def __init__(self, *, converter: PayloadConverter | None = None) -> None:
        """Create an empty store.

        Args:
            converter: turns events and payloads into JSON text; a default one if None.
        """
        self._codec = RowCodec(converter or default_converter())
        self._lock = threading.Lock()
        self._instances: dict[str, InstanceRow] = {}
        self._tasks: dict[int, TaskRow] = {}  # in id order
        self._message_ids = itertools.count(1)
        self._task_ids = itertools.count(1)
        self._listeners: list[Callable[[], None]] = []

    # -- instances --------------------------------------------------------------

    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        """Create instances in PENDING, each with its start in its inbox; see `Store`."""
        rows = [
            (
                self._codec.new_instance(start.started, start.now),
                self._codec.dump_event(start.started),
                start.visible_at,
            )
            for start in starts
        ]
        outcomes: list[InstanceExistsError | None] = []
        with self._lock:
            for row, text, visible_at in rows:
                existing = self._instances.get(row.instance_id)
                if existing is not None and not existing.status.is_terminal:
                    outcomes.append(InstanceExistsError(row.instance_id, existing.status.value))
                    continue
                self._put_instance(row, text, visible_at)
                outcomes.append(None)
        if None in outcomes:
            self._notify()
        return tuple(outcomes)

    def get_instance(self, instance_id: str) -> InstanceStatus | None:
        """The instance row, or None."""
        with self._lock:
            row = self._instances.get(instance_id)
            return None if row is None else self._codec.status(row)

    def list_instances(self, query: InstanceQuery) -> InstancePage:
        """One page of instances matching `query`, by creation time then id."""
        after = _decode(query.continuation) if query.continuation is not None else None
        with self._lock:
            rows = [row for row in self._matching(query) if after is None or sort_key(row) > after]
            page = [self._codec.status(row) for row in rows[: query.page_size]]
        last = page[-1] if len(rows) > query.page_size else None  # one row looked ahead
        token = encode_continuation(last.created_at, last.instance_id) if last else None
        return InstancePage(instances=tuple(page), continuation=token)

    def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """The stored history of the current execution, oldest first; see `Store`."""
        with self._lock:
            texts = list(self._existing(instance_id).history)
        return self._codec.load_events(texts)

    def send_message(self, message: NewMessage) -> None:
        """Put a client's message into an instance's inbox; see `Store`."""
        text = self._codec.dump_event(message.event)
        with self._lock:
            row = self._existing(message.instance_id)
            if row.status.is_terminal:
                action = finished_action(message.event)
                raise InstanceFinishedError(row.instance_id, row.status.value, action)
            self._insert_message(row, text, message.visible_at, message.execution_id)
        self._notify()

    def rewind_instance(self, instance_id: str, event: ExecutionRewound, *, now: datetime) -> None:
        """Set a FAILED instance back to PENDING with `event` in its inbox; see `Store`."""
        text = self._codec.dump_event(event)
        with self._lock:
            row = self._existing(instance_id)
            if row.status is not RuntimeStatus.FAILED:
                raise InstanceNotFailedError(instance_id, row.status.value)
            self._reopen(row, text, now)
        self._notify()

    def purge_instance(self, instance_id: str) -> bool:
        """Delete a finished instance completely; False if there was none; see `Store`."""
        with self._lock:
            row = self._instances.get(instance_id)
            if row is None:
                return False
            if not row.status.is_terminal:
                raise InstanceExistsError(instance_id, row.status.value)
            self._delete(instance_id)
            return True

    def purge_instances(self, query: InstanceQuery) -> int:
        """Delete every finished instance matching the filters of `query`; how many.

        `page_size` and `continuation` are ignored: every match is purged.
        """
        with self._lock:
            doomed = [row.instance_id for row in self._matching(query) if row.status.is_terminal]
            for instance_id in doomed:
                self._delete(instance_id)
        return len(doomed)

    # -- orchestrations ---------------------------------------------------------

    def take_orchestrations(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[OrchestrationWorkItem, ...]:
        """Lock up to `limit` instances, by their oldest visible message; see `Store`."""
        check_limit(limit)
        with self._lock:
            ready = []
            for row in self._instances.values():
                if row.locked_until is not None and row.locked_until > now:
                    continue
                visible = [(m.visible_at, m.id) for m in row.inbox.values() if m.visible_at <= now]
                if visible:
                    ready.append((min(visible), row))
            chosen = heapq.nsmallest(limit, ready, key=lambda pair: pair[0])
            return tuple(
                self._lock_instance(row, now=now, lease=lease, owner=owner) for _, row in chosen
            )

    def commit_episodes(self, writes: Sequence[EpisodeWrite]) -> tuple[Handover, ...]:
        """Each write in turn, under one hold of the lock; see `Store`."""
        prepared = [self._prepare(write.commit) for write in writes]
        outcomes = []
        with self._lock:
            for write, ready in zip(writes, prepared, strict=True):
                item = write.item
                row = self._instances.get(item.instance.instance_id)
                if row is None or row.lock_token != item.lock_token:
                    lost = LeaseLostError(
                        f"the lease on instance {item.instance.instance_id!r} was taken over; "
                        "its episode was not committed"
                    )
                    outcomes.append(Handover(error=lost))
                else:
                    outcomes.append(
                        Handover(leased=self._apply(row, write.commit, ready, write.claim))
                    )
        self._notify()
        return tuple(outcomes)

    def release_orchestration(self, item: OrchestrationWorkItem) -> None:
        """Unlock the instance without changing it; a lease taken over is left alone."""
        with self._lock:
            row = self._instances.get(item.instance.instance_id)
            if row is not None and row.lock_token == item.lock_token:
                row.lock_token = row.locked_until = None
        self._notify()

    # -- activities -------------------------------------------------------------

    def take_activities(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[ActivityWorkItem, ...]:
        """Lease up to `limit` of the oldest takeable tasks; see `Store`."""
        check_limit(limit)
        with self._lock:
            return self._take_tasks(Claim(owner=owner, now=now, lease=lease, activities=limit))

    def _take_tasks(self, claim: Claim) -> tuple[ActivityWorkItem, ...]:
        """Lease the oldest takeable tasks as `claim` says (with the lock held)."""
        now = claim.now
        ready = [task for task in self._tasks.values() if task.due <= now]
        chosen = heapq.nsmallest(
            claim.activities, ready, key=lambda task: (task.visible_at, task.id)
        )
        return tuple(self._lease_task(task, now, claim.lease, claim.owner) for task in chosen)

    def renew_activity(
        self, item: ActivityWorkItem, *, now: datetime, lease: timedelta
    ) -> ActivityWorkItem:
        """Extend the lease of a running activity; see `Store`."""
        with self._lock:
            task = self._tasks.get(item.id)
            if task is None or task.lock_token != item.lock_token:
                raise LeaseLostError(
                    f"the lease on activity task {item.id} ({item.name!r} of instance "
                    f"{item.instance_id!r}) was taken over or the task is gone"
                )
            task.locked_until = now + lease
        return attrs.evolve(item, locked_until=now + lease)

    def complete_activities(
        self, completions: Sequence[Completion], *, now: datetime, take: Claim | None = None
    ) -> Delivery:
        """Each completion in turn, then the take, under one hold of the lock; see `Store`."""
        messages = [completion_message(completion, now) for completion in completions]
        texts = [self._codec.dump_event(message.event) for message in messages]
        try:
            with self._lock:
                handovers = tuple(
                    self._complete(completion, text, now)
                    for completion, text in zip(completions, texts, strict=True)
                )
                taken = () if take is None else self._take_tasks(take)
                return Delivery(handovers=handovers, taken=taken)
        finally:
            self._notify()

    def release_activity(self, item: ActivityWorkItem, *, now: datetime) -> None:
        """Give a leased task back, visible at `now`; a lease taken over is left alone."""
        with self._lock:
            task = self._tasks.get(item.id)
            if task is not None and task.lock_token == item.lock_token:
                task.lock_token, task.locked_until, task.visible_at = None, None, now
        self._notify()

    # -- waking -----------------------------------------------------------------

    def next_due(self, *, now: datetime) -> datetime | None:
        """The earliest time work may be takeable, or None; see `Store`."""
        with self._lock:
            return min(self._due_times(), default=None)

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` after each change that may add work; returns its remover."""
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def close(self) -> None:
        """Nothing to release."""

    # -- helpers (called with the lock held unless noted) -----------------------

    def _notify(self) -> None:  # without the lock
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def _lock_instance(
        self, row: InstanceRow, *, now: datetime, lease: timedelta, owner: str
    ) -> OrchestrationWorkItem:
        token = row.lock_token = lock_token(owner)
        row.locked_until = now + lease
        messages = [m for m in row.inbox.values() if m.visible_at <= now]
        return OrchestrationWorkItem(
            instance=self._codec.status(row),
            history_length=len(row.history),
            messages=tuple(self._codec.message(row.instance_id, m) for m in messages),
            lock_token=token,
            locked_until=now + lease,
        )

    def _complete(self, completion: Completion, text: str, now: datetime) -> Handover:
        item, then = completion.item, completion.then
        if self._tasks.pop(item.id, None) is None:
            return Handover()
        row = self._instances.get(item.instance_id)
        if row is None or row.status.is_terminal:
            return Handover()
        self._insert_message(row, text, now, item.execution_id)
        if then is None or (row.locked_until is not None and row.locked_until > now):
            return Handover()
        try:
            return Handover(leased=self._continue(row, then, now))
        except Exception as error:  # the result stays delivered
            return Handover(error=error)

    def _continue(
        self, row: InstanceRow, then: Continuation, now: datetime
    ) -> tuple[ActivityWorkItem, ...]:
        """Run and apply the instance's next episode; see `Continuation`."""
        claim = then.claim
        work = self._lock_instance(row, now=now, lease=claim.lease, owner=claim.owner)
        texts = list(row.history)
        try:
            commit = then.episode(work, lambda: self._codec.load_events(texts))
            prepared = self._prepare(commit)
        except BaseException:
            row.lock_token = row.locked_until = None
            raise
        return self._apply(row, commit, prepared, claim)

    def _existing(self, instance_id: str) -> InstanceRow:
        row = self._instances.get(instance_id)
        if row is None:
            raise InstanceNotFoundError(instance_id)
        return row

    def _put_instance(self, row: InstanceRow, started: str, visible_at: datetime) -> None:
        """Insert a new row over a finished one (or none) with its ExecutionStarted."""
        if row.instance_id in self._instances:
            self._delete(row.instance_id)
        self._instances[row.instance_id] = row
        self._insert_message(row, started, visible_at, row.execution_id)

    def _delete(self, instance_id: str) -> None:
        del self._instances[instance_id]  # with its history and inbox
        for task in [task for task in self._tasks.values() if task.instance_id == instance_id]:
            del self._tasks[task.id]

    def _insert_message(
        self, row: InstanceRow, event: str, visible_at: datetime, execution_id: str | None
    ) -> None:
        message_id = next(self._message_ids)
        row.inbox[message_id] = MessageRow(message_id, event, visible_at, execution_id)

    def _matching(self, query: InstanceQuery) -> list[InstanceRow]:
        return sorted((r for r in self._instances.values() if matches(r, query)), key=sort_key)

    def _due_times(self) -> Iterator[datetime]:
        for row in self._instances.values():
            if row.inbox:
                first = min(message.visible_at for message in row.inbox.values())
                yield first if row.locked_until is None else max(first, row.locked_until)
        yield from (task.due for task in self._tasks.values())

    def _prepare(self, commit: EpisodeCommit) -> _Prepared:  # without the lock
        codec, children = self._codec, []
        for started in commit.sub_orchestrations:
            seq, _ = child_start(started, commit.updated_at)
            child = codec.new_instance(started, commit.updated_at)
            children.append((child, codec.dump_event(started), seq))
        return _Prepared(
            history=[codec.dump_event(event) for event in commit.history],
            input=codec.dumps(commit.input, "input") if commit.reset_history else None,
            output=codec.dumps(commit.output, "output"),
            failure=None if commit.failure is None else codec.dump_value(commit.failure),
            custom_status=codec.dumps(commit.custom_status, "custom status"),
            waiting=codec.dump_value(commit.waiting),
            tasks=[codec.new_task(task) for task in commit.activities],
            children=children,
            messages=[(message, codec.dump_event(message.event)) for message in commit.messages],
            rewinds=self._prepare_rewinds(commit),
        )

    def _apply(
        self, row: InstanceRow, commit: EpisodeCommit, prepared: _Prepared, claim: Claim | None
    ) -> tuple[ActivityWorkItem, ...]:
        """Apply a prepared commit, release the instance; the tasks leased to `claim`."""
        if commit.reset_history:
            row.history.clear()
        row.history.extend(prepared.history)
        for message_id in commit.consumed:
            row.inbox.pop(message_id, None)
        if commit.clear_inbox:
            row.inbox.clear()
        leased = []
        for index, task in enumerate(prepared.tasks):
            task.id = next(self._task_ids)
            self._tasks[task.id] = task
            if claim is not None and index < claim.activities:
                leased.append(self._lease_task(task, claim.now, claim.lease, claim.owner))
        for child, started, seq in prepared.children:
            self._start_child(row, commit, child, started, seq)
        for rewind in prepared.rewinds:
            self._redo_child(row, commit, rewind)
        for message, text in prepared.messages:  # after the children, which may receive some
            target = self._instances.get(message.instance_id)
            if target is row or (target is not None and not target.status.is_terminal):
                self._insert_message(target, text, message.visible_at, message.execution_id)
        if prepared.input is not None:
            row.input = prepared.input
        row.output, row.failure = prepared.output, prepared.failure
        row.custom_status, row.waiting = prepared.custom_status, prepared.waiting
        row.status, row.execution_id = commit.status, commit.execution_id
        row.completed_at, row.last_updated_at = commit.completed_at, commit.updated_at
        row.lock_token = row.locked_until = None
        return tuple(leased)

    def _lease_task(
        self, task: TaskRow, now: datetime, lease: timedelta, owner: str
    ) -> ActivityWorkItem:
        task.attempt += 1
        token = task.lock_token = lock_token(owner)
        task.locked_until = now + lease
        return self._codec.activity(task, token, now + lease)

    def _reopen(self, row: InstanceRow, rewound: str, now: datetime) -> None:
        """A FAILED row back to PENDING, its ExecutionRewound (JSON text) in, its tasks gone."""
        row.status, row.output, row.failure = RuntimeStatus.PENDING, "null", None
        row.completed_at, row.last_updated_at = None, now
        self._insert_message(row, rewound, now, row.execution_id)
        for task in [task for task in self._tasks.values() if task.instance_id == row.instance_id]:
            del self._tasks[task.id]

    def _prepare_rewinds(
        self, commit: EpisodeCommit
    ) -> list[tuple[InstanceRow, str, int, str]]:  # without the lock
        codec, prepared = self._codec, []
        for child in commit.rewound_children:
            started = child.started
            seq, _ = child_start(started, commit.updated_at)
            row = codec.new_instance(started, commit.updated_at)
            texts = codec.dump_event(started), codec.dump_event(child.rewound)
            prepared.append((row, texts[0], seq, texts[1]))
        return prepared

    def _redo_child(
        self, parent: InstanceRow, commit: EpisodeCommit, rewind: tuple[InstanceRow, str, int, str]
    ) -> None:
        """Rewind a FAILED child, start a finished or missing one again, leave a running one."""
        child, started, seq, rewound = rewind
        existing = self._instances.get(child.instance_id)
        if existing is not None and existing.status is RuntimeStatus.FAILED:
            self._reopen(existing, rewound, commit.updated_at)
        elif existing is None or existing.status.is_terminal:
            self._start_child(parent, commit, child, started, seq)

    def _start_child(
        self, parent: InstanceRow, commit: EpisodeCommit, child: InstanceRow, text: str, seq: int
    ) -> None:
        existing = self._instances.get(child.instance_id)
        if existing is None or existing.status.is_terminal:
            self._put_instance(child, text, commit.updated_at)
            return
        error = InstanceExistsError(child.instance_id, existing.status.value)
        failure = FailureDetails.from_exception(error)
        event = SubOrchestrationFailed(timestamp=commit.updated_at, seq=seq, failure=failure)
        text = self._codec.dump_event(event)
        self._insert_message(parent, text, commit.updated_at, commit.execution_id)


def _decode(token: str) -> tuple[datetime, str]:
    created_at, instance_id = decode_continuation(token)
    if created_at.tzinfo is None:  # a naive time cannot be compared with the rows'
        raise InvalidArgumentError(f"continuation token {token!r} is not valid")
    return created_at, instance_id
