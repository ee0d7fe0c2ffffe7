"""Human interaction with escalation: ask for an approval, escalate, decide or time out.

An `Approval` calls its `send` activity with an `ApprovalNotice` for the
first approver, then waits for the approval event (an `ApprovalAnswer`:
who, approved or not, a comment) until the next escalation step is due.
Steps run at fixed delays from the request, in order: a reminder calls its
activity for the current approver; a reassignment moves the request to the
next approver in the chain (given as data, or resolved by an activity from
the request) and notifies them. At the deadline the request times out: it is
rejected, or a fallback activity is called and its output reported.

Only the current approver can answer. Any other answer, or malformed event
data, is recorded in the result's `ignored` list and waiting goes on; the
raised event itself is in the history too. The result, an `ApprovalResult`,
says approved, rejected or timed out, by whom, at which escalation level and
when. Every step (activity call, timer, event) is in the history: the waiting
and escalating are `wait_for_reply`'s, with the chain's notices as actions.

Delays must be positive and strictly increasing, the deadline after the last
of them, and a data chain long enough for every reassignment: checked when
the `Approval` is built, before anything is scheduled.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import attrs

from durable import App, OrchestrationContext
from durable.errors import InvalidArgumentError
from durable.patterns._checks import ActivityRef, optional_ref_validator, ref_validator
from durable.patterns.approval_model import (
    ApprovalAnswer,
    ApprovalNotice,
    ApprovalOutcome,
    ApprovalResult,
    Escalation,
    EscalationAction,
    IgnoredAnswer,
    NoticeKind,
)
from durable.patterns.durations import Duration, positive_duration
from durable.patterns.interaction import check_deadline, check_delays, wait_for_reply

__all__ = ["Approval", "register_approval", "request_approval"]


def _deadline(value: Duration) -> timedelta:
    return positive_duration(value, name="deadline")


def _chain(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise InvalidArgumentError(
            f"approvers must be a non-empty list of approver ids, got {value!r}"
        )
    if not all(isinstance(each, str) and each for each in value):
        raise InvalidArgumentError(f"every approver must be a non-empty str, got {value!r}")
    return tuple(value)


def _optional_chain(value: object) -> tuple[str, ...] | None:
    return None if value is None else _chain(value)


def _escalations(value: object) -> tuple[Escalation, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidArgumentError(f"escalations must be a list of Escalation, got {value!r}")
    for index, step in enumerate(value):
        if not isinstance(step, Escalation):
            raise InvalidArgumentError(f"escalation {index + 1} is not an Escalation: {step!r}")
    check_delays([step.after for step in value])
    return tuple(value)


@attrs.frozen(kw_only=True)
class Approval:
    """A checked approval request with its escalation plan; `run` it inside an orchestrator.

    Give exactly one of `approvers` and `approvers_from`.

    Attributes:
        send: the activity that sends the request (called with an `ApprovalNotice`).
        deadline: how long after the request it times out.
        escalations: the steps, in increasing order of delay, all before the deadline.
        approvers: the approver chain as data: the first is asked first.
        approvers_from: an activity that returns the chain (a list of ids) for a request.
        fallback: an activity called with an `ApprovalNotice` at the deadline;
            without one, a timed-out request is rejected.
        event_name: the name of the answer event.
        report_progress: publish the current approver, level and ignored count
            as the custom status.
    """

    send: ActivityRef = attrs.field(validator=ref_validator("send"))
    deadline: timedelta = attrs.field(converter=_deadline)
    escalations: tuple[Escalation, ...] = attrs.field(default=(), converter=_escalations)
    approvers: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_chain)
    approvers_from: ActivityRef | None = attrs.field(
        default=None, validator=optional_ref_validator("approvers_from")
    )
    fallback: ActivityRef | None = attrs.field(
        default=None, validator=optional_ref_validator("fallback")
    )
    event_name: str = "approval"
    report_progress: bool = False

    def __attrs_post_init__(self) -> None:
        if (self.approvers is None) == (self.approvers_from is None):
            raise InvalidArgumentError(
                "an approval needs exactly one of approvers= (a list) and approvers_from= "
                f"(an activity), got {'both' if self.approvers else 'neither'}"
            )
        check_deadline(self.deadline, [step.after for step in self.escalations])
        if not isinstance(self.event_name, str) or not self.event_name:
            raise InvalidArgumentError(f"event_name must be a non-empty str: {self.event_name!r}")
        if self.approvers is not None:
            self._check_chain(self.approvers)

    def _check_chain(self, chain: tuple[str, ...]) -> None:
        needed = 1 + sum(step.action is EscalationAction.REASSIGN for step in self.escalations)
        if len(chain) < needed:
            raise InvalidArgumentError(
                f"{needed - 1} reassignment(s) need {needed} approvers, got {len(chain)}: "
                f"{list(chain)}"
            )

    def run(
        self,
        ctx: OrchestrationContext,
        request: Any = None,
        *,
        approvers: Sequence[str] | None = None,
    ) -> Coroutine[Any, Any, ApprovalResult]:
        """Request the approval and see it through; await (or yield) the `ApprovalResult`.

        Args:
            ctx: the orchestration context.
            request: what is to be approved (passed on in every `ApprovalNotice`).
            approvers: a chain for this request only, instead of the configured one.

        Raises:
            InvalidArgumentError: a bad or too short `approvers` (at once); a chain
                from `approvers_from` that is not a list of ids (when awaited).
        """
        chain = _chain(approvers) if approvers is not None else self.approvers
        if chain is not None:
            self._check_chain(chain)
        return self._run(ctx, request, chain)

    async def _run(
        self, ctx: OrchestrationContext, request: Any, chain: tuple[str, ...] | None
    ) -> ApprovalResult:
        run = _Run(ctx, self, request, chain, ctx.now + self.deadline)
        reply = await wait_for_reply(
            ctx,
            self.event_name,
            ask=run.ask,
            escalations=[(step.after, partial(run.escalate, step)) for step in self.escalations],
            deadline=self.deadline,
            accept=run.accept,
        )
        return run.answered() if reply.answered else await run.timed_out()


def _resolved_chain(value: Any) -> tuple[str, ...]:
    try:
        return _chain(value)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"approvers_from returned a bad chain: {error}") from None


class _Run:
    """The live state of one approval: who is asked, how far it escalated, what was ignored."""

    def __init__(
        self,
        ctx: OrchestrationContext,
        spec: Approval,
        request: Any,
        chain: tuple[str, ...] | None,
        deadline: datetime,
    ) -> None:
        self.ctx = ctx
        self.spec = spec
        self.request = request
        self.chain = chain
        self.deadline = deadline
        self.index = 0
        self.level = 0
        self.ignored: list[IgnoredAnswer] = []
        self.answer: ApprovalAnswer | None = None

    @property
    def approver(self) -> str:
        assert self.chain is not None, "the chain is resolved before the request is sent"
        return self.chain[self.index]

    async def ask(self) -> None:
        """Resolve the chain if it comes from an activity, then send the request."""
        if self.chain is None:
            assert self.spec.approvers_from is not None
            resolved = await self.ctx.call_activity(self.spec.approvers_from, self.request)
            self.chain = _resolved_chain(resolved)
        await self.notify(self.spec.send, NoticeKind.REQUEST)

    async def notify(self, activity: ActivityRef, kind: NoticeKind) -> Any:
        notice = ApprovalNotice(
            kind=kind,
            instance_id=self.ctx.instance_id,
            event_name=self.spec.event_name,
            request=self.request,
            approver=self.approver,
            approver_index=self.index,
            deadline=self.deadline,
        )
        self._report()
        return await self.ctx.call_activity(activity, notice)

    async def escalate(self, step: Escalation) -> None:
        self.level += 1
        if step.action is EscalationAction.REMIND:
            assert step.activity is not None
            await self.notify(step.activity, NoticeKind.REMIND)
            return
        assert self.chain is not None
        self.index = min(self.index + 1, len(self.chain) - 1)
        await self.notify(step.activity or self.spec.send, NoticeKind.REASSIGN)

    def accept(self, data: Any) -> bool:
        """Whether `data` answers for the current approver; anything else is recorded as ignored."""
        answer = _parse(data)
        if isinstance(answer, str):
            by = data.get("by") if isinstance(data, dict) else None
            reason = answer
        elif answer.by != self.approver:
            by, reason = answer.by, f"{answer.by!r} is not the current approver {self.approver!r}"
        else:
            self.answer = answer
            return True
        who = by if isinstance(by, str) else None
        self.ignored.append(IgnoredAnswer(data=data, by=who, at=self.ctx.now, reason=reason))
        self._report()
        return False

    def answered(self) -> ApprovalResult:
        answer = self.answer
        assert answer is not None
        outcome = ApprovalOutcome.APPROVED if answer.approved else ApprovalOutcome.REJECTED
        return self._result(outcome, by=answer.by, comment=answer.comment)

    async def timed_out(self) -> ApprovalResult:
        output = None
        if self.spec.fallback is not None:
            output = await self.notify(self.spec.fallback, NoticeKind.TIMEOUT)
        return self._result(ApprovalOutcome.TIMED_OUT, fallback_output=output)

    def _result(self, outcome: ApprovalOutcome, **details: Any) -> ApprovalResult:
        return ApprovalResult(
            outcome=outcome,
            at=self.ctx.now,
            level=self.level,
            approver=self.approver,
            approver_index=self.index,
            ignored=tuple(self.ignored),
            **details,
        )

    def _report(self) -> None:
        if self.spec.report_progress:
            self.ctx.set_custom_status(
                {"approver": self.approver, "level": self.level, "ignored": len(self.ignored)}
            )


def _parse(data: Any) -> ApprovalAnswer | str:
    """The answer in event data, or why it is not one."""
    if not isinstance(data, dict):
        return f"the answer is not an object with 'by' and 'approved': {data!r}"
    by, approved, comment = data.get("by"), data.get("approved"), data.get("comment")
    if not isinstance(by, str) or not by:
        return "the answer does not say who gave it ('by')"
    if not isinstance(approved, bool):
        return f"the answer's 'approved' is not true or false: {approved!r}"
    if comment is not None and not isinstance(comment, str):
        return f"the answer's 'comment' is not text: {comment!r}"
    return ApprovalAnswer(by=by, approved=approved, comment=comment)


def request_approval(
    ctx: OrchestrationContext,
    request: Any = None,
    *,
    send: ActivityRef,
    deadline: Duration,
    escalations: Sequence[Escalation] = (),
    approvers: Sequence[str] | None = None,
    approvers_from: ActivityRef | None = None,
    fallback: ActivityRef | None = None,
    event_name: str = "approval",
) -> Coroutine[Any, Any, ApprovalResult]:
    """Request an approval with escalation; await (or yield) the `ApprovalResult`.

    Arguments are checked now, before anything is scheduled; see `Approval`.

    Example::

        @app.orchestrator
        async def expense(ctx, claim):
            result = await request_approval(
                ctx,
                claim,
                send=send_request,
                approvers=["alice", "bob"],
                deadline="P5D",
                escalations=[Escalation.remind("P1D", send_reminder), Escalation.reassign("P3D")],
            )
            return result.approved

    Raises:
        InvalidArgumentError: bad arguments, e.g. escalations out of order (at once).
    """
    spec = Approval(
        send=send,
        deadline=deadline,
        escalations=escalations,
        approvers=approvers,
        approvers_from=approvers_from,
        fallback=fallback,
        event_name=event_name,
    )
    return spec.run(ctx, request)


def register_approval(
    app: App,
    name: str,
    *,
    send: ActivityRef,
    deadline: Duration,
    escalations: Sequence[Escalation] = (),
    approvers: Sequence[str] | None = None,
    approvers_from: ActivityRef | None = None,
    fallback: ActivityRef | None = None,
    event_name: str = "approval",
) -> Approval:
    """Register an orchestrator `name` whose input is the request and output an `ApprovalResult`.

    Its custom status shows the current approver, the escalation level and
    how many answers were ignored.

    Returns:
        The checked approval.

    Raises:
        InvalidArgumentError: bad arguments (see `Approval`).
        RegistrationError: `name` is not valid or already registered.
    """
    spec = Approval(
        send=send,
        deadline=deadline,
        escalations=escalations,
        approvers=approvers,
        approvers_from=approvers_from,
        fallback=fallback,
        event_name=event_name,
        report_progress=True,
    )

    async def approval_orchestrator(
        ctx: OrchestrationContext, request: Any = None
    ) -> ApprovalResult:
        return await spec.run(ctx, request)

    app.orchestrator(name=name)(approval_orchestrator)
    return spec
