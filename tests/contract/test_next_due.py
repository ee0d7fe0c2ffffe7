"""Contract: `next_due`, the earliest time work may be takeable."""

from __future__ import annotations

from datetime import datetime, timedelta

from durable._model.events import TaskCompleted
from durable._model.status import RuntimeStatus
from durable._store.protocol import NewActivityTask, Store
from tests.contract.helpers import LEASE, T0, at, commit, create, reach, send, take


def _task(seq: int, visible_at: datetime) -> NewActivityTask:
    return NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=seq, name="a", input=None, visible_at=visible_at
    )


def test_next_due_is_none_when_store_empty(store: Store) -> None:
    assert store.next_due(now=T0) is None


def test_next_due_is_none_when_no_messages_and_no_tasks(store: Store) -> None:
    reach(store, "running")
    reach(store, "done", RuntimeStatus.COMPLETED)

    assert store.next_due(now=at(100)) is None


def test_next_due_is_earliest_message_visible_at(store: Store) -> None:
    create(store, "i1", visible_at=at(30))
    create(store, "i2", visible_at=at(20))
    send(store, "i1", visible_at=at(10))

    assert store.next_due(now=T0) == at(10)


def test_next_due_is_past_visible_at_when_work_is_overdue(store: Store) -> None:
    create(store, "i1", visible_at=at(5))

    assert store.next_due(now=at(100)) == at(5)


def test_next_due_is_lease_expiry_when_instance_locked(store: Store) -> None:
    create(store, "i1")
    take(store, now=T0, lease=timedelta(seconds=60))
    send(store, "i1", visible_at=at(1))

    assert store.next_due(now=at(1)) == at(60)


def test_next_due_is_lapsed_lease_expiry_when_instance_not_retaken(store: Store) -> None:
    create(store, "i1", visible_at=at(-5))
    take(store, now=T0, lease=timedelta(seconds=60))

    assert store.next_due(now=at(100)) == at(60)


def test_next_due_is_task_visible_at_when_unleased(store: Store) -> None:
    create(store, "i1")
    commit(store, take(store, now=T0), activities=(_task(1, at(40)), _task(2, at(30))))

    assert store.next_due(now=T0) == at(30)


def test_next_due_is_lease_expiry_when_task_leased(store: Store) -> None:
    create(store, "i1")
    commit(store, take(store, now=T0), activities=(_task(1, T0),))
    store.take_activity(now=at(1), lease=timedelta(seconds=50), owner="a")

    assert store.next_due(now=at(1)) == at(51)


def test_next_due_is_earliest_of_messages_locks_and_tasks(store: Store) -> None:
    create(store, "i1")
    commit(store, take(store, now=T0), activities=(_task(1, at(70)),))
    create(store, "i2", visible_at=at(80))
    create(store, "i3")
    take(store, now=T0, lease=timedelta(seconds=60))

    assert store.next_due(now=T0) == at(60)
    assert store.next_due(now=T0) == at(60)  # a query, not a take


def test_next_due_is_none_when_all_work_is_done(store: Store) -> None:
    create(store, "i1")
    commit(store, take(store, now=T0, lease=LEASE), activities=(_task(1, T0),))
    work = store.take_activity(now=T0, lease=LEASE, owner="a")
    assert work is not None
    store.complete_activity(work, TaskCompleted(timestamp=at(1), seq=1), now=at(1))
    commit(store, take(store, now=at(1)), now=at(1), status=RuntimeStatus.COMPLETED)

    assert store.next_due(now=at(1)) is None
