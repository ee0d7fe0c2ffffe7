"""The approval kind in virtual time: reminder at +1d, reassignment at +3d, timeout at +5d."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from durable.declarative import register_workflow
from durable.testing import Simulation
from tests.declarative.helpers import START, at, calls, document, make_app, simulation, timers

EXPENSE = {"id": "E-1", "approver": "alice", "manager": "bob"}

APPROVAL = """
name: expense-approval
steps:
  - id: decision
    status: {stage: waiting for a decision}
    approval:
      request: {call: request_approval, with: "${ input }"}
      event: ExpenseDecision
      accept: "${ event.approver = input.approver or event.approver = input.manager }"
      escalate:
        - after: 1d
          call: send_reminder
          with: {to: "${ input.approver }"}
        - after: 3d
          call: reassign_approval
          with: {to: "${ input.manager }"}
      timeout: 5d
      on_timeout: {approved: false, reason: "auto-rejected after 5 days"}
  - id: notify
    status: {stage: notifying}
    call: notify
    with: "${ steps.decision }"
"""


def started() -> tuple[Simulation, str]:
    app = make_app()
    register_workflow(app, document(APPROVAL))
    sim = simulation(app)
    return sim, sim.start("expense-approval", EXPENSE, instance_id="expense-1")


def test_unanswered_request_reminds_at_one_day_reassigns_at_three_and_times_out_at_five() -> None:
    sim, expense = started()
    sim.advance(timedelta(days=2))
    assert sim.status(expense).custom_status == {"stage": "waiting for a decision"}
    sim.run_until_idle()
    decision = {"approved": False, "reason": "auto-rejected after 5 days"}
    assert calls(sim, expense) == [
        ("request_approval", EXPENSE, START),
        ("send_reminder", {"to": "alice"}, at(days=1)),
        ("reassign_approval", {"to": "bob"}, at(days=3)),
        ("notify", decision, at(days=5)),
    ]
    status = sim.status(expense)
    assert (status.output, status.custom_status, status.completed_at) == (
        {"activity": "notify", "input": decision},
        {"stage": "notifying"},
        at(days=5),
    )


def test_an_early_decision_cancels_the_later_timers() -> None:
    sim, expense = started()
    answer = {"approver": "alice", "approved": True}
    sim.raise_event(expense, "ExpenseDecision", answer, at=timedelta(days=2))
    sim.run_until_idle()
    assert [(name, when) for name, _, when in calls(sim, expense)] == [
        ("request_approval", START),
        ("send_reminder", at(days=1)),
        ("notify", at(days=2)),
    ]
    assert timers(sim.history(expense)) == [at(days=1), at(days=3)]
    assert sim.status(expense).completed_at == at(days=2)


def test_a_decision_that_is_not_accepted_is_ignored_and_waiting_goes_on() -> None:
    sim, expense = started()
    sim.raise_event(expense, "ExpenseDecision", {"approver": "eve"}, at=timedelta(hours=1))
    sim.raise_event(
        expense, "ExpenseDecision", {"approver": "bob", "approved": True}, at=timedelta(days=4)
    )
    sim.run_until_idle()
    outputs: list[Any] = [value for name, value, _ in calls(sim, expense) if name == "notify"]
    assert outputs == [{"approver": "bob", "approved": True}]
    assert [name for name, _, _ in calls(sim, expense)] == [
        "request_approval",
        "send_reminder",
        "reassign_approval",
        "notify",
    ]


def test_an_approval_without_on_timeout_fails_with_timeout_at_its_deadline() -> None:
    app = make_app()
    text = APPROVAL.replace(
        '      on_timeout: {approved: false, reason: "auto-rejected after 5 days"}\n', ""
    )
    register_workflow(app, document(text))
    sim = simulation(app)
    expense = sim.start("expense-approval", EXPENSE, instance_id="expense-2")
    sim.run_until_idle()
    status = sim.status(expense)
    assert status.failure is not None
    assert (status.failure.type_name, status.failure.message, status.completed_at) == (
        "Timeout",
        "step 'decision': no 'ExpenseDecision' event was accepted within 5d",
        at(days=5),
    )
