"""`Simulation`: the real engine and store under virtual time, driven by a seeded scheduler.

The public face of the harness. It checks arguments, keeps the fakes and
fault rules, and hands the running to `Scheduler`. Every method that runs
code does so inside the simulation's `World` (virtual time, seeded
``random`` and ``uuid4``), so the same seed gives the same run, bit for bit.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from durable import App, Client, InstanceStatus
from durable._store.memory import MemoryStore
from durable.errors import InvalidArgumentError
from durable.history import HistoryEvent
from durable.testing._calls import ActivityCallRecord
from durable.testing._clock import VirtualClock, resolve_when
from durable.testing._errors import SimulationError
from durable.testing._fakes import ActivityRules, ErrorSpec, make_fake
from durable.testing._scheduler import Scheduler
from durable.testing._world import World

__all__ = ["DEFAULT_START", "Simulation"]

DEFAULT_START = datetime(2030, 1, 1, tzinfo=UTC)
"""Where a simulation's clock starts unless told otherwise."""

_MISSING: Any = object()


class Simulation:
    """An app's orchestrations run in simulated time, deterministically, in one thread.

    Start instances, fake activities or inject failures, raise events, then
    `advance` the clock or `run_until_idle`; read statuses, histories and the
    log of activity calls. Use it as a context manager (or through the pytest
    fixture ``simulation``): while it is open, ``datetime.now()`` and
    ``time.time()`` show virtual time.

    Args:
        app: the orchestrators and activities to run.
        seed: chooses the order of concurrent work and feeds every random
            source; the same seed gives the same run.
        start: the virtual time at which the clock starts (aware).
        replay_check: after each episode, replay the instance from scratch and
            fail with `NonDeterminismError` at the first difference. It replays
            the whole history every episode; for instances of thousands of
            steps, turn it off (and keep a shorter test with it on).
        lease: how long taken work stays locked; after a `crash`, work that
            was running is retried when its lease runs out.
        max_steps: the most pieces of work one `advance` or `run_until_idle`
            runs before it gives up with `SimulationError` (a runaway loop).

    Example::

        with Simulation(app, seed=3) as simulation:
            instance_id = simulation.start(approval, {"amount": 900})
            simulation.raise_event(instance_id, "approved", True, at=timedelta(days=17))
            simulation.run_until_idle()
            assert simulation.status(instance_id).output == {"approved": True}
    """

    def __init__(
        self,
        app: App,
        *,
        seed: int = 0,
        start: datetime = DEFAULT_START,
        replay_check: bool = True,
        lease: timedelta = timedelta(minutes=1),
        max_steps: int = 100_000,
    ) -> None:
        if not isinstance(app, App):
            raise InvalidArgumentError(f"Simulation needs a durable.App, got {app!r}")
        _check_int("seed", seed, minimum=None)
        _check_int("max_steps", max_steps, minimum=1)
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise InvalidArgumentError(f"lease must be a positive timedelta, got {lease!r}")
        self.app = app
        self.seed = seed
        self._clock = VirtualClock(start)
        self._rules: dict[str, ActivityRules] = {}
        self._world = World(seed=seed, start=self._clock.now())
        self._scheduler = Scheduler(
            app,
            clock=self._clock,
            world=self._world,
            rules=self._rules,
            seed=seed,
            lease=lease,
            replay_check=replay_check,
            max_steps=max_steps,
        )
        self._closer = weakref.finalize(self, _close, self._world, self._scheduler)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the virtual time (when no other simulation is open) and free resources."""
        self._closer()

    @property
    def closed(self) -> bool:
        """Whether `close` has been called."""
        return not self._closer.alive

    def __enter__(self) -> Simulation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- facts ------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The current virtual time (UTC)."""
        return self._clock.now()

    @property
    def client(self) -> Client:
        """A `Client` on this simulation's store and clock: terminate, suspend, list, ..."""
        return self._scheduler.client

    @property
    def store(self) -> MemoryStore:
        """The in-memory store the simulation runs on."""
        return self._scheduler.store

    @property
    def is_idle(self) -> bool:
        """Whether nothing is pending: no runnable work, no timer, nothing planned."""
        return self._scheduler.next_due() is None

    # -- instances and events ---------------------------------------------------------------

    def start(
        self,
        orchestrator: str | Callable[..., Any],
        input: Any = None,
        *,
        instance_id: str | None = None,
        at: datetime | timedelta | None = None,
    ) -> str:
        """Start an instance (it runs when time is advanced) and return its id.

        Args:
            orchestrator: the registered name, or the decorated function.
            input: its input.
            instance_id: the id (default: one drawn from the seed).
            at: do not start before this time (a datetime, or a delay from now).

        Raises:
            OrchestratorNotFoundError: the app has no such orchestrator.
            InstanceExistsError: an unfinished instance has this id.
        """
        self._check_open()
        start_at = None if at is None else resolve_when("at", at, self.now)
        with self._world.entered():
            return self.client.start(
                orchestrator, input, instance_id=instance_id, start_at=start_at
            )

    def raise_event(
        self,
        instance_id: str,
        name: str,
        data: Any = None,
        *,
        at: datetime | timedelta | None = None,
    ) -> None:
        """Raise external event `name` with `data`, now or at a virtual time.

        An event planned for later is dropped (and logged) if the instance has
        finished by then.

        Args:
            instance_id: the receiving instance.
            name: the event name.
            data: its data (JSON-convertible).
            at: when to raise it (a datetime, or a delay from now); default now.

        Raises:
            InstanceNotFoundError: no instance has this id.
            InstanceFinishedError: raising now, and the instance has finished.
            InvalidArgumentError: a bad name or a time in the past.
        """
        self._check_open()
        when = self.now if at is None else resolve_when("at", at, self.now)
        self.client.status(instance_id)  # unknown ids fail here, not later
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"event name must be a non-empty str, got {name!r}")
        payload = self.app.converter.to_json(data, what=f"data of event {name!r}")
        if when == self.now:
            with self._world.entered():
                self.client.raise_event(instance_id, name, payload)
            return
        self._scheduler.plan(
            when, "event", self._scheduler.raise_event_later(instance_id, name, payload)
        )

    # -- fakes and faults -------------------------------------------------------------------

    def fake(
        self,
        activity: str | Callable[..., Any],
        result: Any = _MISSING,
        *,
        sequence: Iterable[Any] | None = None,
    ) -> None:
        """Answer calls of `activity` without running it.

        Args:
            activity: the registered name, or the decorated function.
            result: a function (called with the activity's input, may be async),
                an exception (raised by every call) or any other value (returned).
            sequence: instead of `result`, results and exceptions consumed one
                per call, in order; running out is a `SimulationError`.

        Raises:
            ActivityNotFoundError: the app has no such activity.
        """
        rules = self._rules_for(activity)
        rules.fake = make_fake(rules.name, result, sequence, given=result is not _MISSING)

    def fail(
        self,
        activity: str | Callable[..., Any],
        *,
        times: int | None = None,
        probability: float | None = None,
        error: ErrorSpec = None,
    ) -> None:
        """Make `activity` fail its first `times` calls, or each call with `probability`.

        Args:
            activity: the registered name, or the decorated function.
            times: how many of the first calls (from now on) fail.
            probability: the chance that any call fails, drawn from the seed.
            error: the exception (or class) raised; default `InjectedFailure`.

        Raises:
            ActivityNotFoundError: the app has no such activity.
            InvalidArgumentError: neither or both of times and probability, or out of range.
        """
        if (times is None) == (probability is None):
            raise InvalidArgumentError("fail() takes times=N or probability=p, exactly one")
        rules = self._rules_for(activity)
        if times is not None:
            _check_int("times", times, minimum=0)
            rules.fail_first, rules.fail_probability = rules.calls + times, 0.0
        else:
            if isinstance(probability, bool) or not isinstance(probability, int | float):
                raise InvalidArgumentError(f"probability must be a number, got {probability!r}")
            if not 0.0 <= probability <= 1.0:
                raise InvalidArgumentError(f"probability must be from 0 to 1, got {probability!r}")
            rules.fail_first, rules.fail_probability = 0, float(probability)
        rules.error = error

    def delay(self, activity: str | Callable[..., Any], duration: timedelta) -> None:
        """Make every call of `activity` take `duration` of virtual time to answer.

        Raises:
            ActivityNotFoundError: the app has no such activity.
            InvalidArgumentError: `duration` is not a timedelta of zero or more.
        """
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            raise InvalidArgumentError(f"delay needs a timedelta of 0 or more, got {duration!r}")
        self._rules_for(activity).delay = duration

    def crash(
        self, *, at: datetime | timedelta | None = None, probability: float | None = None
    ) -> None:
        """Crash the worker between episodes: now, at a virtual time, or at random.

        A crash drops the cache of live executions (the next episodes replay
        from the store) and all activity work in flight (retried once its lease
        runs out; the lost call shows as ``outcome="lost"`` in `calls`).

        Args:
            at: crash at this time (a datetime, or a delay from now) instead of now.
            probability: instead, crash after each episode with this chance (0 turns it off).
        """
        self._check_open()
        if probability is not None:
            if at is not None or not 0.0 <= probability <= 1.0:
                raise InvalidArgumentError(
                    f"crash(probability=p) takes a p from 0 to 1 and no `at`, got {probability!r}"
                )
            self._scheduler.crash_probability = float(probability)
        elif at is None:
            self._scheduler.crash()
        else:
            self._scheduler.plan(resolve_when("at", at, self.now), "crash", self._scheduler.crash)

    # -- running ----------------------------------------------------------------------------

    def advance(self, delta: timedelta) -> None:
        """Move virtual time forward by `delta`, running everything due on the way, in order.

        Raises:
            InvalidArgumentError: `delta` is negative or not a timedelta.
            NonDeterminismError: the replay check found a difference.
        """
        self._check_open()
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidArgumentError(
                f"advance needs a timedelta of 0 or more (time does not go back), got {delta!r}"
            )
        with self._world.entered():
            self._scheduler.run(self.now + delta, settle_at_until=True)

    def run_until_idle(self, deadline: datetime | timedelta | None = None) -> None:
        """Run all work, jumping the clock to each next due time, until nothing is pending.

        Args:
            deadline: stop there instead if work is still pending then (a
                datetime, or a delay from now); the clock is then at the deadline.

        Raises:
            SimulationError: work did not settle within `max_steps` steps.
            NonDeterminismError: the replay check found a difference.
        """
        self._check_open()
        until = None if deadline is None else resolve_when("deadline", deadline, self.now)
        with self._world.entered():
            self._scheduler.run(until, settle_at_until=False)

    # -- reading ----------------------------------------------------------------------------

    def status(self, instance_id: str) -> InstanceStatus:
        """The instance's status (runtime status, output, failure, what it waits for).

        Raises:
            InstanceNotFoundError: no instance has this id.
        """
        return self.client.status(instance_id)

    def history(self, instance_id: str) -> list[HistoryEvent]:
        """The instance's history (current execution), oldest first."""
        return self.client.history(instance_id)

    def custom_status(self, instance_id: str) -> Any:
        """The instance's custom status, as JSON."""
        return self.status(instance_id).custom_status

    def calls(
        self, activity: str | Callable[..., Any] | None = None, *, instance_id: str | None = None
    ) -> list[ActivityCallRecord]:
        """The activity calls made so far, in the order they ran; optionally filtered.

        Raises:
            ActivityNotFoundError: `activity` is not registered.
        """
        name = None if activity is None else self.app.find_activity(activity).name
        return [
            call
            for call in self._scheduler.calls
            if (name is None or call.name == name)
            and (instance_id is None or call.instance_id == instance_id)
        ]

    # -- helpers ----------------------------------------------------------------------------

    def _rules_for(self, activity: str | Callable[..., Any]) -> ActivityRules:
        self._check_open()
        name = self.app.find_activity(activity).name
        return self._rules.setdefault(name, ActivityRules(name=name))

    def _check_open(self) -> None:
        if self.closed:
            raise SimulationError("this simulation is closed; start a new one")


def _close(world: World, scheduler: Scheduler) -> None:
    scheduler.close()
    world.close()


def _check_int(name: str, value: object, *, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be at least {minimum}, got {value!r}")
