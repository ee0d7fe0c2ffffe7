"""The one freezegun freezer that gives activity code virtual time.

freezegun patches ``datetime``, ``time`` and every module that imported their
functions; starting it scans all loaded modules (milliseconds), moving it is a
few microseconds. So it is started once, by the first open `Simulation`, and
moved with `move_to` from then on.

It is shared by every open simulation (counted, stopped when the last one
closes) rather than one per simulation: freezegun keeps its fakes on one
process-wide stack, pops the *top* factory on ``stop()`` whoever calls it, and
restores patched modules only through the first freezer started, so two
overlapping freezers would corrupt each other. Each simulation moves the shared
freezer to its own time before it runs code, so overlapping simulations stay
correct. The process-wide state here mirrors the process-wide patch freezegun
makes; nothing else in the harness is global.

`real_asyncio=True` keeps asyncio's loop clock real (a frozen monotonic clock
would stall ``asyncio.sleep`` forever). ``logging`` is ignored, so log records
carry real timestamps and logging is never taken for a clock read in replay;
so is pytest, whose durations and reports must stay in real time.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from freezegun import api as freezegun_api
from freezegun import freeze_time

__all__ = ["SharedFreezer", "freezer"]

_IGNORED = ["logging", "_pytest.timing"]


class SharedFreezer:
    """A counted freezegun freezer: started on first `acquire`, stopped on last `release`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._freezer: Any = None
        self._factory: Any = None

    @property
    def active(self) -> bool:
        """Whether time is frozen by this freezer now."""
        return self._users > 0

    def acquire(self, when: datetime) -> None:
        """Start freezing (if no simulation does yet) and move the frozen time to `when`."""
        with self._lock:
            if self._users == 0:
                self._freezer = freeze_time(_naive(when), ignore=_IGNORED, real_asyncio=True)
                self._factory = self._freezer.start()
            self._users += 1
        self.move_to(when)

    def release(self) -> None:
        """Stop freezing once the last simulation lets go."""
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users == 0:
                freezer, self._freezer, self._factory = self._freezer, None, None
                freezer.stop()

    def move_to(self, when: datetime) -> None:
        """Show `when` to every clock read from now on."""
        factory = self._factory
        if factory is not None:
            factory.move_to(_naive(when))

    @contextlib.contextmanager
    def reads_reported(self, fake_now: datetime, report: Callable[[str], None]) -> Iterator[None]:
        """Within the block, answer clock reads with `fake_now` and `report` each one."""
        factories: list[Any] = freezegun_api.freeze_factories
        if not factories:
            yield
            return
        top = factories[-1]
        factories[-1] = _ReportingFactory(_naive(fake_now), report)
        try:
            yield
        finally:
            factories[-1] = top


class _ReportingFactory:
    """Stands in for freezegun's factory: the time it returns, and who asked."""

    def __init__(self, when: datetime, report: Callable[[str], None]) -> None:
        self._when = when
        self._report = report

    def __call__(self) -> datetime:
        self._report(_reader())
        return self._when


_READERS = {
    "now": "datetime.now()",
    "utcnow": "datetime.utcnow()",
    "today": "date.today()",
    "fake_time": "time.time()",
    "fake_time_ns": "time.time_ns()",
    "fake_monotonic": "time.monotonic()",
    "fake_monotonic_ns": "time.monotonic_ns()",
    "fake_perf_counter": "time.perf_counter()",
    "fake_perf_counter_ns": "time.perf_counter_ns()",
    "fake_localtime": "time.localtime()",
    "fake_gmtime": "time.gmtime()",
    "fake_strftime": "time.strftime()",
}


def _reader() -> str:
    """The clock function user code called, and where: the frames just outside freezegun."""
    current: FrameType | None = sys._getframe(2)
    reader = "the clock"
    while current is not None and current.f_globals.get("__name__", "").startswith(
        ("freezegun", __name__)
    ):
        reader = _READERS.get(current.f_code.co_name, reader)
        current = current.f_back
    if current is None:
        return reader
    return f"{reader} at {current.f_code.co_filename}:{current.f_lineno}"


def _naive(when: datetime) -> datetime:
    """freezegun keeps naive UTC times."""
    return when.astimezone(UTC).replace(tzinfo=None)


freezer = SharedFreezer()
"""The process's one shared freezer."""
