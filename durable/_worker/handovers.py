"""`Handovers`: the worker's store writes that hand it the work they create.

Two writes: committing episodes, whose claims lease the new activity tasks to
the worker; and delivering activity results, each with the next episode of
its instance when that instance waits on it alone (a `Continuation`), or else
with a take of waiting tasks for the slots the finished activities free. They
run where the worker's store calls run (its I/O thread, or the pool thread of
a chain holding the store gate). Free slots are counted just before the call
and what was leased is admitted just after, so two calls never count the same
slot; the loops are woken only for work no handover covered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from durable._model.events import HistoryEvent
from durable._store.protocol import (
    ActivityWorkItem,
    Claim,
    Completion,
    Continuation,
    EpisodeCommit,
    EpisodeWrite,
    Handover,
    OrchestrationWorkItem,
    Store,
    StoredHistory,
)
from durable._worker.clock import Clock
from durable._worker.episodes import Episode, EpisodeRunner
from durable._worker.lanes import Lane
from durable._worker.lifecycle import RunState
from durable._worker.runs import ActivityRun

__all__ = ["Handovers"]

Ran = list[tuple[OrchestrationWorkItem, Episode]]


class Handovers:
    """The handing-over writes of one worker.

    Args:
        store: the store.
        episodes: runs continuations and caches what was committed.
        activities: the activity lane, whose free slots the claims fill.
        clock: the time of the writes.
        owner: the worker's id, in the leases.
        lease: how long a lease lasts.
        state: the worker's current run.
        start_taken: starts (on the loop) tasks a delivery took for the worker.
    """

    def __init__(
        self,
        *,
        store: Store,
        episodes: EpisodeRunner,
        activities: Lane[ActivityRun],
        clock: Clock,
        owner: str,
        lease: timedelta,
        state: Callable[[], RunState],
        start_taken: Callable[[tuple[ActivityWorkItem, ...]], None],
    ) -> None:
        self._store = store
        self._episodes = episodes
        self._activities = activities
        self._clock = clock
        self._owner = owner
        self._lease = lease
        self._state = state
        self._start_taken = start_taken

    def commit(self, batch: list[tuple[OrchestrationWorkItem, Episode]]) -> tuple[Handover, ...]:
        """Commit episodes in one call, claiming new tasks for the free activity slots.

        The episodes share the free slots.
        """
        writes = []
        shares = _shares(self._activities.free(), len(batch))
        for item, episode in batch:
            claim = self._claim(episode.commit.updated_at, next(shares))
            writes.append(EpisodeWrite(item=item, commit=episode.commit, claim=claim))
        outcomes = self._store.commit_episodes(writes)
        for (item, episode), write, outcome in zip(batch, writes, outcomes, strict=True):
            self._activities.admit(len(outcome.leased))
            if outcome.error is None:
                self._episodes.committed(item, episode)
                assert write.claim is not None
                self._wake_for(episode.commit, write.claim.activities)
        return outcomes

    def deliver(self, batch: list[tuple[ActivityWorkItem, HistoryEvent]]) -> tuple[Handover, ...]:
        """Deliver results, each with the next episode of its instance if it is due.

        An instance gets a continuation only if the worker is not stopping (the
        episode would be new work) and its orchestrator waits on at most one
        activity (many results batch better in the inbox). The continuations'
        claims share the free activity slots, the finishing activities' own slots
        included; without continuations the same transaction takes that many
        waiting tasks instead (a fan-out's next ones), handed to the loop to start.
        """
        now = self._clock.now()
        state = self._state()
        stopping = state.stopping.is_set()
        cache = self._episodes.cache
        due = [not stopping and cache.awaits_one(item.instance_id) for item, _ in batch]
        slots = self._activities.free(extra=len(batch))
        shares = _shares(slots, sum(due))
        ran: list[Ran] = [[] for _ in batch]
        completions = []
        for index, ((item, result), continues) in enumerate(zip(batch, due, strict=True)):
            then = None
            if continues:
                run = self._continuation(now, ran[index])
                then = Continuation(claim=self._claim(now, next(shares)), episode=run)
            completions.append(Completion(item=item, result=result, then=then))
        take = None if any(due) else self._claim(now, slots)
        delivery = self._store.complete_activities(completions, now=now, take=take)
        outcomes = delivery.handovers
        if delivery.taken:
            self._activities.admit(len(delivery.taken))
            state.call_soon(self._start_taken, delivery.taken)
        inbox_has_work = False
        for completion, outcome, episodes in zip(completions, outcomes, ran, strict=True):
            self._activities.admit(len(outcome.leased))
            if episodes and outcome.error is None:
                work, episode = episodes[-1]
                self._episodes.committed(work, episode)
                assert completion.then is not None
                self._wake_for(episode.commit, completion.then.claim.activities)
            else:  # delivered to the inbox (or dropped): an episode loop may take it
                inbox_has_work = True
        if inbox_has_work:
            state.call_soon(state.wakers[0].set)
        return outcomes

    def _claim(self, now: datetime, activities: int) -> Claim:
        """`activities` tasks to lease to this worker as they are created; none once stopping."""
        count = 0 if self._state().stopping.is_set() else activities
        return Claim(owner=self._owner, now=now, lease=self._lease, activities=count)

    def _continuation(
        self, now: datetime, ran: Ran
    ) -> Callable[[OrchestrationWorkItem, StoredHistory], EpisodeCommit]:
        """The episode callback of a continuation; it records what it ran in `ran`."""

        def episode(work: OrchestrationWorkItem, history: StoredHistory) -> EpisodeCommit:
            ran.append((work, self._episodes.run(work, now, history=history)))
            return ran[-1][1].commit

        return episode

    def _wake_for(self, commit: EpisodeCommit, claimed: int) -> None:
        """Wake the loops for what a committed episode left to take."""
        state = self._state()
        if len(commit.activities) > claimed:
            state.call_soon(state.wakers[1].set)
        if commit.messages or commit.sub_orchestrations:
            state.call_soon(state.wakers[0].set)


def _shares(slots: int, claimants: int) -> Iterator[int]:
    """`slots` split as evenly as can be among `claimants`, the larger shares first."""
    each, left = divmod(slots, claimants) if claimants else (0, 0)
    for index in range(claimants):
        yield each + (1 if index < left else 0)
