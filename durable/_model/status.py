"""Runtime statuses and the status of one instance as clients see it."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from durable._model.events import JSONValue
from durable._model.failures import FailureDetails

__all__ = [
    "InstanceStatus",
    "PendingActivity",
    "PendingSubOrchestration",
    "PendingTimer",
    "RuntimeStatus",
    "Waiting",
]


class RuntimeStatus(enum.Enum):
    """Where an instance is in its life (the Durable Functions set)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TERMINATED = "TERMINATED"
    SUSPENDED = "SUSPENDED"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"

    @property
    def is_terminal(self) -> bool:
        """Whether the instance has finished for good."""
        return self in _TERMINAL


# A tuple: `in` finds a member by identity, without hashing it (Enum hashes in Python).
_TERMINAL = (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED)


@attrs.frozen(kw_only=True)
class PendingActivity:
    """An activity call that has been scheduled and has not answered yet."""

    seq: int
    name: str
    scheduled_at: datetime


@attrs.frozen(kw_only=True)
class PendingTimer:
    """A durable timer the instance is waiting on."""

    seq: int
    fire_at: datetime


@attrs.frozen(kw_only=True)
class PendingSubOrchestration:
    """A sub-orchestration the instance started and has not heard back from."""

    seq: int
    name: str
    instance_id: str


@attrs.frozen(kw_only=True)
class Waiting:
    """What a running instance is waiting for right now, so a stuck one explains itself."""

    activities: tuple[PendingActivity, ...] = ()
    timers: tuple[PendingTimer, ...] = ()
    events: tuple[str, ...] = ()
    sub_orchestrations: tuple[PendingSubOrchestration, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.activities or self.timers or self.events or self.sub_orchestrations)


@attrs.frozen(kw_only=True)
class InstanceStatus:
    """One instance as a client sees it.

    Attributes:
        instance_id: the instance's id.
        name: the orchestrator's registered name.
        version: the orchestrator version recorded at start, if any.
        status: the runtime status.
        input: the input as JSON (the latest one after continue-as-new).
        output: the output as JSON once completed; the reason once terminated.
        failure: what went wrong, once failed.
        custom_status: the last value given to `ctx.set_custom_status`.
        created_at: when the instance was started by a client or parent.
        last_updated_at: when its row last changed.
        completed_at: when it finished, once it has.
        scheduled_start: when it is scheduled to start, if it was started with one.
        parent_instance_id: the parent orchestration for a sub-orchestration.
        execution_id: the id of the current execution (changes on continue-as-new).
        waiting: what it waits for right now (activities, timers, events).
    """

    instance_id: str
    name: str
    status: RuntimeStatus
    created_at: datetime
    last_updated_at: datetime
    execution_id: str
    version: str | None = None
    input: JSONValue = None
    output: JSONValue = None
    failure: FailureDetails | None = None
    custom_status: JSONValue = None
    completed_at: datetime | None = None
    scheduled_start: datetime | None = None
    parent_instance_id: str | None = None
    waiting: Waiting = attrs.field(factory=Waiting)

    @property
    def is_finished(self) -> bool:
        """Whether the instance completed, failed or was terminated."""
        return self.status.is_terminal
