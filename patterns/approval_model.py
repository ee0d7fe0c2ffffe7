"""The values of the human-interaction pattern: escalation steps, notices, answers, results.

All of them are frozen attrs classes, so they travel as JSON: an activity
that annotates its parameter as `ApprovalNotice` receives one, a client
raises an `ApprovalAnswer` as event data, and an orchestrator returns an
`ApprovalResult` as its output.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

import attrs

from durable.errors import InvalidArgumentError
from durable.patterns._checks import ActivityRef, optional_ref_validator
from durable.patterns.durations import Duration, positive_duration

__all__ = [
    "ApprovalAnswer",
    "ApprovalNotice",
    "ApprovalOutcome",
    "ApprovalResult",
    "Escalation",
    "EscalationAction",
    "IgnoredAnswer",
    "NoticeKind",
]


class EscalationAction(enum.Enum):
    """What an escalation step does."""

    REMIND = "remind"
    """Call the step's activity to remind the current approver."""

    REASSIGN = "reassign"
    """Pass the request to the next approver in the chain and notify them."""


def _after(value: Duration) -> timedelta:
    return positive_duration(value, name="escalation after")


def _action(value: object) -> EscalationAction:
    try:
        return EscalationAction(value.value if isinstance(value, EscalationAction) else value)
    except ValueError:
        raise InvalidArgumentError(
            f"escalation action must be 'remind' or 'reassign', got {value!r}"
        ) from None


@attrs.frozen(kw_only=True)
class Escalation:
    """One escalation step, taken if no valid answer came `after` the request.

    Attributes:
        after: the delay from the request (more than zero).
        action: remind the current approver, or reassign to the next one.
        activity: the activity called with an `ApprovalNotice`; required to
            remind; to reassign, it defaults to the `send` activity (the new
            approver gets the request).
    """

    after: timedelta = attrs.field(converter=_after)
    action: EscalationAction = attrs.field(converter=_action)
    activity: ActivityRef | None = attrs.field(
        default=None, validator=optional_ref_validator("escalation activity")
    )

    def __attrs_post_init__(self) -> None:
        if self.action is EscalationAction.REMIND and self.activity is None:
            raise InvalidArgumentError("a reminder escalation needs an activity to call")

    @classmethod
    def remind(cls, after: Duration, activity: ActivityRef) -> Escalation:
        """A reminder to the current approver, `after` the request."""
        return cls(after=after, action=EscalationAction.REMIND, activity=activity)

    @classmethod
    def reassign(cls, after: Duration, activity: ActivityRef | None = None) -> Escalation:
        """Reassignment to the next approver in the chain, `after` the request."""
        return cls(after=after, action=EscalationAction.REASSIGN, activity=activity)


class NoticeKind(enum.Enum):
    """Why an approval activity is called."""

    REQUEST = "request"
    REMIND = "remind"
    REASSIGN = "reassign"
    TIMEOUT = "timeout"


@attrs.frozen(kw_only=True)
class ApprovalNotice:
    """What the request, escalation and fallback activities are called with.

    Attributes:
        kind: request, reminder, reassignment or timeout.
        instance_id: the instance waiting for the answer (to raise the event to).
        event_name: the event the answer must be raised as.
        request: the request itself (the orchestrator's input).
        approver: who is asked now.
        approver_index: their position in the approver chain (0: the first).
        deadline: when the request times out.
    """

    kind: NoticeKind
    instance_id: str
    event_name: str
    request: Any
    approver: str
    approver_index: int
    deadline: datetime


@attrs.frozen(kw_only=True)
class ApprovalAnswer:
    """An answer, raised as the approval event's data.

    Attributes:
        by: who answers.
        approved: the decision.
        comment: an optional remark.
    """

    by: str
    approved: bool
    comment: str | None = None


class ApprovalOutcome(enum.Enum):
    """How a request ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"


@attrs.frozen(kw_only=True)
class IgnoredAnswer:
    """An answer that was recorded and ignored.

    Attributes:
        data: the event data as it came.
        by: who it claims to be from, if it says.
        at: when it was handled.
        reason: why it was ignored (not the current approver, malformed).
    """

    data: Any
    by: str | None
    at: datetime
    reason: str


@attrs.frozen(kw_only=True)
class ApprovalResult:
    """What happened to a request.

    Attributes:
        outcome: approved, rejected or timed out.
        by: who answered (None when timed out).
        at: when it was decided (the answer's or the deadline's time).
        level: escalation steps taken before the end (0: none).
        approver: who was the approver at the end.
        approver_index: their position in the chain.
        comment: the answer's comment.
        ignored: answers recorded and ignored, in order.
        fallback_output: the fallback activity's output, when timed out with one.
    """

    outcome: ApprovalOutcome
    at: datetime
    level: int
    approver: str
    approver_index: int
    by: str | None = None
    comment: str | None = None
    ignored: tuple[IgnoredAnswer, ...] = ()
    fallback_output: Any = None

    @property
    def approved(self) -> bool:
        """Whether the request was approved (a timeout counts as rejected)."""
        return self.outcome is ApprovalOutcome.APPROVED
