"""Contract: taking orchestrations under a lease, releasing them, and losing the lease."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable._model.events import EventRaised, ParentInstance, TaskCompleted
from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus, Waiting
from durable._store.protocol import (
    EpisodeCommit,
    Message,
    NewActivityTask,
    NewMessage,
    OrchestrationWorkItem,
    Store,
)
from durable.errors import InvalidArgumentError, LeaseLostError, PayloadError
from tests.contract.helpers import (
    LEASE,
    T0,
    at,
    commit,
    create,
    episode,
    raised,
    reach,
    send,
    started,
    take,
)


def test_take_orchestration_returns_none_when_no_messages(store: Store) -> None:
    reach(store, "i1")

    assert store.take_orchestration(now=at(100), lease=LEASE, owner="w") is None


def test_take_orchestration_returns_row_history_length_messages_and_lease(store: Store) -> None:
    create(store, "i1")
    commit(store, take(store, now=T0), now=at(1))
    event = send(store, "i1", "go", [1], visible_at=at(2))

    item = take(store, now=at(3), lease=timedelta(seconds=30))

    assert item == OrchestrationWorkItem(
        instance=InstanceStatus(
            instance_id="i1",
            name="wf",
            status=RuntimeStatus.RUNNING,
            created_at=T0,
            last_updated_at=at(1),
            execution_id="i1-x1",
        ),
        history_length=1,
        messages=(
            Message(id=item.messages[0].id, instance_id="i1", event=event, visible_at=at(2)),
        ),
        lock_token=item.lock_token,
        locked_until=at(33),
    )


def test_take_orchestration_returns_all_visible_messages_in_insertion_order(
    store: Store,
) -> None:
    start = create(store, "i1", visible_at=at(1))
    late = send(store, "i1", "late", visible_at=at(5))
    early = send(store, "i1", "early", visible_at=at(0))
    send(store, "i1", "future", visible_at=at(20))

    item = take(store, now=at(10))

    assert [message.event for message in item.messages] == [start, late, early]
    ids = [message.id for message in item.messages]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_take_orchestration_picks_instance_whose_oldest_visible_message_is_oldest(
    store: Store,
) -> None:
    create(store, "late", visible_at=at(3))
    create(store, "early", visible_at=at(1))
    create(store, "middle", visible_at=at(2))
    create(store, "not-yet", visible_at=at(50))

    taken = [take(store, now=at(10), owner=f"w{n}").instance.instance_id for n in range(3)]

    assert taken == ["early", "middle", "late"]
    assert store.take_orchestration(now=at(10), lease=LEASE, owner="w") is None


def test_take_orchestration_breaks_visible_at_ties_by_insertion_order(store: Store) -> None:
    for instance_id in ["c", "a", "b"]:
        create(store, instance_id)

    taken = [take(store, now=T0).instance.instance_id for _ in range(3)]

    assert taken == ["c", "a", "b"]


def test_take_orchestration_orders_by_oldest_message_not_by_creation(store: Store) -> None:
    reach(store, "first")
    reach(store, "second")
    send(store, "second", "x", visible_at=at(1))
    send(store, "first", "y", visible_at=at(2))

    assert take(store, now=at(5)).instance.instance_id == "second"


def test_take_orchestration_skips_locked_instance_while_lease_unexpired(store: Store) -> None:
    create(store, "i1")
    take(store, now=T0, lease=timedelta(seconds=60))
    send(store, "i1", "more", visible_at=T0)

    assert store.take_orchestration(now=at(59), lease=LEASE, owner="w2") is None
    assert store.next_due(now=at(59)) == at(60)


def test_take_orchestration_takes_over_with_new_token_when_lease_expired(store: Store) -> None:
    start = create(store, "i1")
    first = take(store, now=T0, lease=timedelta(seconds=60), owner="w1")
    more = send(store, "i1", "more", visible_at=at(30))

    second = take(store, now=at(60), lease=timedelta(seconds=60), owner="w2")

    assert second.lock_token != first.lock_token
    assert second.locked_until == at(120)
    assert [message.event for message in second.messages] == [start, more]
    assert second.messages[0] == first.messages[0]


def test_take_orchestration_gives_new_token_each_time(store: Store) -> None:
    create(store, "i1")
    tokens = set()
    for _ in range(3):
        item = take(store, now=T0)
        tokens.add(item.lock_token)
        store.release_orchestration(item)

    assert len(tokens) == 3


def test_release_orchestration_unlocks_and_keeps_messages(store: Store) -> None:
    create(store, "i1")
    first = take(store, now=T0)

    store.release_orchestration(first)

    again = take(store, now=T0, owner="w2")
    assert again.messages == first.messages
    assert again.lock_token != first.lock_token
    assert store.get_instance("i1") == first.instance
    assert store.get_history("i1") == []


def test_release_orchestration_leaves_a_takeover_alone(store: Store) -> None:
    create(store, "i1")
    stale = take(store, now=T0, lease=timedelta(seconds=10), owner="w1")
    current = take(store, now=at(10), lease=timedelta(seconds=60), owner="w2")

    store.release_orchestration(stale)

    assert store.take_orchestration(now=at(11), lease=LEASE, owner="w3") is None
    commit(store, current, now=at(12))
    assert store.get_instance("i1").status is RuntimeStatus.RUNNING  # type: ignore[union-attr]


def test_commit_episode_succeeds_when_lease_expired_but_not_taken_over(store: Store) -> None:
    start = create(store, "i1")
    item = take(store, now=T0, lease=timedelta(seconds=10))

    commit(store, item, now=at(100))

    assert store.get_history("i1") == [start]


def test_commit_episode_raises_lease_lost_after_release(store: Store) -> None:
    create(store, "i1")
    item = take(store, now=T0)
    store.release_orchestration(item)

    with pytest.raises(LeaseLostError, match="'i1'"):
        commit(store, item)

    assert store.get_history("i1") == []


def test_commit_episode_raises_lease_lost_when_new_owner_committed_first(store: Store) -> None:
    start = create(store, "i1")
    stale = take(store, now=T0, lease=timedelta(seconds=10), owner="w1")
    current = take(store, now=at(10), owner="w2")
    commit(store, current, now=at(11))

    with pytest.raises(LeaseLostError, match="'i1'"):
        commit(store, stale, now=at(12))

    assert store.get_history("i1") == [start]


def test_commit_episode_raises_lease_lost_when_taken_over_and_changes_nothing(
    store: Store,
) -> None:
    reach(store, "other")
    reach(store, "done", RuntimeStatus.COMPLETED)
    create(store, "i1", input="in")
    stale = take(store, now=T0, lease=timedelta(seconds=10), owner="w1")
    send(store, "i1", "arrived", visible_at=at(5))
    current = take(store, now=at(10), lease=timedelta(seconds=10), owner="w2")
    before = _observe(store, ["i1", "other", "done", "child"])

    with pytest.raises(LeaseLostError, match="'i1'"):
        store.commit_episode(stale, _everything(stale))

    assert _observe(store, ["i1", "other", "done", "child"]) == before
    assert store.take_activity(now=at(1000), lease=LEASE, owner="w") is None
    retaken = take(store, now=at(20), owner="w3")
    assert retaken.messages == current.messages
    assert store.take_orchestration(now=at(21), lease=LEASE, owner="w") is None  # none for "other"


def test_commit_episode_changes_nothing_when_a_payload_cannot_be_stored(store: Store) -> None:
    start = create(store, "i1")
    item = take(store, now=T0)
    before = _observe(store, ["i1", "child"])
    bad = EventRaised(timestamp=T0, name="bad", input={"value": object()})

    with pytest.raises(PayloadError, match="cannot be stored as JSON"):
        store.commit_episode(item, _everything(item, history=(start, bad)))

    assert _observe(store, ["i1", "child"]) == before
    assert store.take_activity(now=at(1000), lease=LEASE, owner="w") is None
    commit(store, item, now=at(1))  # the lease is still held
    assert store.get_history("i1") == [start]


def _observe(store: Store, instance_ids: list[str]) -> object:
    """Rows, histories and the wake-up time, as far as they can be read without taking."""
    rows = {instance_id: store.get_instance(instance_id) for instance_id in instance_ids}
    histories = {
        instance_id: store.get_history(instance_id) for instance_id in rows if rows[instance_id]
    }
    return rows, histories, store.next_due(now=T0)


def _everything(item: OrchestrationWorkItem, **fields: object) -> EpisodeCommit:
    """A commit for `item` that would change every part of the store."""
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=1, name="a", input=1, visible_at=T0
    )
    messages = (
        NewMessage(instance_id="i1", event=raised("timer"), visible_at=at(1)),
        NewMessage(instance_id="other", event=raised("hello"), visible_at=T0),
    )
    result = TaskCompleted(timestamp=T0, seq=9, output="x")
    parent = ParentInstance(instance_id="i1", execution_id="i1-x1", name="wf", seq=2)
    return episode(
        item,
        now=at(15),
        reset_history=True,
        input="new input",
        execution_id="i1-x2",
        status=RuntimeStatus.FAILED,
        output="out",
        failure=FailureDetails(type_name="E", message="m"),
        custom_status={"stage": 2},
        waiting=Waiting(events=("go",)),
        completed_at=at(15),
        activities=(task,),
        messages=(*messages, NewMessage(instance_id="other", event=result, visible_at=T0)),
        sub_orchestrations=(started("child", timestamp=at(15), parent=parent),),
        clear_inbox=True,
        **fields,
    )


def test_take_orchestrations_locks_up_to_limit_instances_oldest_message_first(
    store: Store,
) -> None:
    for instance_id, visible in (("late", at(3)), ("early", at(1)), ("middle", at(2))):
        create(store, instance_id, visible_at=visible)
    send(store, "early", "second", visible_at=at(1))

    taken = store.take_orchestrations(now=at(5), lease=LEASE, owner="w1", limit=2)

    assert [item.instance.instance_id for item in taken] == ["early", "middle"]
    assert [len(item.messages) for item in taken] == [2, 1]
    assert taken[0].lock_token != taken[1].lock_token
    assert all(item.locked_until == at(5) + LEASE for item in taken)
    (rest,) = store.take_orchestrations(now=at(5), lease=LEASE, owner="w2", limit=5)
    assert rest.instance.instance_id == "late"
    assert store.take_orchestrations(now=at(5), lease=LEASE, owner="w2", limit=5) == ()
    store.commit_episode(taken[1], episode(taken[1]))  # each lease is a real one


@pytest.mark.parametrize("limit", [0, -2, False])
def test_take_orchestrations_rejects_a_limit_that_is_not_a_positive_int(
    store: Store, limit: int
) -> None:
    create(store)

    with pytest.raises(InvalidArgumentError, match="limit must be a positive int"):
        store.take_orchestrations(now=T0, lease=LEASE, owner="w1", limit=limit)

    assert take(store).instance.instance_id == "i1"
