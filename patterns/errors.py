"""The errors the patterns raise inside orchestrators, under `durable`'s one root.

The tree::

    DurableError                          (durable.errors)
    ├── ChainStepError                    a chain step failed (after any compensation)
    ├── FanOutError                       a fan-out item failed (fail-fast policy)
    └── DeadlineExceededError             (durable.errors)
        └── HttpPollTimeoutError          an HTTP endpoint still answered 202 at the timeout

Bad arguments (an empty step list, ``max_parallel < 1``, a zero interval,
escalations out of order, ...) raise `durable.errors.InvalidArgumentError`
when the pattern is configured, before anything is scheduled.

Like every error raised in an orchestrator, these end an instance that does
not catch them as FAILED, with their type name (and their bases' names) in
the instance's `FailureDetails`; a parent sees them as a
`SubOrchestratorError` whose ``failure.matches("ChainStepError")`` holds.
"""

from __future__ import annotations

from durable import FailureDetails
from durable.errors import DeadlineExceededError, DurableError

__all__ = ["ChainStepError", "FanOutError", "HttpPollTimeoutError"]


class ChainStepError(DurableError):
    """A step of a chain failed; earlier steps' compensations have run.

    Attributes:
        step: the failing step's name.
        index: its position in the chain (0 for the first step).
        failure: the step's error, as data.
        compensated: the names of the steps whose compensation ran, in the
            order they ran (the reverse of the chain's order).
        compensation_failures: the compensations that failed themselves, as
            (step name, failure) pairs; the others still ran.
    """

    def __init__(
        self,
        step: str,
        index: int,
        failure: FailureDetails,
        *,
        compensated: tuple[str, ...] = (),
        compensation_failures: tuple[tuple[str, FailureDetails], ...] = (),
    ) -> None:
        self.step = step
        self.index = index
        self.failure = failure
        self.compensated = compensated
        self.compensation_failures = compensation_failures
        message = f"chain step {index + 1} ({step!r}) failed with {failure.type_name}: "
        message += failure.message
        if compensated:
            message += f"; compensated: {', '.join(compensated)}"
        if compensation_failures:
            failed = ", ".join(name for name, _ in compensation_failures)
            message += f"; compensation failed for: {failed}"
        super().__init__(message)


class FanOutError(DurableError):
    """An item of a fail-fast fan-out failed; no further items were started.

    Attributes:
        index: the failing item's position in the input.
        target: the activity or sub-orchestrator that was mapped over the items.
        failure: the item's error, as data.
    """

    def __init__(self, index: int, total: int, target: str, failure: FailureDetails) -> None:
        self.index = index
        self.target = target
        self.failure = failure
        super().__init__(
            f"fan-out of {target!r}: item {index} (of {total}) failed with "
            f"{failure.type_name}: {failure.message}"
        )


class HttpPollTimeoutError(DeadlineExceededError):
    """An HTTP endpoint still answered 202 Accepted when the overall timeout ran out.

    Attributes:
        url: the URL that was polled last.
        polls: how many status requests were made after the first call.
    """

    def __init__(self, url: str, timeout: str, polls: int) -> None:
        self.url = url
        self.polls = polls
        super().__init__(
            f"{url} still answered 202 Accepted after {timeout} ({polls} polls); "
            "raise the timeout or check the endpoint"
        )
