"""The pacing of `Client.wait` and `AsyncClient.wait`: back-off bounded by a deadline."""

from __future__ import annotations

import time
from datetime import timedelta

from durable._model.retry import check_duration
from durable._model.status import InstanceStatus
from durable._worker.clock import Clock
from durable.errors import DeadlineExceededError

__all__ = ["WaitPacer"]

_FIRST_POLL = timedelta(milliseconds=10)
_LAST_POLL = timedelta(seconds=1)


class WaitPacer:
    """How long to sleep between looks at an instance, and when to give up.

    Sleeps double from 10 ms to 1 s (commits in this process wake the waiter
    earlier); the last sleep is cut short at the deadline. Looks are at least
    10 ms apart however often commits wake the waiter, so that a waiter does
    not compete with the worker for the store at every step of a busy instance.
    """

    def __init__(self, clock: Clock, timeout: timedelta | None) -> None:
        if timeout is not None:
            check_duration("timeout", timeout)
        self._clock = clock
        self._timeout = timeout
        self._deadline = clock.now() + timeout if timeout is not None else None
        self._poll = _FIRST_POLL
        self._looked_at = time.monotonic()

    def gap_left(self) -> float:
        """Seconds (real time) to hold back before the next look, to keep looks apart."""
        return max(0.0, self._looked_at + _FIRST_POLL.total_seconds() - time.monotonic())

    def next_pause(self, status: InstanceStatus) -> float:
        """Seconds to sleep before looking again at the unfinished `status`.

        Raises:
            DeadlineExceededError: the timeout has passed.
        """
        self._looked_at = time.monotonic()
        pause = self._poll
        self._poll = min(self._poll * 2, _LAST_POLL)
        if self._deadline is not None:
            left = self._deadline - self._clock.now()
            if left <= timedelta(0):
                raise DeadlineExceededError(
                    f"instance {status.instance_id!r} is still {status.status.value} "
                    f"after {self._timeout}"
                )
            pause = min(pause, left)
        return pause.total_seconds()
