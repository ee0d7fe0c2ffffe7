"""`ActivityRun`: the activity tasks one slot of a worker's activity lane works through.

Usually one task. A chain of sync activities runs faster as one run: the pool
thread that ran a step delivers its result itself, with the instance's next
episode (a continuation), and when that episode leases it the next sync
activity, runs it at once in the same slot. A step then never waits for the
event loop or the I/O thread to wake up. A step whose result the loop
delivered in a batch (the I/O thread was busy) goes on in the same run too.

The run is shared by the pool thread that works it and the loop that owns
the slot, so what it holds is read and changed under its lock: the task whose
lease it holds (`current`), the tasks its last delivery leased to the worker
and left for the loop to start (`leftover`), and whether the worker abandoned
it (an abrupt stop). An abandoned run delivers nothing more, and whoever
abandons it gives back every lease it still holds.
"""

from __future__ import annotations

import threading

from durable._store.protocol import ActivityWorkItem

__all__ = ["ActivityRun"]


class ActivityRun:
    """The tasks one activity slot works through, starting with `first`."""

    def __init__(self, first: ActivityWorkItem) -> None:
        self.lock = threading.Lock()
        self.current: ActivityWorkItem | None = first
        self.leftover: tuple[ActivityWorkItem, ...] = ()
        self.abandoned = False

    def advance(self, leased: tuple[ActivityWorkItem, ...], *, carry_on: bool) -> None:
        """The current task's result was delivered, leasing `leased` (under `lock`).

        With `carry_on`, the run goes on with the one task leased; otherwise the
        leased tasks are left for the loop to start.
        """
        if carry_on:
            (self.current,) = leased
            self.leftover = ()
        else:
            self.current = None
            self.leftover = leased

    def take_leftover(self) -> tuple[ActivityWorkItem, ...]:
        """The tasks left for the loop to start; the run no longer holds them."""
        with self.lock:
            leftover, self.leftover = self.leftover, ()
        return leftover

    def abandon(self) -> tuple[tuple[ActivityWorkItem, ...], tuple[ActivityWorkItem, ...]]:
        """Deliver nothing more; the leases still held: the current task's and the leftover."""
        with self.lock:
            self.abandoned = True
            current = () if self.current is None else (self.current,)
            leftover, self.leftover = self.leftover, ()
        return current, leftover
