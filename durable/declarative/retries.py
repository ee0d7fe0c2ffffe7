"""Retrying a step: attempt, wait on a durable timer, attempt again.

The loop has the shape of the engine's own retries (``ctx.call_activity(...,
retry=...)``), so a document's retried call records the same history as the
Python call with the same `RetryPolicy`: each attempt is a new call, each
wait a timer. It retries more than activity failures: a step's ``Timeout``
and an HTTP error status are retried too. Full jitter scales each delay by
a number in [0, 1) drawn from a hash of the instance id, the step's place
and the attempt, so it is the same on every replay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from durable import OrchestrationContext, RetryPolicy
from durable.declarative.failures import NON_RETRYABLE, catchable, failure_of
from durable.declarative.plan import RetrySpec

__all__ = ["NO_RETRY", "jitter_fraction", "next_delay", "with_retries"]

NO_RETRY = RetryPolicy(max_attempts=1)
"""Passed to calls of a step that retries itself, so an activity's own policy does not retry too."""


def jitter_fraction(instance_id: str, key: str, attempt: int) -> float:
    """A number in [0, 1), the same for the same instance, place and attempt."""
    digest = hashlib.sha256(f"{instance_id}/{key}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:6], "big") / float(1 << 48)


def next_delay(
    spec: RetrySpec,
    error: BaseException,
    *,
    attempt: int,
    elapsed: timedelta,
    instance_id: str,
    key: str,
) -> timedelta | None:
    """The wait before retrying after attempt `attempt` failed with `error`, or None to give up."""
    if not catchable(error):
        return None
    failure = failure_of(error)
    never = failure.matches(*NON_RETRYABLE) and not failure.matches("HttpTooManyRequests")
    if never and not spec.errors_given:
        return None
    delay = spec.policy.next_delay(failure, failed_attempt=attempt, elapsed=elapsed)
    if delay is None or not spec.jitter:
        return delay
    return delay * jitter_fraction(instance_id, key, attempt)


async def with_retries(
    ctx: OrchestrationContext,
    spec: RetrySpec | None,
    key: str,
    attempt: Callable[[], Awaitable[Any]],
) -> Any:
    """Await `attempt()` until it succeeds or `spec` gives up; then raise its last error."""
    if spec is None:
        return await attempt()
    started = ctx.now
    number = 1
    while True:
        try:
            return await attempt()
        except Exception as error:
            delay = next_delay(
                spec,
                error,
                attempt=number,
                elapsed=ctx.now - started,
                instance_id=ctx.instance_id,
                key=key,
            )
            if delay is None:
                raise
        await ctx.create_timer(delay)
        number += 1
