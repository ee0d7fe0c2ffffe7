"""Contract: creating, reading and replacing instances, and client messages."""

from __future__ import annotations

import pytest

from durable._model.events import (
    ExecutionResumed,
    ExecutionSuspended,
    ExecutionTerminated,
    HistoryEvent,
    ParentInstance,
)
from durable._model.status import InstanceStatus, RuntimeStatus
from durable._store.protocol import (
    InstanceQuery,
    InstanceStart,
    Message,
    NewActivityTask,
    NewMessage,
    Store,
)
from durable.errors import InstanceExistsError, InstanceFinishedError, InstanceNotFoundError
from tests.contract.helpers import (
    FINISHED,
    LEASE,
    T0,
    UNFINISHED,
    at,
    commit,
    create,
    inbox,
    raised,
    reach,
    send,
    started,
    take,
)


def test_create_instance_stores_pending_row_from_execution_started(store: Store) -> None:
    parent = ParentInstance(instance_id="p", execution_id="p-x1", name="parent", seq=3)
    event = started(
        "i1",
        name="bill",
        execution_id="x1",
        input={"amount": 5},
        version="2",
        parent=parent,
        scheduled_start=at(60),
    )

    store.create_instance(event, now=at(1), visible_at=at(60))

    assert store.get_instance("i1") == InstanceStatus(
        instance_id="i1",
        name="bill",
        status=RuntimeStatus.PENDING,
        created_at=at(1),
        last_updated_at=at(1),
        execution_id="x1",
        version="2",
        input={"amount": 5},
        scheduled_start=at(60),
        parent_instance_id="p",
    )


def test_create_instance_puts_execution_started_in_inbox(store: Store) -> None:
    event = create(store, "i1", input=[1, 2])

    item = take(store, now=T0)

    assert item.messages == (
        Message(
            id=item.messages[0].id,
            instance_id="i1",
            event=event,
            visible_at=T0,
            execution_id="i1-x1",
        ),
    )
    assert item.history_length == 0


def test_get_instance_returns_none_when_unknown(store: Store) -> None:
    assert store.get_instance("nope") is None


def test_get_history_raises_when_instance_unknown(store: Store) -> None:
    with pytest.raises(InstanceNotFoundError, match="no instance with id 'nope'"):
        store.get_history("nope")


def test_get_history_is_empty_when_instance_never_ran(store: Store) -> None:
    create(store, "i1")

    assert store.get_history("i1") == []


@pytest.mark.parametrize("status", UNFINISHED, ids=lambda status: status.value)
def test_create_instance_raises_when_unfinished_instance_has_id(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "i1", status, input="first")
    before = store.get_instance("i1")

    with pytest.raises(InstanceExistsError, match=f"'i1' already exists and is {status.value}"):
        create(store, "i1", now=at(5), input="second", execution_id="other")

    assert store.get_instance("i1") == before


def test_create_instance_error_names_instance_and_status(store: Store) -> None:
    create(store, "i1")

    with pytest.raises(InstanceExistsError) as caught:
        create(store, "i1")

    assert (caught.value.instance_id, caught.value.status) == ("i1", "PENDING")


@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_create_instance_replaces_finished_instance_with_its_history_inbox_and_tasks(
    store: Store, status: RuntimeStatus
) -> None:
    create(store, "i1", input="old")
    item = take(store, now=T0)
    leftover = NewMessage(instance_id="i1", event=raised("late"), visible_at=at(1))
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=1, name="a", input=None, visible_at=T0
    )
    commit(store, item, status=status, completed_at=T0, messages=(leftover,), activities=(task,))
    assert store.get_history("i1") != []

    new = create(store, "i1", now=at(10), input="new", execution_id="x2")

    assert store.get_instance("i1") == InstanceStatus(
        instance_id="i1",
        name="wf",
        status=RuntimeStatus.PENDING,
        created_at=at(10),
        last_updated_at=at(10),
        execution_id="x2",
        input="new",
    )
    assert store.get_history("i1") == []
    assert inbox(store, "i1", now=at(10)) == [(new, at(10), "x2")]
    assert store.take_activity(now=at(10), lease=LEASE, owner="w") is None


def test_create_instances_makes_each_start_and_refuses_only_those_whose_id_is_taken(
    store: Store,
) -> None:
    reach(store, "running", RuntimeStatus.RUNNING, input="kept")
    running_before = store.get_instance("running")
    reach(store, "done", RuntimeStatus.COMPLETED, input="old")
    starts = [
        InstanceStart(started=started("a", input=1), now=at(5), visible_at=at(5)),
        InstanceStart(started=started("running", input=2), now=at(5), visible_at=at(5)),
        InstanceStart(
            started=started("done", input=3, execution_id="done-x2"), now=at(5), visible_at=at(5)
        ),
        InstanceStart(
            started=started("a", input=4, execution_id="a-x2"), now=at(5), visible_at=at(5)
        ),
        InstanceStart(started=started("b", input=5), now=at(5), visible_at=at(9)),
    ]

    outcomes = store.create_instances(starts)

    assert [None if error is None else (error.instance_id, error.status) for error in outcomes] == [
        None,
        ("running", "RUNNING"),
        None,
        ("a", "PENDING"),
        None,
    ]
    assert store.get_instance("running") == running_before
    assert [
        (status.instance_id, status.status, status.input, status.execution_id, status.created_at)
        for status in map(store.get_instance, ["a", "done", "b"])
        if status is not None
    ] == [
        ("a", RuntimeStatus.PENDING, 1, "a-x1", at(5)),
        ("done", RuntimeStatus.PENDING, 3, "done-x2", at(5)),
        ("b", RuntimeStatus.PENDING, 5, "b-x1", at(5)),
    ]
    assert inbox(store, "a", now=at(5)) == [(starts[0].started, at(5), "a-x1")]
    assert inbox(store, "b", now=at(9)) == [(starts[4].started, at(9), "b-x1")]
    assert store.get_history("done") == []


def test_create_instances_of_none_writes_nothing(store: Store) -> None:
    assert store.create_instances([]) == ()
    assert store.list_instances(InstanceQuery()).instances == ()


def test_create_instance_with_future_visible_at_is_not_takeable_before_then(
    store: Store,
) -> None:
    create(store, "i1", now=T0, visible_at=at(60), scheduled_start=at(60))

    assert store.take_orchestration(now=at(59), lease=LEASE, owner="w") is None
    assert store.next_due(now=at(59)) == at(60)
    assert take(store, now=at(60)).instance.instance_id == "i1"


def test_send_message_appends_to_inbox_in_insertion_order(store: Store) -> None:
    event = create(store, "i1")

    first = send(store, "i1", "a", visible_at=at(2))
    second = send(store, "i1", "b", visible_at=at(1))

    assert inbox(store, "i1", now=at(2)) == [
        (event, T0, "i1-x1"),
        (first, at(2), None),
        (second, at(1), None),
    ]


def test_send_message_keeps_execution_id(store: Store) -> None:
    reach(store, "i1")
    event = raised("e")

    store.send_message(
        NewMessage(instance_id="i1", event=event, visible_at=T0, execution_id="i1-x1")
    )

    assert inbox(store, "i1", now=T0) == [(event, T0, "i1-x1")]


@pytest.mark.parametrize("status", UNFINISHED, ids=lambda status: status.value)
def test_send_message_is_accepted_when_instance_unfinished(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "i1", status)

    event = send(store, "i1", "e", visible_at=at(1))

    assert inbox(store, "i1", now=at(1))[-1] == (event, at(1), None)


def test_send_message_raises_when_instance_unknown(store: Store) -> None:
    with pytest.raises(InstanceNotFoundError, match="no instance with id 'nope'"):
        send(store, "nope")


@pytest.mark.parametrize(
    ("event", "action"),
    [
        (raised("approve"), "raise event 'approve' to"),
        (ExecutionTerminated(timestamp=T0, reason="r"), "terminate"),
        (ExecutionSuspended(timestamp=T0), "suspend"),
        (ExecutionResumed(timestamp=T0), "resume"),
    ],
    ids=["raise", "terminate", "suspend", "resume"],
)
@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_send_message_raises_when_instance_finished(
    store: Store, status: RuntimeStatus, event: HistoryEvent, action: str
) -> None:
    reach(store, "i1", status)
    message = NewMessage(instance_id="i1", event=event, visible_at=T0)

    with pytest.raises(InstanceFinishedError) as caught:
        store.send_message(message)

    assert str(caught.value) == f"cannot {action} instance 'i1': it is already {status.value}"
    assert (caught.value.instance_id, caught.value.status) == ("i1", status.value)
    assert store.take_orchestration(now=T0, lease=LEASE, owner="w") is None
