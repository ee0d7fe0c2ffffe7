"""Contract: `rewind_instance`, and the children an episode commit rewinds (`rewound_children`)."""

from __future__ import annotations

from typing import Any

import pytest

from durable._model.events import ExecutionRewound, ParentInstance, TaskCompleted
from durable._model.failures import FailureDetails
from durable._model.status import InstanceStatus, RuntimeStatus
from durable._store.protocol import ChildRewind, NewActivityTask, NewMessage, Store
from durable.errors import InstanceNotFailedError, InstanceNotFoundError
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
    started,
    take,
)

FAILURE = FailureDetails(type_name="ValueError", message="boom", base_type_names=("Exception",))
PARENT = ParentInstance(instance_id="i1", execution_id="i1-x1", name="wf", seq=4)
NOT_FAILED = [status for status in (*FINISHED, *UNFINISHED) if status is not RuntimeStatus.FAILED]


def fail(store: Store, instance_id: str, *, now: Any = T0, tasks: int = 0, **fields: Any) -> None:
    """Create an instance and commit its first episode as FAILED, with output and failure.

    The episode leaves `tasks` activity tasks behind, as a failing fan-out does.
    """
    create(store, instance_id, now=now, **fields)
    item = take(store, now=now)
    assert item.instance.instance_id == instance_id
    activities = tuple(
        NewActivityTask(
            instance_id=instance_id,
            execution_id=item.instance.execution_id,
            seq=seq,
            name="work",
            input=seq,
            visible_at=now,
        )
        for seq in range(tasks)
    )
    commit(
        store,
        item,
        now=now,
        status=RuntimeStatus.FAILED,
        output="partial",
        failure=FAILURE,
        completed_at=now,
        clear_inbox=True,
        activities=activities,
    )


def rewound(reason: str | None = "retry", *, timestamp: Any = T0) -> ExecutionRewound:
    return ExecutionRewound(timestamp=timestamp, reason=reason)


def snapshot(store: Store, instance_id: str, *, now: Any) -> tuple[Any, ...]:
    """Everything stored about an instance: row, history and visible messages."""
    return (
        store.get_instance(instance_id),
        store.get_history(instance_id),
        inbox(store, instance_id, now=now),
    )


# -- rewind_instance -------------------------------------------------------------------------


def test_rewind_instance_puts_a_failed_instance_back_to_pending(store: Store) -> None:
    fail(store, "i1", input={"n": 1})
    history = store.get_history("i1")
    event = rewound(timestamp=at(5))

    store.rewind_instance("i1", event, now=at(6))

    assert store.get_instance("i1") == InstanceStatus(
        instance_id="i1",
        name="wf",
        status=RuntimeStatus.PENDING,
        created_at=T0,
        last_updated_at=at(6),
        execution_id="i1-x1",
        input={"n": 1},
    )
    assert store.get_history("i1") == history
    assert inbox(store, "i1", now=at(6)) == [(event, at(6), "i1-x1")]


def test_rewind_instance_deletes_the_tasks_left_so_their_results_are_dropped(
    store: Store,
) -> None:
    fail(store, "i1", tasks=2)
    running = store.take_activity(now=T0, lease=LEASE, owner="w1")
    assert running is not None

    store.rewind_instance("i1", rewound(), now=at(1))
    store.complete_activity(running, TaskCompleted(timestamp=at(2), seq=running.seq), now=at(2))

    assert store.take_activity(now=at(2), lease=LEASE, owner="w1") is None
    assert inbox(store, "i1", now=at(2)) == [(rewound(), at(1), "i1-x1")]


def test_rewind_instance_message_is_taken_like_any_other(store: Store) -> None:
    fail(store, "i1")
    store.rewind_instance("i1", rewound(), now=at(1))

    item = take(store, now=at(1))

    assert item.instance.status is RuntimeStatus.PENDING
    assert [message.event for message in item.messages] == [rewound()]
    assert item.history_length == len(store.get_history("i1"))


def test_rewind_instance_of_unknown_id_raises(store: Store) -> None:
    with pytest.raises(InstanceNotFoundError, match="'nope'"):
        store.rewind_instance("nope", rewound(), now=T0)
    assert store.get_instance("nope") is None


@pytest.mark.parametrize("status", NOT_FAILED, ids=lambda status: status.value)
def test_rewind_instance_refuses_an_instance_that_has_not_failed_and_changes_nothing(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "i1", status)
    before = snapshot(store, "i1", now=T0)

    with pytest.raises(InstanceNotFailedError) as raised_error:
        store.rewind_instance("i1", rewound(), now=at(1))

    assert (raised_error.value.instance_id, raised_error.value.status) == ("i1", status.value)
    assert f"it is {status.value}" in str(raised_error.value)
    assert snapshot(store, "i1", now=T0) == before


def test_rewind_instance_twice_refuses_the_second(store: Store) -> None:
    fail(store, "i1")
    store.rewind_instance("i1", rewound("first"), now=at(1))

    with pytest.raises(InstanceNotFailedError, match="PENDING"):
        store.rewind_instance("i1", rewound("second"), now=at(2))

    assert inbox(store, "i1", now=at(2)) == [(rewound("first"), at(1), "i1-x1")]


def test_rewind_instance_calls_listeners(store: Store) -> None:
    fail(store, "i1")
    calls: list[str] = []
    store.add_listener(lambda: calls.append("called"))

    store.rewind_instance("i1", rewound(), now=at(1))

    assert calls == ["called"]
    assert store.next_due(now=at(1)) == at(1)


# -- rewound_children ------------------------------------------------------------------------


def child_rewind(execution_id: str = "c1-x2", *, input: Any = "again") -> ChildRewind:
    return ChildRewind(
        started=started(
            "c1", execution_id=execution_id, input=input, timestamp=at(5), parent=PARENT
        ),
        rewound=ExecutionRewound(timestamp=at(5), reason="rewound with its parent 'i1'"),
    )


def test_commit_episode_rewinds_a_failed_child(store: Store) -> None:
    fail(store, "c1", input="first", parent=PARENT, tasks=1)
    history = store.get_history("c1")
    create(store, "i1", now=at(1))
    rewind = child_rewind()

    commit(store, take(store, now=at(1)), now=at(5), rewound_children=(rewind,))

    child = store.get_instance("c1")
    assert child is not None
    assert (child.status, child.failure, child.output, child.completed_at) == (
        RuntimeStatus.PENDING,
        None,
        None,
        None,
    )
    assert (child.input, child.execution_id, child.last_updated_at) == ("first", "c1-x1", at(5))
    assert store.get_history("c1") == history
    assert inbox(store, "c1", now=at(5)) == [(rewind.rewound, at(5), "c1-x1")]
    assert store.take_activity(now=at(5), lease=LEASE, owner="w1") is None


@pytest.mark.parametrize(
    "status", [RuntimeStatus.COMPLETED, RuntimeStatus.TERMINATED], ids=lambda status: status.value
)
def test_commit_episode_starts_a_child_that_finished_otherwise_again(
    store: Store, status: RuntimeStatus
) -> None:
    reach(store, "c1", status, input="old")
    create(store, "i1", now=at(1))
    rewind = child_rewind()

    commit(store, take(store, now=at(1)), now=at(5), rewound_children=(rewind,))

    child = store.get_instance("c1")
    assert child is not None
    assert (child.status, child.input, child.execution_id) == (
        RuntimeStatus.PENDING,
        "again",
        "c1-x2",
    )
    assert store.get_history("c1") == []
    assert inbox(store, "c1", now=at(5)) == [(rewind.started, at(5), "c1-x2")]


def test_commit_episode_starts_a_missing_child_again(store: Store) -> None:
    create(store, "i1")
    rewind = child_rewind()

    commit(store, take(store, now=T0), now=at(5), rewound_children=(rewind,))

    child = store.get_instance("c1")
    assert child is not None
    assert (child.status, child.parent_instance_id) == (RuntimeStatus.PENDING, "i1")
    assert inbox(store, "c1", now=at(5)) == [(rewind.started, at(5), "c1-x2")]


@pytest.mark.parametrize("status", UNFINISHED, ids=lambda status: status.value)
def test_commit_episode_leaves_a_running_child_alone(store: Store, status: RuntimeStatus) -> None:
    reach(store, "c1", status, input="theirs")
    before = snapshot(store, "c1", now=T0)
    if status is RuntimeStatus.PENDING:
        take(store, now=T0, owner="holds-c1")  # so that i1 is taken below
    create(store, "i1", now=at(1))

    commit(store, take(store, now=at(1)), now=at(5), rewound_children=(child_rewind(),))

    if status is RuntimeStatus.PENDING:
        assert (store.get_instance("c1"), store.get_history("c1")) == before[:2]
    else:
        assert snapshot(store, "c1", now=T0) == before
    assert inbox(store, "i1", now=at(5)) == []  # no refusal: the child's answer is on the way


def test_commit_episode_delivers_messages_to_a_child_after_its_rewind(store: Store) -> None:
    fail(store, "c1", parent=PARENT)
    create(store, "i1", now=at(1))
    rewind = child_rewind()
    hello = NewMessage(instance_id="c1", event=raised("hello"), visible_at=at(5))

    commit(store, take(store, now=at(1)), now=at(5), rewound_children=(rewind,), messages=(hello,))

    assert inbox(store, "c1", now=at(5)) == [
        (rewind.rewound, at(5), "c1-x1"),
        (raised("hello"), at(5), None),
    ]
