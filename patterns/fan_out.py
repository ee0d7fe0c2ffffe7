"""Fan-out/fan-in: one activity (or sub-orchestrator) over many items, results in input order.

`FanOut` maps its target over the items with at most `max_parallel` calls
outstanding at once: it runs that many lanes as concurrent branches of the
orchestrator, each taking the next item when its previous call has answered,
so the bound holds at every point of the history. Results come back in the
order of the items, whatever order the calls finish in.

Failure policies:

- ``"fail_fast"`` (default): the first failure raises `FanOutError` naming the
  item; no further items are started (calls already outstanding run on).
- ``"collect"``: every item runs; the result is a `FanOutResult` with the
  results (None where an item failed) and one `ItemFailure` per failed item.

An optional aggregation activity receives the list of results and its
output becomes the fan-out's result (in ``"collect"`` mode, its
`FanOutResult.aggregate`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import attrs

from durable import App, FailureDetails, OrchestrationContext, RetryPolicy
from durable.errors import InvalidArgumentError
from durable.patterns._checks import (
    ActivityRef,
    check_optional_ref,
    check_positive_int,
    failure_of,
    policy_validator,
    ref_label,
)
from durable.patterns.errors import FanOutError

__all__ = [
    "FailurePolicy",
    "FanOut",
    "FanOutResult",
    "ItemFailure",
    "fan_out",
    "register_fan_out",
]


class FailurePolicy(enum.Enum):
    """What a fan-out does when an item fails."""

    FAIL_FAST = "fail_fast"
    """Raise `FanOutError` at the first failure and start no further items."""

    COLLECT = "collect"
    """Run every item and report the failures in a `FanOutResult`."""


@attrs.frozen(kw_only=True)
class ItemFailure:
    """One failed item of a ``"collect"`` fan-out.

    Attributes:
        index: the item's position in the input.
        failure: its error, as data.
    """

    index: int
    failure: FailureDetails


@attrs.frozen(kw_only=True)
class FanOutResult:
    """The outcome of a ``"collect"`` fan-out.

    Attributes:
        results: one entry per item, in input order; None where the item failed.
        failures: the failed items, by index.
        aggregate: the aggregation activity's output, if there is one.
    """

    results: list[Any]
    failures: tuple[ItemFailure, ...] = ()
    aggregate: Any = None

    @property
    def ok(self) -> bool:
        """Whether every item succeeded."""
        return not self.failures


def _policy(value: object) -> FailurePolicy:
    try:
        return FailurePolicy(value.value if isinstance(value, FailurePolicy) else value)
    except ValueError:
        raise InvalidArgumentError(
            f"failure_policy must be 'fail_fast' or 'collect', got {value!r}"
        ) from None


def _max_parallel(value: object) -> int | None:
    return None if value is None else check_positive_int("max_parallel", value)


@attrs.frozen(kw_only=True)
class FanOut:
    """A checked fan-out: what to call per item, how many at once, what to do on failure.

    Give exactly one of `activity` and `sub_orchestrator`.

    Attributes:
        activity: the activity to call with each item.
        sub_orchestrator: the orchestrator to start as a child with each item.
        max_parallel: the most calls outstanding at once (None: all items at once).
        failure_policy: ``"fail_fast"`` or ``"collect"``.
        aggregate: an activity called with the list of results.
        retry: the retry policy of each item's call.
    """

    activity: ActivityRef | None = attrs.field(default=None)
    sub_orchestrator: ActivityRef | None = attrs.field(default=None)
    max_parallel: int | None = attrs.field(default=None, converter=_max_parallel)
    failure_policy: FailurePolicy = attrs.field(default=FailurePolicy.FAIL_FAST, converter=_policy)
    aggregate: ActivityRef | None = attrs.field(default=None)
    retry: RetryPolicy | None = attrs.field(default=None, validator=policy_validator("retry"))

    def __attrs_post_init__(self) -> None:
        check_optional_ref("activity", self.activity)
        check_optional_ref("sub_orchestrator", self.sub_orchestrator)
        check_optional_ref("aggregate", self.aggregate)
        if (self.activity is None) == (self.sub_orchestrator is None):
            raise InvalidArgumentError(
                "a fan-out needs exactly one of activity= and sub_orchestrator=, "
                f"got {'both' if self.activity is not None else 'neither'}"
            )

    @property
    def target(self) -> str:
        """The name of what is mapped over the items."""
        target = self.activity if self.activity is not None else self.sub_orchestrator
        assert target is not None
        return ref_label(target)

    def run(self, ctx: OrchestrationContext, items: Iterable[Any]) -> Coroutine[Any, Any, Any]:
        """Map the target over `items`; await (or yield) the result.

        Returns:
            (when awaited) with ``"fail_fast"``, the list of results in input
            order, or the aggregation's output; with ``"collect"``, a `FanOutResult`.

        Raises:
            InvalidArgumentError: `items` is not iterable (at once).
            FanOutError: (when awaited, ``"fail_fast"``) an item failed.
        """
        if isinstance(items, str | bytes | dict) or not isinstance(items, Iterable):
            raise InvalidArgumentError(
                f"fan-out items must be a list (or another iterable), got {type(items).__name__}"
            )
        return self._run(ctx, list(items))

    async def _run(self, ctx: OrchestrationContext, items: list[Any]) -> Any:
        total = len(items)
        results: list[Any] = [None] * total
        failures: list[ItemFailure] = []
        pending = iter(range(total))
        stopped = False
        call = self._caller(ctx)

        async def lane() -> None:
            nonlocal stopped
            for index in pending:
                if stopped:
                    return
                try:
                    results[index] = await call(items[index])
                except Exception as error:
                    failure = failure_of(error)
                    if self.failure_policy is FailurePolicy.COLLECT:
                        failures.append(ItemFailure(index=index, failure=failure))
                        continue
                    stopped = True
                    raise FanOutError(index, total, self.target, failure) from error

        lanes = min(self.max_parallel or total, total)
        await ctx.when_all([lane() for _ in range(lanes)])
        aggregate = await ctx.call_activity(self.aggregate, results) if self.aggregate else None
        if self.failure_policy is FailurePolicy.COLLECT:
            ordered = tuple(sorted(failures, key=lambda each: each.index))
            return FanOutResult(results=results, failures=ordered, aggregate=aggregate)
        return aggregate if self.aggregate else results

    def _caller(self, ctx: OrchestrationContext) -> Callable[[Any], Any]:
        if self.activity is not None:
            activity = self.activity
            return lambda item: ctx.call_activity(activity, item, retry=self.retry)
        child = self.sub_orchestrator
        assert child is not None
        return lambda item: ctx.call_sub_orchestrator(child, item, retry=self.retry)


def fan_out(
    ctx: OrchestrationContext,
    items: Iterable[Any],
    *,
    activity: ActivityRef | None = None,
    sub_orchestrator: ActivityRef | None = None,
    max_parallel: int | None = None,
    failure_policy: FailurePolicy | str = FailurePolicy.FAIL_FAST,
    aggregate: ActivityRef | None = None,
    retry: RetryPolicy | None = None,
) -> Coroutine[Any, Any, Any]:
    """Map an activity or sub-orchestrator over `items`; await (or yield) the result.

    Arguments are checked now, before anything is scheduled; see `FanOut`.

    Example::

        @app.orchestrator
        async def resize_all(ctx, urls):
            return await fan_out(ctx, urls, activity=resize, max_parallel=10)

    Raises:
        InvalidArgumentError: bad arguments, e.g. ``max_parallel < 1`` (at once).
        FanOutError: (when awaited, ``"fail_fast"``) an item failed.
    """
    spec = FanOut(
        activity=activity,
        sub_orchestrator=sub_orchestrator,
        max_parallel=max_parallel,
        failure_policy=failure_policy,
        aggregate=aggregate,
        retry=retry,
    )
    return spec.run(ctx, items)


def register_fan_out(
    app: App,
    name: str,
    *,
    activity: ActivityRef | None = None,
    sub_orchestrator: ActivityRef | None = None,
    max_parallel: int | None = None,
    failure_policy: FailurePolicy | str = FailurePolicy.FAIL_FAST,
    aggregate: ActivityRef | None = None,
    retry: RetryPolicy | None = None,
) -> FanOut:
    """Register an orchestrator `name` whose input is the list of items to fan out over.

    Returns:
        The checked fan-out spec.

    Raises:
        InvalidArgumentError: bad arguments, e.g. ``max_parallel < 1``.
        RegistrationError: `name` is not valid or already registered.
    """
    spec = FanOut(
        activity=activity,
        sub_orchestrator=sub_orchestrator,
        max_parallel=max_parallel,
        failure_policy=failure_policy,
        aggregate=aggregate,
        retry=retry,
    )

    async def fan_out_orchestrator(ctx: OrchestrationContext, items: list[Any]) -> Any:
        return await spec.run(ctx, items)

    app.orchestrator(name=name)(fan_out_orchestrator)
    return spec
