"""Contract: a hypothesis state machine drives a store and checks it against a small model.

The model keeps, per instance, its status, execution id, history, inbox and
lock, and the activity tasks with their leases. Steps create instances, send
events, take and commit or release orchestrations, take, renew, complete and
release activities, and move time forward. After every step the store must
agree with the model: each take returns exactly the instance, messages or task
the model predicts; rows, histories and `next_due` match; and no message is
consumed twice. Together with the take checks this means no message is lost or
duplicated: each one is in the inbox, or in the history of the one commit that
consumed it, or was dropped on purpose (cleared inbox, replaced instance).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from durable._model.events import (
    EventRaised,
    ExecutionStarted,
    HistoryEvent,
    ParentInstance,
    SubOrchestrationFailed,
    TaskCompleted,
    TaskFailed,
    TimerFired,
)
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from durable._store.protocol import (
    ActivityWorkItem,
    EpisodeCommit,
    NewActivityTask,
    NewMessage,
    OrchestrationWorkItem,
    Store,
)
from durable.errors import (
    InstanceExistsError,
    InstanceFinishedError,
    InstanceNotFoundError,
    LeaseLostError,
)
from tests.contract.helpers import T0

if TYPE_CHECKING:
    from collections.abc import Callable

IDS = ("a", "b")
LEASES = st.sampled_from([timedelta(seconds=10), timedelta(seconds=60)])


@attrs.define(eq=False)
class ModelMessage:
    key: int  # insertion order
    event: HistoryEvent
    visible_at: datetime
    execution_id: str | None

    def view(self) -> tuple[HistoryEvent, datetime, str | None]:
        return self.event, self.visible_at, self.execution_id


@attrs.define(eq=False)
class ModelInstance:
    status: RuntimeStatus
    execution_id: str
    history: list[HistoryEvent] = attrs.field(factory=list)
    inbox: list[ModelMessage] = attrs.field(factory=list)
    lock: tuple[str, datetime] | None = None


@attrs.define(eq=False)
class ModelTask:
    key: int  # insertion order
    instance_id: str
    execution_id: str
    seq: int
    visible_at: datetime
    attempt: int = 0
    lease: tuple[str, datetime] | None = None

    @property
    def due(self) -> datetime:
        return self.visible_at if self.lease is None else self.lease[1]


@attrs.define(eq=False)
class Held:
    """An orchestration work item, with the model's view of what it took."""

    item: OrchestrationWorkItem
    instance: ModelInstance
    messages: list[ModelMessage]


@attrs.define(eq=False)
class HeldTask:
    item: ActivityWorkItem
    task: ModelTask


class StoreMachine(RuleBasedStateMachine):
    """Runs one store against the model; `make` is set by the test."""

    make: Callable[[], Store]

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make()
        self.now = T0
        self.keys = itertools.count(1)
        self.instances: dict[str, ModelInstance] = {}
        self.tasks: list[ModelTask] = []
        self.held: list[Held] = []
        self.held_tasks: list[HeldTask] = []

    # -- clients ----------------------------------------------------------------

    @rule(instance_id=st.sampled_from(IDS), delay=st.sampled_from([0, 0, 30]))
    def create(self, instance_id: str, delay: int) -> None:
        n = next(self.keys)
        event = _started(instance_id, f"{instance_id}-{n}", self.now)
        visible_at = self.now + timedelta(seconds=delay)
        existing = self.instances.get(instance_id)
        if existing is not None and not existing.status.is_terminal:
            with pytest.raises(InstanceExistsError):
                self.store.create_instance(event, now=self.now, visible_at=visible_at)
            return
        self.store.create_instance(event, now=self.now, visible_at=visible_at)
        self._replace(instance_id, event, visible_at)

    @rule(instance_id=st.sampled_from((*IDS, "ghost")), delay=st.sampled_from([0, 10]))
    def send(self, instance_id: str, delay: int) -> None:
        event = EventRaised(timestamp=self.now, name="e", input=next(self.keys))
        message = NewMessage(
            instance_id=instance_id, event=event, visible_at=self.now + timedelta(seconds=delay)
        )
        instance = self.instances.get(instance_id)
        if instance is None:
            with pytest.raises(InstanceNotFoundError):
                self.store.send_message(message)
        elif instance.status.is_terminal:
            with pytest.raises(InstanceFinishedError):
                self.store.send_message(message)
        else:
            self.store.send_message(message)
            self._deliver(instance, event, message.visible_at, None)

    @rule(seconds=st.sampled_from([1, 5, 10, 30, 60]))
    def advance(self, seconds: int) -> None:
        """Move time on, then check the inbox of every instance that became takeable."""
        self.now += timedelta(seconds=seconds)
        self.inspect_every_inbox()

    # -- orchestration workers --------------------------------------------------

    @rule(lease=LEASES)
    def take(self, lease: timedelta) -> None:
        held = self._take(lease)
        if held is not None:
            self.held.append(held)

    def inspect_every_inbox(self) -> None:
        """Take every instance that can be taken, checking its messages, and release it again."""
        taken = []
        while (held := self._take(timedelta(seconds=1))) is not None:
            taken.append(held)
        for held in taken:
            self._release(held)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self._release(self.held.pop(data.draw(st.integers(0, len(self.held) - 1))))

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def commit(self, data: st.DataObject) -> None:
        self._commit(self.held.pop(data.draw(st.integers(0, len(self.held) - 1))), data)

    @rule(lease=LEASES, data=st.data())
    def run_episode(self, lease: timedelta, data: st.DataObject) -> None:
        """A worker's usual cycle: take an orchestration and commit it at once."""
        held = self._take(lease)
        if held is not None:
            self._commit(held, data)

    def _commit(self, held: Held, data: st.DataObject) -> None:
        instance_id = held.item.instance.instance_id
        consumed = held.messages[: data.draw(st.integers(0, len(held.messages)))]
        finish = data.draw(st.sampled_from([False, False, True]))
        target = data.draw(st.sampled_from((*IDS, "ghost", None)))
        child = data.draw(st.sampled_from([i for i in IDS if i != instance_id] + [None]))
        commit = self._episode(
            held,
            consumed,
            finish=finish,
            clear_inbox=finish and data.draw(st.booleans()),
            activity=data.draw(st.sampled_from([None, 0, 15])),  # a task's delay, if any
            timer=data.draw(st.booleans()),
            target=target,
            child=child,
        )
        token = held.instance.lock[0] if held.instance.lock else None
        if held.instance is not self.instances.get(instance_id) or token != held.item.lock_token:
            with pytest.raises(LeaseLostError):
                self.store.commit_episode(held.item, commit)
            return
        self.store.commit_episode(held.item, commit)
        self._apply(held, consumed, commit)

    # -- activity workers -------------------------------------------------------

    @rule(lease=LEASES)
    def take_activity(self, lease: timedelta) -> None:
        held = self._take_activity(lease)
        if held is not None:
            self.held_tasks.append(held)

    @rule(lease=LEASES, fail=st.booleans())
    def run_activity(self, lease: timedelta, fail: bool) -> None:
        """An activity worker's usual cycle: take a task and complete it at once."""
        held = self._take_activity(lease)
        if held is not None:
            self._complete(held, fail=fail)

    @precondition(lambda self: self.held_tasks)
    @rule(data=st.data(), fail=st.booleans())
    def complete_activity(self, data: st.DataObject, fail: bool) -> None:
        index = data.draw(st.integers(0, len(self.held_tasks) - 1))
        self._complete(self.held_tasks.pop(index), fail=fail)

    def _complete(self, held: HeldTask, *, fail: bool) -> None:
        result = _result(held.item.seq, self.now, next(self.keys), fail=fail)
        self.store.complete_activity(held.item, result, now=self.now)
        if held.task in self.tasks:
            self.tasks.remove(held.task)
            instance = self.instances.get(held.task.instance_id)
            if instance is not None and not instance.status.is_terminal:
                self._deliver(instance, result, self.now, held.task.execution_id)

    @precondition(lambda self: self.held_tasks)
    @rule(data=st.data(), lease=LEASES)
    def renew_activity(self, data: st.DataObject, lease: timedelta) -> None:
        index = data.draw(st.integers(0, len(self.held_tasks) - 1))
        held = self.held_tasks[index]
        if not self._leased(held):
            with pytest.raises(LeaseLostError):
                self.store.renew_activity(held.item, now=self.now, lease=lease)
            del self.held_tasks[index]
            return
        renewed = self.store.renew_activity(held.item, now=self.now, lease=lease)
        assert renewed == attrs.evolve(held.item, locked_until=self.now + lease)
        held.item, held.task.lease = renewed, (renewed.lock_token, self.now + lease)

    @precondition(lambda self: self.held_tasks)
    @rule(data=st.data())
    def release_activity(self, data: st.DataObject) -> None:
        held = self.held_tasks.pop(data.draw(st.integers(0, len(self.held_tasks) - 1)))
        self.store.release_activity(held.item, now=self.now)
        if self._leased(held):
            held.task.lease, held.task.visible_at = None, self.now

    # -- invariants -------------------------------------------------------------

    @invariant()
    def rows_and_histories_agree(self) -> None:
        for instance_id in (*IDS, "ghost"):
            status = self.store.get_instance(instance_id)
            instance = self.instances.get(instance_id)
            if instance is None:
                assert status is None
                continue
            assert status is not None
            assert (status.status, status.execution_id) == (instance.status, instance.execution_id)
            assert self.store.get_history(instance_id) == instance.history

    @invariant()
    def next_due_agrees(self) -> None:
        times = [task.due for task in self.tasks]
        for instance in self.instances.values():
            if instance.inbox:
                first = min(message.visible_at for message in instance.inbox)
                times.append(first if instance.lock is None else max(first, instance.lock[1]))
        assert self.store.next_due(now=self.now) == min(times, default=None)

    @invariant()
    def no_message_is_consumed_twice(self) -> None:
        keys = [
            event.input
            for instance_id in self.instances
            for event in self.store.get_history(instance_id)
            if isinstance(event, EventRaised)
        ]
        assert len(keys) == len(set(keys))

    # -- model ------------------------------------------------------------------

    def _take(self, lease: timedelta) -> Held | None:
        """Take an orchestration and check it is the one, with the messages, the model expects."""
        candidates = []
        for instance_id, instance in self.instances.items():
            if instance.lock is not None and instance.lock[1] > self.now:
                continue
            visible = [m for m in instance.inbox if m.visible_at <= self.now]
            if visible:
                oldest = min((m.visible_at, m.key) for m in visible)
                candidates.append((oldest, instance_id, instance, visible))
        item = self.store.take_orchestration(now=self.now, lease=lease, owner="w")
        if not candidates:
            assert item is None
            return None
        _, instance_id, instance, visible = min(candidates, key=lambda c: c[0])
        assert item is not None
        assert item.instance.instance_id == instance_id
        assert [(m.event, m.visible_at, m.execution_id) for m in item.messages] == [
            m.view() for m in visible
        ]
        ids = [message.id for message in item.messages]
        assert ids == sorted(set(ids))
        assert item.history_length == len(instance.history)
        assert (item.instance.status, item.instance.execution_id) == (
            instance.status,
            instance.execution_id,
        )
        assert item.locked_until == self.now + lease
        instance.lock = (item.lock_token, self.now + lease)
        return Held(item, instance, visible)

    def _take_activity(self, lease: timedelta) -> HeldTask | None:
        """Take a task and check it is the one the model expects."""
        ready = [task for task in self.tasks if task.due <= self.now]
        item = self.store.take_activity(now=self.now, lease=lease, owner="a")
        if not ready:
            assert item is None
            return None
        task = min(ready, key=lambda task: (task.visible_at, task.key))
        assert item is not None
        assert (item.instance_id, item.execution_id, item.seq, item.input, item.attempt) == (
            task.instance_id,
            task.execution_id,
            task.seq,
            task.seq,
            task.attempt + 1,
        )
        assert item.locked_until == self.now + lease
        task.attempt, task.lease = item.attempt, (item.lock_token, self.now + lease)
        return HeldTask(item, task)

    def _release(self, held: Held) -> None:
        self.store.release_orchestration(held.item)
        instance = held.instance
        if instance.lock is not None and instance.lock[0] == held.item.lock_token:
            instance.lock = None

    def _episode(
        self,
        held: Held,
        consumed: list[ModelMessage],
        *,
        finish: bool,
        clear_inbox: bool,
        activity: int | None,
        timer: bool,
        target: str | None,
        child: str | None,
    ) -> EpisodeCommit:
        instance_id, execution_id = held.item.instance.instance_id, held.item.instance.execution_id
        n = next(self.keys)
        fire_at = self.now + timedelta(seconds=20)
        messages = []
        if timer:
            fired = TimerFired(timestamp=fire_at, seq=n, fire_at=fire_at)
            messages.append(NewMessage(instance_id=instance_id, event=fired, visible_at=fire_at))
        if target is not None:
            event = EventRaised(timestamp=self.now, name="x", input=n)
            messages.append(NewMessage(instance_id=target, event=event, visible_at=self.now))
        parent = ParentInstance(
            instance_id=instance_id, execution_id=execution_id, name="wf", seq=n
        )
        task = NewActivityTask(
            instance_id=instance_id,
            execution_id=execution_id,
            seq=n,
            name="act",
            input=n,
            visible_at=self.now + timedelta(seconds=activity or 0),
        )
        return EpisodeCommit(
            consumed=tuple(held.item.messages[i].id for i in range(len(consumed))),
            history=tuple(message.event for message in consumed),
            status=RuntimeStatus.COMPLETED if finish else RuntimeStatus.RUNNING,
            updated_at=self.now,
            execution_id=execution_id,
            completed_at=self.now if finish else None,
            activities=(task,) if activity is not None else (),
            messages=tuple(messages),
            sub_orchestrations=(
                (_started(child, f"{child}-{n}", self.now, parent=parent),) if child else ()
            ),
            clear_inbox=clear_inbox,
        )

    def _apply(self, held: Held, consumed: list[ModelMessage], commit: EpisodeCommit) -> None:
        """What the commit does to the model, in the order the store applies it."""
        instance = held.instance
        instance.history.extend(message.event for message in consumed)
        instance.inbox = [m for m in instance.inbox if m not in consumed]
        if commit.clear_inbox:
            instance.inbox = []
        for task in commit.activities:
            self.tasks.append(
                ModelTask(
                    next(self.keys), task.instance_id, task.execution_id, task.seq, task.visible_at
                )
            )
        for started in commit.sub_orchestrations:
            assert started.parent is not None
            existing = self.instances.get(started.instance_id)
            if existing is None or existing.status.is_terminal:
                self._replace(started.instance_id, started, self.now)
            else:
                error = InstanceExistsError(started.instance_id, existing.status.value)
                failure = FailureDetails.from_exception(error)
                failed = SubOrchestrationFailed(
                    timestamp=self.now, seq=started.parent.seq, failure=failure
                )
                self._deliver(instance, failed, self.now, commit.execution_id)
        for message in commit.messages:
            target = self.instances.get(message.instance_id)
            if target is instance or (target is not None and not target.status.is_terminal):
                self._deliver(target, message.event, message.visible_at, message.execution_id)
        instance.status, instance.lock = commit.status, None

    def _replace(self, instance_id: str, started: ExecutionStarted, visible_at: datetime) -> None:
        instance = ModelInstance(RuntimeStatus.PENDING, started.execution_id)
        self.instances[instance_id] = instance
        self.tasks = [task for task in self.tasks if task.instance_id != instance_id]
        self._deliver(instance, started, visible_at, started.execution_id)

    def _deliver(
        self,
        instance: ModelInstance,
        event: HistoryEvent,
        visible_at: datetime,
        execution_id: str | None,
    ) -> None:
        instance.inbox.append(ModelMessage(next(self.keys), event, visible_at, execution_id))

    def _leased(self, held: HeldTask) -> bool:
        lease = held.task.lease
        return held.task in self.tasks and lease is not None and lease[0] == held.item.lock_token


def _started(
    instance_id: str, execution_id: str, now: datetime, *, parent: ParentInstance | None = None
) -> ExecutionStarted:
    return ExecutionStarted(
        timestamp=now,
        name="wf",
        instance_id=instance_id,
        execution_id=execution_id,
        input=execution_id,
        parent=parent,
    )


def _result(seq: int, now: datetime, n: int, *, fail: bool) -> HistoryEvent:
    if fail:
        failure = FailureDetails(type_name="Boom", message=f"failure {n}")
        return TaskFailed(timestamp=now, seq=seq, failure=failure)
    return TaskCompleted(timestamp=now, seq=seq, output=n)


def test_store_agrees_with_model(make_store: Callable[[], Store]) -> None:
    class Machine(StoreMachine):
        make = staticmethod(make_store)

    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=50, stateful_step_count=50, deadline=None, database=None),
    )
