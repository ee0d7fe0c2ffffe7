"""`ActivityCallRecord`: one activity call as the simulation saw it, for `Simulation.calls`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs

from durable import FailureDetails

__all__ = ["ActivityCallRecord", "Outcome"]

Outcome = Literal["completed", "failed", "lost"]
"""How a call ended: it returned, it raised, or its result was lost in a crash."""


@attrs.frozen(kw_only=True)
class ActivityCallRecord:
    """One call of an activity in a simulation (a fake or the real function).

    Attributes:
        name: the activity's registered name.
        instance_id: the orchestration instance that scheduled it.
        seq: the call's sequence number in that instance's history.
        attempt: how many times this scheduled call has been taken by a worker,
            this time included (2 after a crash lost the first run). Retries by a
            `RetryPolicy` are new calls with new sequence numbers.
        input: the input as JSON, as the orchestrator passed it.
        at: the virtual time the call ran.
        delivered_at: when its result reached the orchestration (later than `at`
            under `Simulation.delay`); None if the result was lost.
        outcome: ``"completed"``, ``"failed"`` or ``"lost"``.
        output: the result as JSON, if it completed.
        failure: the error, if it failed.
        faked: whether a fake or an injected failure answered instead of the function.
    """

    name: str
    instance_id: str
    seq: int
    attempt: int
    input: Any
    at: datetime
    delivered_at: datetime | None
    outcome: Outcome
    output: Any = None
    failure: FailureDetails | None = None
    faked: bool = False
