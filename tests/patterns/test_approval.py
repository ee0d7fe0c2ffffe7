"""Human interaction with escalation in virtual time: who answers when, and what is called when."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import pytest

from durable import App, OrchestrationContext, RuntimeStatus
from durable.errors import InvalidArgumentError
from durable.patterns import (
    Approval,
    ApprovalAnswer,
    ApprovalOutcome,
    ApprovalResult,
    Escalation,
    register_approval,
    request_approval,
)
from durable.testing import Simulation
from tests.patterns.helpers import START, Call, calls

app = App()
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
CLAIM = {"claim": "taxi", "amount": 42}
BAD: dict[str, Any] = {}


@app.activity
def send_request(notice: dict[str, Any]) -> str:
    return f"asked {notice['approver']}"


@app.activity
def send_reminder(notice: dict[str, Any]) -> str:
    return f"reminded {notice['approver']}"


@app.activity
def escalate_to_manager(notice: dict[str, Any]) -> str:
    return f"escalated to {notice['approver']}"


@app.activity
def approvers_for(claim: dict[str, Any]) -> list[str]:
    return ["carol", "dave"] if claim["amount"] > 100 else ["alice", "bob"]


@app.activity
def book_anyway(notice: dict[str, Any]) -> str:
    return f"booked {notice['request']['claim']} without approval"


PLAN = [
    Escalation.remind("P1D", send_reminder),
    Escalation.reassign(timedelta(days=3), escalate_to_manager),
]


@app.orchestrator
def generator_approval(
    ctx: OrchestrationContext, claim: dict[str, Any]
) -> Generator[Any, Any, Any]:
    return (
        yield request_approval(
            ctx,
            claim,
            send=send_request,
            approvers=["alice", "bob"],
            deadline="P5D",
            escalations=PLAN,
        )
    )


@app.orchestrator
async def async_approval(ctx: OrchestrationContext, claim: dict[str, Any]) -> Any:
    return await request_approval(
        ctx,
        claim,
        send="send_request",
        approvers=["alice", "bob"],
        deadline="P5D",
        escalations=PLAN,
    )


@app.orchestrator
async def with_fallback(ctx: OrchestrationContext, claim: dict[str, Any]) -> Any:
    spec = Approval(
        send=send_request,
        deadline="P2D",  # type: ignore[arg-type]
        approvers_from=approvers_for,
        fallback=book_anyway,
    )
    return await spec.run(ctx, claim)


@app.orchestrator
async def bad_approval(ctx: OrchestrationContext, claim: dict[str, Any]) -> Any:
    return await request_approval(ctx, claim, send=send_request, **BAD)


register_approval(
    app,
    "expense_approval",
    send=send_request,
    approvers_from=approvers_for,
    deadline="P5D",
    escalations=PLAN,
)

BOTH = [generator_approval, async_approval]


@pytest.fixture
def sim(simulation_factory: Any, durable_seed: int) -> Simulation:
    return simulation_factory(app, start=START, seed=durable_seed)


def _notice(instance: str, kind: str, approver: str, index: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "instance_id": instance,
        "event_name": "approval",
        "request": extra.get("request", CLAIM),
        "approver": approver,
        "approver_index": index,
        "deadline": extra.get("deadline", (START + 5 * DAY).isoformat()),
    }


def _result(outcome: str, at: datetime, level: int, approver: str, **rest: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "at": at.isoformat(),
        "level": level,
        "approver": approver,
        "approver_index": rest.get("approver_index", 0),
        "by": rest.get("by"),
        "comment": rest.get("comment"),
        "ignored": rest.get("ignored", []),
        "fallback_output": rest.get("fallback_output"),
    }


def _answer(by: str, approved: bool = True, comment: str | None = None) -> ApprovalAnswer:
    return ApprovalAnswer(by=by, approved=approved, comment=comment)


@pytest.mark.parametrize("orchestrator", BOTH)
def test_approval_in_time_is_approved_by_the_first_approver(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, CLAIM)
    sim.raise_event(instance, "approval", _answer("alice", comment="fine"), at=START + 2 * HOUR)
    sim.run_until_idle()
    assert sim.status(instance).output == _result(
        "approved", START + 2 * HOUR, 0, "alice", by="alice", comment="fine"
    )
    assert calls(sim) == [Call("send_request", _notice(instance, "request", "alice", 0), START)]


@pytest.mark.parametrize("orchestrator", BOTH)
def test_approval_after_the_reminder_reports_level_one(sim: Simulation, orchestrator: Any) -> None:
    instance = sim.start(orchestrator, CLAIM)
    sim.raise_event(instance, "approval", _answer("alice"), at=START + DAY + 3 * HOUR)
    sim.run_until_idle()
    assert sim.status(instance).output == _result(
        "approved", START + DAY + 3 * HOUR, 1, "alice", by="alice"
    )
    assert calls(sim) == [
        Call("send_request", _notice(instance, "request", "alice", 0), START),
        Call("send_reminder", _notice(instance, "remind", "alice", 0), START + DAY),
    ]


@pytest.mark.parametrize("orchestrator", BOTH)
def test_approval_by_the_manager_after_reassignment(sim: Simulation, orchestrator: Any) -> None:
    instance = sim.start(orchestrator, CLAIM)
    sim.raise_event(instance, "approval", _answer("bob"), at=START + 3 * DAY + HOUR)
    sim.run_until_idle()
    assert sim.status(instance).output == _result(
        "approved", START + 3 * DAY + HOUR, 2, "bob", by="bob", approver_index=1
    )
    assert calls(sim) == [
        Call("send_request", _notice(instance, "request", "alice", 0), START),
        Call("send_reminder", _notice(instance, "remind", "alice", 0), START + DAY),
        Call("escalate_to_manager", _notice(instance, "reassign", "bob", 1), START + 3 * DAY),
    ]


@pytest.mark.parametrize("orchestrator", BOTH)
def test_approval_records_and_ignores_an_answer_from_the_wrong_person(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, CLAIM)
    sim.raise_event(instance, "approval", _answer("mallory"), at=START + HOUR)
    sim.raise_event(instance, "approval", _answer("alice", approved=False), at=START + 2 * HOUR)
    sim.run_until_idle()
    ignored = {
        "data": {"by": "mallory", "approved": True, "comment": None},
        "by": "mallory",
        "at": (START + HOUR).isoformat(),
        "reason": "'mallory' is not the current approver 'alice'",
    }
    assert sim.status(instance).output == _result(
        "rejected", START + 2 * HOUR, 0, "alice", by="alice", ignored=[ignored]
    )
    assert calls(sim) == [Call("send_request", _notice(instance, "request", "alice", 0), START)]


def test_approval_ignores_the_first_approver_once_reassigned(sim: Simulation) -> None:
    instance = sim.start(async_approval, CLAIM)
    sim.raise_event(instance, "approval", _answer("alice"), at=START + 4 * DAY)
    sim.raise_event(instance, "approval", _answer("bob", approved=False), at=START + 4 * DAY + HOUR)
    sim.run_until_idle()
    output = sim.status(instance).output
    assert (output["outcome"], output["by"], output["level"]) == ("rejected", "bob", 2)
    assert [(each["by"], each["reason"]) for each in output["ignored"]] == [
        ("alice", "'alice' is not the current approver 'bob'")
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("yes", "the answer is not an object with 'by' and 'approved': 'yes'"),
        ({"approved": True}, "the answer does not say who gave it ('by')"),
        ({"by": "alice", "approved": "yes"}, "the answer's 'approved' is not true or false: 'yes'"),
        ({"by": "alice", "approved": True, "comment": 3}, "the answer's 'comment' is not text: 3"),
    ],
)
def test_approval_records_and_ignores_malformed_answers(
    sim: Simulation, data: Any, reason: str
) -> None:
    instance = sim.start(async_approval, CLAIM)
    sim.raise_event(instance, "approval", data, at=START + HOUR)
    sim.raise_event(instance, "approval", _answer("alice"), at=START + 2 * HOUR)
    sim.run_until_idle()
    output = sim.status(instance).output
    assert output["outcome"] == "approved"
    assert [(each["data"], each["reason"]) for each in output["ignored"]] == [(data, reason)]


@pytest.mark.parametrize("orchestrator", BOTH)
def test_approval_with_no_answer_escalates_then_times_out_as_rejected(
    sim: Simulation, orchestrator: Any
) -> None:
    instance = sim.start(orchestrator, CLAIM)
    sim.advance(2 * DAY)
    assert [call.name for call in calls(sim)] == ["send_request", "send_reminder"]
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        _result("timed_out", START + 5 * DAY, 2, "bob", approver_index=1),
    )
    assert [(call.name, call.at) for call in calls(sim)] == [
        ("send_request", START),
        ("send_reminder", START + DAY),
        ("escalate_to_manager", START + 3 * DAY),
    ]


def test_approval_timeout_calls_the_fallback_activity(sim: Simulation) -> None:
    instance = sim.start(with_fallback, CLAIM)
    sim.run_until_idle()
    deadline = (START + 2 * DAY).isoformat()
    assert sim.status(instance).output == _result(
        "timed_out", START + 2 * DAY, 0, "alice", fallback_output="booked taxi without approval"
    )
    assert calls(sim) == [
        Call("approvers_for", CLAIM, START),
        Call("send_request", _notice(instance, "request", "alice", 0, deadline=deadline), START),
        Call(
            "book_anyway",
            _notice(instance, "timeout", "alice", 0, deadline=deadline),
            START + 2 * DAY,
        ),
    ]


def test_register_approval_resolves_the_chain_and_reports_progress(sim: Simulation) -> None:
    big = {"claim": "flight", "amount": 900}
    instance = sim.start("expense_approval", big)
    sim.advance(3 * DAY + HOUR)
    assert sim.status(instance).custom_status == {"approver": "dave", "level": 2, "ignored": 0}
    sim.raise_event(instance, "approval", _answer("dave"))
    sim.run_until_idle()
    status = sim.status(instance)
    assert status.output == _result(
        "approved", START + 3 * DAY + HOUR, 2, "dave", by="dave", approver_index=1
    )
    assert [(call.name, call.at) for call in calls(sim)] == [
        ("approvers_for", START),
        ("send_request", START),
        ("send_reminder", START + DAY),
        ("escalate_to_manager", START + 3 * DAY),
    ]


def test_approval_result_approved_is_true_only_when_approved() -> None:
    results = [
        ApprovalResult(outcome=outcome, at=START, level=0, approver="alice", approver_index=0)
        for outcome in ApprovalOutcome
    ]
    assert [(result.outcome.value, result.approved) for result in results] == [
        ("approved", True),
        ("rejected", False),
        ("timed_out", False),
    ]


def test_approval_rejects_bad_input_before_scheduling_anything(sim: Simulation) -> None:
    BAD.update(approvers=["alice"], deadline="P1D", escalations=[Escalation.reassign("PT1H")])
    try:
        instance = sim.start(bad_approval, CLAIM)
        sim.run_until_idle()
    finally:
        BAD.clear()
    failure = sim.status(instance).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "InvalidArgumentError",
        "1 reassignment(s) need 2 approvers, got 1: ['alice']",
    )
    assert calls(sim) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"escalations": [Escalation.remind("P3D", "r"), Escalation.reassign("P1D")]},
            r"escalation delays out of order: step 2 comes after 1 day, 0:00:00, not later than "
            r"step 1 \(3 days, 0:00:00\)",
        ),
        (
            {"escalations": [Escalation.remind("P1D", "r"), Escalation.remind("P1D", "r")]},
            r"escalation delays out of order",
        ),
        ({"deadline": "P2D"}, r"deadline 2 days, 0:00:00 must come after the last escalation"),
        ({"deadline": "PT0S"}, r"^deadline must be more than zero"),
        ({"approvers": []}, r"approvers must be a non-empty list"),
        ({"approvers": "alice"}, r"approvers must be a non-empty list"),
        ({"approvers": ["alice", ""]}, r"every approver must be a non-empty str"),
        ({"approvers": ["alice"]}, r"1 reassignment\(s\) need 2 approvers, got 1"),
        ({"approvers_from": "who"}, r"exactly one of approvers= .* got both"),
        ({"approvers": None}, r"exactly one of approvers= .* got neither"),
        ({"escalations": ["P1D"]}, r"escalation 1 is not an Escalation"),
        ({"event_name": ""}, r"event_name must be a non-empty str"),
        ({"send": None}, r"send must be a registered name"),
    ],
)
def test_approval_spec_rejects_bad_arguments(arguments: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "send": "send_request",
        "deadline": "P5D",
        "escalations": PLAN,
        "approvers": ["alice", "bob"],
    }
    with pytest.raises(InvalidArgumentError, match=message):
        Approval(**{**base, **arguments})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Escalation.remind("PT0S", "r"), r"^escalation after must be more than zero"),
        (
            lambda: Escalation(after="P1D", action="remind"),
            r"a reminder escalation needs an activity",
        ),
        (lambda: Escalation(after="P1D", action="shout"), r"'remind' or 'reassign', got 'shout'"),
    ],
)
def test_escalation_rejects_bad_arguments(build: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        build()


def test_register_approval_rejects_escalations_out_of_order() -> None:
    with pytest.raises(InvalidArgumentError, match=r"escalation delays out of order"):
        register_approval(
            App(),
            "bad",
            send="send_request",
            approvers=["a", "b"],
            deadline="P5D",
            escalations=[Escalation.reassign("P3D"), Escalation.remind("P1D", "r")],
        )
