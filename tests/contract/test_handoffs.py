"""Contract: work a worker hands to itself in the transaction that creates it.

`commit_episode` with a `Claim` leases the commit's first new tasks to the
committer; `complete_activity` with a `Continuation` runs the instance's next
episode and commits it in the transaction that delivers the result.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable._model.events import HistoryEvent, TaskCompleted, TaskScheduled
from durable._model.status import RuntimeStatus
from durable._store.protocol import (
    ActivityWorkItem,
    Claim,
    Completion,
    Continuation,
    EpisodeCommit,
    Handover,
    NewActivityTask,
    OrchestrationWorkItem,
    Store,
    StoredHistory,
)
from durable.errors import InvalidArgumentError
from tests.contract.helpers import (
    FINISHED,
    LEASE,
    T0,
    at,
    create,
    episode,
    inbox,
    send,
    set_status,
    take,
)

SHORT = timedelta(seconds=10)


def tasks(*seqs: int, instance_id: str = "i1") -> tuple[NewActivityTask, ...]:
    return tuple(
        NewActivityTask(
            instance_id=instance_id,
            execution_id=f"{instance_id}-x1",
            seq=seq,
            name=f"act{seq}",
            input={"seq": seq, "items": [seq, "x"]},
            visible_at=T0,
        )
        for seq in seqs
    )


def claim(activities: int, *, now: int = 0, owner: str = "me") -> Claim:
    return Claim(owner=owner, now=at(now), lease=SHORT, activities=activities)


def scheduled_by_me(store: Store, *seqs: int, claimed: int) -> tuple[ActivityWorkItem, ...]:
    """Create i1 and commit its first episode, scheduling `seqs` and claiming some."""
    create(store)
    item = take(store)
    return store.commit_episode(item, episode(item, activities=tasks(*seqs)), claim=claim(claimed))


class Recorder:
    """A continuation's episode: records its calls and commits what the test says."""

    def __init__(self, **fields: object) -> None:
        self.calls: list[tuple[OrchestrationWorkItem, list[HistoryEvent]]] = []
        self.fields = fields

    def __call__(self, item: OrchestrationWorkItem, history: StoredHistory) -> EpisodeCommit:
        self.calls.append((item, history()))
        return episode(item, now=at(5), **self.fields)


def test_claim_leases_the_first_new_tasks_to_the_committer(store: Store) -> None:
    leased = scheduled_by_me(store, 1, 2, 3, claimed=2)

    assert [(item.seq, item.name, item.input) for item in leased] == [
        (1, "act1", {"seq": 1, "items": [1, "x"]}),
        (2, "act2", {"seq": 2, "items": [2, "x"]}),
    ]
    assert all(item.instance_id == "i1" and item.execution_id == "i1-x1" for item in leased)
    assert all(item.attempt == 1 and item.locked_until == at(10) for item in leased)
    assert leased[0].lock_token != leased[1].lock_token
    assert leased[0].id != leased[1].id
    other = store.take_activity(now=at(1), lease=SHORT, owner="other")
    assert other is not None
    assert other.seq == 3
    assert store.take_activity(now=at(1), lease=SHORT, owner="other") is None


def test_claimed_tasks_are_held_under_a_real_lease(store: Store) -> None:
    first, _ = scheduled_by_me(store, 1, 2, claimed=2)

    renewed = store.renew_activity(first, now=at(5), lease=SHORT)
    assert renewed.locked_until == at(15)
    retaken = store.take_activity(now=at(11), lease=SHORT, owner="other")
    assert retaken is not None
    assert (retaken.seq, retaken.attempt) == (2, 2)
    store.complete_activity(first, TaskCompleted(timestamp=at(12), seq=1, output=7), now=at(12))
    assert inbox(store, "i1", now=at(12)) == [
        (TaskCompleted(timestamp=at(12), seq=1, output=7), at(12), "i1-x1")
    ]


@pytest.mark.parametrize("activities", [0, 5])
def test_claim_of_none_or_more_than_scheduled(store: Store, activities: int) -> None:
    leased = scheduled_by_me(store, 1, 2, claimed=activities)

    assert [item.seq for item in leased] == ([1, 2] if activities else [])
    left = store.take_activity(now=at(1), lease=SHORT, owner="other")
    assert (left is None) == bool(activities)


def test_commit_without_claim_leases_nothing(store: Store) -> None:
    create(store)
    item = take(store)

    assert store.commit_episode(item, episode(item, activities=tasks(1))) == ()
    assert store.take_activity(now=T0, lease=SHORT, owner="other") is not None


@pytest.mark.parametrize(
    ("lease", "activities", "message"),
    [
        (timedelta(0), 1, "lease must be a positive duration"),
        (SHORT, -1, "activities must be a non-negative int"),
    ],
)
def test_claim_rejects_bad_values(lease: timedelta, activities: int, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Claim(owner="me", now=T0, lease=lease, activities=activities)


def test_continuation_runs_the_next_episode_in_the_delivering_transaction(store: Store) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    event = send(store, "i1", "poke", {"n": 1}, visible_at=at(1))
    result = TaskCompleted(timestamp=at(5), seq=1, output={"ok": True})
    next_step = TaskScheduled(timestamp=at(5), seq=2, name="act2", input={"seq": 2})
    calls: list[tuple[OrchestrationWorkItem, list[HistoryEvent]]] = []

    def run(item: OrchestrationWorkItem, history: StoredHistory) -> EpisodeCommit:
        calls.append((item, history()))
        events = (*(message.event for message in item.messages), next_step)
        return episode(item, now=at(5), history=events, activities=tasks(2, 3))

    leased = store.complete_activity(
        first, result, now=at(5), then=Continuation(claim=claim(1, now=5), episode=run)
    )

    ((item, history),) = calls
    assert [message.event for message in item.messages] == [event, result]
    assert item.instance.instance_id == "i1"
    assert item.history_length == len(history) == 1  # the ExecutionStarted of episode 1
    assert item.locked_until == at(15)
    assert [(task.seq, task.attempt, task.locked_until) for task in leased] == [(2, 1, at(15))]
    assert store.get_history("i1")[1:] == [event, result, next_step]
    assert inbox(store, "i1", now=at(100)) == []  # consumed, and the instance is unlocked
    other = store.take_activity(now=at(6), lease=SHORT, owner="other")
    assert other is not None
    assert other.seq == 3
    assert store.take_activity(now=at(6), lease=SHORT, owner="other") is None


def test_continuation_is_skipped_while_another_worker_holds_the_instance(store: Store) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    send(store, "i1", "poke", visible_at=at(1))
    holder = take(store, now=at(2), lease=SHORT, owner="holder")
    recorder = Recorder()
    result = TaskCompleted(timestamp=at(5), seq=1, output=1)

    leased = store.complete_activity(
        first, result, now=at(5), then=Continuation(claim=claim(1, now=5), episode=recorder)
    )

    assert leased == ()
    assert recorder.calls == []
    store.release_orchestration(holder)
    assert (result, at(5), "i1-x1") in inbox(store, "i1", now=at(6))


def test_continuation_runs_once_the_holders_lease_has_run_out(store: Store) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    send(store, "i1", "poke", visible_at=at(1))
    take(store, now=at(2), lease=timedelta(seconds=1), owner="crashed")
    recorder = Recorder()

    store.complete_activity(
        first,
        TaskCompleted(timestamp=at(5), seq=1, output=1),
        now=at(5),
        then=Continuation(claim=claim(0, now=5), episode=recorder),
    )

    assert len(recorder.calls) == 1
    assert inbox(store, "i1", now=at(6)) == []


@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_continuation_is_skipped_for_a_finished_instance(
    store: Store, status: RuntimeStatus
) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    set_status(store, "i1", status, now=at(1))
    recorder = Recorder()

    leased = store.complete_activity(
        first,
        TaskCompleted(timestamp=at(5), seq=1, output=1),
        now=at(5),
        then=Continuation(claim=claim(1, now=5), episode=recorder),
    )

    assert (leased, recorder.calls) == ((), [])
    assert store.take_orchestration(now=at(6), lease=LEASE, owner="w") is None


def test_continuation_is_skipped_when_the_task_was_already_delivered(store: Store) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    retaken = store.take_activity(now=at(11), lease=SHORT, owner="other")
    assert retaken is not None
    winner = TaskCompleted(timestamp=at(12), seq=1, output="first")
    store.complete_activity(retaken, winner, now=at(12))
    recorder = Recorder()

    leased = store.complete_activity(
        first,
        TaskCompleted(timestamp=at(13), seq=1, output="late"),
        now=at(13),
        then=Continuation(claim=claim(1, now=13), episode=recorder),
    )

    assert (leased, recorder.calls) == ((), [])
    assert inbox(store, "i1", now=at(14)) == [(winner, at(12), "i1-x1")]


def test_a_failing_continuation_still_delivers_the_result(store: Store) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    history_before = store.get_history("i1")
    result = TaskCompleted(timestamp=at(5), seq=1, output=1)

    def broken(item: OrchestrationWorkItem, history: StoredHistory) -> EpisodeCommit:
        raise RuntimeError("the engine broke")

    with pytest.raises(RuntimeError, match="the engine broke"):
        store.complete_activity(
            first, result, now=at(5), then=Continuation(claim=claim(1, now=5), episode=broken)
        )

    assert store.get_history("i1") == history_before
    assert inbox(store, "i1", now=at(5)) == [(result, at(5), "i1-x1")]  # and it is unlocked
    assert store.take_activity(now=at(100), lease=SHORT, owner="other") is None


def test_a_continuation_wakes_listeners(store: Store) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)
    woken: list[str] = []
    store.add_listener(lambda: woken.append("woken"))

    store.complete_activity(
        first,
        TaskCompleted(timestamp=at(5), seq=1, output=1),
        now=at(5),
        then=Continuation(claim=claim(0, now=5), episode=Recorder(activities=tasks(2))),
    )

    assert woken
    assert store.take_activity(now=at(6), lease=SHORT, owner="other") is not None


def test_complete_activities_applies_each_completion_in_turn(store: Store) -> None:
    create(store, "a")
    create(store, "b")
    for instance_id in ("a", "b"):
        item = take(store)
        assert item.instance.instance_id == instance_id
        store.commit_episode(item, episode(item, activities=tasks(1, 2, instance_id=instance_id)))
    a1, a2, b1, b2 = sorted(
        store.take_activities(now=T0, lease=SHORT, owner="me", limit=4),
        key=lambda item: (item.instance_id, item.seq),
    )
    store.complete_activity(b2, TaskCompleted(timestamp=at(1), seq=2, output="early"), now=at(1))

    def broken(item: OrchestrationWorkItem, history: StoredHistory) -> EpisodeCommit:
        raise RuntimeError("the engine broke")

    def result(seq: int) -> TaskCompleted:
        return TaskCompleted(timestamp=at(5), seq=seq, output=seq)

    recorder = Recorder(activities=tasks(3, instance_id="a"))
    continued = Continuation(claim=claim(1, now=5), episode=recorder)
    failing = Continuation(claim=claim(1, now=5), episode=broken)
    done = store.complete_activities(
        [
            Completion(item=a1, result=result(1)),
            Completion(item=b2, result=result(2)),  # delivered already: a no-op
            Completion(item=a2, result=result(2), then=continued),
            Completion(item=b1, result=result(1), then=failing),
        ],
        now=at(5),
    ).handovers

    assert [(len(each.leased), type(each.error).__name__) for each in done] == [
        (0, "NoneType"),
        (0, "NoneType"),
        (1, "NoneType"),
        (0, "RuntimeError"),
    ]
    ((item, _),) = recorder.calls
    assert [message.event for message in item.messages] == [result(1), result(2)]
    assert done[2].leased[0].seq == 3
    assert inbox(store, "a", now=at(6)) == []
    assert [event for event, _, _ in inbox(store, "b", now=at(6))] == [
        TaskCompleted(timestamp=at(1), seq=2, output="early"),
        result(1),
    ]


def test_complete_activities_rejects_a_result_that_is_not_one_before_changing_anything(
    store: Store,
) -> None:
    (first,) = scheduled_by_me(store, 1, claimed=1)

    with pytest.raises(InvalidArgumentError, match="result must be TaskCompleted or TaskFailed"):
        store.complete_activities(
            [Completion(item=first, result=TaskScheduled(timestamp=T0, seq=9, name="x"))], now=T0
        )

    assert inbox(store, "i1", now=at(1)) == []
    assert store.renew_activity(first, now=at(1), lease=SHORT).seq == 1


def test_complete_activities_then_takes_waiting_tasks_in_the_same_transaction(
    store: Store,
) -> None:
    first, *_ = scheduled_by_me(store, 1, 2, 3, claimed=1)
    result = TaskCompleted(timestamp=at(5), seq=1, output=1)

    delivery = store.complete_activities(
        [Completion(item=first, result=result)], now=at(5), take=claim(1, now=5)
    )

    assert delivery.handovers == (Handover(),)
    ((taken),) = delivery.taken
    assert (taken.seq, taken.attempt, taken.locked_until) == (2, 1, at(15))
    assert store.renew_activity(taken, now=at(6), lease=SHORT).seq == 2
    assert inbox(store, "i1", now=at(6)) == [(result, at(5), "i1-x1")]
    (rest,) = store.take_activities(now=at(6), lease=SHORT, owner="other", limit=5)
    assert rest.seq == 3
