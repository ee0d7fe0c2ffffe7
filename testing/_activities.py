"""Running one leased activity task inline, under the simulation's fakes and faults.

Sync activities are called directly; ``async def`` activities (and fakes
that return awaitables) run on a private event loop with
``run_until_complete``, or, when the caller is already inside a running
loop, are stepped by hand as long as they await nothing real. The result
event is stamped with the time the orchestration receives it: the call's
virtual time plus its delay.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import attrs

from durable import App
from durable._store.protocol import ActivityWorkItem
from durable._worker.activities import ActivityCall, prepare_activity
from durable.history import HistoryEvent
from durable.testing._errors import SimulationError
from durable.testing._fakes import ActivityRules, Fake

__all__ = ["ActivityOutcome", "ActivityRunner"]


@attrs.frozen(kw_only=True)
class ActivityOutcome:
    """What running a task produced: the result event, when it is due, and who answered."""

    result: HistoryEvent
    due: datetime
    faked: bool


class ActivityRunner:
    """Runs activity tasks for one simulation; owns its private event loop."""

    def __init__(self, app: App, rules: dict[str, ActivityRules], rng: random.Random) -> None:
        self._app = app
        self._rules = rules
        self._rng = rng
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, item: ActivityWorkItem, now: datetime) -> ActivityOutcome:
        """Call the task's activity (or its fake, or fail it) at virtual time `now`."""
        rules = self._rules.get(item.name)
        due = now + (rules.delay if rules else timedelta(0))
        prepared = self._prepare(item, due, rules)
        if isinstance(prepared, HistoryEvent):
            return ActivityOutcome(result=prepared, due=due, faked=False)
        if rules is not None:
            error = rules.injected_error(self._rng)
            if error is not None:
                return ActivityOutcome(result=prepared.failed(error, due), due=due, faked=True)
            if rules.fake is not None:
                result = self._faked(prepared, rules.fake, due)
                return ActivityOutcome(result=result, due=due, faked=True)
        if prepared.is_async:
            result = self._drive(prepared.run_async(lambda: due))
        else:
            result = prepared.run(lambda: due)
        return ActivityOutcome(result=result, due=due, faked=False)

    def close(self) -> None:
        """Close the private event loop, if one was made."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.close()

    def _prepare(
        self, item: ActivityWorkItem, due: datetime, rules: ActivityRules | None
    ) -> ActivityCall | HistoryEvent:
        if rules is None:
            return prepare_activity(self._app, item, due)
        # A faked activity may be registered by name only (no function here).
        return ActivityCall(self._app, item, self._app.find_activity(item.name))

    def _faked(self, call: ActivityCall, fake: Fake, due: datetime) -> HistoryEvent:
        try:
            value = fake(call.arguments())
            if inspect.isawaitable(value):
                value = self._drive(_awaited(value))
        except SimulationError:
            raise  # the test's setup is wrong; that is not the activity failing
        except Exception as error:
            return call.failed(error, due)
        return call.completed(value, due)

    def _drive(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(coroutine)
        return _step_by_hand(coroutine)


async def _awaited(value: Awaitable[Any]) -> Any:
    return await value


def _step_by_hand(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that awaits nothing real, inside someone else's running loop."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise SimulationError(
        "an async activity awaited real I/O while the simulation was driven from inside a "
        "running event loop; drive the simulation from synchronous code, or fake the activity"
    )
