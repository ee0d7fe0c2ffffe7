"""The README section's testing example, as written, against examples/workflows/approval.yaml."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from durable import App
from durable.declarative import register_workflow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "approval.yaml"


@pytest.fixture
def app() -> App:
    app = App()
    for name in ("request_approval", "send_reminder", "reassign_approval", "notify_requester"):
        app.activity(name=name)(lambda value, name=name: name)
    register_workflow(app, EXAMPLE)
    return app


def test_reminder_then_reassignment_then_timeout(simulation: Any) -> None:
    start = simulation.now
    expense = {"expense_id": "E-1", "amount": 900, "approver": "alice", "manager": "bob"}
    simulation.start("expense-approval", expense)
    simulation.run_until_idle()
    assert [(call.name, call.at - start) for call in simulation.calls()] == [
        ("request_approval", timedelta(0)),
        ("send_reminder", timedelta(days=1)),
        ("reassign_approval", timedelta(days=3)),
        ("notify_requester", timedelta(days=5)),
    ]
