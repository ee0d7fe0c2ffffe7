"""Contract: threads racing for work each get different work (the store is thread-safe)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from durable._store.protocol import NewActivityTask, Store
from tests.contract.helpers import LEASE, T0, commit, create, take

if TYPE_CHECKING:
    from collections.abc import Callable

THREADS = 8


def race(work: Callable[[], str | None]) -> list[str]:
    """Run `work` in several threads, each until it returns None; everything they got."""
    start = threading.Barrier(THREADS)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            while (result := work()) is not None:
                got.append(result)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    assert errors == []
    return got


def test_take_orchestration_gives_each_instance_to_one_thread(store: Store) -> None:
    expected = [f"i{n:02d}" for n in range(40)]
    for instance_id in expected:
        create(store, instance_id)

    def take_one() -> str | None:
        item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
        return None if item is None else item.instance.instance_id

    assert sorted(race(take_one)) == expected


def test_take_activity_gives_each_task_to_one_thread(store: Store) -> None:
    create(store, "i1")
    tasks = tuple(
        NewActivityTask(
            instance_id="i1", execution_id="i1-x1", seq=seq, name="a", input=seq, visible_at=T0
        )
        for seq in range(40)
    )
    commit(store, take(store, now=T0), activities=tasks)

    def take_one() -> str | None:
        item = store.take_activity(now=T0, lease=LEASE, owner="a")
        return None if item is None else str(item.seq)

    assert sorted(race(take_one), key=int) == [str(seq) for seq in range(40)]
