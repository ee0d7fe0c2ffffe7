"""Each pattern kind records the same history as the matching `durable.patterns` helper.

Both forms run under the same orchestrator name, version, instance id and
seed; their histories are compared with each other and with one golden file
(``pytest --durable-record`` rewrites the files, the Python form last). The
approval kind takes its inputs and decisions from the document (``with``,
``accept``) where the helper sends `ApprovalNotice` values and reads
`ApprovalAnswer` events, so for it the test compares the history's shape:
the kinds of events, the activities called and the timers' fire times.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from durable import OrchestrationContext
from durable.declarative import compile_workflow, register_workflow
from durable.history import HistoryEvent
from durable.patterns import (
    Escalation,
    HttpRequest,
    call_http_async,
    fan_out,
    monitor,
    request_approval,
    run_chain,
)
from durable.testing import export_history
from durable.testing.pytest_plugin import GoldenHistory, SimulationFactory
from tests.declarative.helpers import START, document, make_app

Setup = Any


def _pair(
    text: str,
    python: Any,
    simulation_factory: SimulationFactory,
    *,
    input: Any = None,
    setup: Setup = None,
    events: list[tuple[str, Any, timedelta]] | None = None,
) -> tuple[Any, Any]:
    """Run the document and the Python orchestrator alike; return both simulations."""
    doc = document(text)
    plan = compile_workflow(doc)
    yaml_app = make_app()
    register_workflow(yaml_app, doc)
    python_app = make_app()
    python_app.orchestrator(name=plan.name, version=plan.recorded_version)(python)
    runs = []
    for app in (yaml_app, python_app):
        sim = simulation_factory(app, seed=7, start=START)
        if setup is not None:
            setup(sim)
        instance = sim.start(plan.name, input, instance_id=f"{plan.name}-1")
        for name, data, delay in events or ():
            sim.raise_event(instance, name, data, at=delay)
        sim.run_until_idle()
        runs.append(sim)
    return runs[0], runs[1]


def _same(yaml_sim: Any, python_sim: Any, name: str, golden: GoldenHistory) -> None:
    instance = f"{name}-1"
    assert export_history(yaml_sim, instance) == export_history(python_sim, instance)
    golden(yaml_sim, instance, f"golden/{name}.json")
    golden(python_sim, instance, f"golden/{name}.json")


def test_chaining_document_records_the_history_of_run_chain(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    async def chaining(ctx: OrchestrationContext, input: Any) -> Any:
        return await run_chain(ctx, ["work", "charge", "notify"], input)

    text = """
    name: chaining
    steps:
      - id: chain
        call: [work, charge, notify]
        with: "${ input }"
    """
    yaml_sim, python_sim = _pair(text, chaining, simulation_factory, input={"order": 7})
    _same(yaml_sim, python_sim, "chaining", golden_history)


def test_for_each_document_records_the_history_of_fan_out(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    async def fan_out_fan_in(ctx: OrchestrationContext, items: list[int]) -> Any:
        return await fan_out(ctx, items, activity="work", max_parallel=2)

    text = """
    name: fan_out_fan_in
    steps:
      - id: each
        for_each: "${ input }"
        max_parallel: 2
        do:
          - id: one
            call: work
            with: "${ item }"
    """

    def setup(sim: Any) -> None:
        sim.delay("work", timedelta(minutes=1))

    yaml_sim, python_sim = _pair(
        text, fan_out_fan_in, simulation_factory, input=[1, 2, 3, 4, 5], setup=setup
    )
    _same(yaml_sim, python_sim, "fan_out_fan_in", golden_history)


def test_async_http_document_records_the_history_of_call_http_async(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    async def async_http(ctx: OrchestrationContext, input: Any) -> Any:
        request = HttpRequest(url="https://reports.example/exports", method="POST", body="monthly")
        return await call_http_async(ctx, request, poll_interval="PT5S", timeout="PT10M")

    text = """
    name: async_http
    steps:
      - id: export
        http:
          method: POST
          url: https://reports.example/exports
          body: monthly
          async: {poll_every: 5s, timeout: 10m}
    """

    def setup(sim: Any) -> None:
        sim.fake(
            "durable.http_request",
            sequence=[
                {"status": 202, "headers": {"Location": "/exports/7"}, "body": ""},
                {"status": 202, "headers": {"Location": "/exports/7", "Retry-After": "30"}},
                {"status": 200, "headers": {"Content-Type": "text/plain"}, "body": "done"},
            ],
        )

    yaml_sim, python_sim = _pair(text, async_http, simulation_factory, setup=setup)
    _same(yaml_sim, python_sim, "async_http", golden_history)


MONITOR = """
name: {name}
steps:
  - id: watch
    loop:
      every: 1m
      until: "${{ result = 'done' }}"
      expires: 5m
      on_expiry: "${{ result }}"
    do:
      - id: poll
        call: check
        with: "${{ input }}"
"""


async def _monitor(ctx: OrchestrationContext, job: str) -> Any:
    result = await monitor(
        ctx,
        "check",
        job,
        interval="PT1M",
        until=lambda state: state == "done",
        expires_after="PT5M",
    )
    return result.value


def test_loop_document_records_the_history_of_monitor(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    def setup(sim: Any) -> None:
        sim.fake("check", sequence=["queued", "running", "done"])

    yaml_sim, python_sim = _pair(
        MONITOR.format(name="monitor"), _monitor, simulation_factory, input="job-1", setup=setup
    )
    _same(yaml_sim, python_sim, "monitor", golden_history)


def test_loop_document_records_the_history_of_an_expiring_monitor(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    def setup(sim: Any) -> None:
        sim.fake("check", "running")

    yaml_sim, python_sim = _pair(
        MONITOR.format(name="monitor_expired"),
        _monitor,
        simulation_factory,
        input="job-1",
        setup=setup,
    )
    _same(yaml_sim, python_sim, "monitor_expired", golden_history)


def _shape(events: list[HistoryEvent]) -> list[tuple[str, Any]]:
    """Event kinds, with the activity name or timer time where there is one."""
    return [
        (type(event).__name__, getattr(event, "name", None) or getattr(event, "fire_at", None))
        for event in events[2:-1]
    ]


def test_approval_document_records_the_shape_of_request_approval(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    async def approval(ctx: OrchestrationContext, request: Any) -> Any:
        result = await request_approval(
            ctx,
            request,
            send="request_approval",
            approvers=request["approvers"],
            deadline="P5D",
            escalations=[
                Escalation.remind("P1D", "send_reminder"),
                Escalation.reassign("P3D", "reassign_approval"),
            ],
            event_name="ExpenseDecision",
        )
        return result.approved

    text = """
    name: approval
    steps:
      - id: decision
        approval:
          request: {call: request_approval, with: "${ input }"}
          event: ExpenseDecision
          accept: "${ event.by = input.approvers[0] or event.by = input.approvers[1] }"
          escalate:
            - {after: 1d, call: send_reminder, with: "${ input }"}
            - {after: 3d, call: reassign_approval, with: "${ input }"}
          timeout: 5d
    output: "${ steps.decision.approved }"
    """
    events = [
        ("ExpenseDecision", {"by": "mallory", "approved": True}, timedelta(days=2)),
        ("ExpenseDecision", {"by": "bob", "approved": True}, timedelta(days=3, hours=4)),
    ]
    yaml_sim, python_sim = _pair(
        text,
        approval,
        simulation_factory,
        input={"approvers": ["alice", "bob"]},
        events=events,
    )
    yaml_history = yaml_sim.history("approval-1")
    python_history = python_sim.history("approval-1")
    assert _shape(yaml_history) == _shape(python_history)
    assert yaml_sim.status("approval-1").output == python_sim.status("approval-1").output is True
    golden_history(yaml_sim, "approval-1", "golden/approval.json")
