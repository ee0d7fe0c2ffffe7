"""Function chaining: activities in order, each one's output the next one's input.

A `Chain` is a validated list of `Step`s. Each step is an activity (by name or
function) with an optional retry policy and an optional compensation. When a
step fails, the compensations of the steps that completed before it run in
reverse order (a saga), each given the output of the step it undoes, and the
chain raises `ChainStepError` naming the failing step. Compensations are
ordinary activity calls, so they show in the history in the order they ran.

Use it three ways:

- ``await run_chain(ctx, steps, input)`` in an ``async def`` orchestrator, or
  ``yield run_chain(ctx, steps, input)`` in a generator orchestrator;
- ``Chain.of(steps).run(ctx, input)``, to build (and check) the chain once;
- ``register_chain(app, "name", steps=[...])`` for a ready-made orchestrator
  whose input is the first step's input and whose output is the last step's.

Steps are checked when the chain is built: an empty list or a step that is
neither a name nor a function fails before anything is scheduled.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeAlias

import attrs

from durable import App, FailureDetails, OrchestrationContext, RetryPolicy
from durable.errors import InvalidArgumentError
from durable.patterns._checks import (
    ActivityRef,
    check_ref,
    failure_of,
    optional_ref_validator,
    policy_validator,
    ref_label,
    ref_validator,
)
from durable.patterns.errors import ChainStepError

__all__ = ["Chain", "Step", "StepLike", "register_chain", "run_chain"]


@attrs.frozen(kw_only=True)
class Step:
    """One step of a chain.

    Attributes:
        activity: the activity to call, by registered name or function.
        retry: how to retry it (default: the activity's own policy).
        compensate: an activity that undoes this step, called with this
            step's output when a later step fails.
        compensate_retry: how to retry the compensation.
        name: the step's name in errors and custom status (default: the activity's).
    """

    activity: ActivityRef = attrs.field(validator=ref_validator("step activity"))
    retry: RetryPolicy | None = attrs.field(default=None, validator=policy_validator("step retry"))
    compensate: ActivityRef | None = attrs.field(
        default=None, validator=optional_ref_validator("step compensate")
    )
    compensate_retry: RetryPolicy | None = attrs.field(
        default=None, validator=policy_validator("step compensate_retry")
    )
    name: str | None = None

    @property
    def label(self) -> str:
        """The step's name: `name` if given, else the activity's."""
        return self.name or ref_label(self.activity)


StepLike: TypeAlias = Step | str | Callable[..., Any]
"""A `Step`, or just the activity (name or function) for a step with no options."""


def _as_step(index: int, value: object) -> Step:
    if isinstance(value, Step):
        return value
    return Step(activity=check_ref(f"step {index + 1}", value))


def _steps(values: Sequence[StepLike]) -> tuple[Step, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidArgumentError(
            f"chain steps must be a list of steps, got {type(values).__name__} {values!r}"
        )
    if not values:
        raise InvalidArgumentError("a chain needs at least one step; the step list is empty")
    return tuple(_as_step(index, value) for index, value in enumerate(values))


@attrs.frozen
class Chain:
    """A checked sequence of steps; `run` it inside an orchestrator.

    Attributes:
        steps: the steps, in order (at least one).
    """

    steps: tuple[Step, ...]

    @classmethod
    def of(cls, steps: Sequence[StepLike]) -> Chain:
        """Build a chain from steps, activity names or functions.

        Raises:
            InvalidArgumentError: the list is empty or holds something that is
                not a step, a name or a function.
        """
        return cls(_steps(steps))

    def run(
        self, ctx: OrchestrationContext, input: Any = None, *, report_progress: bool = False
    ) -> Coroutine[Any, Any, Any]:
        """Run the steps in order and return the last one's output (await or yield it).

        Args:
            ctx: the orchestration context.
            input: the first step's input.
            report_progress: publish ``{"step": n, "of": total, "name": ...}`` as
                the custom status before each step.

        Raises:
            ChainStepError: (when awaited) a step failed; its compensations have run.
        """
        return self._run(ctx, input, report_progress)

    async def _run(self, ctx: OrchestrationContext, value: Any, report: bool) -> Any:
        done: list[tuple[Step, Any]] = []
        total = len(self.steps)
        for index, step in enumerate(self.steps):
            if report:
                ctx.set_custom_status({"step": index + 1, "of": total, "name": step.label})
            try:
                value = await ctx.call_activity(step.activity, value, retry=step.retry)
            except Exception as error:
                raise await self._fail(ctx, index, step, failure_of(error), done) from error
            done.append((step, value))
        return value

    async def _fail(
        self,
        ctx: OrchestrationContext,
        index: int,
        step: Step,
        failure: FailureDetails,
        done: list[tuple[Step, Any]],
    ) -> ChainStepError:
        compensated: list[str] = []
        failures: list[tuple[str, FailureDetails]] = []
        for earlier, output in reversed(done):
            if earlier.compensate is None:
                continue
            try:
                await ctx.call_activity(earlier.compensate, output, retry=earlier.compensate_retry)
            except Exception as error:
                failures.append((earlier.label, failure_of(error)))
                continue
            compensated.append(earlier.label)
        return ChainStepError(
            step.label,
            index,
            failure,
            compensated=tuple(compensated),
            compensation_failures=tuple(failures),
        )


def run_chain(
    ctx: OrchestrationContext, steps: Sequence[StepLike] | Chain, input: Any = None
) -> Coroutine[Any, Any, Any]:
    """Run `steps` in order inside an orchestrator; await (or yield) the result.

    The steps are checked now, before anything is scheduled.

    Example::

        @app.orchestrator
        async def order(ctx, order_id):
            return await run_chain(ctx, ["reserve", "charge", "ship"], order_id)

    Raises:
        InvalidArgumentError: the step list is empty or malformed (at once).
        ChainStepError: (when awaited) a step failed; compensations have run.
    """
    chain = steps if isinstance(steps, Chain) else Chain.of(steps)
    return chain.run(ctx, input)


def register_chain(
    app: App, name: str, *, steps: Sequence[StepLike], report_progress: bool = True
) -> Chain:
    """Register an orchestrator `name` that runs `steps` as a chain.

    The orchestrator's input is the first step's input; its output is the
    last step's output. With `report_progress`, its custom status shows the
    current step.

    Returns:
        The checked chain.

    Raises:
        InvalidArgumentError: the step list is empty or malformed.
        RegistrationError: `name` is not valid or already registered.
    """
    chain = Chain.of(steps)

    async def chain_orchestrator(ctx: OrchestrationContext, input: Any = None) -> Any:
        return await chain.run(ctx, input, report_progress=report_progress)

    app.orchestrator(name=name)(chain_orchestrator)
    return chain
