"""Shared helpers of the end-to-end tests (`test_end_to_end_*.py`); it holds no tests.

The end-to-end tests run a real `Worker` over a `MemoryStore` and drive it
with `Client`. Waits are bounded and wake on store commits; nothing sleeps and
nothing asserts on the clock. Tests that need time to move use
`ManualClock`, shared by the worker and the client that sends, and move it
with `advance` followed by `worker.wake()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from durable import Client, InstanceStatus
from durable.history import HistoryEvent
from durable.stores import Store

__all__ = [
    "T0",
    "WAIT",
    "ManualClock",
    "StoreState",
    "finish",
    "store_state",
    "wait_until",
]

T = TypeVar("T")

T0 = datetime(2030, 1, 1, tzinfo=UTC)
"""Where every `ManualClock` starts."""

WAIT = timedelta(seconds=10)
"""The bound on every wait; a test that needs it has failed."""

_PAUSE = 0.05  # the longest pause between looks when no store change wakes us


class ManualClock:
    """A clock that stands still until the test moves it (thread-safe)."""

    def __init__(self, start: datetime = T0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time the test set."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the time forward by `delta`; return the new time."""
        with self._lock:
            self._now += delta
            return self._now


def wait_until(store: Store, check: Callable[[], T | None], *, what: str) -> T:
    """Return the first truthy value of `check()`, looked at after each store change.

    Bounded by `WAIT` on the monotonic clock (a bound, never an assertion); fails
    naming `what`.
    """
    changed = threading.Event()
    remove = store.add_listener(changed.set)
    deadline = time.monotonic() + WAIT.total_seconds()
    try:
        while time.monotonic() < deadline:
            changed.clear()
            value = check()
            if value:
                return value
            changed.wait(_PAUSE)
    finally:
        remove()
    raise AssertionError(f"timed out waiting for {what}")


def finish(store: Store, instance_id: str) -> InstanceStatus:
    """Wait for the instance to finish, bounded by `WAIT` on the real clock.

    For tests whose client runs on a `ManualClock`, where a timeout in virtual
    time would never run out.
    """
    return Client(store).wait(instance_id, timeout=WAIT)


StoreState = tuple[tuple[InstanceStatus, ...], dict[str, list[HistoryEvent]]]


def store_state(client: Client) -> StoreState:
    """Every instance row (all pages) and every history, to compare before and after."""
    rows: list[InstanceStatus] = []
    continuation: str | None = None
    while True:
        page = client.list(page_size=2, continuation=continuation)
        rows.extend(page.instances)
        continuation = page.continuation
        if continuation is None:
            break
    histories = {row.instance_id: client.history(row.instance_id) for row in rows}
    return tuple(rows), histories
