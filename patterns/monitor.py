"""Monitor: poll a check activity on an interval until a condition holds or an expiry passes.

A `Monitor` calls its `check` activity, applies the `until` predicate to the
result (in the orchestrator, so it must be deterministic), and if it does not
hold, waits `interval` on a durable timer and checks again. When the
predicate holds it calls `on_success`; when the expiry comes first, or
`max_polls` checks were made, it calls `on_expiry`; both receive a
`MonitorReport`. The result is a `MonitorResult`.

A check that is more than one activity call is a `probe` instead: an async
function of the input, run in the orchestrator at every poll (several calls,
a sub-orchestration, a wait of its own); with one, `interval` may be None
(poll again at once) if `max_polls` bounds the polls. The declarative
``loop`` kind is a monitor whose probe runs the loop's steps.

A monitor that may poll for long keeps its history small with
`continue_every`: after that many polls in one execution it continues as new,
with a checkpoint (the input, the poll count, the start and the absolute
expiry) as the next execution's input, so every history generation stays
under a fixed number of events (about seven per poll). An orchestrator that
runs a monitor with `continue_every` must pass its input through
`Monitor.resume` first, as the orchestrator of `register_monitor` does; or,
if it keeps more state than the check's input, give a `checkpoint` function
that makes the next execution's input from the progress, and resume itself.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import attrs

from durable import App, OrchestrationContext, RetryPolicy
from durable.errors import InvalidArgumentError
from durable.patterns._checks import (
    ActivityRef,
    check_positive_int,
    optional_ref_validator,
    policy_validator,
)
from durable.patterns.durations import Duration, positive_duration

__all__ = [
    "CHECKPOINT_KEY",
    "Monitor",
    "MonitorOutcome",
    "MonitorProgress",
    "MonitorReport",
    "MonitorResult",
    "monitor",
    "register_monitor",
]

CHECKPOINT_KEY = "durable.monitor.checkpoint"
"""The key under which a continued monitor finds its checkpoint in its input."""


class MonitorOutcome(enum.Enum):
    """How a monitor's run ended."""

    SATISFIED = "satisfied"
    """The predicate held."""

    EXPIRED = "expired"
    """The expiry passed first."""

    EXHAUSTED = "exhausted"
    """`max_polls` checks were made and the predicate never held."""

    CONTINUED_AS_NEW = "continued_as_new"
    """This execution polled `continue_every` times and continued as new."""


@attrs.frozen(kw_only=True)
class MonitorProgress:
    """Where a monitor is, carried across continue-as-new.

    Attributes:
        started_at: when the first execution started.
        expires_at: the absolute expiry, if there is one.
        polls: checks made so far, in every execution.
        value: the last check's result.
    """

    started_at: datetime
    expires_at: datetime | None = None
    polls: int = 0
    value: Any = None


@attrs.frozen(kw_only=True)
class MonitorReport:
    """What `on_success` and `on_expiry` are called with.

    Attributes:
        input: the check's (or probe's) input.
        value: the last check's result (None if there was no check).
        polls: checks made in all.
        at: when the monitor ended.
    """

    input: Any
    value: Any
    polls: int
    at: datetime


@attrs.frozen(kw_only=True)
class MonitorResult:
    """How a monitor ended.

    Attributes:
        outcome: satisfied, expired, exhausted (`max_polls`), or continued as new.
        polls: checks made in all.
        at: when it ended.
        value: the last check's result.
        action_output: the output of `on_success` or `on_expiry`, if called.
    """

    outcome: MonitorOutcome
    polls: int
    at: datetime
    value: Any = None
    action_output: Any = None


def _interval(value: Duration | None) -> timedelta | None:
    return None if value is None else positive_duration(value, name="interval")


def _expires_after(value: Duration | None) -> timedelta | None:
    return None if value is None else positive_duration(value, name="expires_after")


def _every(value: object) -> int | None:
    return None if value is None else check_positive_int("continue_every", value)


def _max_polls(value: object) -> int | None:
    return None if value is None else check_positive_int("max_polls", value)


def _callable(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise InvalidArgumentError(f"until must be a function of the check's result, got {value!r}")


def _optional_function(name: str) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not callable(value):
            raise InvalidArgumentError(f"{name} must be a function or None, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class Monitor:
    """A checked monitor; `run` it inside an orchestrator.

    Give exactly one of `check` and `probe`.

    Attributes:
        interval: the wait between polls (more than zero); None, with a
            `probe` and `max_polls`, to poll again at once.
        check: the activity called with the input at every poll.
        probe: an async function of the input that polls instead (its result
            is the check's result).
        until: the predicate on the check's result that ends the monitor
            (default: the result is truthy).
        expires_after: how long after the start to give up (None: never).
        max_polls: give up after this many checks in all (None: no limit).
        on_success: an activity called with a `MonitorReport` when `until` holds.
        on_expiry: an activity called with a `MonitorReport` when the monitor
            gives up (expiry or `max_polls`).
        continue_every: continue as new after this many polls in one execution.
        checkpoint: makes the next execution's input from the check's input and
            the `MonitorProgress` (default: the monitor's own checkpoint, which
            `resume` reads back).
        retry: the retry policy of the check.
    """

    interval: timedelta | None = attrs.field(converter=_interval)
    check: ActivityRef | None = attrs.field(default=None, validator=optional_ref_validator("check"))
    probe: Callable[[Any], Awaitable[Any]] | None = attrs.field(
        default=None, validator=_optional_function("probe")
    )
    until: Callable[[Any], bool] = attrs.field(default=bool, validator=_callable)
    expires_after: timedelta | None = attrs.field(default=None, converter=_expires_after)
    max_polls: int | None = attrs.field(default=None, converter=_max_polls)
    on_success: ActivityRef | None = attrs.field(
        default=None, validator=optional_ref_validator("on_success")
    )
    on_expiry: ActivityRef | None = attrs.field(
        default=None, validator=optional_ref_validator("on_expiry")
    )
    continue_every: int | None = attrs.field(default=None, converter=_every)
    checkpoint: Callable[[Any, MonitorProgress], Any] | None = attrs.field(
        default=None, validator=_optional_function("checkpoint")
    )
    retry: RetryPolicy | None = attrs.field(default=None, validator=policy_validator("retry"))

    def __attrs_post_init__(self) -> None:
        if (self.check is None) == (self.probe is None):
            raise InvalidArgumentError(
                "a monitor needs exactly one of check= (an activity) and probe= (a function), "
                f"got {'both' if self.check is not None else 'neither'}"
            )
        if self.probe is not None and self.retry is not None:
            raise InvalidArgumentError(
                "retry applies to the check activity; a probe makes its own calls and retries"
            )
        if self.interval is None and (self.probe is None or self.max_polls is None):
            raise InvalidArgumentError(
                "a monitor without an interval polls back to back: it needs a probe and max_polls"
            )

    def run(
        self,
        ctx: OrchestrationContext,
        input: Any = None,
        *,
        expires_at: datetime | None = None,
        progress: MonitorProgress | None = None,
    ) -> Coroutine[Any, Any, MonitorResult]:
        """Poll until the predicate holds, the expiry passes or `max_polls`; await (or yield) it.

        Args:
            ctx: the orchestration context.
            input: the check's input.
            expires_at: an absolute expiry for this run, instead of `expires_after`.
            progress: where a continued monitor left off (see `resume`).

        Raises:
            InvalidArgumentError: `expires_at` is naive or not after now (at once).
        """
        if progress is None:
            progress = MonitorProgress(started_at=ctx.now, expires_at=self._expiry(ctx, expires_at))
        return self._run(ctx, input, progress)

    @staticmethod
    def resume(input: Any) -> tuple[Any, MonitorProgress | None]:
        """Split an orchestrator's input into the check's input and a checkpoint.

        A first execution gets ``(input, None)``; an execution continued by a
        monitor gets the input it was first given and where it left off.
        """
        if not (isinstance(input, dict) and set(input) == {CHECKPOINT_KEY}):
            return input, None
        saved = input[CHECKPOINT_KEY]
        expires = saved.get("expires_at")
        progress = MonitorProgress(
            started_at=datetime.fromisoformat(saved["started_at"]),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            polls=int(saved["polls"]),
            value=saved.get("value"),
        )
        return saved.get("input"), progress

    def _expiry(self, ctx: OrchestrationContext, expires_at: datetime | None) -> datetime | None:
        if expires_at is None:
            return ctx.now + self.expires_after if self.expires_after is not None else None
        if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
            raise InvalidArgumentError(f"expires_at must be an aware datetime, got {expires_at!r}")
        if expires_at <= ctx.now:
            raise InvalidArgumentError(
                f"expires_at {expires_at.isoformat()} is not after the monitor's start "
                f"{ctx.now.isoformat()}; give a later time"
            )
        return expires_at

    async def _run(
        self, ctx: OrchestrationContext, input: Any, progress: MonitorProgress
    ) -> MonitorResult:
        polls, value, expiry = progress.polls, progress.value, progress.expires_at
        polled_here = 0
        while expiry is None or ctx.now < expiry:
            value = await self._poll(ctx, input)
            polls += 1
            if self.until(value):
                return await self._end(ctx, MonitorOutcome.SATISFIED, input, value, polls)
            if self.max_polls is not None and polls >= self.max_polls:
                return await self._end(ctx, MonitorOutcome.EXHAUSTED, input, value, polls)
            if self.interval is not None:
                due = ctx.now + self.interval
                await ctx.create_timer(min(due, expiry) if expiry is not None else due)
            polled_here += 1
            if polled_here == self.continue_every:
                saved = attrs.evolve(progress, polls=polls, value=value)
                checkpoint = self.checkpoint or _checkpoint
                ctx.continue_as_new(checkpoint(input, saved))
                return MonitorResult(
                    outcome=MonitorOutcome.CONTINUED_AS_NEW, polls=polls, at=ctx.now, value=value
                )
        return await self._end(ctx, MonitorOutcome.EXPIRED, input, value, polls)

    def _poll(self, ctx: OrchestrationContext, input: Any) -> Awaitable[Any]:
        if self.probe is not None:
            return self.probe(input)
        assert self.check is not None
        return ctx.call_activity(self.check, input, retry=self.retry)

    async def _end(
        self,
        ctx: OrchestrationContext,
        outcome: MonitorOutcome,
        input: Any,
        value: Any,
        polls: int,
    ) -> MonitorResult:
        action = self.on_success if outcome is MonitorOutcome.SATISFIED else self.on_expiry
        report = MonitorReport(input=input, value=value, polls=polls, at=ctx.now)
        output = await ctx.call_activity(action, report) if action is not None else None
        return MonitorResult(
            outcome=outcome, polls=polls, at=ctx.now, value=value, action_output=output
        )


def _checkpoint(input: Any, progress: MonitorProgress) -> dict[str, Any]:
    expires = progress.expires_at
    return {
        CHECKPOINT_KEY: {
            "input": input,
            "polls": progress.polls,
            "started_at": progress.started_at.isoformat(),
            "expires_at": expires.isoformat() if expires is not None else None,
            "value": progress.value,
        }
    }


def monitor(
    ctx: OrchestrationContext,
    check: ActivityRef,
    input: Any = None,
    *,
    interval: Duration,
    until: Callable[[Any], bool] = bool,
    expires_after: Duration | None = None,
    expires_at: datetime | None = None,
    max_polls: int | None = None,
    on_success: ActivityRef | None = None,
    on_expiry: ActivityRef | None = None,
    retry: RetryPolicy | None = None,
) -> Coroutine[Any, Any, MonitorResult]:
    """Poll `check` every `interval` until `until(result)` holds, the expiry passes or `max_polls`.

    Arguments are checked now, before anything is scheduled; see `Monitor`.
    (For continue-as-new, build a `Monitor` with `continue_every`, or use
    `register_monitor`.)

    Example::

        @app.orchestrator
        async def wait_for_export(ctx, job_id):
            result = await monitor(
                ctx,
                export_status,
                job_id,
                interval="PT1M",
                expires_after="PT2H",
                until=lambda status: status["state"] == "done",
            )
            return result.outcome is MonitorOutcome.SATISFIED

    Raises:
        InvalidArgumentError: a zero or negative interval, an expiry that is
            not after now, or another bad argument (at once).
    """
    spec = Monitor(
        check=check,
        interval=interval,
        until=until,
        expires_after=expires_after,
        max_polls=max_polls,
        on_success=on_success,
        on_expiry=on_expiry,
        retry=retry,
    )
    return spec.run(ctx, input, expires_at=expires_at)


def register_monitor(
    app: App,
    name: str,
    *,
    check: ActivityRef,
    interval: Duration,
    until: Callable[[Any], bool] = bool,
    expires_after: Duration | None = None,
    max_polls: int | None = None,
    on_success: ActivityRef | None = None,
    on_expiry: ActivityRef | None = None,
    continue_every: int | None = None,
    retry: RetryPolicy | None = None,
) -> Monitor:
    """Register an orchestrator `name` that monitors with `check`; its input is the check's input.

    It returns a `MonitorResult`, continues as new every `continue_every`
    polls if given, and publishes ``{"polls": n}`` as its custom status.

    Returns:
        The checked monitor.

    Raises:
        InvalidArgumentError: a bad argument (see `Monitor`).
        RegistrationError: `name` is not valid or already registered.
    """
    spec = Monitor(
        check=check,
        interval=interval,
        until=until,
        expires_after=expires_after,
        max_polls=max_polls,
        on_success=on_success,
        on_expiry=on_expiry,
        continue_every=continue_every,
        retry=retry,
    )

    async def monitor_orchestrator(ctx: OrchestrationContext, input: Any = None) -> MonitorResult:
        value, progress = Monitor.resume(input)
        ctx.set_custom_status({"polls": progress.polls if progress else 0})
        return await spec.run(ctx, value, progress=progress)

    app.orchestrator(name=name)(monitor_orchestrator)
    return spec
