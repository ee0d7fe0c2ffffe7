"""The command logic: validate (text, JSON, against a history), schema, run (store or simulated)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from durable import App
from durable.declarative import register_workflow, schema_text
from durable.declarative.commands import (
    FAILED,
    INVALID,
    NONDETERMINISM,
    OK,
    UNREADABLE,
    print_schema,
    run_workflow_file,
    validate_against_history,
    validate_files,
)
from durable.stores import MemoryStore
from durable.testing import export_history, save_history
from tests.declarative.helpers import document, make_app, simulation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
INVALID_DIR = Path(__file__).parent / "invalid"


def streams() -> tuple[io.StringIO, io.StringIO]:
    return io.StringIO(), io.StringIO()


def test_validate_files_exits_zero_when_every_document_is_valid() -> None:
    out, err = streams()
    files = sorted(str(path) for path in EXAMPLES.glob("*[!s].yaml"))
    assert validate_files(files, stdout=out, stderr=err) == OK
    assert (out.getvalue(), err.getvalue()) == ("", "5 documents valid\n")


def test_validate_files_prints_every_problem_and_exits_one() -> None:
    out, err = streams()
    files = [str(EXAMPLES / "approval.yaml"), str(INVALID_DIR / "two_kinds.yaml")]
    assert validate_files(files, stdout=out, stderr=err) == INVALID
    assert out.getvalue() == (
        f"{INVALID_DIR / 'two_kinds.yaml'}:6:5: steps[0]: a step has exactly one kind; found 2: "
        "call, wait (split it into one step per kind)\n"
    )
    assert err.getvalue() == "1 problem in 1 of 2 documents\n"


def test_validate_files_in_json_gives_pointers() -> None:
    out, err = streams()
    target = str(INVALID_DIR / "retry_field_typo.yaml")
    assert validate_files([target], output_format="json", stdout=out, stderr=err) == INVALID
    assert json.loads(out.getvalue()) == {
        "valid": False,
        "files": [
            {
                "file": target,
                "valid": False,
                "problems": [
                    {
                        "file": target,
                        "line": 8,
                        "column": 13,
                        "path": "steps[0].retry.max_attempt",
                        "pointer": "/steps/0/retry/max_attempt",
                        "message": "unknown field 'max_attempt'",
                        "hint": "did you mean 'max_attempts'?",
                    }
                ],
            }
        ],
    }


def test_print_schema_prints_the_shipped_schema() -> None:
    out = io.StringIO()
    assert print_schema(stdout=out) == OK
    assert out.getvalue() == schema_text()


EXPECTED_RUNS: dict[str, tuple[Any, Any]] = {
    "chaining": (
        {"to": "lisbon", "card": "4000"},
        {"booked": False, "reason": "card 4000 declined"},
    ),
    "fan_out_fan_in": (
        ["a.txt", "b.txt", "c.txt"],
        {"files": 3, "sizes": [120, 4096, 77], "total": 4293},
    ),
    "async_http": (
        {"service": "https://reports.example"},
        {"url": "https://reports.example/files/7.pdf"},
    ),
    "monitor": ({"job": "nightly-build"}, {"job": "nightly-build", "state": "done"}),
    "approval": (
        {"expense_id": "E-17", "amount": 900, "approver": "alice", "manager": "bob"},
        {"approver": "bob", "approved": True, "comment": "fine by me"},
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_RUNS))
def test_each_example_runs_simulated_with_its_fakes(name: str) -> None:
    out, err = streams()
    input, output = EXPECTED_RUNS[name]
    code = run_workflow_file(
        str(EXAMPLES / f"{name}.yaml"),
        input=input,
        simulate=True,
        fakes=str(EXAMPLES / "fakes" / f"{name}.yaml"),
        output_format="json",
        stdout=out,
        stderr=err,
    )
    summary = json.loads(out.getvalue())
    assert (code, summary["status"], summary["output"], err.getvalue()) == (
        OK,
        "COMPLETED",
        output,
        "",
    )


def test_simulated_run_prints_a_timeline_in_text() -> None:
    out, err = streams()
    input = {"expense_id": "E-17", "amount": 900, "approver": "alice", "manager": "bob"}
    code = run_workflow_file(
        str(EXAMPLES / "approval.yaml"),
        input=input,
        simulate=True,
        fakes=str(EXAMPLES / "fakes" / "approval.yaml"),
        stdout=out,
        stderr=err,
    )
    lines = out.getvalue().splitlines()
    assert code == OK
    assert lines[0] == "simulated expense-approval 1.0.0 from 2030-01-01T00:00:00+00:00"
    assert [line.split()[0:2] for line in lines[1:-1]] == [
        ["+0s", 'request_approval({"expense_id":'],
        ["+1d", 'send_reminder({"to":'],
        ["+1d12h", "event"],
        ["+3d", 'reassign_approval({"to":'],
        ["+3d6h", "event"],
        ["+3d6h", 'notify_requester({"approver":'],
    ]
    assert lines[-1] == 'COMPLETED: {"approver": "bob", "approved": true, "comment": "fine by me"}'


def test_simulated_run_that_fails_exits_eight(tmp_path: Path) -> None:
    fakes = tmp_path / "fakes.yaml"
    fakes.write_text("activities:\n  charge: {raises: {type: PaymentDeclined, message: nope}}\n")
    wf = tmp_path / "wf.yaml"
    wf.write_text("durable: 1\nname: pay\nversion: '1'\nsteps:\n  - {id: pay, call: charge}\n")
    out, err = streams()
    code = run_workflow_file(str(wf), simulate=True, fakes=str(fakes), stdout=out, stderr=err)
    assert (code, out.getvalue().splitlines()[-1]) == (
        FAILED,
        "FAILED: activity 'charge' failed with PaymentDeclined: nope",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "activities: {charge: {returns: 1, raises: {type: X}}}\n",
            "activities.charge: give exactly one of echo, raises, returns, sequence",
        ),
        ("activities: {nope: {returns: 1}}\n", "activities.nope: the document does not call it"),
        ("events: [{name: Go, at: soon}]\n", "events[0].at: expected a duration"),
        ("extra: 1\n", "unknown field(s) extra; use activities, events, seed, start"),
    ],
)
def test_a_bad_fakes_file_exits_four_saying_where(
    tmp_path: Path, content: str, message: str
) -> None:
    fakes = tmp_path / "fakes.yaml"
    fakes.write_text(content)
    wf = tmp_path / "wf.yaml"
    wf.write_text("durable: 1\nname: pay\nversion: '1'\nsteps:\n  - {id: pay, call: charge}\n")
    out, err = streams()
    code = run_workflow_file(str(wf), simulate=True, fakes=str(fakes), stdout=out, stderr=err)
    assert code == UNREADABLE
    assert err.getvalue().startswith(f"{fakes}: {message}")


def test_run_on_a_store_uses_the_apps_activities() -> None:
    out, err = streams()
    store = MemoryStore()
    wf = str(EXAMPLES / "fan_out_fan_in.yaml")
    app = make_app("measure", "add_up")
    code = run_workflow_file(
        wf, input=["a"], app=app, store=store, output_format="json", stdout=out, stderr=err
    )
    summary = json.loads(out.getvalue())
    assert (code, summary["status"], summary["output"]["files"]) == (OK, "COMPLETED", 1)
    assert err.getvalue() == f"started total-size instance {summary['instance_id']}\n"


def test_run_on_a_store_without_the_activities_exits_four() -> None:
    out, err = streams()
    code = run_workflow_file(
        str(EXAMPLES / "monitor.yaml"), store=MemoryStore(), stdout=out, stderr=err
    )
    assert code == UNREADABLE
    assert err.getvalue() == (
        "durable run: the document calls job_state, notify_owner, which no app provides; give "
        "the app with --app module:app, or use --simulate --fakes FILE\n"
    )


def test_run_of_an_invalid_document_prints_its_problems_and_exits_one() -> None:
    out, err = streams()
    code = run_workflow_file(
        str(INVALID_DIR / "two_kinds.yaml"), simulate=True, stdout=out, stderr=err
    )
    assert (code, err.getvalue()) == (INVALID, "1 problem in 1 of 1 document\n")


def _recorded(tmp_path: Path, text: str) -> Path:
    app = make_app()
    register_workflow(app, document(text))
    with simulation(app) as sim:
        instance = sim.start("wf", None, instance_id="wf-1")
        sim.run_until_idle()
        path = tmp_path / "history.json"
        save_history(path, export_history(sim, instance))
    return path


def test_validate_against_history_accepts_a_document_that_replays_it(tmp_path: Path) -> None:
    history = _recorded(tmp_path, "steps:\n  - {id: a, call: work}\n  - {id: b, wait: 1h}\n")
    changed = tmp_path / "wf.yaml"
    changed.write_text(
        "durable: 1\nname: wf\nversion: '2'\ndescription: reworded\n"
        "steps:\n  - {id: a, call: work}\n  - {id: b, wait: 1h}\n"
    )
    out, err = streams()
    code = validate_against_history(str(changed), str(history), stdout=out, stderr=err)
    assert code == OK
    assert out.getvalue().startswith(f"{history}: {changed} makes the ")
    assert "(recorded with document version 1+sha256." in out.getvalue()


def test_validate_against_history_refuses_a_document_that_diverges(tmp_path: Path) -> None:
    history = _recorded(tmp_path, "steps:\n  - {id: a, call: work}\n  - {id: b, wait: 1h}\n")
    changed = tmp_path / "wf.yaml"
    changed.write_text(
        "durable: 1\nname: wf\nversion: '2'\n"
        "steps:\n  - {id: a, call: charge}\n  - {id: b, wait: 1h}\n"
    )
    out, err = streams()
    code = validate_against_history(str(changed), str(history), stdout=out, stderr=err)
    assert code == NONDETERMINISM
    assert "history recorded activity 'work' (call 0)" in out.getvalue()
    assert err.getvalue().startswith(f"{changed} does not replay the history")


def test_validate_against_an_unreadable_history_exits_four(tmp_path: Path) -> None:
    out, err = streams()
    missing = tmp_path / "missing.json"
    code = validate_against_history(
        str(EXAMPLES / "monitor.yaml"), str(missing), stdout=out, stderr=err
    )
    assert code == UNREADABLE
    assert err.getvalue().startswith(f"{missing}: cannot read the history")


def test_simulated_timeline_keeps_calls_at_one_instant_in_the_order_they_ran() -> None:
    out, err = streams()
    run_workflow_file(
        str(EXAMPLES / "chaining.yaml"),
        input={"to": "lisbon", "card": "4000"},
        simulate=True,
        fakes=str(EXAMPLES / "fakes" / "chaining.yaml"),
        stdout=out,
        stderr=err,
    )
    names = [line.split()[1].split("(")[0] for line in out.getvalue().splitlines()[1:-1]]
    assert names == ["book_flight", "book_hotel", "charge_card", "cancel_hotel", "cancel_flight"]


def test_run_on_a_store_registers_the_built_in_http_activity_when_the_app_lacks_it(
    tmp_path: Path,
) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "durable: 1\nname: fetch\nversion: '1'\n"
        "steps:\n  - {id: bad, http: {url: 'http://127.0.0.1:9/'}, retry: {max_attempts: 1}}\n"
    )
    out, err = streams()
    app_without_http = App()
    code = run_workflow_file(
        str(wf),
        app=app_without_http,
        store=MemoryStore(),
        output_format="json",
        stdout=out,
        stderr=err,
    )
    summary = json.loads(out.getvalue())
    assert (code, summary["status"]) == (FAILED, "FAILED")
    assert "durable.http_request" in app_without_http.activity_names
    assert summary["failure"].startswith("activity 'durable.http_request' failed with ")
