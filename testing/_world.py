"""The process-wide sources of nondeterminism a simulation takes over while it runs code.

While a `Simulation` runs work (`entered`), user code sees:

- virtual time: ``datetime.now()``, ``datetime.utcnow()``, ``time.time()`` and
  the rest of freezegun's fakes show the simulation's clock;
- a seeded global ``random``: the module's state is swapped for the
  simulation's own on entry and back on exit, so activities and orchestrators
  that draw from it repeat under the same seed, and the test's own draws are
  left alone;
- a seeded ``uuid.uuid4`` (module attribute; ``from uuid import uuid4`` taken
  before the simulation keeps the real one).

While the replay check re-runs orchestrator code (`checking`), every read of
the clock, of the ``random`` module's functions and of ``uuid.uuid4``/``uuid1``
is reported, and answered from a different moment and a different stream, so
that code deciding on such values is caught even where a read slips past.
Garbage collection is paused meanwhile: gc callbacks that time themselves
would otherwise pass for reads by the orchestrator.
"""

from __future__ import annotations

import contextlib
import gc
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from durable.testing._freezer import freezer

__all__ = ["World"]

_ELSEWHEN = timedelta(days=3652, hours=12, minutes=34, seconds=56, microseconds=789_012)
"""How far from the simulation's time the replay check's clock reads answer."""

_GLOBAL_RANDOM = getattr(random, "_inst")  # noqa: B009 - the instance behind random.random & co
_RANDOM_FUNCTIONS = sorted(
    name
    for name, value in vars(random).items()
    if not name.startswith("_") and getattr(value, "__self__", None) is _GLOBAL_RANDOM
)


class World:
    """A simulation's clock, random state and uuid stream, put in place while it runs code."""

    def __init__(self, *, seed: int, start: datetime) -> None:
        self._random_state = random.Random(_stream(seed, "random")).getstate()
        self._ids = random.Random(_stream(seed, "ids"))
        self._check = random.Random(_stream(seed, "check"))
        self._now = start
        self._depth = 0
        self._open = True
        freezer.acquire(start)

    def close(self) -> None:
        """Let go of the shared freezer (idempotent)."""
        if self._open:
            self._open = False
            freezer.release()

    def new_id(self) -> str:
        """A seeded random id (hex UUID): execution ids, default instance ids."""
        return self._uuid4().hex

    def move_to(self, when: datetime) -> None:
        """The simulation's clock moved: show the new time to clock reads."""
        self._now = when
        freezer.move_to(when)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the block with this simulation's time, random state and uuid4 (re-entrant)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        freezer.move_to(self._now)
        saved_state, saved_uuid4 = random.getstate(), uuid.uuid4
        random.setstate(self._random_state)
        setattr(uuid, "uuid4", self._uuid4)  # noqa: B010 - mypy refuses assigning a function
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._random_state = random.getstate()
            random.setstate(saved_state)
            setattr(uuid, "uuid4", saved_uuid4)  # noqa: B010

    @contextlib.contextmanager
    def checking(self, report: Callable[[str], None]) -> Iterator[None]:
        """Within the block, report reads of the clock, ``random`` and uuid4/uuid1."""
        saved_state = random.getstate()
        random.seed(self._check.getrandbits(64))
        patches = {
            name: _reporting(name, getattr(random, name), report) for name in _RANDOM_FUNCTIONS
        }
        patches_uuid = {
            "uuid4": _reporting("uuid4", self._check_uuid, report, module="uuid"),
            "uuid1": _reporting("uuid1", self._check_uuid, report, module="uuid"),
        }
        saved = {name: getattr(random, name) for name in patches}
        saved_uuid = {name: getattr(uuid, name) for name in patches_uuid}
        # A garbage collection run here would call gc callbacks (hypothesis times
        # them with perf_counter) as if the orchestrator read the clock.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for name, function in patches.items():
                setattr(random, name, function)
            for name, function in patches_uuid.items():
                setattr(uuid, name, function)
            with freezer.reads_reported(self._now + _ELSEWHEN, report):
                yield
        finally:
            for name, function in saved.items():
                setattr(random, name, function)
            for name, function in saved_uuid.items():
                setattr(uuid, name, function)
            random.setstate(saved_state)
            if collecting:
                gc.enable()

    def _uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self._ids.getrandbits(128), version=4)

    def _check_uuid(self, *_: Any, **__: Any) -> uuid.UUID:
        return uuid.UUID(int=self._check.getrandbits(128), version=4)


def _stream(seed: int, purpose: str) -> str:
    """A seed for one purpose; str seeds hash with SHA-512, the same in every process."""
    return f"durable.testing:{seed}:{purpose}"


def _reporting(
    name: str,
    function: Callable[..., Any],
    report: Callable[[str], None],
    *,
    module: str = "random",
) -> Callable[..., Any]:
    def reporting(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1)
        report(f"{module}.{name}() at {caller.f_code.co_filename}:{caller.f_lineno}")
        return function(*args, **kwargs)

    return reporting
