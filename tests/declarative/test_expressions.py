"""JSONata in the restricted profile: analysis, evaluation, replay-safe functions, bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from durable.declarative import ExpressionError, Limits, register_workflow
from durable.declarative.expressions import (
    JSONATA,
    Analysis,
    ExpressionSyntaxError,
    Reference,
    Services,
    format_now,
)
from tests.declarative.helpers import document, make_app, simulation

NOW = datetime(2030, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
SERVICES = Services(now=NOW, new_uuid=lambda: "uuid-1")


def evaluate(text: str, scope: dict[str, Any] | None = None, limits: Limits | None = None) -> Any:
    return JSONATA.compile(text).evaluate(scope or {}, SERVICES, limits or Limits())


def test_analysis_finds_root_names_members_calls_and_bound_names() -> None:
    expression = JSONATA.compile(
        "($total := $sum(steps.lines.amount); input.items[price > 1].name & $string($total))"
    )
    assert expression.analyse() == Analysis(
        references=(
            Reference(name="steps", member="lines", offset=16),
            Reference(name="input", member="items", offset=37),
        ),
        calls=("sum", "string"),
        variables=("total", "sum", "total", "string"),
        bound=frozenset({"total"}),
    )


def test_analysis_does_not_take_names_inside_filters_for_root_names() -> None:
    assert JSONATA.compile("input.items[price > limit]").analyse().references == (
        Reference(name="input", member="items", offset=0),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input.a + 1", 3),
        ("{'x': [1, 2][$ > 1]}", {"x": 2}),
        ("$count([1..4])", 4),
        ("2.0 * 3", 6),
        ("missing", None),
        ("$map(input.list, function($v){ $v * 2 })", [2, 4]),
    ],
)
def test_evaluate_returns_plain_json(text: str, expected: Any) -> None:
    assert evaluate(text, {"input": {"a": 2, "list": [1, 2]}}) == expected


def test_now_millis_and_uuid_come_from_the_services() -> None:
    assert evaluate("[$now(), $millis(), $uuid()]") == [
        "2030-01-02T03:04:05.678Z",
        int(NOW.timestamp() * 1000),
        "uuid-1",
    ]
    assert format_now(NOW) == "2030-01-02T03:04:05.678Z"


def test_banned_functions_are_not_among_the_functions_an_expression_may_call() -> None:
    assert set(JSONATA.banned) == {"random", "shuffle", "eval"}
    assert not JSONATA.functions & set(JSONATA.banned)
    assert {"now", "millis", "uuid", "sum", "formatNumber"} <= JSONATA.functions


def test_compile_refuses_text_that_does_not_parse_saying_where() -> None:
    with pytest.raises(
        ExpressionSyntaxError, match=r"Expected \) before end of expression"
    ) as info:
        JSONATA.compile("input.(")
    assert info.value.offset == 7


def test_an_expression_that_returns_a_function_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match=r"returned a Symbol, not a JSON value"):
        evaluate("function($x){ $x }")


def test_infinite_tail_recursion_stops_at_the_time_box() -> None:
    limits = Limits(time_box=timedelta(milliseconds=20))
    with pytest.raises(ExpressionError, match=r"ran longer than its time box of 20 ms"):
        evaluate("($f := function($x){ $f($x) }; $f(1))", limits=limits)


def test_deep_recursion_stops_at_the_depth_bound() -> None:
    with pytest.raises(ExpressionError, match=r"deeper than 40 levels \(runaway recursion\?\)"):
        evaluate("($f := function($x){ 1 + $f($x) }; $f(1))", limits=Limits(max_depth=40))


def test_an_infinitely_recursive_expression_fails_its_step_with_expression_error() -> None:
    app = make_app()
    text = (
        "steps:\n  - id: spin\n    call: work\n"
        "    with: '${ ($f := function($x){ $f($x) }; $f(1)) }'\n"
    )
    register_workflow(app, document(text), limits=Limits(time_box=timedelta(milliseconds=20)))
    with simulation(app) as sim:
        instance = sim.start("wf", None, instance_id="spin")
        sim.run_until_idle()
        status = sim.status(instance)
    assert status.failure is not None
    assert status.failure.type_name == "ExpressionError"
    assert status.failure.message.startswith(
        "step 'spin': steps[0].with: evaluation ran longer than its time box of 20 ms"
    )
    assert sim.calls() == []
