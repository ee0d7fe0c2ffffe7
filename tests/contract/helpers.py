"""Builders shared by the store contract tests: fixed times, events, and short store steps.

Every time is a fixed aware UTC datetime derived from `T0`; nothing reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from durable._model.events import EventRaised, ExecutionStarted, JSONValue, ParentInstance
from durable._model.status import RuntimeStatus
from durable._store.protocol import EpisodeCommit, NewMessage, OrchestrationWorkItem, Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)
FINISHED = (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED)
UNFINISHED = (
    RuntimeStatus.PENDING,
    RuntimeStatus.RUNNING,
    RuntimeStatus.SUSPENDED,
    RuntimeStatus.CONTINUED_AS_NEW,
)


def at(seconds: float) -> datetime:
    """`T0` plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def started(
    instance_id: str = "i1",
    *,
    name: str = "wf",
    execution_id: str | None = None,
    input: JSONValue = None,
    parent: ParentInstance | None = None,
    timestamp: datetime = T0,
    **fields: Any,
) -> ExecutionStarted:
    """An ExecutionStarted event; the execution id defaults to ``"<instance_id>-x1"``."""
    return ExecutionStarted(
        timestamp=timestamp,
        name=name,
        instance_id=instance_id,
        execution_id=execution_id or f"{instance_id}-x1",
        input=input,
        parent=parent,
        **fields,
    )


def create(
    store: Store,
    instance_id: str = "i1",
    *,
    now: datetime = T0,
    visible_at: datetime | None = None,
    **fields: Any,
) -> ExecutionStarted:
    """Create an instance (visible at `now` unless told) and return its ExecutionStarted."""
    event = started(instance_id, timestamp=now, **fields)
    store.create_instance(event, now=now, visible_at=now if visible_at is None else visible_at)
    return event


def raised(name: str = "e", input: JSONValue = None, *, timestamp: datetime = T0) -> EventRaised:
    """An EventRaised event."""
    return EventRaised(timestamp=timestamp, name=name, input=input)


def send(
    store: Store,
    instance_id: str,
    name: str = "e",
    input: JSONValue = None,
    *,
    visible_at: datetime = T0,
) -> EventRaised:
    """Send an EventRaised to an instance from a client and return it."""
    event = raised(name, input)
    store.send_message(NewMessage(instance_id=instance_id, event=event, visible_at=visible_at))
    return event


def take(
    store: Store, *, now: datetime = T0, lease: timedelta = LEASE, owner: str = "w1"
) -> OrchestrationWorkItem:
    """Take an orchestration that must be there."""
    item = store.take_orchestration(now=now, lease=lease, owner=owner)
    assert item is not None, f"no orchestration to take at {now}"
    return item


def episode(item: OrchestrationWorkItem, *, now: datetime = T0, **fields: Any) -> EpisodeCommit:
    """A commit that consumes every message of `item` into history and keeps it RUNNING."""
    values: dict[str, Any] = {
        "consumed": tuple(message.id for message in item.messages if message.id is not None),
        "history": tuple(message.event for message in item.messages),
        "status": RuntimeStatus.RUNNING,
        "updated_at": now,
        "execution_id": item.instance.execution_id,
        "input": item.instance.input,
    }
    return EpisodeCommit(**(values | fields))


def commit(
    store: Store, item: OrchestrationWorkItem, *, now: datetime = T0, **fields: Any
) -> EpisodeCommit:
    """Commit `episode(item, ...)` and return it."""
    value = episode(item, now=now, **fields)
    store.commit_episode(item, value)
    return value


def reach(
    store: Store,
    instance_id: str = "i1",
    status: RuntimeStatus = RuntimeStatus.RUNNING,
    *,
    now: datetime = T0,
    clear_inbox: bool | None = None,
    **fields: Any,
) -> ExecutionStarted:
    """Create an instance and, unless PENDING, commit its first episode into `status`.

    A finished instance gets `completed_at` and (unless told) a cleared inbox; any
    other is left unlocked with an empty inbox.
    """
    event = create(store, instance_id, now=now, **fields)
    if status is not RuntimeStatus.PENDING:
        item = take(store, now=now)
        assert item.instance.instance_id == instance_id
        finished = status.is_terminal
        clear = finished if clear_inbox is None else clear_inbox
        completed_at = now if finished else None
        commit(store, item, now=now, status=status, completed_at=completed_at, clear_inbox=clear)
    return event


def set_status(store: Store, instance_id: str, status: RuntimeStatus, *, now: datetime) -> None:
    """Move an instance with no pending messages to `status` through an empty episode."""
    send(store, instance_id, "poke", visible_at=now)
    item = take(store, now=now)
    assert item.instance.instance_id == instance_id
    completed_at = now if status.is_terminal else None
    commit(store, item, now=now, status=status, completed_at=completed_at)


def inboxes(store: Store, *, now: datetime) -> dict[str, list[tuple[Any, ...]]]:
    """The (event, visible_at, execution_id) of the visible messages of every unlocked instance.

    Takes every instance it can under a lease, then releases them all again.
    """
    items = []
    while (item := store.take_orchestration(now=now, lease=LEASE, owner="inspector")) is not None:
        items.append(item)
    for item in items:
        store.release_orchestration(item)
    return {
        item.instance.instance_id: [(m.event, m.visible_at, m.execution_id) for m in item.messages]
        for item in items
    }


def inbox(store: Store, instance_id: str, *, now: datetime) -> list[tuple[Any, ...]]:
    """The visible messages of one unlocked instance, as `inboxes` gives them."""
    return inboxes(store, now=now).get(instance_id, [])
