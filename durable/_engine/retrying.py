"""Retries as a branch: attempt, wait on a durable timer, attempt again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from durable._engine.tasks import Task
from durable._model.retry import RetryPolicy
from durable.errors import TaskFailedError

if TYPE_CHECKING:
    from durable._engine.context import OrchestrationContext

__all__ = ["retrying"]


async def retrying(
    ctx: OrchestrationContext, attempt: Callable[[], Task[Any]], policy: RetryPolicy
) -> Any:
    """Await `attempt()` until it succeeds or `policy` gives up; then raise its last error.

    Each retry waits on a durable timer, so attempts and waits are in the history.
    """
    first_started = ctx.now
    number = 1
    while True:
        try:
            return await attempt()
        except TaskFailedError as error:
            delay = policy.next_delay(
                error.failure, failed_attempt=number, elapsed=ctx.now - first_started
            )
            if delay is None:
                raise
        await ctx.create_timer(delay)
        number += 1
