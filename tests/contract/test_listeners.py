"""Contract: listeners are called after every change that may add work, outside the store's lock."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from durable._model.events import TaskCompleted
from durable._store.protocol import NewActivityTask, Store
from tests.contract.helpers import LEASE, T0, at, commit, create, send, take

if TYPE_CHECKING:
    from collections.abc import Callable


def test_add_listener_calls_back_after_each_change_that_adds_work(store: Store) -> None:
    calls: list[str] = []
    store.add_listener(lambda: calls.append("called"))
    seen = []

    def step(name: str, action: Callable[[], object]) -> None:
        action()
        seen.append((name, len(calls)))

    step("create_instance", lambda: create(store, "i1"))
    step("send_message", lambda: send(store, "i1"))
    step("release_orchestration", lambda: store.release_orchestration(take(store, now=T0)))
    item = take(store, now=T0)
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=1, name="a", input=None, visible_at=T0
    )
    step("commit_episode", lambda: commit(store, item, activities=(task,)))
    first = store.take_activity(now=T0, lease=LEASE, owner="a")
    assert first is not None
    step("release_activity", lambda: store.release_activity(first, now=at(1)))
    second = store.take_activity(now=at(1), lease=LEASE, owner="a")
    assert second is not None
    result = TaskCompleted(timestamp=at(2), seq=1)
    step("complete_activity", lambda: store.complete_activity(second, result, now=at(2)))

    assert seen == [
        ("create_instance", 1),
        ("send_message", 2),
        ("release_orchestration", 3),
        ("commit_episode", 4),
        ("release_activity", 5),
        ("complete_activity", 6),
    ]


def test_add_listener_calls_every_listener(store: Store) -> None:
    calls: list[int] = []
    store.add_listener(lambda: calls.append(1))
    store.add_listener(lambda: calls.append(2))

    create(store, "i1")

    assert sorted(calls) == [1, 2]


def test_add_listener_remover_stops_calls(store: Store) -> None:
    calls: list[str] = []
    remove = store.add_listener(lambda: calls.append("called"))
    create(store, "i1")

    remove()
    send(store, "i1")

    assert calls == ["called"]


def test_add_listener_calls_back_outside_the_lock(store: Store) -> None:
    seen: list[object] = []
    store.add_listener(lambda: seen.append(store.next_due(now=T0)))
    worker = threading.Thread(target=lambda: create(store, "i1"), daemon=True)

    worker.start()
    worker.join(timeout=10)

    assert not worker.is_alive(), "the listener deadlocked on the store's lock"
    assert seen == [T0]
