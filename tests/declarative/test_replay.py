"""Every kind replays its recorded history identically through the pure engine.

Each document runs to its end in simulation; its history is then replayed
from scratch by `durable._engine.replay` with no new events. The snapshot
must show the recorded ending, no failure, and no calls beyond the history
(every call the code makes is one the history recorded).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable import RuntimeStatus
from durable._engine.replay import replay
from durable.declarative import KINDS, register_workflow
from tests.declarative.helpers import document, make_app, simulation

Scenario = tuple[str, Any, list[tuple[str, Any, timedelta]]]

SCENARIOS: dict[str, Scenario] = {
    "call": (
        "steps:\n  - {id: a, call: [work, charge], with: 1, retry: {max_attempts: 2}}\n",
        None,
        [],
    ),
    "http": (
        "steps:\n  - id: h\n    http:\n      url: https://x.example/a\n"
        "      async: {poll_every: 1m, timeout: 1h}\n",
        None,
        [],
    ),
    "run": ("steps:\n  - {id: r, run: child, with: 3}\n", None, []),
    "wait": (
        "steps:\n  - {id: w, wait: 1h}\n  - {id: u, wait: {until: '2030-01-02T00:00:00Z'}}\n",
        None,
        [],
    ),
    "receive": (
        "steps:\n  - {id: r, receive: Go, timeout: 1d, accept: '${ event > 1 }'}\n",
        None,
        [("Go", 1, timedelta(hours=1)), ("Go", 2, timedelta(hours=2))],
    ),
    "set": (
        "steps:\n  - {id: s, set: {x: '${ input }'}}\n"
        "  - {id: t, call: work, with: '${ vars.x }'}\n",
        4,
        [],
    ),
    "switch": (
        "steps:\n  - id: s\n    switch: [{when: '${ input > 1 }', do: [{id: a, call: work}]}]\n"
        "    default: [{id: b, call: charge}]\n",
        2,
        [],
    ),
    "fail": (
        "steps:\n  - id: t\n    try: [{id: f, fail: {error: Oops}}]\n"
        "    catch: [{errors: [Oops], do: [{id: c, call: work}]}]\n",
        None,
        [],
    ),
    "return": ("steps:\n  - {id: a, call: work}\n  - {id: r, return: '${ steps.a }'}\n", None, []),
    "parallel": (
        "steps:\n  - id: p\n    join: any\n    parallel:\n"
        "      a: [{id: x, wait: 1h}, {id: y, call: work}]\n"
        "      b: [{id: z, wait: 2h}, {id: v, call: charge}]\n  - {id: n, wait: 3h}\n",
        None,
        [],
    ),
    "for_each": (
        "steps:\n  - id: e\n    for_each: '${ input }'\n    max_parallel: 2\n"
        "    do: [{id: a, call: work, with: '${ item }'}, {id: b, wait: 1m}]\n",
        [1, 2, 3],
        [],
    ),
    "loop": (
        "steps:\n  - id: l\n    loop: {every: 1m, max_iterations: 3, checkpoint_every: 2}\n"
        "    do: [{id: p, call: check}]\n",
        None,
        [],
    ),
    "approval": (
        "steps:\n  - id: a\n    approval:\n      request: {call: request_approval}\n"
        "      event: Ok\n"
        "      escalate: [{after: 1d, call: send_reminder}, {after: 2d, run: child}]\n"
        "      timeout: 3d\n",
        None,
        [("Ok", "yes", timedelta(days=2, hours=1))],
    ),
    "try": (
        "steps:\n  - id: t\n    try: [{id: a, call: work}, {id: b, fail: {error: E}}]\n"
        "    compensate: {a: [{id: u, call: refund}]}\n"
        "    catch: [{do: [{id: c, call: notify}]}]\n    finally: [{id: f, call: check}]\n",
        None,
        [],
    ),
}


def test_replay_scenarios_cover_every_kind() -> None:
    assert sorted(SCENARIOS) == sorted(KINDS)


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_kind_replays_its_recorded_history_identically(kind: str) -> None:
    text, input, events = SCENARIOS[kind]
    app = make_app()
    register_workflow(app, document(text))
    sim = simulation(app)
    if kind == "http":
        sim.fake(
            "durable.http_request",
            sequence=[
                {"status": 202, "headers": {"location": "/a/1"}, "body": ""},
                {"status": 200, "headers": {}, "body": "done"},
            ],
        )
    instance = sim.start("wf", input, instance_id=f"replay-{kind}")
    for name, data, delay in events:
        sim.raise_event(instance, name, data, at=delay)
    sim.run_until_idle()
    status = sim.status(instance)
    assert status.status is RuntimeStatus.COMPLETED
    history = sim.history(instance)
    decision = replay(app.find_orchestrator("wf"), history, registry=app, converter=app.converter)
    assert (decision.status, decision.output, decision.failure, decision.actions) == (
        RuntimeStatus.COMPLETED,
        status.output,
        None,
        (),
    )
