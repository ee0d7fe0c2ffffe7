"""Each pattern kind records the same history as the matching `durable.patterns` helper.

Both forms run under the same orchestrator name, version, instance id, seed
and virtual start, so their whole histories compare equal event by event:
timestamps, sequence numbers, activity names and inputs, timers' fire
times, events, outputs. They are compared with each other and with one
golden file (``pytest --durable-record`` rewrites the files, the Python form
last). Each test also checks that both forms completed with the output the
scenario expects, so two forms that failed alike cannot pass.

The ``approval`` kind runs `wait_for_reply`, the helper under
`request_approval` (which adds an approver chain and `ApprovalNotice`
inputs), so its Python form is `wait_for_reply` with the same actions and
acceptance rule. An async ``http`` step runs `call_http_async` and ``loop``
a `Monitor`; ``call: [...]`` and ``for_each`` keep their own code and record
the history of `run_chain` and `fan_out`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from durable import OrchestrationContext, RuntimeStatus
from durable.declarative import compile_workflow, register_workflow
from durable.patterns import (
    HttpRequest,
    call_http_async,
    fan_out,
    monitor,
    run_chain,
    wait_for_reply,
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


def _same(yaml_sim: Any, python_sim: Any, name: str, golden: GoldenHistory, output: Any) -> None:
    """Both completed with `output`, with equal whole histories, equal to the golden file."""
    instance = f"{name}-1"
    for sim in (yaml_sim, python_sim):
        status = sim.status(instance)
        assert (status.status, status.failure, status.output) == (
            RuntimeStatus.COMPLETED,
            None,
            output,
        )
    assert export_history(yaml_sim, instance) == export_history(python_sim, instance)
    golden(yaml_sim, instance, f"golden/{name}.json")
    golden(python_sim, instance, f"golden/{name}.json")


def _echo(name: str, input: Any) -> dict[str, Any]:
    """What an activity of `make_app` returns."""
    return {"activity": name, "input": input}


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
    output = _echo("notify", _echo("charge", _echo("work", {"order": 7})))
    _same(yaml_sim, python_sim, "chaining", golden_history, output)


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
    output = [_echo("work", item) for item in [1, 2, 3, 4, 5]]
    _same(yaml_sim, python_sim, "fan_out_fan_in", golden_history, output)


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
    output = {"status": 200, "headers": {"content-type": "text/plain"}, "body": "done"}
    _same(yaml_sim, python_sim, "async_http", golden_history, output)


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
    _same(yaml_sim, python_sim, "monitor", golden_history, "done")


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
    _same(yaml_sim, python_sim, "monitor_expired", golden_history, "running")


APPROVAL = """
name: {name}
steps:
  - id: decision
    approval:
      request: {{call: request_approval, with: "${{ input }}"}}
      event: ExpenseDecision
      accept: "${{ event.approver = input.approver or event.approver = input.manager }}"
      escalate:
        - {{after: 1d, call: send_reminder, with: {{to: "${{ input.approver }}"}}}}
        - {{after: 3d, call: reassign_approval, with: {{to: "${{ input.manager }}"}}}}
      timeout: 5d
      on_timeout: {{approved: false, reason: auto-rejected after 5 days}}
  - id: notify
    call: notify
    with: "${{ steps.decision }}"
"""

EXPENSE = {"id": "E-1", "approver": "alice", "manager": "bob"}
REJECTED = {"approved": False, "reason": "auto-rejected after 5 days"}


async def _approval(ctx: OrchestrationContext, expense: dict[str, Any]) -> Any:
    reply = await wait_for_reply(
        ctx,
        "ExpenseDecision",
        ask=lambda: ctx.call_activity("request_approval", expense),
        escalations=[
            ("P1D", lambda: ctx.call_activity("send_reminder", {"to": expense["approver"]})),
            ("P3D", lambda: ctx.call_activity("reassign_approval", {"to": expense["manager"]})),
        ],
        deadline="P5D",
        accept=lambda event: event.get("approver") in (expense["approver"], expense["manager"]),
    )
    decision = reply.data if reply.answered else REJECTED
    return await ctx.call_activity("notify", decision)


def test_approval_document_records_the_history_of_wait_for_reply(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    refused = {"approver": "mallory", "approved": True}
    accepted = {"approver": "bob", "approved": True}
    yaml_sim, python_sim = _pair(
        APPROVAL.format(name="approval"),
        _approval,
        simulation_factory,
        input=EXPENSE,
        events=[
            ("ExpenseDecision", refused, timedelta(days=2)),
            ("ExpenseDecision", accepted, timedelta(days=3, hours=4)),
        ],
    )
    _same(yaml_sim, python_sim, "approval", golden_history, _echo("notify", accepted))


def test_approval_document_records_the_history_of_a_timed_out_wait_for_reply(
    simulation_factory: SimulationFactory, golden_history: GoldenHistory
) -> None:
    refused = {"approver": "eve", "approved": True}
    yaml_sim, python_sim = _pair(
        APPROVAL.format(name="approval_timed_out"),
        _approval,
        simulation_factory,
        input=EXPENSE,
        events=[("ExpenseDecision", refused, timedelta(days=4))],
    )
    _same(yaml_sim, python_sim, "approval_timed_out", golden_history, _echo("notify", REJECTED))
