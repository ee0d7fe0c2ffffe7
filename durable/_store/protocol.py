"""The store interface: the values a store takes and returns, and its methods.

A store keeps, for every instance, a row (`InstanceStatus`), an append-only
history, an inbox of messages (new events, each visible from a time on) and
the activity tasks it has scheduled. Workers take work under a lease:

- `take_orchestration` locks one instance that has visible messages and
  returns them; `commit_episode` applies one `EpisodeCommit` atomically
  (history appended, consumed messages deleted, tasks and messages inserted,
  row updated, lock released) or raises `LeaseLostError` and changes nothing.
- `take_activity` leases one activity task (`take_activities` several in one
  transaction); `complete_activity` (`complete_activities` for several in one
  transaction) deletes it and
  delivers its result to the instance's inbox in the same transaction.

A worker that does both kinds of work may hand work to itself inside the
transaction that creates it, saving the take and its transaction:
`commit_episode` with a `Claim` leases new activity tasks to the committer,
and `complete_activity` with a `Continuation` runs the instance's next
episode (result included) and commits it in the transaction that delivers
the result. A step of a sequential orchestration is then one transaction.

Every method is synchronous and thread-safe; the worker calls blocking stores
from a thread. Times are passed in by the caller (the store never reads a
clock), so a virtual clock drives a store exactly like the real one.
Invariants every store keeps (the contract suite checks them):

1. One transaction per commit: after a crash a store shows the state before
   or after a commit, never between.
2. An instance is locked by at most one unexpired lease; a commit whose lease
   was taken over changes nothing.
3. Messages of one instance are returned in the order they were inserted.
4. A durable timer is a `TimerFired` message visible from its fire time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from durable._model.events import (
    ExecutionRewound,
    ExecutionStarted,
    HistoryEvent,
    JSONValue,
    TaskCompleted,
    TaskFailed,
)
from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus, Waiting
from durable.errors import InstanceExistsError, InvalidArgumentError

__all__ = [
    "ActivityWorkItem",
    "ChildRewind",
    "Claim",
    "Completion",
    "Continuation",
    "Delivery",
    "EpisodeCommit",
    "EpisodeWrite",
    "Handover",
    "InstancePage",
    "InstanceQuery",
    "InstanceStart",
    "Message",
    "NewActivityTask",
    "NewMessage",
    "OrchestrationWorkItem",
    "Store",
    "StoredHistory",
    "check_limit",
    "child_start",
    "completion_message",
    "decode_continuation",
    "encode_continuation",
    "start_message",
]


@attrs.frozen(kw_only=True)
class NewMessage:
    """An event to put into an instance's inbox.

    Attributes:
        instance_id: the receiving instance.
        event: the event it will see.
        visible_at: the time from which workers may take it (a timer's fire time).
        execution_id: if set, the message is meant for that execution only and is
            stale once the instance has continued as new or restarted.
    """

    instance_id: str
    event: HistoryEvent
    visible_at: datetime
    execution_id: str | None = None


@attrs.frozen(kw_only=True)
class InstanceStart:
    """A new instance: its `ExecutionStarted`, the creation time, and when it may first run.

    Attributes:
        started: the first event; its instance id names the instance.
        now: the creation time.
        visible_at: the time from which workers may take the start message.
    """

    started: ExecutionStarted
    now: datetime
    visible_at: datetime

    @property
    def message(self) -> NewMessage:
        """The start message the instance's inbox gets."""
        return start_message(self.started, self.visible_at)


@attrs.frozen(kw_only=True)
class Message:
    """An event in an instance's inbox, as taken by a worker.

    Attributes:
        id: the store's id for it; ids grow in insertion order. None for an
            activity result handed straight to its continuation (see
            `Continuation`), which was never stored.
    """

    id: int | None
    instance_id: str
    event: HistoryEvent
    visible_at: datetime
    execution_id: str | None = None


@attrs.frozen(kw_only=True)
class NewActivityTask:
    """An activity call to enqueue for the workers."""

    instance_id: str
    execution_id: str
    seq: int
    name: str
    input: JSONValue
    visible_at: datetime


@attrs.frozen(kw_only=True)
class ActivityWorkItem:
    """An activity task leased by a worker.

    Attributes:
        id: the store's id for the task.
        attempt: how many times the task has been taken, this time included.
        lock_token: proves the lease; changes with every take.
        locked_until: when the lease runs out unless renewed.
    """

    id: int
    instance_id: str
    execution_id: str
    seq: int
    name: str
    input: JSONValue
    attempt: int
    lock_token: str
    locked_until: datetime


@attrs.frozen(kw_only=True)
class OrchestrationWorkItem:
    """An instance locked by a worker, with the messages for its next episode.

    Attributes:
        instance: the instance row as it was when taken.
        history_length: events in its stored history; lets a worker trust its cache.
        messages: the visible messages, in insertion order.
        lock_token: proves the lease; changes with every take.
        locked_until: when the lease runs out.
    """

    instance: InstanceStatus
    history_length: int
    messages: tuple[Message, ...]
    lock_token: str
    locked_until: datetime


@attrs.frozen(kw_only=True)
class ChildRewind:
    """A sub-orchestration a rewound parent still waits for, to run again.

    Attributes:
        started: starts the child afresh if it finished without failing, or is gone.
        rewound: rewinds the child if it FAILED (as `Store.rewind_instance` does).
    """

    started: ExecutionStarted
    rewound: ExecutionRewound


@attrs.frozen(kw_only=True)
class EpisodeCommit:
    """Everything one episode changes, applied in one transaction.

    Attributes:
        consumed: ids of the messages the episode took (deleted).
        reset_history: drop the stored history before appending (continue-as-new).
        history: events appended to the history.
        status, output, failure, custom_status, waiting: the new instance row values.
        input: the new instance input; written only when `reset_history` is set
            (continue-as-new), otherwise the row keeps its input.
        execution_id: the execution id (changes on continue-as-new).
        completed_at: set when the instance finished.
        updated_at: the episode's time, for `last_updated_at`.
        activities: activity tasks to enqueue.
        messages: messages to insert: timers and carried-over events for this
            instance, events and results for others. Messages to another
            instance that does not exist or has finished are dropped.
        sub_orchestrations: child instances to create. If an unfinished instance
            already has a child's id, the parent receives a
            `SubOrchestrationFailed` message instead.
        rewound_children: sub-orchestrations a rewind calls again, applied after
            `sub_orchestrations` and before `messages`: a FAILED child is rewound
            (as by `Store.rewind_instance`), a
            child that finished otherwise or is gone is started again, a child still
            running is left alone (its answer is on the way).
        clear_inbox: delete this instance's unconsumed messages (it finished); this
            commit's own messages are inserted afterwards and stay.
    """

    consumed: tuple[int, ...]
    history: tuple[HistoryEvent, ...]
    status: RuntimeStatus
    updated_at: datetime
    execution_id: str
    input: JSONValue = None
    reset_history: bool = False
    output: JSONValue = None
    failure: FailureDetails | None = None
    custom_status: JSONValue = None
    waiting: Waiting = attrs.field(factory=Waiting)
    completed_at: datetime | None = None
    activities: tuple[NewActivityTask, ...] = ()
    messages: tuple[NewMessage, ...] = ()
    sub_orchestrations: tuple[ExecutionStarted, ...] = ()
    clear_inbox: bool = False
    rewound_children: tuple[ChildRewind, ...] = ()


@attrs.frozen(kw_only=True)
class Claim:
    """New activity tasks a committing worker leases to itself in the same transaction.

    Attributes:
        owner: the worker, as in `take_activity`.
        now: the time of the lease.
        lease: how long the leased tasks stay locked without renewal.
        activities: at most this many of the commit's new tasks (its first ones,
            in order) are leased; the rest are left for any worker to take.
    """

    owner: str
    now: datetime
    lease: timedelta
    activities: int

    def __attrs_post_init__(self) -> None:
        if self.lease <= timedelta(0):
            raise InvalidArgumentError(f"lease must be a positive duration, got {self.lease!r}")
        if not isinstance(self.activities, int) or self.activities < 0:
            raise InvalidArgumentError(
                f"activities must be a non-negative int, got {self.activities!r}"
            )


StoredHistory = Callable[[], list[HistoryEvent]]
"""Reads the instance's stored history inside the store's open transaction."""


@attrs.frozen(kw_only=True)
class Continuation:
    """The next episode of an instance, run where its activity result is delivered.

    `complete_activity` calls `episode` with the instance held for the
    transaction (its work item says it is locked for `claim.lease`, and holds
    every visible message, the new result last) and a reader of its stored
    history; it applies the returned commit in the same transaction and leases
    new tasks as `claim` says. A store may hand the result to the episode
    without storing it (a `Message` whose id is None); the commit consumes the
    stored ones. If the instance is locked by another worker or cannot take
    messages, `episode` is not called and the result is delivered as usual. If
    `episode` raises, the result is delivered as usual, the instance stays
    unlocked, and the error propagates after that commit.
    """

    claim: Claim
    episode: Callable[[OrchestrationWorkItem, StoredHistory], EpisodeCommit]


@attrs.frozen(kw_only=True)
class Completion:
    """An activity result to deliver, with the instance's next episode if wanted.

    Attributes:
        item: the leased task.
        result: its `TaskCompleted` or `TaskFailed`.
        then: run the next episode in the same transaction (see `Continuation`).
    """

    item: ActivityWorkItem
    result: HistoryEvent
    then: Continuation | None = None


@attrs.frozen(kw_only=True)
class Handover:
    """What became of one write in a batch: the tasks it handed to the worker, or its error.

    Attributes:
        leased: the activity tasks leased to the claimant.
        error: why the write (or a completion's continuation) did not happen;
            a completion's result was delivered anyway.
    """

    leased: tuple[ActivityWorkItem, ...] = ()
    error: Exception | None = None


@attrs.frozen(kw_only=True)
class Delivery:
    """What `complete_activities` did.

    Attributes:
        handovers: one per completion, in order.
        taken: the tasks its `take` claim leased after the completions.
    """

    handovers: tuple[Handover, ...]
    taken: tuple[ActivityWorkItem, ...] = ()


@attrs.frozen(kw_only=True)
class EpisodeWrite:
    """An episode commit to apply, with the claim to make in its transaction."""

    item: OrchestrationWorkItem
    commit: EpisodeCommit
    claim: Claim | None = None


@attrs.frozen(kw_only=True)
class InstanceQuery:
    """A filter over instances; every given field must match.

    Attributes:
        statuses: any of these runtime statuses.
        name: the orchestrator name.
        created_from: created at or after.
        created_to: created before.
        instance_id_prefix: ids that start with this.
        page_size: at most this many per page.
        continuation: the token of the previous page, to go on from there.
    """

    statuses: frozenset[RuntimeStatus] | None = None
    name: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    instance_id_prefix: str | None = None
    page_size: int = 100
    continuation: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.page_size, int) or not 1 <= self.page_size <= 10_000:
            raise InvalidArgumentError(
                f"page_size must be an int from 1 to 10000, got {self.page_size!r}"
            )


@attrs.frozen(kw_only=True)
class InstancePage:
    """One page of instances ordered by creation time, then id.

    Attributes:
        continuation: pass it back in `InstanceQuery.continuation` for the next
            page; None on the last page.
    """

    instances: tuple[InstanceStatus, ...]
    continuation: str | None = None


def completion_message(completion: Completion, now: datetime) -> NewMessage:
    """The inbox message that delivers a completion's result, checked.

    Raises:
        InvalidArgumentError: the result is not a `TaskCompleted` or `TaskFailed`.
    """
    result, item = completion.result, completion.item
    if not isinstance(result, TaskCompleted | TaskFailed):
        raise InvalidArgumentError(
            f"result must be TaskCompleted or TaskFailed, got {type(result).__name__}"
        )
    return NewMessage(
        instance_id=item.instance_id, event=result, visible_at=now, execution_id=item.execution_id
    )


def child_start(started: ExecutionStarted, now: datetime) -> tuple[int, NewMessage]:
    """The seq of the parent's call that starts a sub-orchestration, and its start message.

    Raises:
        InvalidArgumentError: `started` names no parent.
    """
    if started.parent is None:
        raise InvalidArgumentError(
            f"sub-orchestration {started.instance_id!r} has no parent in its ExecutionStarted event"
        )
    return started.parent.seq, start_message(started, now)


def start_message(started: ExecutionStarted, visible_at: datetime) -> NewMessage:
    """The message that puts `started` into its instance's inbox, for its execution only."""
    return NewMessage(
        instance_id=started.instance_id,
        event=started,
        visible_at=visible_at,
        execution_id=started.execution_id,
    )


def check_limit(limit: object) -> int:
    """`limit` of `take_activities`, checked."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgumentError(f"limit must be a positive int, got {limit!r}")
    return limit


def encode_continuation(created_at: datetime, instance_id: str) -> str:
    """The opaque continuation token for a page that ended at this instance."""
    raw = f"{created_at.isoformat()}|{instance_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_continuation(token: str) -> tuple[datetime, str]:
    """The (created_at, instance_id) a continuation token stands for."""
    try:
        created, _, instance_id = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        created_at = datetime.fromisoformat(created)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidArgumentError(f"continuation token {token!r} is not valid") from error
    if created_at.tzinfo is None:
        raise InvalidArgumentError(f"continuation token {token!r} is not valid (no time zone)")
    return created_at, instance_id


class Store(Protocol):
    """What every store provides. See the module docstring for the invariants."""

    def create_instance(
        self, started: ExecutionStarted, *, now: datetime, visible_at: datetime
    ) -> None:
        """Create an instance in PENDING with `started` in its inbox, visible at `visible_at`.

        An instance that has finished under the same id is replaced (its history,
        inbox and tasks deleted).

        Raises:
            InstanceExistsError: an unfinished instance has this id.
        """
        ...

    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        """Create several instances, each as `create_instance` would, in one transaction.

        Each start is made or refused on its own: one whose id names an
        unfinished instance (or one earlier in `starts`) is refused and the
        others are still made. Returns, in order, None for each created
        instance and the `InstanceExistsError` of each refused one.

        Raises:
            StoreError: the store failed; none of the starts was made.
        """
        ...

    def get_instance(self, instance_id: str) -> InstanceStatus | None:
        """The instance row, or None."""
        ...

    def list_instances(self, query: InstanceQuery) -> InstancePage:
        """One page of instances matching `query`, by creation time then id."""
        ...

    def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """The stored history of the current execution, oldest first.

        Raises:
            InstanceNotFoundError: no such instance.
        """
        ...

    def send_message(self, message: NewMessage) -> None:
        """Put a message from a client into an instance's inbox.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceFinishedError: it has completed, failed or been terminated.
        """
        ...

    def rewind_instance(self, instance_id: str, event: ExecutionRewound, *, now: datetime) -> None:
        """Set a FAILED instance back to PENDING, with `event` in its inbox, in one transaction.

        The row's output, failure and completion time are cleared; the message
        is for the current execution and visible at `now`. The instance's activity
        tasks are deleted, so that no result from before the rewind is delivered
        after it (the rewind's episode schedules the calls still open again).

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceNotFailedError: it is not FAILED; nothing was changed.
        """
        ...

    def purge_instance(self, instance_id: str) -> bool:
        """Delete a finished instance completely; False if there was none.

        Raises:
            InstanceExistsError: the instance has not finished.
        """
        ...

    def purge_instances(self, query: InstanceQuery) -> int:
        """Delete every finished instance matching `query` (all pages); how many.

        The query's `page_size` and `continuation` are ignored.
        """
        ...

    def take_orchestration(
        self, *, now: datetime, lease: timedelta, owner: str
    ) -> OrchestrationWorkItem | None:
        """Lock an instance with messages visible at `now`, oldest message first."""
        ...

    def take_orchestrations(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[OrchestrationWorkItem, ...]:
        """Lock up to `limit` instances, as `take_orchestration` would one by one.

        Raises:
            InvalidArgumentError: `limit` is not a positive int.
        """
        ...

    def commit_episode(
        self, item: OrchestrationWorkItem, commit: EpisodeCommit, *, claim: Claim | None = None
    ) -> tuple[ActivityWorkItem, ...]:
        """Apply `commit` atomically and release the instance.

        Returns:
            The new activity tasks leased to `claim.owner` (none without a claim).

        Raises:
            LeaseLostError: the lease was taken over; nothing was changed.
        """
        ...

    def commit_episodes(self, writes: Sequence[EpisodeWrite]) -> tuple[Handover, ...]:
        """`commit_episode` for each write in turn, in as few transactions as the store can.

        A write whose lease was lost changes nothing and does not stop the others:
        its `LeaseLostError` is in its `Handover`.
        """
        ...

    def release_orchestration(self, item: OrchestrationWorkItem) -> None:
        """Unlock the instance without changing it (its messages stay)."""
        ...

    def take_activity(
        self, *, now: datetime, lease: timedelta, owner: str
    ) -> ActivityWorkItem | None:
        """Lease the oldest activity task visible at `now` and not leased."""
        ...

    def take_activities(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[ActivityWorkItem, ...]:
        """Lease up to `limit` tasks at once, oldest first, as `take_activity` would one by one.

        Raises:
            InvalidArgumentError: `limit` is not a positive int.
        """
        ...

    def renew_activity(
        self, item: ActivityWorkItem, *, now: datetime, lease: timedelta
    ) -> ActivityWorkItem:
        """Extend the lease of a running activity.

        Raises:
            LeaseLostError: the lease was taken over or the task is gone.
        """
        ...

    def complete_activity(
        self,
        item: ActivityWorkItem,
        result: HistoryEvent,
        *,
        now: datetime,
        then: Continuation | None = None,
    ) -> tuple[ActivityWorkItem, ...]:
        """Delete the task and deliver `result` (TaskCompleted or TaskFailed) in one transaction.

        With `then`, the instance's next episode runs and commits in the same
        transaction (see `Continuation`).

        If the task is already gone (another worker delivered it), nothing happens.

        Returns:
            The activity tasks the continued episode leased to `then.claim.owner`.
        """
        ...

    def complete_activities(
        self, completions: Sequence[Completion], *, now: datetime, take: Claim | None = None
    ) -> Delivery:
        """`complete_activity` for each completion in turn, all in one transaction.

        A continuation that raises does not stop the others: its error is in its
        `Handover`, as `complete_activity` would have raised it. With `take`,
        the same transaction then leases up to `take.activities` visible tasks
        to `take.owner`, as `take_activities` would.
        """
        ...

    def release_activity(self, item: ActivityWorkItem, *, now: datetime) -> None:
        """Give a leased task back so that another worker may take it at once."""
        ...

    def next_due(self, *, now: datetime) -> datetime | None:
        """The earliest time work may be takeable, or None if nothing is pending.

        A hint for sleeping workers and virtual clocks: never later than the
        real time work becomes takeable, and earlier than `now` when work is
        overdue. Locked instances and leased tasks count from their lease expiry.
        """
        ...

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (from any thread) after each call that may make work takeable.

        That is after create_instance, send_message, rewind_instance, commit_episode,
        complete_activity(ies), release_orchestration and release_activity.

        Returns:
            A function that removes the listener.
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
