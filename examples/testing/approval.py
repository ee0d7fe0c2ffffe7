"""A 30-day approval, simulated: a reminder every day, the approval on day 17.

Run it with ``python examples/testing/approval.py``. The workflow asks for an
approval, then waits for the ``approved`` event day after day, sending a
reminder each day it does not come, for up to 30 days. The simulation raises
the approval in the middle of day 17 and runs until nothing is pending: a
month of virtual time in a few milliseconds, the same history on every run
of the same seed. ``tests/testing/test_approval_scenario.py`` asserts it, and
``benchmarks/simulate_approval.py`` times it.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from durable import App, OrchestrationContext, Task
from durable.testing import Simulation

app = App()

DAYS = 30
APPROVED_AFTER = timedelta(days=16, hours=9)
"""Day 17 begins 16 days after the start; the approver answers at 09:00 that day."""


@app.activity
def request_approval(request: dict[str, Any]) -> str:
    """Ask the approver (here: pretend to send an email) and return the ticket id."""
    return f"ticket-{request['id']}"


@app.activity
def send_reminder(reminder: dict[str, Any]) -> str:
    """Remind the approver; return what was sent."""
    return f"reminder {reminder['day']} for {reminder['ticket']}"


@app.orchestrator
def approval(
    ctx: OrchestrationContext, request: dict[str, Any]
) -> Generator[Task[Any], Any, dict[str, Any]]:
    """Request an approval, remind every day, give up after 30 days."""
    ticket = yield ctx.call_activity(request_approval, request)
    for day in range(1, DAYS + 1):
        ctx.set_custom_status({"ticket": ticket, "day": day})
        answer = ctx.wait_for_event("approved")  # a lost race cancels the wait: wait anew
        timer = ctx.create_timer(timedelta(days=1))
        winner = yield ctx.when_any([answer, timer])
        if winner is answer:
            timer.cancel()
            return {"approved": answer.result, "day": day, "ticket": ticket}
        yield ctx.call_activity(send_reminder, {"day": day, "ticket": ticket})
    return {"approved": False, "day": DAYS, "ticket": ticket}


def scenario(simulation: Simulation) -> str:
    """Start one approval, approve it on day 17, run until idle; return the instance id."""
    instance_id = simulation.start(approval, {"id": 17}, instance_id="approval-17")
    simulation.raise_event(instance_id, "approved", True, at=APPROVED_AFTER)
    simulation.run_until_idle()
    return instance_id


def main() -> None:
    """Simulate once and show the outcome."""
    with Simulation(app, seed=0) as simulation:
        instance_id = scenario(simulation)
        status = simulation.status(instance_id)
        reminders = len(simulation.calls(send_reminder))
        print(f"{status.status.value} at {simulation.now:%Y-%m-%d %H:%M}: {status.output}")
        print(f"{reminders} reminders, {len(simulation.history(instance_id))} history events")


if __name__ == "__main__":
    main()
