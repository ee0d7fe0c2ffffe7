"""Validation reports: positions, text and JSON forms, sorting, the format page's examples."""

from __future__ import annotations

from durable import App
from durable.declarative import DocumentError, Problem, validate, validate_text
from durable.declarative.problems import dotted, pointer, sort_problems, suggest
from tests.declarative.helpers import make_app

FORMAT_PAGE = """\
durable: 1
name: wf
version: "1"
steps:
  - id: validate
    call: validate_expense
    retry: {max_attempt: 3, delay: 2 seconds}
  - id: answer
    receive: Decision
  - id: pay
    call: charge
    wait: 1m
  - id: notify
    call: notify
    with:
      amount: "${ steps.validat.total }"
"""


def test_validation_reports_the_format_pages_problems_sorted_by_position() -> None:
    result = validate_text(FORMAT_PAGE, file="wf.yaml", app=make_app())
    assert [problem.format() for problem in result.problems] == [
        "wf.yaml:7:13: steps[0].retry.max_attempt: unknown field 'max_attempt' "
        "(did you mean 'max_attempts'?)",
        "wf.yaml:7:36: steps[0].retry.delay: expected a duration such as '30s', '15m', '3d' or "
        "'PT15M'; got '2 seconds'",
        "wf.yaml:8:5: steps[1]: 'timeout' is required here (a 'receive' step must be bounded)",
        "wf.yaml:10:5: steps[2]: a step has exactly one kind; found 2: call, wait "
        "(split it into one step per kind)",
    ]


def test_semantic_problems_come_once_the_schema_pass_is_clean() -> None:
    fixed = (
        FORMAT_PAGE.replace("max_attempt: 3, delay: 2 seconds", "max_attempts: 3, delay: 2s")
        .replace("receive: Decision", "receive: Decision\n    timeout: 1d")
        .replace("    wait: 1m\n", "")
    )
    result = validate_text(fixed, file="wf.yaml", app=make_app())
    assert [problem.format() for problem in result.problems] == [
        "wf.yaml:16:15: steps[3].with.amount: unknown step 'validat' in "
        "${ steps.validat.total } (did you mean 'validate'?)"
    ]


def test_problems_as_json_carry_a_json_pointer() -> None:
    problem = validate_text(FORMAT_PAGE, file="wf.yaml").problems[0]
    assert problem.to_json() == {
        "file": "wf.yaml",
        "line": 7,
        "column": 13,
        "path": "steps[0].retry.max_attempt",
        "pointer": "/steps/0/retry/max_attempt",
        "message": "unknown field 'max_attempt'",
        "hint": "did you mean 'max_attempts'?",
    }


def test_a_valid_document_has_a_plan_and_no_problems() -> None:
    first = FORMAT_PAGE.split("  - id: answer")[0]
    result = validate_text(
        first.replace("max_attempt:", "max_attempts:").replace("2 seconds", "2s")
    )
    assert (result.ok, result.problems, result.plan is not None) == (True, [], True)


def test_validate_takes_a_parsed_document_without_positions() -> None:
    result = validate(
        {"durable": 1, "name": "wf", "version": "1", "steps": [{"id": "a", "wait": "1x"}]}
    )
    assert [problem.format() for problem in result.problems] == [
        "<document>: steps[0].wait: expected a duration such as '30s', '15m', '3d' or 'PT15M'; "
        "got '1x'"
    ]


def test_a_document_that_is_not_a_mapping_is_one_problem() -> None:
    assert [p.message for p in validate_text("- a\n- b\n").problems] == [
        "a workflow document is a mapping; got a list"
    ]


def test_a_missing_file_is_a_problem_not_an_exception() -> None:
    problems = validate("/nonexistent/wf.yaml").problems
    assert len(problems) == 1
    assert problems[0].message.startswith("cannot read: [Errno 2]")


def test_document_error_lists_at_most_twenty_problems() -> None:
    problems = [
        Problem(file="f", line=index + 1, column=1, path=("steps", index), message="bad")
        for index in range(25)
    ]
    message = str(DocumentError(problems, source="f"))
    assert message.splitlines()[0] == "f is not a valid workflow document (25 problems):"
    assert message.splitlines()[-1] == "... and 5 more"


def test_paths_pointers_sorting_and_suggestions() -> None:
    assert (dotted(("steps", 0, "retry")), pointer(("a/b", "c~d", 1))) == (
        "steps[0].retry",
        "/a~1b/c~0d/1",
    )
    late = Problem(file="f", line=3, column=1, path=("b",), message="x")
    early = Problem(file="f", line=1, column=9, path=("a",), message="y")
    assert sort_problems([late, early, late]) == [early, late]
    assert (suggest("Timout", ["Timeout", "Any"]), suggest("zzz", ["Timeout"])) == ("Timeout", None)


def test_chained_activities_are_checked_against_the_app() -> None:
    text = "durable: 1\nname: x\nversion: '1'\nsteps: [{id: a, call: [work, nope]}]\n"
    assert [p.format() for p in validate_text(text, app=make_app()).problems] == [
        "<document>:4:30: steps[0].call[1]: unknown activity 'nope': the app has no activity of "
        "that name"
    ]


def test_http_steps_need_the_http_activity_registered() -> None:
    app = App()
    text = "durable: 1\nname: x\nversion: '1'\nsteps: [{id: a, http: {url: 'https://x'}}]\n"
    assert [p.format() for p in validate_text(text, app=app).problems] == [
        "<document>:4:23: steps[0].http: http steps call the built-in activity "
        "'durable.http_request', which the app has not registered (register it with "
        "durable.patterns.register_http(app, orchestrator_name=None))"
    ]
