"""Human interaction with escalation: an expense claim waits for its approver.

Run it with ``python examples/approval.py [path/to/file.db]`` (default: a
temporary file). The plan is a reminder after 0.3 s and reassignment to the
manager after 1 s, with a deadline of 2 s (a real one would say ``"P1D"``,
``"P3D"`` and ``"P5D"``). Three claims show three endings:

- an answer from someone who is not the approver (ignored), then the
  approver's own answer after the reminder;
- the manager's answer after reassignment;
- no answer at all: the claim times out and is rejected.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from durable import App, Client, Worker
from durable.patterns import ApprovalAnswer, ApprovalNotice, Escalation, register_approval
from durable.stores import SQLiteStore

app = App()


@app.activity
def send_request(notice: ApprovalNotice) -> str:
    """Ask the approver (a real one would send an e-mail with approve/reject links)."""
    print(f"  -> {notice.approver}: please approve {notice.request['claim']} ({notice.kind.value})")
    return "sent"


@app.activity
def send_reminder(notice: ApprovalNotice) -> str:
    """Remind the approver."""
    print(f"  -> {notice.approver}: reminder, {notice.request['claim']} is waiting for you")
    return "sent"


register_approval(
    app,
    "expense_approval",
    send=send_request,
    approvers=["alice", "bob"],
    escalations=[
        Escalation.remind(timedelta(milliseconds=300), send_reminder),
        Escalation.reassign(timedelta(seconds=1)),
    ],
    deadline=timedelta(seconds=2),
)


def wait_until(client: Client, instance_id: str, ready: Callable[[Any], bool]) -> None:
    """Wait until the instance's custom status (approver, level, ignored) satisfies `ready`."""
    for _ in range(500):
        if ready(client.status(instance_id).custom_status or {}):
            return
        time.sleep(0.01)
    raise TimeoutError(f"instance {instance_id} did not get there in time")


def main(path: str | None = None) -> None:
    """Run the three claims and print each result."""
    path = path or str(Path(tempfile.mkdtemp(prefix="durable-")) / "approval.db")
    store = SQLiteStore(path)
    client = Client(store, app=app)
    results = {}
    with Worker(app, store):
        claims = {
            claim: client.start("expense_approval", {"claim": claim, "amount": amount})
            for claim, amount in (("taxi", 42), ("hotel", 900), ("dinner", 80))
        }
        taxi, hotel = claims["taxi"], claims["hotel"]
        client.raise_event(taxi, "approval", ApprovalAnswer(by="mallory", approved=True))
        wait_until(client, taxi, lambda status: status.get("level") == 1)
        client.raise_event(taxi, "approval", ApprovalAnswer(by="alice", approved=True))
        wait_until(client, hotel, lambda status: status.get("approver") == "bob")
        answer = ApprovalAnswer(by="bob", approved=False, comment="over budget")
        client.raise_event(hotel, "approval", answer)
        for claim, instance_id in claims.items():
            results[claim] = client.wait(instance_id, timeout=timedelta(seconds=10))
    print(f"store: {path}")
    for claim, status in results.items():
        result = status.output
        who = f"by {result['by']}" if result["by"] else "with no answer"
        line = f"{claim}: {result['outcome']} {who} at level {result['level']}"
        print(f"{line} (approver {result['approver']}, {result['at']})")
        for ignored in result["ignored"]:
            print(f"  ignored: {ignored['reason']}")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
