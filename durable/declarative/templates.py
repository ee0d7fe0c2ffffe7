"""Templates: JSON values whose string leaves may hold ``${ expression }``.

A string that is exactly one ``${ ... }`` (spaces around it allowed) takes
the expression's value, of any JSON type. A string with text around its
expressions is interpolated: each value becomes text (strings as they are,
null as nothing, anything else as compact JSON). ``$${`` writes a literal
``${``. Mappings and lists are templates of templates; other values are
kept as they are. A condition is a template that is exactly one expression
whose value must be true or false.

Parsing finds the end of each expression by matching braces outside quoted
strings, so ``${ {"a": "}"} }`` is one expression.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from durable.declarative.errors import ExpressionError
from durable.declarative.expressions import (
    CompiledExpression,
    ExpressionLanguage,
    ExpressionSyntaxError,
    Limits,
    Services,
)
from durable.declarative.problems import Path

__all__ = [
    "Condition",
    "Expression",
    "Template",
    "TemplateError",
    "compile_condition",
    "compile_template",
    "split_template",
]


class TemplateError(ValueError):
    """A template is malformed (e.g. an unterminated ``${``) or an expression does not compile.

    Attributes:
        path: where in the template value (relative to it).
        expression: the expression text, if the problem is in one.
        offset: where in the expression, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path = (),
        expression: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.path = path
        self.expression = expression
        self.offset = offset
        super().__init__(message)


def split_template(text: str) -> list[str | tuple[str]]:
    """The parts of a template string: literal text, and ``(expression,)`` for each ``${ }``.

    Raises:
        TemplateError: an unterminated ``${``.
    """
    parts: list[str | tuple[str]] = []
    literal = ""
    index = 0
    while index < len(text):
        if text.startswith("$${", index):
            literal += "${"
            index += 3
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 2)
            if end is None:
                raise TemplateError(f"unterminated '${{' in {text!r}: an expression ends with '}}'")
            if literal:
                parts.append(literal)
                literal = ""
            parts.append((text[index + 2 : end].strip(),))
            index = end + 1
        else:
            literal += text[index]
            index += 1
    if literal:
        parts.append(literal)
    return parts


def _closing_brace(text: str, start: int) -> int | None:
    depth = 0
    quote: str | None = None
    index = start
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    return None


@attrs.frozen
class Expression:
    """One compiled ``${ }`` at a place in a template."""

    path: Path
    compiled: CompiledExpression = attrs.field(eq=False)

    @property
    def text(self) -> str:
        """The expression's text (inside ``${ }``)."""
        return self.compiled.text


@attrs.frozen
class Template:
    """A compiled template: evaluate it against a scope for a JSON value.

    Attributes:
        shape: the value with expressions in place: ``Expression`` for a whole
            string, ``tuple`` of text and ``Expression`` parts for an
            interpolated one, dicts and lists of such, or a plain value.
    """

    shape: Any = attrs.field(eq=False)
    source: Any = None

    def expressions(self) -> Iterator[Expression]:
        """Every expression in the template."""
        yield from _expressions(self.shape)

    @property
    def is_constant(self) -> bool:
        """Whether the template holds no expression."""
        return next(self.expressions(), None) is None

    def render(self, scope: dict[str, Any], services: Services, limits: Limits) -> Any:
        """The template's value in `scope`.

        Raises:
            ExpressionError: an expression failed.
        """
        return _render(self.shape, scope, services, limits)


@attrs.frozen
class Condition:
    """A compiled condition: one expression that must give true or false."""

    expression: Expression
    source: str = ""

    def holds(self, scope: dict[str, Any], services: Services, limits: Limits) -> bool:
        """Whether the condition is true in `scope`.

        Raises:
            ExpressionError: the expression failed or did not give a boolean.
        """
        value = self.expression.compiled.evaluate(scope, services, limits)
        if not isinstance(value, bool):
            shown = json.dumps(value)[:60]
            raise ExpressionError(
                f"the condition {self.source} gave {shown}, not true or false "
                "(compare with = or use $boolean())"
            )
        return value


def compile_template(value: Any, language: ExpressionLanguage) -> Template:
    """Compile every string leaf of `value`.

    Raises:
        TemplateError: a malformed string or an expression that does not compile.
    """
    return Template(_compile(value, (), language), value)


def compile_condition(text: Any, language: ExpressionLanguage) -> Condition:
    """Compile a condition: exactly one ``${ }``.

    Raises:
        TemplateError: not one expression, or it does not compile.
    """
    if not isinstance(text, str):
        raise TemplateError(f"a condition is one ${{ ... }} expression; got {json.dumps(text)}")
    parts = split_template(text.strip())
    if len(parts) != 1 or not isinstance(parts[0], tuple):
        raise TemplateError(
            f"a condition is one ${{ ... }} expression and nothing else; got {text!r}"
        )
    return Condition(Expression((), _compile_expression(parts[0][0], (), language)), text.strip())


def _compile(value: Any, path: Path, language: ExpressionLanguage) -> Any:
    if isinstance(value, dict):
        return {key: _compile(item, (*path, key), language) for key, item in value.items()}
    if isinstance(value, list):
        return [_compile(item, (*path, index), language) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    try:
        whole = split_template(value.strip())
        parts = whole if len(whole) == 1 and isinstance(whole[0], tuple) else split_template(value)
    except TemplateError as error:
        raise TemplateError(str(error), path=path) from None
    compiled = tuple(
        part
        if isinstance(part, str)
        else Expression(path, _compile_expression(part[0], path, language))
        for part in parts
    )
    if len(compiled) == 1:
        return compiled[0]
    return compiled


def _compile_expression(text: str, path: Path, language: ExpressionLanguage) -> CompiledExpression:
    try:
        return language.compile(text)
    except ExpressionSyntaxError as error:
        raise TemplateError(
            f"the expression ${{ {text} }} does not parse: {error}",
            path=path,
            expression=text,
            offset=error.offset,
        ) from None


def _expressions(shape: Any) -> Iterator[Expression]:
    if isinstance(shape, Expression):
        yield shape
    elif isinstance(shape, tuple):
        yield from (part for part in shape if isinstance(part, Expression))
    elif isinstance(shape, dict):
        for item in shape.values():
            yield from _expressions(item)
    elif isinstance(shape, list):
        for item in shape:
            yield from _expressions(item)


def _render(shape: Any, scope: dict[str, Any], services: Services, limits: Limits) -> Any:
    if isinstance(shape, Expression):
        return shape.compiled.evaluate(scope, services, limits)
    if isinstance(shape, tuple):
        return "".join(
            part
            if isinstance(part, str)
            else _text(part.compiled.evaluate(scope, services, limits))
            for part in shape
        )
    if isinstance(shape, dict):
        return {key: _render(item, scope, services, limits) for key, item in shape.items()}
    if isinstance(shape, list):
        return [_render(item, scope, services, limits) for item in shape]
    return shape


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
