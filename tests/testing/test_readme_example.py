from datetime import timedelta
from pathlib import Path

import pytest

from durable import App, OrchestrationContext
from durable.testing import load_history, replay

app = App()


@app.activity
def request_approval(expense: dict) -> str:
    return f"asked the manager to approve {expense['amount']}"  # sends an email, really


@app.activity
def send_reminder(expense: dict) -> str:
    return f"reminded the manager about {expense['amount']}"


@app.orchestrator
def expense_approval(ctx: OrchestrationContext, expense: dict):
    yield ctx.call_activity(request_approval, expense)
    for reminders in range(3):
        decision = ctx.wait_for_event("decision")
        one_day = ctx.create_timer(timedelta(days=1))
        winner = yield ctx.when_any([decision, one_day])
        if winner is decision:
            one_day.cancel()
            return {"approved": decision.result, "reminders": reminders}
        if reminders < 2:
            yield ctx.call_activity(send_reminder, expense)
    return {"approved": False, "reminders": 2}


pytestmark = pytest.mark.durable_app(app)  # the app the `simulation` fixture runs


def test_manager_approves_after_one_reminder(simulation):
    expense = simulation.start(expense_approval, {"amount": 900})
    simulation.raise_event(expense, "decision", True, at=timedelta(days=1, hours=2))
    simulation.run_until_idle()
    assert simulation.status(expense).output == {"approved": True, "reminders": 1}
    assert [call.name for call in simulation.calls()] == ["request_approval", "send_reminder"]


def test_unanswered_request_is_reminded_twice_then_expires(simulation):
    expense = simulation.start(expense_approval, {"amount": 900})
    simulation.advance(timedelta(days=2))
    assert [call.at for call in simulation.calls(send_reminder)] == [
        simulation.now - timedelta(days=1),
        simulation.now,
    ]
    simulation.run_until_idle()  # jumps straight to the expiry on day 3
    assert simulation.status(expense).output == {"approved": False, "reminders": 2}


@pytest.mark.durable_seeds(10)  # ten interleavings; a failure names its seed
def test_a_decision_at_the_reminder_deadline_is_never_lost(simulation):
    expense = simulation.start(expense_approval, {"amount": 900})
    simulation.raise_event(expense, "decision", True, at=timedelta(days=1))  # as the timer fires
    simulation.run_until_idle()
    assert simulation.status(expense).output["approved"] is True


def test_a_failed_reminder_email_fails_the_approval(simulation):
    simulation.fail(send_reminder, times=1, error=ConnectionError("mail server down"))
    expense = simulation.start(expense_approval, {"amount": 900})
    simulation.run_until_idle()
    assert simulation.status(expense).failure.message == (
        "activity 'send_reminder' failed with ConnectionError: mail server down"
    )


def test_history_matches_the_recorded_one(simulation, golden_history):
    expense = simulation.start(expense_approval, {"amount": 900}, instance_id="expense-1")
    simulation.raise_event(expense, "decision", False, at=timedelta(hours=5))
    simulation.run_until_idle()
    golden_history(simulation, expense, "golden/expense-1.json")  # pytest --durable-record
    recorded = load_history(Path(__file__).parent / "golden" / "expense-1.json")
    assert replay(recorded, expense_approval).ok  # as CI would, against today's code
