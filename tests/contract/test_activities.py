"""Contract: activity tasks: taking, leasing, renewing, completing and releasing them."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from durable._model.events import TaskCompleted, TaskFailed
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from durable._store.protocol import ActivityWorkItem, NewActivityTask, Store
from durable.errors import InvalidArgumentError, LeaseLostError
from tests.contract.helpers import (
    FINISHED,
    LEASE,
    T0,
    at,
    commit,
    create,
    inbox,
    set_status,
    take,
)

SHORT = timedelta(seconds=10)


def schedule(store: Store, *visible_at: datetime, instance_id: str = "i1") -> None:
    """Create `instance_id` and commit an episode that schedules one task per time given."""
    create(store, instance_id)
    tasks = tuple(
        NewActivityTask(
            instance_id=instance_id,
            execution_id=f"{instance_id}-x1",
            seq=seq,
            name=f"act{seq}",
            input={"seq": seq},
            visible_at=when,
        )
        for seq, when in enumerate(visible_at, start=1)
    )
    commit(store, take(store, now=T0), activities=tasks)


def take_activity(
    store: Store, *, now: datetime, lease: timedelta = SHORT, owner: str = "a1"
) -> ActivityWorkItem:
    """Take an activity that must be there."""
    item = store.take_activity(now=now, lease=lease, owner=owner)
    assert item is not None, f"no activity to take at {now}"
    return item


def completed(seq: int, output: object = None, *, timestamp: datetime = T0) -> TaskCompleted:
    return TaskCompleted(timestamp=timestamp, seq=seq, output=output)


def test_take_activity_returns_none_when_no_tasks(store: Store) -> None:
    create(store, "i1")

    assert store.take_activity(now=at(1000), lease=LEASE, owner="a") is None


def test_take_activity_leases_task(store: Store) -> None:
    schedule(store, T0)

    item = take_activity(store, now=at(1), lease=timedelta(seconds=30))

    assert item == ActivityWorkItem(
        id=item.id,
        instance_id="i1",
        execution_id="i1-x1",
        seq=1,
        name="act1",
        input={"seq": 1},
        attempt=1,
        lock_token=item.lock_token,
        locked_until=at(31),
    )


def test_take_activity_takes_oldest_visible_first(store: Store) -> None:
    schedule(store, at(3), at(1), at(2), at(50))

    taken = [take_activity(store, now=at(10)).seq for _ in range(3)]

    assert taken == [2, 3, 1]
    assert store.take_activity(now=at(10), lease=SHORT, owner="a") is None


def test_take_activity_breaks_visible_at_ties_by_insertion_order(store: Store) -> None:
    schedule(store, T0, T0, instance_id="i1")
    schedule(store, T0, instance_id="i2")

    taken = [take_activity(store, now=T0) for _ in range(3)]

    assert [(item.instance_id, item.seq) for item in taken] == [("i1", 1), ("i1", 2), ("i2", 1)]


def test_take_activity_skips_task_while_leased(store: Store) -> None:
    schedule(store, T0)
    take_activity(store, now=T0, lease=SHORT)

    assert store.take_activity(now=at(9), lease=SHORT, owner="a2") is None


def test_take_activity_retakes_task_with_new_token_and_attempt_when_lease_expired(
    store: Store,
) -> None:
    schedule(store, T0)
    first = take_activity(store, now=T0, lease=SHORT, owner="a1")

    second = take_activity(store, now=at(10), lease=SHORT, owner="a2")
    third = take_activity(store, now=at(20), lease=SHORT, owner="a3")

    assert [item.attempt for item in (first, second, third)] == [1, 2, 3]
    assert len({item.lock_token for item in (first, second, third)}) == 3
    assert third == attrs.evolve(first, attempt=3, lock_token=third.lock_token, locked_until=at(30))


def test_a_task_whose_lease_ran_out_goes_before_tasks_that_became_visible_after_it(
    store: Store,
) -> None:
    schedule(store, T0, at(5))
    abandoned = take_activity(store, now=T0, lease=SHORT)  # its worker dies

    taken = [take_activity(store, now=at(10)).seq for _ in range(2)]

    assert abandoned.seq == 1
    assert taken == [1, 2]


def test_renew_activity_extends_lease(store: Store) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0, lease=SHORT)

    renewed = store.renew_activity(item, now=at(8), lease=timedelta(seconds=30))

    assert renewed == attrs.evolve(item, locked_until=at(38))
    assert store.take_activity(now=at(37), lease=SHORT, owner="a2") is None
    assert store.next_due(now=at(37)) == at(38)
    assert take_activity(store, now=at(38), owner="a2").attempt == 2


def test_renew_activity_raises_lease_lost_when_taken_over(store: Store) -> None:
    schedule(store, T0)
    stale = take_activity(store, now=T0, lease=SHORT, owner="a1")
    current = take_activity(store, now=at(10), lease=SHORT, owner="a2")

    with pytest.raises(LeaseLostError, match="act1"):
        store.renew_activity(stale, now=at(11), lease=LEASE)

    assert store.renew_activity(current, now=at(11), lease=SHORT).locked_until == at(21)


def test_renew_activity_raises_lease_lost_when_task_gone(store: Store) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0)
    store.complete_activity(item, completed(1), now=at(1))

    with pytest.raises(LeaseLostError, match="act1"):
        store.renew_activity(item, now=at(2), lease=LEASE)


def test_renew_activity_succeeds_when_lease_expired_but_not_taken_over(store: Store) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0, lease=SHORT)

    renewed = store.renew_activity(item, now=at(15), lease=SHORT)

    assert renewed.locked_until == at(25)
    assert store.take_activity(now=at(24), lease=SHORT, owner="a2") is None


def test_complete_activity_delivers_task_completed_with_execution_id(store: Store) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0)
    result = completed(1, {"charged": [1, 2]}, timestamp=at(3))

    store.complete_activity(item, result, now=at(3))

    assert inbox(store, "i1", now=at(3)) == [(result, at(3), "i1-x1")]
    assert store.take_activity(now=at(1000), lease=SHORT, owner="a") is None


def test_complete_activity_delivers_task_failed(store: Store) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0)
    failure = FailureDetails(type_name="ValueError", message="bad", base_type_names=("Exception",))
    result = TaskFailed(timestamp=at(3), seq=1, failure=failure)

    store.complete_activity(item, result, now=at(3))

    assert inbox(store, "i1", now=at(3)) == [(result, at(3), "i1-x1")]


def test_complete_activity_does_nothing_when_another_worker_completed_it(store: Store) -> None:
    schedule(store, T0)
    stale = take_activity(store, now=T0, lease=SHORT, owner="a1")
    current = take_activity(store, now=at(10), lease=SHORT, owner="a2")
    result = completed(1, "first", timestamp=at(11))
    store.complete_activity(current, result, now=at(11))

    store.complete_activity(stale, completed(1, "second", timestamp=at(12)), now=at(12))

    assert inbox(store, "i1", now=at(12)) == [(result, at(11), "i1-x1")]


def test_complete_activity_delivers_first_result_even_from_a_lapsed_lease(store: Store) -> None:
    schedule(store, T0)
    stale = take_activity(store, now=T0, lease=SHORT, owner="a1")
    current = take_activity(store, now=at(10), lease=SHORT, owner="a2")
    result = completed(1, "stale but first", timestamp=at(11))

    store.complete_activity(stale, result, now=at(11))
    store.complete_activity(current, completed(1, "second"), now=at(12))

    assert inbox(store, "i1", now=at(12)) == [(result, at(11), "i1-x1")]
    with pytest.raises(LeaseLostError):
        store.renew_activity(current, now=at(12), lease=SHORT)


@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_complete_activity_drops_result_when_instance_finished(
    store: Store, status: RuntimeStatus
) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0)
    set_status(store, "i1", status, now=at(1))

    store.complete_activity(item, completed(1), now=at(2))

    assert store.next_due(now=at(2)) is None
    assert store.take_orchestration(now=at(2), lease=LEASE, owner="w") is None


def test_complete_activity_does_nothing_when_instance_purged(store: Store) -> None:
    schedule(store, T0)
    item = take_activity(store, now=T0)
    set_status(store, "i1", RuntimeStatus.TERMINATED, now=at(1))
    assert store.purge_instance("i1")

    store.complete_activity(item, completed(1), now=at(2))

    assert store.get_instance("i1") is None
    assert store.next_due(now=at(2)) is None


def test_release_activity_makes_task_takeable_at_once(store: Store) -> None:
    schedule(store, T0)
    first = take_activity(store, now=T0, lease=LEASE)

    store.release_activity(first, now=at(1))

    assert store.next_due(now=at(1)) == at(1)
    second = take_activity(store, now=at(1), owner="a2")
    assert (second.id, second.attempt) == (first.id, 2)


def test_release_activity_leaves_a_takeover_alone(store: Store) -> None:
    schedule(store, T0)
    stale = take_activity(store, now=T0, lease=SHORT, owner="a1")
    current = take_activity(store, now=at(10), lease=SHORT, owner="a2")

    store.release_activity(stale, now=at(11))

    assert store.take_activity(now=at(11), lease=SHORT, owner="a3") is None
    assert store.renew_activity(current, now=at(11), lease=SHORT).locked_until == at(21)


def test_take_activities_leases_up_to_limit_oldest_first_each_with_its_own_token(
    store: Store,
) -> None:
    schedule(store, at(3), at(1), at(2), at(1))

    taken = store.take_activities(now=at(5), lease=SHORT, owner="a1", limit=3)

    assert [(item.seq, item.name, item.attempt) for item in taken] == [
        (2, "act2", 1),
        (4, "act4", 1),
        (3, "act3", 1),
    ]
    assert len({item.lock_token for item in taken}) == 3
    assert all(item.locked_until == at(15) for item in taken)
    for item in taken:  # each lease is a real one
        store.renew_activity(item, now=at(6), lease=SHORT)
    (rest,) = store.take_activities(now=at(5), lease=SHORT, owner="a2", limit=10)
    assert rest.seq == 1
    assert store.take_activities(now=at(5), lease=SHORT, owner="a2", limit=10) == ()


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_take_activities_rejects_a_limit_that_is_not_a_positive_int(
    store: Store, limit: object
) -> None:
    schedule(store, T0)

    with pytest.raises(InvalidArgumentError, match="limit must be a positive int"):
        store.take_activities(now=T0, lease=SHORT, owner="a1", limit=limit)  # type: ignore[arg-type]

    assert take_activity(store, now=T0).seq == 1  # nothing was leased
