"""Templates and conditions: whole expressions, interpolation, escapes, braces, booleans."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from durable.declarative import ExpressionError, Limits
from durable.declarative.expressions import JSONATA, Services
from durable.declarative.templates import (
    TemplateError,
    compile_condition,
    compile_template,
    split_template,
)

SERVICES = Services(now=datetime(2030, 1, 1, tzinfo=UTC), new_uuid=lambda: "u")
SCOPE = {"input": {"n": 2, "name": "ann", "list": [1]}}


def render(value: Any) -> Any:
    return compile_template(value, JSONATA).render(SCOPE, SERVICES, Limits())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${ input.n }", 2),
        ("  ${ input.list }  ", [1]),
        ("Hello ${ input.name }, ${ input.n }!", "Hello ann, 2!"),
        ("list: ${ input.list } none: [${ input.missing }]", "list: [1] none: []"),
        ("$${ not an expression }", "${ not an expression }"),
        ("${ {'a': '}'} }", {"a": "}"}),
        ({"a": ["${ input.n * 2 }", 3, None, True]}, {"a": [4, 3, None, True]}),
        ("plain text", "plain text"),
    ],
)
def test_templates_render_whole_expressions_and_interpolate_text(value: Any, expected: Any) -> None:
    assert render(value) == expected


def test_split_template_finds_literal_text_and_expressions() -> None:
    assert split_template("a ${ b } c ${ {'d': 1} }") == ["a ", ("b",), " c ", ("{'d': 1}",)]


def test_template_errors_say_where_inside_the_value() -> None:
    with pytest.raises(TemplateError, match=r"unterminated '\$\{'") as info:
        compile_template({"a": ["ok", "${ input"]}, JSONATA)
    assert info.value.path == ("a", 1)


def test_conditions_must_be_one_expression_giving_a_boolean() -> None:
    condition = compile_condition("${ input.n = 2 }", JSONATA)
    assert condition.holds(SCOPE, SERVICES, Limits()) is True
    with pytest.raises(ExpressionError, match=r"gave 2, not true or false"):
        compile_condition("${ input.n }", JSONATA).holds(SCOPE, SERVICES, Limits())
    with pytest.raises(TemplateError, match=r"one \$\{ \.\.\. \} expression and nothing else"):
        compile_condition("${ input.n } = 2", JSONATA)
