"""Registering documents: names, recorded versions, and instances kept on their own document."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from durable import RuntimeStatus
from durable._engine.replay import replay
from durable.declarative import (
    DocumentError,
    compile_workflow,
    document_tags,
    register_workflow,
    workflow_definition,
)
from durable.errors import RegistrationError
from durable.history import ExecutionStarted
from tests.declarative.helpers import START, document, make_app, simulation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
V1 = "name: wf\nversion: '1'\nsteps:\n  - {id: a, call: work}\n  - {id: b, wait: 1d}\n"
V2 = "name: wf\nversion: '2'\nsteps:\n  - {id: a, call: charge}\n  - {id: b, wait: 1d}\n"


def test_register_workflow_registers_the_document_under_its_name_and_recorded_version() -> None:
    app = make_app()
    definition = register_workflow(app, document(V1))
    plan = compile_workflow(document(V1))
    assert app.find_orchestrator("wf") is definition
    assert (definition.name, definition.version, definition.takes_input) == (
        "wf",
        plan.recorded_version,
        True,
    )
    assert re.fullmatch(r"1\+sha256\.[0-9a-f]{16}", plan.recorded_version)


def test_register_workflow_refuses_a_second_document_of_the_same_name() -> None:
    app = make_app()
    register_workflow(app, document(V1))
    with pytest.raises(RegistrationError, match="an orchestrator named 'wf' is already registered"):
        register_workflow(app, document(V2))


def test_register_workflow_refuses_an_invalid_document_listing_its_problems() -> None:
    with pytest.raises(
        DocumentError, match=r"(?s)1 problem.*steps\[0\]\.call: unknown activity 'nope'"
    ):
        register_workflow(make_app(), document("steps:\n  - {id: a, call: nope}\n"))


def test_register_workflow_skips_name_checks_when_asked() -> None:
    app = make_app()
    register_workflow(app, document("steps:\n  - {id: a, call: nope}\n"), check_names=False)
    assert "wf" in app.orchestrator_names


def test_register_workflow_reads_a_file_and_names_it_in_problems(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("durable: 1\nname: x\nversion: '1'\nsteps:\n  - {id: a, wait: soon}\n")
    with pytest.raises(DocumentError, match=rf"{re.escape(str(broken))}:5:19: steps\[0\]\.wait"):
        register_workflow(make_app(), broken)
    app = make_app()
    definition = register_workflow(app, EXAMPLES / "approval.yaml", check_names=False)
    assert definition.name == "expense-approval"


def test_document_hash_ignores_formatting_and_key_order(tmp_path: Path) -> None:
    yaml_file = tmp_path / "wf.yaml"
    yaml_file.write_text(
        "# a comment\nname: wf\nversion: '1'\ndurable: 1\nsteps:\n- call: work\n  id: a\n"
    )
    json_file = tmp_path / "wf.json"
    json_file.write_text(
        json.dumps(
            {"durable": 1, "name": "wf", "version": "1", "steps": [{"id": "a", "call": "work"}]}
        )
    )
    assert compile_workflow(yaml_file).digest == compile_workflow(json_file).digest
    assert compile_workflow(yaml_file).digest != compile_workflow(document(V1)).digest


def test_document_tags_name_the_document_version_and_hash() -> None:
    plan = compile_workflow(document(V1))
    assert document_tags(plan) == {
        "durable.workflow.name": "wf",
        "durable.workflow.version": "1",
        "durable.workflow.sha256": plan.digest,
    }


def test_instances_record_the_document_version_in_execution_started() -> None:
    app = make_app()
    definition = register_workflow(app, document(V1))
    sim = simulation(app)
    instance = sim.start("wf", None, instance_id="x")
    sim.run_until_idle()
    started = next(e for e in sim.history(instance) if isinstance(e, ExecutionStarted))
    assert (started.version, sim.status(instance).version) == (definition.version,) * 2


def _in_flight_history() -> list[object]:
    app = make_app()
    register_workflow(app, document(V1))
    sim = simulation(app)
    instance = sim.start("wf", None, instance_id="x")
    sim.advance(timedelta(hours=1))
    assert sim.status(instance).status is RuntimeStatus.RUNNING
    return list(sim.history(instance))


def test_an_instance_keeps_replaying_with_a_previous_document_it_started_with() -> None:
    app = make_app()
    both = workflow_definition([compile_workflow(document(V2)), compile_workflow(document(V1))])
    decision = replay(both, _in_flight_history(), registry=app, converter=app.converter)
    assert (decision.status, decision.failure, decision.actions) == (
        RuntimeStatus.RUNNING,
        None,
        (),
    )


def test_a_changed_document_is_refused_for_an_instance_that_has_not_run_yet() -> None:
    app = make_app()
    v1, v2 = compile_workflow(document(V1)), compile_workflow(document(V2))
    started = ExecutionStarted(
        timestamp=START, name="wf", instance_id="x", execution_id="e", version=v1.recorded_version
    )
    decision = replay(
        workflow_definition([v2]), [], [started], now=START, registry=app, converter=app.converter
    )
    assert decision.failure is not None
    assert decision.failure.type_name == "NonDeterminismError"
    assert decision.failure.message == (
        "non-deterministic orchestrator in instance 'x' at history event 0: history recorded "
        f"workflow document 'wf' version '1' (sha256 {v1.digest[:16]}...), but the code now asks "
        f"for document version '2' (sha256 {v2.digest[:16]}...): the document changed while the "
        "instance ran, and an instance replays only with the document it started with; register "
        "the old one too, with register_workflow(app, new, previous=[old]), until its instances "
        "finish"
    )


def test_a_changed_document_is_refused_for_an_in_flight_instance_with_a_clear_message() -> None:
    app = make_app()
    decision = replay(
        workflow_definition([compile_workflow(document(V2))]),
        _in_flight_history(),
        registry=app,
        converter=app.converter,
    )
    assert decision.failure is not None
    assert "the document changed while the instance ran" in decision.failure.message


def test_a_changed_document_fails_an_in_flight_instance_as_non_deterministic() -> None:
    app = make_app()
    decision = replay(
        workflow_definition([compile_workflow(document(V2))]),
        _in_flight_history(),
        registry=app,
        converter=app.converter,
    )
    assert decision.failure is not None
    assert (decision.status, decision.failure.type_name, decision.actions) == (
        RuntimeStatus.FAILED,
        "NonDeterminismError",
        (),
    )


def test_workflow_definition_refuses_previous_documents_of_another_name() -> None:
    other = compile_workflow(document(V1.replace("name: wf", "name: other")))
    with pytest.raises(RegistrationError, match=r"previous documents must have the name 'wf'"):
        workflow_definition([compile_workflow(document(V1)), other])


def test_a_declarative_workflow_runs_another_as_a_sub_workflow() -> None:
    app = make_app()
    register_workflow(
        app, document("name: inner\nsteps:\n  - {id: a, call: work, with: '${ input }'}\n")
    )
    register_workflow(app, document("name: outer\nsteps:\n  - {id: r, run: inner, with: 5}\n"))
    sim = simulation(app)
    outer = sim.start("outer", None, instance_id="outer-1")
    sim.run_until_idle()
    inner_version = app.find_orchestrator("inner").version
    assert sim.status(outer).output == {"activity": "work", "input": 5}
    assert sim.status("outer-1:0").version == inner_version
