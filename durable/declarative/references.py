"""Checking expressions: names in scope, functions, and which steps' outputs exist by then.

`ExpressionChecks` is the part of the semantic pass that looks inside
expressions. Each expression sits at a `Site`: the step it belongs to, the
field's path, and the names in scope there beyond the ones every expression
has. A ``steps.<id>`` reference is checked against the `Place` of both
steps: the target must come earlier in the document, must not contain the
step that refers to it, must not be inside a ``for_each`` body the step is
not in (it runs once per item), and must not be in a sibling ``parallel``
branch or another ``switch`` case (it has not run, or runs alongside).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from durable.declarative.compiler import CompileProblem
from durable.declarative.expressions import ExpressionLanguage, Reference
from durable.declarative.plan import Step
from durable.declarative.problems import Path, dotted, suggestion_hint
from durable.declarative.templates import Condition, Expression, Template

__all__ = ["BASE_NAMES", "ExpressionChecks", "Place", "Site"]

BASE_NAMES = frozenset({"input", "steps", "vars", "now", "instance"})
"""Names every expression may use."""


@attrs.frozen
class Place:
    """Where a step sits: its order in the document and its containers, outermost first."""

    step: Step
    order: int
    lineage: tuple[tuple[str, str, str], ...]


@attrs.frozen
class Site:
    """Where an expression is: the step, the field's path, the extra names in scope there."""

    step: Step | None
    path: Path
    names: frozenset[str]
    own_output: bool = False


class ExpressionChecks:
    """The expression checks of the semantic pass (a base of its checker)."""

    language: ExpressionLanguage
    line_of: Callable[[Path], int]
    places: dict[str, Place]
    variables: set[str]
    problems: list[CompileProblem]

    def problem(
        self, path: Path, message: str, hint: str | None = None, *, at_key: bool = False
    ) -> None:
        """Record a problem at `path`."""
        self.problems.append(CompileProblem(path, message, hint, at_key=at_key))

    def _where(self, path: Path) -> str:
        """``line N`` where the document has positions, else the path."""
        line = self.line_of(path)
        return f"line {line}" if line else dotted(path)

    def _optional(self, template: Template | None, site: Site) -> None:
        if template is not None:
            self._template(template, site)

    def _template(self, template: Template, site: Site) -> None:
        for expression in template.expressions():
            self._expression(expression, site)

    def _condition(self, condition: Condition, site: Site) -> None:
        self._expression(condition.expression, site)

    def _expression(self, expression: Expression, site: Site) -> None:
        path = (*site.path, *expression.path)
        analysis = expression.compiled.analyse()
        shown = f"${{ {expression.text} }}"
        banned = self.language.banned
        for name in dict.fromkeys(analysis.variables):
            if name in banned and name not in analysis.bound:
                self.problem(
                    path,
                    f"${name}() is not allowed in {shown}: {banned[name]}",
                    "expressions must give the same value on every replay; use an activity",
                )
        for name in dict.fromkeys(analysis.calls):
            if name not in self.language.functions and name not in analysis.bound | set(banned):
                hint = suggestion_hint(name, self.language.functions, prefix="$")
                self.problem(path, f"unknown function ${name}() in {shown}", hint)
        allowed = BASE_NAMES | site.names
        for reference in analysis.references:
            self._reference(reference, allowed, site, path, shown)

    def _reference(
        self, reference: Reference, allowed: frozenset[str], site: Site, path: Path, shown: str
    ) -> None:
        name, member = reference.name, reference.member
        if name not in allowed:
            hint = (
                suggestion_hint(name, allowed)
                or f"names in scope here: {', '.join(sorted(allowed))}"
            )
            self.problem(path, f"unknown name '{name}' in {shown}", hint)
        elif name == "steps" and member is not None:
            found = self._step_reference(member, site)
            if found is not None:
                self.problem(path, f"{found[0]} in {shown}", found[1])
        elif name == "vars" and member is not None and member not in self.variables:
            hint = suggestion_hint(member, self.variables) or "set it first with a 'set' step"
            self.problem(
                path, f"unknown variable '{member}' in {shown}: no 'set' step sets it", hint
            )

    def _step_reference(self, target: str, site: Site) -> tuple[str, str | None] | None:
        place = self.places.get(target)
        if place is None:
            return f"unknown step '{target}'", suggestion_hint(target, self.places)
        if site.step is None:
            return None
        here = self.places.get(site.step.id)
        if here is None:
            return None
        if target == site.step.id:
            if site.own_output:
                return f"a step's own output is 'result', not steps.{target}", "use ${ result }"
            return f"step '{target}' refers to itself", None
        if any(container == target for container, _, _ in here.lineage):
            return f"step '{target}' contains this step, so it has no output yet", None
        if place.order > here.order:
            return (
                f"step '{target}' comes later ({self._where(place.step.path)})",
                "a step can use the outputs of the steps before it",
            )
        return self._visibility(target, place, here)

    def _visibility(self, target: str, place: Place, here: Place) -> tuple[str, str | None] | None:
        mine = {container: key for container, _, key in here.lineage}
        for container, kind, key in place.lineage:
            if kind == "for_each" and container not in mine:
                return (
                    f"step '{target}' is inside the for_each body of '{container}', "
                    "where it runs once per item",
                    f"use the output of '{container}': one entry per item",
                )
            if kind in ("parallel", "switch") and container in mine and mine[container] != key:
                relation = (
                    "runs alongside this one in" if kind == "parallel" else "is in another case of"
                )
                return f"step '{target}' {relation} {kind} '{container}'", None
        return None
