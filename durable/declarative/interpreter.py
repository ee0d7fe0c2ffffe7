"""The interpreter: one generic orchestrator that runs a `Plan` with the context's primitives.

`Interpreter(plan).run(ctx, input)` is an ordinary ``async def``
orchestrator body: every durable thing it does goes through the
`OrchestrationContext` (activities, timers, events, sub-orchestrations,
``when_all``/``when_any`` over coroutine branches, custom status,
continue-as-new), and everything else is pure, so it replays like any Python
orchestrator. A `Run` holds one execution's state: the input, the variables,
the step outputs.

A step runs as: ``if`` (skipped steps record null), ``status`` (published as
custom status), the kind's runner, ``output`` (with ``result`` bound to the
kind's result), then its output is recorded under its id. ``call``,
``http`` and ``run`` attempts are raced against the step's ``timeout`` and
retried by its ``retry``; ``switch``, ``parallel``, ``for_each``, ``loop``
and ``try`` race their whole body against their ``timeout``.

The runners of the kinds live in `durable.declarative.kinds` (the simple
ones) and `durable.declarative.flow` (branches, loops, approvals, try).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

import jsonschema

from durable import OrchestrationContext, Task
from durable.declarative import flow, kinds
from durable.declarative.durations import format_duration
from durable.declarative.errors import ExpressionError, FailStepError, Timeout, ValidationError
from durable.declarative.expressions import Limits, Services, format_now
from durable.declarative.failures import ContinuedAsNew, Finished
from durable.declarative.plan import Plan, Step
from durable.declarative.problems import Path, dotted
from durable.declarative.retries import with_retries
from durable.declarative.scope import Scope
from durable.declarative.templates import Condition, Template

__all__ = ["CHECKPOINT_KEY", "Interpreter", "Run"]

CHECKPOINT_KEY = "durable.declarative.checkpoint"
"""The key under which a loop's continue-as-new input carries the run's state."""

_RUNNERS: dict[type, Callable[[Run, Step, Scope], Coroutine[Any, Any, Any]]] = {
    **kinds.RUNNERS,
    **flow.RUNNERS,
}
_RACED = frozenset({"switch", "parallel", "for_each", "loop", "try"})


class Interpreter:
    """Runs one plan; shared by all its instances (it keeps no per-instance state).

    Args:
        plan: the compiled document.
        limits: the expression time box and depth bound.
    """

    def __init__(self, plan: Plan, limits: Limits | None = None) -> None:
        self.plan = plan
        self.limits = limits or Limits()
        self.fail_classes: dict[str, type[FailStepError]] = {}
        schema = plan.input_schema
        self.input_validator = (
            jsonschema.Draft202012Validator(schema) if isinstance(schema, dict | bool) else None
        )

    def run(self, ctx: OrchestrationContext, input: Any = None) -> Coroutine[Any, Any, Any]:
        """The orchestrator body for one execution (await it, or return it to the engine)."""
        return Run(self, ctx).main(input)


class Run:
    """One execution of a plan: its input, variables and step outputs."""

    def __init__(self, interpreter: Interpreter, ctx: OrchestrationContext) -> None:
        self.interpreter = interpreter
        self.plan = interpreter.plan
        self.ctx = ctx
        self.limits = interpreter.limits
        self.input: Any = None
        self.vars: dict[str, Any] = {}
        self.top = Scope.top()
        self.resume: dict[str, Any] | None = None
        self.deadline: datetime | None = None

    # -- the whole run ----------------------------------------------------------------------

    async def main(self, input: Any) -> Any:
        """Run the document and return its output."""
        start = self._begin(input)
        try:
            if self.plan.timeout is None:
                last = await self._top_steps(start)
            else:
                last = await self._bounded_top(start)
        except Finished as finished:
            return finished.value
        except ContinuedAsNew:
            return None
        if self.plan.output is not None:
            return self.render(self.plan.output, self.top, None, ("output",))
        return last

    def _begin(self, input: Any) -> int:
        saved = input.get(CHECKPOINT_KEY) if isinstance(input, dict) and len(input) == 1 else None
        if isinstance(saved, dict):
            self.input = saved.get("input")
            self.vars = dict(saved.get("vars") or {})
            self.top = Scope.top(dict(saved.get("steps") or {}))
            self.resume = saved
            deadline = saved.get("deadline")
            self.deadline = datetime.fromisoformat(deadline) if isinstance(deadline, str) else None
            ids = [step.id for step in self.plan.steps]
            return ids.index(saved["resume"]) if saved.get("resume") in ids else 0
        self.input = input
        validator = self.interpreter.input_validator
        if validator is not None:
            error = next(
                iter(sorted(validator.iter_errors(input), key=lambda e: [str(p) for p in e.path])),
                None,
            )
            if error is not None:
                where = "/" + "/".join(str(part) for part in error.absolute_path)
                raise ValidationError(
                    f"the input does not match the document's input schema at {where}: "
                    f"{error.message}"
                )
        return 0

    async def _top_steps(self, start: int) -> Any:
        last = None
        for step in self.plan.steps[start:]:
            last = await self.step(step, self.top)
        return last

    async def _bounded_top(self, start: int) -> Any:
        timeout = self.plan.timeout
        assert timeout is not None
        self.deadline = self.deadline or self.ctx.now + timeout
        body = self._top_steps(start)
        timer = self.ctx.create_timer(self.deadline)
        winner = await self.ctx.when_any([body, timer])
        if winner is timer:
            raise Timeout(
                f"workflow '{self.plan.name}' did not finish within {format_duration(timeout)}"
            )
        timer.cancel()
        return winner.result

    def checkpoint_input(self, step: Step, state: dict[str, Any]) -> dict[str, Any]:
        """The input that continues this run as new from `step` with `state` (a loop's progress)."""
        saved = {
            "input": self.input,
            "vars": self.vars,
            "steps": dict(self.top.steps),
            "resume": step.id,
            "deadline": self._deadline_text(),
            **state,
        }
        return {CHECKPOINT_KEY: saved}

    def _deadline_text(self) -> str | None:
        """The instance's deadline, kept across continue-as-new (None without a timeout)."""
        return self.deadline.isoformat() if self.deadline is not None else None

    def take_resume(self, step: Step) -> dict[str, Any] | None:
        """The saved progress of `step`, if this execution resumes it (once)."""
        saved = self.resume
        if saved is not None and saved.get("resume") == step.id:
            self.resume = None
            return saved
        return None

    # -- steps ------------------------------------------------------------------------------

    async def steps(self, steps: tuple[Step, ...], scope: Scope) -> Any:
        """Run `steps` in order; the last one's output."""
        last = None
        for step in steps:
            last = await self.step(step, scope)
        return last

    async def step(self, step: Step, scope: Scope) -> Any:
        """Run one step and record its output."""
        if step.when is not None and not self.holds(step.when, scope, step, (*step.path, "if")):
            scope.record(step.id, None)
            return None
        if step.status is not None:
            status = self.render(step.status, scope, step, (*step.path, "status"))
            self.ctx.set_custom_status(status)
        runner = _RUNNERS[type(step.spec)]
        if step.timeout is not None and step.kind in _RACED:
            result = await self.raced(step, runner(self, step, scope))
        else:
            result = await runner(self, step, scope)
        if step.output is not None:
            result = self.render(step.output, scope, step, (*step.path, "output"), result=result)
        scope.record(step.id, result)
        return result

    async def attempt(self, step: Step, work: Callable[[], Task[Any] | Awaitable[Any]]) -> Any:
        """One unit of a call, http or run step: raced against its timeout, retried by its retry."""

        async def once() -> Any:
            if step.timeout is None:
                return await work()
            return await self.raced(step, work())

        return await with_retries(self.ctx, step.retry, dotted(step.path), once)

    async def raced(self, step: Step, work: Task[Any] | Awaitable[Any]) -> Any:
        """`work` raced against the step's timeout; `Timeout` if the timer wins."""
        timeout = step.timeout
        assert timeout is not None
        contender = (
            work if isinstance(work, Task) or inspect.iscoroutine(work) else _as_coroutine(work)
        )
        timer = self.ctx.create_timer(timeout)
        winner = await self.ctx.when_any([contender, timer])
        if winner is timer:
            raise Timeout(f"did not finish within {format_duration(timeout)}", step=step.id)
        timer.cancel()
        return winner.result

    # -- expressions ------------------------------------------------------------------------

    def data(self, scope: Scope, names: dict[str, Any]) -> dict[str, Any]:
        """What expressions see: input, steps, vars, now, instance and the local names."""
        ctx = self.ctx
        data: dict[str, Any] = {
            "input": self.input,
            "steps": scope.outputs(),
            "vars": self.vars,
            "now": format_now(ctx.now),
            "instance": {
                "id": ctx.instance_id,
                "name": self.plan.name,
                "version": self.plan.version,
            },
        }
        data.update(scope.names)
        data.update(names)
        return data

    def services(self) -> Services:
        """``$now()`` and ``$uuid()`` for this episode."""
        return Services(now=self.ctx.now, new_uuid=self.ctx.new_uuid)

    def render(
        self, template: Template, scope: Scope, step: Step | None, path: Path, **names: Any
    ) -> Any:
        """A template's value; `ExpressionError` naming the step and field if it fails."""
        try:
            return template.render(self.data(scope, names), self.services(), self.limits)
        except ExpressionError as error:
            raise _located(error, step, path) from None

    def holds(
        self, condition: Condition, scope: Scope, step: Step | None, path: Path, **names: Any
    ) -> bool:
        """Whether a condition holds; `ExpressionError` naming the step and field if it fails."""
        try:
            return condition.holds(self.data(scope, names), self.services(), self.limits)
        except ExpressionError as error:
            raise _located(error, step, path) from None


def _located(error: ExpressionError, step: Step | None, path: Path) -> ExpressionError:
    return ExpressionError(f"{dotted(path)}: {error}", step=step.id if step else None)


async def _as_coroutine(work: Awaitable[Any]) -> Any:
    return await work
