"""Validation, second pass: what a schema cannot say, checked on the compiled plan.

- step ids are unique in the document;
- every expression uses only names in scope there (``input``, ``steps``,
  ``vars``, ``now``, ``instance``, and per place ``item``/``index``,
  ``result``, ``iteration``, ``error``, ``event``), calls only known
  functions, and none that are banned (``$random()``);
- ``steps.<id>`` refers to a step that exists and has run by then (see
  `durable.declarative.references`);
- ``vars.<name>`` is set by some ``set`` step;
- escalations come in increasing order and before the approval's timeout;
  ``compensate`` names steps of its ``try`` block; ``checkpoint_every`` is on
  a top-level loop only; nothing follows a ``return`` or ``fail``;
- with an `App`, every called activity and run workflow is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jsonschema

from durable.declarative.compiler import CompileProblem
from durable.declarative.durations import format_duration
from durable.declarative.expressions import ExpressionLanguage
from durable.declarative.plan import (
    Approval,
    Call,
    Fail,
    ForEach,
    Http,
    Loop,
    Parallel,
    Plan,
    Receive,
    Return,
    Run,
    Set,
    Step,
    Switch,
    Try,
    Wait,
)
from durable.declarative.problems import Path, suggestion_hint
from durable.declarative.references import BASE_NAMES, ExpressionChecks, Place, Site
from durable.patterns.async_http import HTTP_ACTIVITY

__all__ = ["BASE_NAMES", "RESERVED_NAMES", "check_plan"]

RESERVED_NAMES = BASE_NAMES | {"item", "index", "result", "iteration", "error", "event"}
"""Names an ``as:`` may not take."""


def check_plan(
    plan: Plan,
    language: ExpressionLanguage,
    *,
    line_of: Callable[[Path], int],
    activities: Iterable[str] | None = None,
    orchestrators: Iterable[str] | None = None,
) -> list[CompileProblem]:
    """Every semantic problem of `plan`; `activities`/`orchestrators` enable the name checks."""
    checker = _Checker(plan, language, line_of, activities, orchestrators)
    checker.run()
    return checker.problems


class _Checker(ExpressionChecks):
    def __init__(
        self,
        plan: Plan,
        language: ExpressionLanguage,
        line_of: Callable[[Path], int],
        activities: Iterable[str] | None,
        orchestrators: Iterable[str] | None,
    ) -> None:
        self.plan = plan
        self.language = language
        self.line_of = line_of
        self.activities = set(activities) if activities is not None else None
        self.orchestrators = set(orchestrators) if orchestrators is not None else None
        self.problems: list[CompileProblem] = []
        self.places: dict[str, Place] = {}
        self.variables: set[str] = set()

    def run(self) -> None:
        self._index(self.plan.steps, ())
        self._check_input_schema()
        self._steps(self.plan.steps, frozenset())
        if self.plan.output is not None:
            self._template(self.plan.output, Site(None, ("output",), frozenset()))

    # -- the index of steps -----------------------------------------------------------------

    def _index(self, steps: tuple[Step, ...], lineage: tuple[tuple[str, str, str], ...]) -> None:
        stopped: Step | None = None
        for step in steps:
            if stopped is not None:
                self.problem(
                    step.path,
                    f"step '{step.id}' can never run: it comes after the '{stopped.kind}' "
                    f"step '{stopped.id}'",
                )
                stopped = None
            if step.id in self.places:
                first = self.places[step.id].step
                self.problem(
                    (*step.path, "id"),
                    f"duplicate step id '{step.id}' (first used at {self._where(first.path)})",
                    "step ids must be unique in the document",
                )
            else:
                self.places[step.id] = Place(step, len(self.places), lineage)
            if isinstance(step.spec, Set):
                self.variables.update(name for name, _ in step.spec.values)
            if isinstance(step.spec, Return | Fail) and step.when is None:
                stopped = step
            for key, nested in step.children():
                self._index(nested, (*lineage, (step.id, step.kind, key)))

    def _check_input_schema(self) -> None:
        schema = self.plan.input_schema
        if schema is None:
            return
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            where = "/".join(str(part) for part in error.path) or "its top level"
            self.problem(("input",), f"not a valid JSON Schema at {where}: {error.message}")

    # -- steps ------------------------------------------------------------------------------

    def _steps(self, steps: tuple[Step, ...], names: frozenset[str]) -> None:
        for step in steps:
            self._step(step, names)

    def _step(self, step: Step, names: frozenset[str]) -> None:
        path = step.path
        if step.when is not None:
            self._condition(step.when, Site(step, (*path, "if"), names))
        if step.status is not None:
            self._template(step.status, Site(step, (*path, "status"), names))
        if step.output is not None:
            site = Site(step, (*path, "output"), names | {"result"}, own_output=True)
            self._template(step.output, site)
        getattr(self, f"_kind_{type(step.spec).__name__.lower()}")(step, names)

    def _kind_call(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Call)
        self._optional(spec.input, Site(step, (*step.path, "with"), names))
        for index, name in enumerate(spec.activities):
            where = (
                (*step.path, "call") if len(spec.activities) == 1 else (*step.path, "call", index)
            )
            self._activity(name, where)

    def _kind_http(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Http)
        where = (*step.path, "http")
        for key, template in (("url", spec.url), ("headers", spec.headers), ("body", spec.body)):
            self._optional(template, Site(step, (*where, key), names))
        if self.activities is not None and HTTP_ACTIVITY not in self.activities:
            self.problem(
                where,
                f"http steps call the built-in activity '{HTTP_ACTIVITY}', which the app has not "
                "registered",
                "register it with durable.patterns.register_http(app, orchestrator_name=None)",
            )

    def _kind_run(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Run)
        self._optional(spec.input, Site(step, (*step.path, "with"), names))
        self._optional(spec.instance_id, Site(step, (*step.path, "instance_id"), names))
        self._orchestrator(spec.orchestrator, (*step.path, "run"))

    def _kind_wait(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Wait)
        self._optional(spec.until, Site(step, (*step.path, "wait", "until"), names))

    def _kind_receive(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Receive)
        if spec.accept is not None:
            self._condition(spec.accept, Site(step, (*step.path, "accept"), names | {"event"}))
        self._optional(spec.on_timeout, Site(step, (*step.path, "on_timeout"), names))

    def _kind_set(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Set)
        for name, template in spec.values:
            self._template(template, Site(step, (*step.path, "set", name), names))

    def _kind_switch(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Switch)
        for index, case in enumerate(spec.cases):
            self._condition(case.when, Site(step, (*step.path, "switch", index, "when"), names))
            self._steps(case.steps, names)
        self._steps(spec.default or (), names)

    def _kind_fail(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Fail)
        self._optional(spec.message, Site(step, (*step.path, "fail", "message"), names))
        self._optional(spec.details, Site(step, (*step.path, "fail", "details"), names))

    def _kind_return(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Return)
        self._template(spec.value, Site(step, (*step.path, "return"), names))

    def _kind_parallel(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Parallel)
        for branch in spec.branches:
            self._steps(branch.steps, names)

    def _kind_foreach(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, ForEach)
        self._template(spec.items, Site(step, (*step.path, "for_each"), names))
        self._binding(spec.name, (*step.path, "as"))
        self._steps(spec.steps, names | {spec.name, "index"})

    def _kind_loop(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Loop)
        where = (*step.path, "loop")
        inner = names | {"result", "iteration"}
        if spec.until is not None:
            self._condition(spec.until, Site(step, (*where, "until"), inner, own_output=True))
        self._optional(spec.on_expiry, Site(step, (*where, "on_expiry"), inner, own_output=True))
        if spec.every is None and spec.max_iterations is None:
            self.problem(
                where,
                "a loop without 'every' needs 'max_iterations'",
                "without either it repeats without a pause until it expires",
            )
        if spec.checkpoint_every is not None and len(step.path) != 2:
            self.problem(
                (*where, "checkpoint_every"),
                "checkpoint_every is only allowed on a loop at the top level of 'steps'",
                "continuing as new restarts the document there; move the loop to the top level",
            )
        self._steps(spec.steps, names | {"iteration"})

    def _kind_approval(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Approval)
        where = (*step.path, "approval")
        for action in (spec.request, *(each.action for each in spec.escalations)):
            self._optional(action.input, Site(step, (*action.path, "with"), names))
            check = self._activity if action.kind == "call" else self._orchestrator
            check(action.target, (*action.path, action.kind))
        if spec.accept is not None:
            self._condition(spec.accept, Site(step, (*where, "accept"), names | {"event"}))
        self._optional(spec.on_timeout, Site(step, (*where, "on_timeout"), names))
        previous = None
        for index, escalation in enumerate(spec.escalations):
            at = (*where, "escalate", index, "after")
            after = format_duration(escalation.after)
            if previous is not None and escalation.after <= previous:
                self.problem(
                    at,
                    f"escalation delays must increase: {after} is not after "
                    f"{format_duration(previous)}",
                    "list the escalations in the order they happen",
                )
            if escalation.after >= spec.timeout:
                self.problem(
                    at,
                    f"escalation at {after} is not before the approval's timeout "
                    f"({format_duration(spec.timeout)})",
                )
            previous = escalation.after

    def _kind_try(self, step: Step, names: frozenset[str]) -> None:
        spec = step.spec
        assert isinstance(spec, Try)
        if not (spec.catches or spec.compensate or spec.finally_steps):
            self.problem(step.path, "a 'try' step needs 'catch', 'compensate' or 'finally'")
        self._steps(spec.steps, names)
        inside = {
            each.step.id for each in self.places.values() if (step.id, "try", "try") in each.lineage
        }
        for index, handler in enumerate(spec.catches):
            self._binding(handler.name, (*step.path, "catch", index, "as"))
            self._steps(handler.steps, names | {handler.name})
        for name, steps in spec.compensate:
            if name not in inside:
                self.problem(
                    (*step.path, "compensate", name),
                    f"compensate names '{name}', which is not a step of this try block",
                    suggestion_hint(name, inside),
                    at_key=True,
                )
            self._steps(steps, names | {"result"})
        self._steps(spec.finally_steps or (), names)

    # -- names and expressions --------------------------------------------------------------

    def _binding(self, name: str, path: Path) -> None:
        if name in RESERVED_NAMES - {"item", "error"}:
            self.problem(path, f"'{name}' is already a name in scope here; choose another")

    def _activity(self, name: str, path: Path) -> None:
        if self.activities is not None and name not in self.activities:
            hint = suggestion_hint(name, self.activities)
            self.problem(
                path, f"unknown activity '{name}': the app has no activity of that name", hint
            )

    def _orchestrator(self, name: str, path: Path) -> None:
        if self.orchestrators is not None and name not in self.orchestrators | {self.plan.name}:
            hint = suggestion_hint(name, self.orchestrators)
            self.problem(
                path, f"unknown workflow '{name}': the app has no orchestrator of that name", hint
            )
