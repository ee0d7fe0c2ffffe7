"""`replay`: recorded histories against current code, and the first divergence named."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from durable import App, OrchestrationContext, RuntimeStatus, Task
from durable.errors import (
    InvalidArgumentError,
    NonDeterminismError,
    OrchestratorNotFoundError,
)
from durable.testing import (
    HistoryFileError,
    ReplayResult,
    Simulation,
    export_history,
    load_history,
    replay,
    save_history,
)

Orchestration = Generator[Task[Any], Any, Any]
app = App()


@app.activity
def double(value: int) -> int:
    return value * 2


@app.activity
def triple(value: int) -> int:
    return value * 3


@app.orchestrator
def chain(ctx: OrchestrationContext, value: int) -> Orchestration:
    first = yield ctx.call_activity(double, value)
    second = yield ctx.call_activity(double, first)
    return second


@app.orchestrator
def greeter(ctx: OrchestrationContext) -> Orchestration:
    name = yield ctx.wait_for_event("name")
    return f"hello {name}"


def record(orchestrator: str, value: Any = None) -> dict[str, Any]:
    """The history of one simulated run, exported."""
    with Simulation(app) as simulation:
        instance_id = simulation.start(orchestrator, value, instance_id=f"{orchestrator}-1")
        simulation.run_until_idle()
        return export_history(simulation, instance_id)


def test_replay_of_its_own_history_is_ok() -> None:
    result = replay(record("chain", 3), chain)
    assert result == ReplayResult(
        instance_id="chain-1",
        orchestrator="chain",
        events=9,
        status=RuntimeStatus.COMPLETED,
        output=12,
    )
    assert result.ok


def test_replay_of_a_saved_and_loaded_history_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "chain-1.json"
    save_history(path, record("chain", 3))
    assert replay(load_history(path), "chain", app=app).ok


def test_replay_finds_the_orchestrator_the_history_names_in_the_app() -> None:
    assert replay(record("chain", 3), app=app).orchestrator == "chain"


def test_replay_accepts_a_list_of_events() -> None:
    with Simulation(app) as simulation:
        instance_id = simulation.start(chain, 1)
        simulation.run_until_idle()
        events = simulation.history(instance_id)
    assert replay(events, chain).output == 4


def test_replay_of_a_changed_orchestrator_names_position_recorded_call_and_new_call() -> None:
    def chain(ctx: OrchestrationContext, value: int) -> Orchestration:  # the edited code
        first = yield ctx.call_activity(double, value)
        second = yield ctx.call_activity(triple, first)
        return second

    with pytest.raises(NonDeterminismError) as caught:
        replay(record("chain", 3), chain)
    assert str(caught.value) == (
        "non-deterministic orchestrator in instance 'chain-1' at history event 5: history "
        "recorded activity 'double' (call 1), but the code now asks for activity 'triple' (call 1)"
    )


def test_replay_of_a_call_with_another_input_names_both_inputs() -> None:
    def chain(ctx: OrchestrationContext, value: int) -> Orchestration:
        first = yield ctx.call_activity(double, value + 1)
        second = yield ctx.call_activity(double, first)
        return second

    with pytest.raises(
        NonDeterminismError,
        match="at history event 2: history recorded activity 'double' \\(call 0\\) with input 3, "
        "but the code now asks for activity 'double' \\(call 0\\) with input 4",
    ):
        replay(record("chain", 3), chain)


def test_replay_of_code_that_calls_more_than_history_holds_points_past_the_end() -> None:
    def greeter(ctx: OrchestrationContext) -> Orchestration:
        yield ctx.call_activity(double, 1)
        name = yield ctx.wait_for_event("name")
        return f"hello {name}"

    with pytest.raises(
        NonDeterminismError,
        match="at history event 2: history recorded no further call \\(the end of the history\\), "
        "but the code now asks for activity 'double' \\(call 0\\) with input 1",
    ):
        replay(record("greeter"), greeter)


def test_replay_of_code_with_another_output_names_both_outputs() -> None:
    def chain(ctx: OrchestrationContext, value: int) -> Orchestration:
        first = yield ctx.call_activity(double, value)
        second = yield ctx.call_activity(double, first)
        return second + 1

    with pytest.raises(
        NonDeterminismError,
        match="at history event 8: history recorded ExecutionCompleted with output 12, but the "
        "code now asks for ExecutionCompleted with output 13",
    ):
        replay(record("chain", 3), chain)


def test_replay_of_code_that_ends_where_history_still_ran_points_past_the_end() -> None:
    def greeter(ctx: OrchestrationContext) -> str:
        return "nobody to greet"

    with pytest.raises(
        NonDeterminismError,
        match="at history event 2: history recorded no ending \\(the instance was still running\\)"
        ", but the code now asks for the end of the execution \\(COMPLETED with output "
        '"nobody to greet"\\)',
    ):
        replay(record("greeter"), greeter)


def test_replay_can_report_the_divergence_instead_of_raising_it() -> None:
    def chain(ctx: OrchestrationContext, value: int) -> Orchestration:
        yield ctx.call_activity(triple, value)

    result = replay(record("chain", 3), chain, raise_on_divergence=False)
    assert (result.ok, result.divergence and result.divergence.position) == (False, 2)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"orchestrator": "chain"}, InvalidArgumentError, "needs the orchestrator function"),
        ({}, InvalidArgumentError, "needs the orchestrator function"),
        ({"orchestrator": "missing", "app": app}, OrchestratorNotFoundError, "'missing'"),
    ],
)
def test_replay_needs_an_orchestrator_it_can_find(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        replay(record("chain", 3), **arguments)


def test_replay_of_an_invalid_document_fails_naming_the_path() -> None:
    document = record("chain", 3)
    document["events"][2]["seq"] = -1
    with pytest.raises(HistoryFileError, match=r"at \$.events\[2\].seq: -1 is less than"):
        replay(document, chain)


def test_replay_rejects_what_is_not_a_history() -> None:
    with pytest.raises(InvalidArgumentError, match="a history file document or a list"):
        replay(["not", "events"], chain)  # type: ignore[list-item]
