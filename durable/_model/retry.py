"""Retry policies for activities and sub-orchestrations.

Retries wait on durable timers, so every attempt and every wait between
attempts shows in the history and runs in simulated time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs

from durable._model.failures import FailureDetails
from durable.errors import InvalidArgumentError

__all__ = ["MAX_DURATION", "RetryPolicy", "check_duration"]

MAX_DURATION = timedelta(days=366 * 100)
"""The longest delay or timeout `durable` accepts anywhere (100 years)."""


def check_duration(name: str, value: timedelta, *, allow_zero: bool = True) -> timedelta:
    """Return `value` if it is a sane duration, or fail naming the parameter `name`."""
    if not isinstance(value, timedelta):
        raise InvalidArgumentError(f"{name} must be a timedelta, got {type(value).__name__}")
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise InvalidArgumentError(f"{name} must be {bound}, got {value}")
    if value > MAX_DURATION:
        raise InvalidArgumentError(f"{name} must be at most {MAX_DURATION.days} days, got {value}")
    return value


def _positive(name: str) -> Callable[[object, object, timedelta | None], None]:
    def check(_: object, __: object, value: timedelta | None) -> None:
        if value is not None:
            check_duration(name, value, allow_zero=False)

    return check


def _at_least_one(_: object, __: object, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"max_attempts must be an int of at least 1, got {value!r}")


def _coefficient(_: object, __: object, value: float) -> None:
    if not isinstance(value, int | float) or value < 1:
        raise InvalidArgumentError(f"backoff_coefficient must be at least 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently a failed call is tried again.

    Attributes:
        max_attempts: attempts in all, the first included.
        first_interval: the wait after the first failure.
        backoff_coefficient: each further wait is the previous one times this.
        max_interval: the longest single wait, if bounded.
        timeout: the overall budget from the first attempt; no retry starts past it.
        retry_on: retry only failures of these type names (bases included);
            empty means every failure.
        do_not_retry: never retry failures of these type names (bases included).
    """

    max_attempts: int = attrs.field(default=3, validator=_at_least_one)
    first_interval: timedelta = attrs.field(
        default=timedelta(seconds=1), validator=_positive("first_interval")
    )
    backoff_coefficient: float = attrs.field(default=2.0, validator=_coefficient)
    max_interval: timedelta | None = attrs.field(default=None, validator=_positive("max_interval"))
    timeout: timedelta | None = attrs.field(default=None, validator=_positive("timeout"))
    retry_on: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    do_not_retry: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def delay_before(self, attempt: int) -> timedelta:
        """The wait before attempt number `attempt` (2 for the first retry)."""
        delay = self.first_interval * (self.backoff_coefficient ** (attempt - 2))
        return min(delay, self.max_interval) if self.max_interval else delay

    def next_delay(
        self, failure: FailureDetails, *, failed_attempt: int, elapsed: timedelta
    ) -> timedelta | None:
        """The wait before retrying after attempt `failed_attempt` failed, or None to give up."""
        if failure.non_retryable or failed_attempt >= self.max_attempts:
            return None
        if self.retry_on and not failure.matches(*self.retry_on):
            return None
        if self.do_not_retry and failure.matches(*self.do_not_retry):
            return None
        delay = self.delay_before(failed_attempt + 1)
        if self.timeout is not None and elapsed + delay > self.timeout:
            return None
        return delay
