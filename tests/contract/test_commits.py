"""Contract: what `commit_episode` changes, one field of `EpisodeCommit` at a time."""

from __future__ import annotations

import pytest

from durable._model.events import (
    ContinuedAsNew,
    ExecutionStarted,
    OrchestratorStarted,
    ParentInstance,
    SubOrchestrationFailed,
    TaskScheduled,
    TimerFired,
)
from durable._model.failures import FailureDetails
from durable._model.status import (
    InstanceStatus,
    PendingActivity,
    PendingSubOrchestration,
    PendingTimer,
    RuntimeStatus,
    Waiting,
)
from durable._store.protocol import ActivityWorkItem, NewActivityTask, NewMessage, Store
from durable.errors import InvalidArgumentError
from tests.contract.helpers import (
    FINISHED,
    LEASE,
    T0,
    UNFINISHED,
    at,
    commit,
    create,
    inbox,
    inboxes,
    raised,
    reach,
    send,
    started,
    take,
)

PARENT = ParentInstance(instance_id="i1", execution_id="i1-x1", name="wf", seq=4)


def test_commit_episode_appends_history(store: Store) -> None:
    start = create(store, "i1")
    first = commit(store, take(store, now=T0), now=at(1))
    event = send(store, "i1", "e", visible_at=at(2))
    tick = OrchestratorStarted(timestamp=at(3))

    item = take(store, now=at(3))
    commit(store, item, now=at(3), history=(tick, event))

    assert first.history == (start,)
    assert store.get_history("i1") == [start, tick, event]
    send(store, "i1", "again", visible_at=at(4))
    assert take(store, now=at(4)).history_length == 3


def test_commit_episode_deletes_only_consumed_messages(store: Store) -> None:
    start = create(store, "i1")
    kept = send(store, "i1", "kept")
    item = take(store, now=T0)
    arrived = send(store, "i1", "arrived", visible_at=at(1))

    commit(store, item, now=at(1), consumed=(item.messages[0].id,), history=(start,))

    assert inbox(store, "i1", now=at(1)) == [(kept, T0, None), (arrived, at(1), None)]


def test_commit_episode_ignores_consumed_ids_of_other_instances(store: Store) -> None:
    other = create(store, "other")
    create(store, "i1", visible_at=at(1))
    held = take(store, now=T0)
    item = take(store, now=at(1))

    commit(store, item, now=at(1), consumed=(held.messages[0].id, item.messages[0].id))

    store.release_orchestration(held)
    assert inboxes(store, now=at(1)) == {"other": [(other, T0, "other-x1")]}


def test_commit_episode_updates_row_fields(store: Store) -> None:
    create(store, "i1", input={"n": 1}, version="3")
    waiting = Waiting(
        activities=(PendingActivity(seq=1, name="charge", scheduled_at=at(1)),),
        timers=(PendingTimer(seq=2, fire_at=at(100)),),
        events=("approve", "reject"),
        sub_orchestrations=(PendingSubOrchestration(seq=3, name="ship", instance_id="c1"),),
    )

    commit(
        store,
        take(store, now=T0),
        now=at(1),
        custom_status={"stage": ["charged", 1]},
        waiting=waiting,
        input=None,
    )

    assert store.get_instance("i1") == InstanceStatus(
        instance_id="i1",
        name="wf",
        status=RuntimeStatus.RUNNING,
        created_at=T0,
        last_updated_at=at(1),
        execution_id="i1-x1",
        version="3",
        input={"n": 1},
        custom_status={"stage": ["charged", 1]},
        waiting=waiting,
    )


def test_commit_episode_stores_output_when_completed(store: Store) -> None:
    create(store, "i1", input=1)

    commit(
        store,
        take(store, now=T0),
        now=at(2),
        status=RuntimeStatus.COMPLETED,
        output={"total": 3, "items": [1, 2]},
        completed_at=at(2),
    )

    assert store.get_instance("i1") == InstanceStatus(
        instance_id="i1",
        name="wf",
        status=RuntimeStatus.COMPLETED,
        created_at=T0,
        last_updated_at=at(2),
        execution_id="i1-x1",
        input=1,
        output={"total": 3, "items": [1, 2]},
        completed_at=at(2),
    )


def test_commit_episode_round_trips_failure(store: Store) -> None:
    create(store, "i1")
    failure = FailureDetails(
        type_name="CardDeclined",
        message="card declined: ünïcødé ✓",
        base_type_names=("PaymentError", "Exception", "BaseException"),
        traceback='Traceback (most recent call last):\n  File "x.py", line 1\n',
        non_retryable=True,
    )

    commit(
        store,
        take(store, now=T0),
        now=at(2),
        status=RuntimeStatus.FAILED,
        failure=failure,
        completed_at=at(2),
    )

    status = store.get_instance("i1")
    assert status is not None
    assert (status.status, status.failure, status.completed_at) == (
        RuntimeStatus.FAILED,
        failure,
        at(2),
    )


def test_commit_episode_keeps_input_when_history_not_reset(store: Store) -> None:
    create(store, "i1", input="original")

    commit(store, take(store, now=T0), input="ignored")

    assert store.get_instance("i1").input == "original"  # type: ignore[union-attr]


def test_commit_episode_resets_history_input_and_execution_when_continued_as_new(
    store: Store,
) -> None:
    start = create(store, "i1", input=1)
    commit(store, take(store, now=T0), now=at(1))
    send(store, "i1", "next", visible_at=at(2))
    item = take(store, now=at(2))
    restart = started("i1", execution_id="i1-x2", input=2, timestamp=at(2))

    commit(
        store,
        item,
        now=at(2),
        reset_history=True,
        history=(restart,),
        input=2,
        execution_id="i1-x2",
    )

    assert start != restart
    assert store.get_history("i1") == [restart]
    status = store.get_instance("i1")
    assert status is not None
    assert (status.input, status.execution_id, status.created_at) == (2, "i1-x2", T0)


def test_commit_episode_enqueues_activity_tasks(store: Store) -> None:
    create(store, "i1")
    tasks = tuple(
        NewActivityTask(
            instance_id="i1",
            execution_id="i1-x1",
            seq=seq,
            name=f"act{seq}",
            input={"seq": seq},
            visible_at=T0,
        )
        for seq in (1, 2)
    )
    scheduled = tuple(
        TaskScheduled(timestamp=T0, seq=task.seq, name=task.name, input=task.input)
        for task in tasks
    )
    item = take(store, now=T0)

    commit(store, item, history=(item.messages[0].event, *scheduled), activities=tasks)

    taken = [store.take_activity(now=T0, lease=LEASE, owner="a") for _ in range(3)]
    assert taken[2] is None
    assert taken[:2] == [
        ActivityWorkItem(
            id=work.id,
            instance_id="i1",
            execution_id="i1-x1",
            seq=seq,
            name=f"act{seq}",
            input={"seq": seq},
            attempt=1,
            lock_token=work.lock_token,
            locked_until=T0 + LEASE,
        )
        for seq, work in zip((1, 2), taken[:2], strict=True)
        if work is not None
    ]


def test_commit_episode_inserts_timer_visible_from_fire_time(store: Store) -> None:
    create(store, "i1")
    fired = TimerFired(timestamp=at(3600), seq=1, fire_at=at(3600))
    timer = NewMessage(instance_id="i1", event=fired, visible_at=at(3600), execution_id="i1-x1")

    commit(store, take(store, now=T0), messages=(timer,))

    assert store.take_orchestration(now=at(3599), lease=LEASE, owner="w") is None
    assert store.next_due(now=at(1)) == at(3600)
    assert inbox(store, "i1", now=at(3600)) == [(fired, at(3600), "i1-x1")]


def test_commit_episode_delivers_messages_to_other_unfinished_instances(store: Store) -> None:
    last_pending = sorted(UNFINISHED, key=lambda status: status is RuntimeStatus.PENDING)
    starts = {
        instance_id: reach(store, instance_id, status)
        for instance_id, status in zip("abcd", last_pending, strict=True)
    }
    create(store, "i1", now=at(1), visible_at=at(-1))  # taken before the PENDING "d"
    events = {instance_id: raised(f"to-{instance_id}") for instance_id in "abcd"}
    messages = tuple(
        NewMessage(instance_id=instance_id, event=event, visible_at=at(2), execution_id="x")
        for instance_id, event in events.items()
    )

    commit(store, take(store, now=at(1)), now=at(1), messages=messages)

    assert inboxes(store, now=at(2)) == {
        "a": [(events["a"], at(2), "x")],
        "b": [(events["b"], at(2), "x")],
        "c": [(events["c"], at(2), "x")],
        "d": [(starts["d"], T0, "d-x1"), (events["d"], at(2), "x")],  # "d" is still PENDING
    }


def test_commit_episode_drops_messages_to_unknown_instances(store: Store) -> None:
    create(store, "i1")
    ghost = NewMessage(instance_id="ghost", event=raised(), visible_at=T0)

    commit(store, take(store, now=T0), messages=(ghost,))

    assert store.get_instance("ghost") is None
    assert store.next_due(now=T0) is None


@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_commit_episode_drops_messages_to_finished_instances(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "done", status)
    create(store, "i1", now=at(1))
    late = NewMessage(instance_id="done", event=raised(), visible_at=at(1))

    commit(store, take(store, now=at(1)), now=at(1), messages=(late,))

    assert store.next_due(now=at(1)) is None


def test_commit_episode_creates_sub_orchestration_as_pending_instance(store: Store) -> None:
    create(store, "i1")
    child = started("c1", name="ship", input={"box": 1}, timestamp=at(5), parent=PARENT)

    commit(store, take(store, now=T0), now=at(5), sub_orchestrations=(child,))

    assert store.get_instance("c1") == InstanceStatus(
        instance_id="c1",
        name="ship",
        status=RuntimeStatus.PENDING,
        created_at=at(5),
        last_updated_at=at(5),
        execution_id="c1-x1",
        input={"box": 1},
        parent_instance_id="i1",
    )
    assert inbox(store, "c1", now=at(5)) == [(child, at(5), "c1-x1")]


def test_commit_episode_refuses_a_sub_orchestration_without_parent_and_changes_nothing(
    store: Store,
) -> None:
    create(store, "i1")
    item = take(store, now=T0)
    history = store.get_history("i1")
    orphan = started("c1", name="ship", timestamp=at(5))

    with pytest.raises(InvalidArgumentError, match="sub-orchestration 'c1' has no parent"):
        commit(store, item, now=at(5), sub_orchestrations=(orphan,))

    assert store.get_instance("c1") is None
    assert store.get_history("i1") == history
    store.release_orchestration(item)  # the lease was still held: the messages wait
    assert [event for event, _, _ in inbox(store, "i1", now=at(5))] == [
        message.event for message in item.messages
    ]


@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_commit_episode_replaces_finished_instance_with_sub_orchestration(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "c1", status, input="old")
    create(store, "i1", now=at(1))
    child = started("c1", execution_id="c1-x2", input="new", timestamp=at(5), parent=PARENT)

    commit(store, take(store, now=at(1)), now=at(5), sub_orchestrations=(child,))

    status_now = store.get_instance("c1")
    assert status_now is not None
    assert (status_now.status, status_now.input, status_now.execution_id) == (
        RuntimeStatus.PENDING,
        "new",
        "c1-x2",
    )
    assert store.get_history("c1") == []
    assert inbox(store, "c1", now=at(5)) == [(child, at(5), "c1-x2")]


@pytest.mark.parametrize("status", UNFINISHED, ids=lambda status: status.value)
def test_commit_episode_fails_sub_orchestration_when_unfinished_instance_has_its_id(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "c1", status, input="theirs")
    before = (store.get_instance("c1"), store.get_history("c1"))
    if status is RuntimeStatus.PENDING:
        take(store, now=T0, owner="holds-c1")  # so that i1 is taken below
    create(store, "i1", now=at(1))
    child = started("c1", execution_id="c1-x2", input="mine", timestamp=at(5), parent=PARENT)

    commit(store, take(store, now=at(1)), now=at(5), sub_orchestrations=(child,))

    assert (store.get_instance("c1"), store.get_history("c1")) == before
    message = (
        f"instance 'c1' already exists and is {status.value}: it has not finished "
        "(wait for it or terminate it first)"
    )
    failure = FailureDetails(
        type_name="InstanceExistsError",
        message=message,
        base_type_names=("DurableError", "Exception", "BaseException"),
    )
    failed = SubOrchestrationFailed(timestamp=at(5), seq=4, failure=failure)
    assert inbox(store, "i1", now=at(5)) == [(failed, at(5), "i1-x1")]


def test_commit_episode_delivers_messages_to_sub_orchestration_it_creates(store: Store) -> None:
    create(store, "i1")
    child = started("c1", timestamp=at(5), parent=PARENT)
    event = raised("hello")
    hello = NewMessage(instance_id="c1", event=event, visible_at=at(5))

    commit(store, take(store, now=T0), now=at(5), sub_orchestrations=(child,), messages=(hello,))

    assert inbox(store, "c1", now=at(5)) == [(child, at(5), "c1-x1"), (event, at(5), None)]


def test_commit_episode_clears_unconsumed_messages_when_clear_inbox(store: Store) -> None:
    create(store, "i1")
    send(store, "i1", "before-take", visible_at=at(100))
    item = take(store, now=T0)
    send(store, "i1", "after-take", visible_at=T0)

    commit(store, item, status=RuntimeStatus.TERMINATED, completed_at=T0, clear_inbox=True)

    assert store.next_due(now=T0) is None


def test_commit_episode_keeps_its_own_new_messages_when_clear_inbox(store: Store) -> None:
    create(store, "i1")
    send(store, "i1", "dropped", visible_at=T0)
    item = take(store, now=T0)
    carried = raised("carried")
    restart = started("i1", execution_id="i1-x2", timestamp=at(1))
    again = NewMessage(instance_id="i1", event=carried, visible_at=at(1), execution_id="i1-x2")

    commit(
        store,
        item,
        now=at(1),
        consumed=(item.messages[0].id,),
        reset_history=True,
        history=(restart, ContinuedAsNew(timestamp=at(1))),
        execution_id="i1-x2",
        status=RuntimeStatus.CONTINUED_AS_NEW,
        clear_inbox=True,
        messages=(again,),
    )

    assert inbox(store, "i1", now=at(1)) == [(carried, at(1), "i1-x2")]


def test_commit_episode_releases_the_lock(store: Store) -> None:
    create(store, "i1")
    commit(store, take(store, now=T0, lease=LEASE))
    event = send(store, "i1", "next", visible_at=T0)

    assert [message.event for message in take(store, now=T0).messages] == [event]


def test_commit_episode_keeps_execution_started_type_in_history(store: Store) -> None:
    start = create(store, "i1", input={"a": [1, {"b": None}]}, tags={"team": "billing"})

    commit(store, take(store, now=T0))

    (stored,) = store.get_history("i1")
    assert isinstance(stored, ExecutionStarted)
    assert stored == start
