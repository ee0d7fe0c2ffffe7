"""`OneAtATime`: a store's single-item methods, in terms of its batch ones.

A store implements `create_instances`, `take_orchestrations`, `commit_episodes`,
`take_activities` and `complete_activities`; this base class gives it
`create_instance`, `take_orchestration`, `commit_episode`, `take_activity` and
`complete_activity` as batches of one.
A store whose primitive is the single-item form (PostgreSQL's take and commit)
overrides it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta

from durable._model.events import ExecutionStarted, HistoryEvent
from durable._store.protocol import (
    ActivityWorkItem,
    Claim,
    Completion,
    Continuation,
    Delivery,
    EpisodeCommit,
    EpisodeWrite,
    Handover,
    InstanceStart,
    OrchestrationWorkItem,
)
from durable.errors import InstanceExistsError

__all__ = ["OneAtATime"]


class OneAtATime(ABC):
    """The single-item methods of `durable._store.protocol.Store`, as batches of one."""

    @abstractmethod
    def create_instances(
        self, starts: Sequence[InstanceStart]
    ) -> tuple[InstanceExistsError | None, ...]:
        """See `Store.create_instances`."""

    @abstractmethod
    def take_orchestrations(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[OrchestrationWorkItem, ...]:
        """See `Store.take_orchestrations`."""

    @abstractmethod
    def commit_episodes(self, writes: Sequence[EpisodeWrite]) -> tuple[Handover, ...]:
        """See `Store.commit_episodes`."""

    @abstractmethod
    def take_activities(
        self, *, now: datetime, lease: timedelta, owner: str, limit: int
    ) -> tuple[ActivityWorkItem, ...]:
        """See `Store.take_activities`."""

    @abstractmethod
    def complete_activities(
        self, completions: Sequence[Completion], *, now: datetime, take: Claim | None = None
    ) -> Delivery:
        """See `Store.complete_activities`."""

    def create_instance(
        self, started: ExecutionStarted, *, now: datetime, visible_at: datetime
    ) -> None:
        """See `Store.create_instance`."""
        (error,) = self.create_instances(
            [InstanceStart(started=started, now=now, visible_at=visible_at)]
        )
        if error is not None:
            raise error

    def take_orchestration(
        self, *, now: datetime, lease: timedelta, owner: str
    ) -> OrchestrationWorkItem | None:
        """See `Store.take_orchestration`."""
        taken = self.take_orchestrations(now=now, lease=lease, owner=owner, limit=1)
        return taken[0] if taken else None

    def commit_episode(
        self, item: OrchestrationWorkItem, commit: EpisodeCommit, *, claim: Claim | None = None
    ) -> tuple[ActivityWorkItem, ...]:
        """See `Store.commit_episode`; raises the `LeaseLostError` of its write."""
        (done,) = self.commit_episodes([EpisodeWrite(item=item, commit=commit, claim=claim)])
        if done.error is not None:
            raise done.error
        return done.leased

    def take_activity(
        self, *, now: datetime, lease: timedelta, owner: str
    ) -> ActivityWorkItem | None:
        """See `Store.take_activity`."""
        taken = self.take_activities(now=now, lease=lease, owner=owner, limit=1)
        return taken[0] if taken else None

    def complete_activity(
        self,
        item: ActivityWorkItem,
        result: HistoryEvent,
        *,
        now: datetime,
        then: Continuation | None = None,
    ) -> tuple[ActivityWorkItem, ...]:
        """See `Store.complete_activity`; raises what its continuation raised."""
        completion = Completion(item=item, result=result, then=then)
        (done,) = self.complete_activities([completion], now=now).handovers
        if done.error is not None:
            raise done.error
        return done.leased
