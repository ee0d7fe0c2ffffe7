"""The simulation's scheduler: one worker's work, run one piece at a time in seeded order.

A *step* looks at everything runnable at the current virtual time:

- agenda entries that are due: activity results held back by a delay, events
  raised for a later time, crashes planned for a later time;
- activity tasks (each visible task is taken at once into the worker's pool,
  as a worker with unbounded concurrency would);
- instances with visible messages (each is locked; those not chosen are
  released again, so an episode always sees every message visible when it runs;
  a timer that fired at the very instant other messages arrived lands before
  or after them as the seed decides).

One of them is drawn from the seeded random source and run to its end; an
episode is committed, then checked by replaying it from scratch. `run`
repeats steps until none is left, then moves the clock to the next due time
(the agenda's or the store's `next_due`), and so on until nothing is pending
or the deadline comes. No threads, no sleeps, no wall clock.

A crash drops the execution cache, the pool and held-back results. Leases
then run out in virtual time (a delayed activity's lease is renewed as a
worker's heartbeat would, and stops being renewed at the crash), and the
tasks are taken again as new attempts.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

import attrs

from durable import App, Client
from durable._store.memory import MemoryStore
from durable._store.protocol import ActivityWorkItem, OrchestrationWorkItem
from durable._worker.cache import ExecutionCache
from durable._worker.episodes import EpisodeRunner
from durable.errors import InstanceFinishedError, LeaseLostError
from durable.history import HistoryEvent, TaskCompleted, TaskFailed, TimerFired
from durable.testing._activities import ActivityRunner
from durable.testing._calls import ActivityCallRecord
from durable.testing._checking import ReplayChecker
from durable.testing._clock import VirtualClock
from durable.testing._errors import SimulationError
from durable.testing._fakes import ActivityRules
from durable.testing._world import World

__all__ = ["Scheduler"]

_OWNER = "simulation"
_log = logging.getLogger("durable.testing")

Kind = Literal["result", "event", "crash"]


@attrs.define(eq=False)
class _Entry:
    """Something the simulation itself will do at a virtual time."""

    due: datetime
    order: int
    kind: Kind
    action: Callable[[], None]


@attrs.define(eq=False)
class _InFlight:
    """An activity that ran and whose result is held back until its due time."""

    item: ActivityWorkItem
    record: int


class Scheduler:
    """Runs an app's work over a memory store under a virtual clock, one seeded step at a time."""

    def __init__(
        self,
        app: App,
        *,
        clock: VirtualClock,
        world: World,
        rules: dict[str, ActivityRules],
        seed: int,
        lease: timedelta,
        replay_check: bool,
        max_steps: int,
    ) -> None:
        self.store = MemoryStore(converter=app.converter)
        self.client = Client(self.store, app=app, clock=clock)
        self.calls: list[ActivityCallRecord] = []
        self.crash_probability = 0.0
        self._app = app
        self._clock = clock
        self._world = world
        self._rng = random.Random(f"durable.testing:{seed}:schedule")
        self._lease = lease
        self._max_steps = max_steps
        self._episodes = EpisodeRunner(
            app, self.store, cache=ExecutionCache(1024), new_id=world.new_id
        )
        self._activities = ActivityRunner(
            app, rules, random.Random(f"durable.testing:{seed}:faults")
        )
        self._checker = ReplayChecker(app, world) if replay_check else None
        self._pool: list[ActivityWorkItem] = []
        self._agenda: list[_Entry] = []
        self._in_flight: dict[int, _InFlight] = {}
        self._histories: dict[str, tuple[str, list[HistoryEvent]]] = {}
        self._order = 0

    # -- driving ----------------------------------------------------------------------------

    def run(self, until: datetime | None, *, settle_at_until: bool) -> None:
        """Run work, jumping the clock from due time to due time, until idle or `until`.

        With `settle_at_until`, the clock ends at `until` even if work ran out earlier.
        """
        steps = 0
        while True:
            while self._step():
                steps += 1
                if steps >= self._max_steps:
                    raise SimulationError(
                        f"the simulation ran {steps} steps without settling (virtual time "
                        f"{self._clock.now().isoformat()}); an orchestration may loop forever: "
                        "give run_until_idle a deadline, or raise max_steps"
                    )
            due = self.next_due()
            if due is None or (until is not None and due > until):
                break
            if due <= self._clock.now():  # nothing ran, yet work is due: never spin
                raise SimulationError(
                    f"the store says work is due at {due.isoformat()}, but none can be taken "
                    f"at {self._clock.now().isoformat()}"
                )
            self.move_to(due)
        if until is not None and (settle_at_until or due is not None):
            self.move_to(max(until, self._clock.now()))

    def next_due(self) -> datetime | None:
        """When work is next runnable: now if some is, None if nothing is pending."""
        now = self._clock.now()
        times = [entry.due for entry in self._agenda[:1]]
        if self._pool:
            times.append(now)
        store_due = self.store.next_due(now=now)
        if store_due is not None:
            times.append(store_due)
        return min(times, default=None)

    def move_to(self, when: datetime) -> None:
        """Move the virtual clock (and what activity code reads) to `when`."""
        self._clock.move_to(when)
        self._world.move_to(when)

    def plan(self, due: datetime, kind: Kind, action: Callable[[], None]) -> None:
        """Do `action` at virtual time `due`."""
        self._order += 1
        entry = _Entry(due=due, order=self._order, kind=kind, action=action)
        bisect.insort(self._agenda, entry, key=lambda each: (each.due, each.order))

    def raise_event_later(self, instance_id: str, name: str, payload: object) -> Callable[[], None]:
        """The agenda action that raises an event, dropping it if the instance has finished."""

        def deliver() -> None:
            try:
                self.client.raise_event(instance_id, name, payload)
            except InstanceFinishedError as error:
                _log.info("event %r dropped: %s", name, error)

        return deliver

    def crash(self) -> None:
        """The worker dies: cache, pool and held-back results are gone; leases run out."""
        now = self._clock.now()
        self._episodes.cache.clear()
        self._pool.clear()  # their leases run out on their own
        for held in self._in_flight.values():
            with contextlib.suppress(LeaseLostError):  # the last heartbeat is now
                self.store.renew_activity(held.item, now=now, lease=self._lease)
            self.calls[held.record] = attrs.evolve(
                self.calls[held.record], outcome="lost", delivered_at=None
            )
        self._in_flight.clear()
        self._agenda = [entry for entry in self._agenda if entry.kind != "result"]

    def close(self) -> None:
        """Release the private event loop and the store."""
        self._activities.close()
        self.store.close()

    # -- one step ---------------------------------------------------------------------------

    def _step(self) -> bool:
        now = self._clock.now()
        self._fill_pool(now)
        due = [entry for entry in self._agenda if entry.due <= now]
        items = self._take_instances(now)
        count = len(due) + len(self._pool) + len(items)
        if count == 0:
            return False
        pick = self._rng.randrange(count) if count > 1 else 0
        chosen = pick - len(due) - len(self._pool)
        for index, item in enumerate(items):
            if index != chosen:
                self.store.release_orchestration(item)
        if pick < len(due):
            self._agenda.remove(due[pick])
            due[pick].action()
        elif chosen < 0:
            self._run_activity(self._pool.pop(pick - len(due)))
        else:
            self._run_episode(self._place_timers(items[chosen]))
        return True

    def _fill_pool(self, now: datetime) -> None:
        while (
            item := self.store.take_activity(now=now, lease=self._lease, owner=_OWNER)
        ) is not None:
            self._pool.append(item)

    def _take_instances(self, now: datetime) -> list[OrchestrationWorkItem]:
        items: list[OrchestrationWorkItem] = []
        take = self.store.take_orchestration
        while (item := take(now=now, lease=self._lease, owner=_OWNER)) is not None:
            items.append(item)
        return items

    def _place_timers(self, item: OrchestrationWorkItem) -> OrchestrationWorkItem:
        """Let each timer land before or after messages that arrived the instant it fired.

        A timer's message is inserted when the timer is created, long before it
        fires, so insertion order would always put it first among messages
        visible from the same instant. Which comes first at one instant is a
        race: the seed decides it. Other messages keep their order.
        """
        messages = list(item.messages)
        for timer in [each for each in item.messages if isinstance(each.event, TimerFired)]:
            index = messages.index(timer)
            ties = [
                position
                for position, other in enumerate(messages)
                if position > index
                and other.visible_at == timer.visible_at
                and not isinstance(other.event, TimerFired)
            ]
            if ties:
                messages.insert(self._rng.randint(index, ties[-1]), messages.pop(index))
        if messages == list(item.messages):
            return item
        return attrs.evolve(item, messages=tuple(messages))

    # -- activities -------------------------------------------------------------------------

    def _run_activity(self, item: ActivityWorkItem) -> None:
        now = self._clock.now()
        outcome = self._activities.run(item, now)
        result = outcome.result
        self.calls.append(
            ActivityCallRecord(
                name=item.name,
                instance_id=item.instance_id,
                seq=item.seq,
                attempt=item.attempt,
                input=item.input,
                at=now,
                delivered_at=outcome.due,
                outcome="completed" if isinstance(result, TaskCompleted) else "failed",
                output=result.output if isinstance(result, TaskCompleted) else None,
                failure=result.failure if isinstance(result, TaskFailed) else None,
                faked=outcome.faked,
            )
        )
        if outcome.due <= now:
            self.store.complete_activity(item, result, now=now)
            return
        # Heartbeat through the delay, as a worker renews the lease of a long activity.
        held = self.store.renew_activity(item, now=now, lease=outcome.due - now + self._lease)
        self._in_flight[item.id] = _InFlight(item=held, record=len(self.calls) - 1)
        self.plan(outcome.due, "result", lambda: self._deliver(item.id, result))

    def _deliver(self, task_id: int, result: HistoryEvent) -> None:
        held = self._in_flight.pop(task_id)
        self.store.complete_activity(held.item, result, now=self._clock.now())

    # -- episodes ---------------------------------------------------------------------------

    def _run_episode(self, item: OrchestrationWorkItem) -> None:
        now = self._clock.now()
        instance = item.instance
        before = self._history_before(item) if self._checker is not None else []
        try:
            episode = self._episodes.run(item, now)
            self.store.commit_episode(item, episode.commit)
        except BaseException:
            with contextlib.suppress(Exception):
                self.store.release_orchestration(item)
            raise
        self._episodes.committed(item, episode)
        if self._checker is not None and episode.decision is not None:
            converter = self._app.converter
            events = [
                *before,
                *(
                    converter.load_event(converter.dump_event(e))
                    for e in episode.decision.new_events
                ),
            ]
            self._histories[instance.instance_id] = (episode.commit.execution_id, events)
            self._checker.check(instance.instance_id, instance.name, events, episode.decision)
        if self.crash_probability and self._rng.random() < self.crash_probability:
            self.crash()

    def _history_before(self, item: OrchestrationWorkItem) -> list[HistoryEvent]:
        """The stored history, from the checker's own copy when it is the stored one."""
        instance = item.instance
        if not item.history_length:
            return []
        execution_id, events = self._histories.get(instance.instance_id, ("", []))
        if execution_id == instance.execution_id and len(events) == item.history_length:
            return events
        return self.store.get_history(instance.instance_id)
