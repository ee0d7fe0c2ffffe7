"""The errors of declarative workflows, under `durable`'s one root.

The tree::

    DurableError                                    (durable.errors)
    ├── DocumentError (ValueError)                  a document is not valid; carries its problems
    └── StepError                                   a step failed while a workflow ran
        ├── ExpressionError                         an expression failed, ran too long or too deep
        ├── ValidationError                         the input does not match the input schema
        ├── Timeout (DeadlineExceededError)         a bounded wait ran out
        ├── HttpStatusError                         an HTTP step got an error status
        │   ├── HttpClientError                     4xx
        │   │   └── HttpTooManyRequests             429
        │   └── HttpServerError                     5xx
        └── FailStepError                           raised by a `fail` step (subclassed per name)

The class names are the documented built-in error names, because errors are
matched by type name: a failure recorded as ``Timeout`` is caught by
``catch: [{errors: [Timeout]}]`` here and matched by ``failure.matches("Timeout")``
in a Python parent. A `fail` step raises a class named after its ``error``, a
subclass of `FailStepError`, so its failure carries that name.

A document that changed under an in-flight instance is refused with
`durable.errors.NonDeterminismError`, the engine's own verdict for code that
no longer matches its history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durable.errors import DeadlineExceededError, DurableError

if TYPE_CHECKING:
    from durable.declarative.problems import Problem

__all__ = [
    "DocumentError",
    "ExpressionError",
    "FailStepError",
    "HttpClientError",
    "HttpServerError",
    "HttpStatusError",
    "HttpTooManyRequests",
    "StepError",
    "Timeout",
    "ValidationError",
]


class DocumentError(DurableError, ValueError):
    """A workflow document is not valid; nothing of it runs.

    Attributes:
        problems: every problem found, sorted by position.
    """

    def __init__(self, problems: list[Problem], *, source: str = "<document>") -> None:
        self.problems = problems
        self.source = source
        lines = [problem.format() for problem in problems[:20]]
        more = len(problems) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"{source} is not a valid workflow document ({count}):\n" + "\n".join(lines)
        )


class StepError(DurableError):
    """A step of a running workflow failed.

    Attributes:
        step: the id of the step that failed (None for the document itself).
    """

    def __init__(self, message: str, *, step: str | None = None) -> None:
        self.step = step
        prefix = f"step {step!r}: " if step else ""
        super().__init__(prefix + message)


class ExpressionError(StepError):
    """An expression failed: an error, a wrong type, or its time box or recursion bound ran out."""


class ValidationError(StepError):
    """The workflow's input does not match the document's ``input`` schema."""


class Timeout(StepError, DeadlineExceededError):  # noqa: N818 - the documented error name
    """A bounded wait (``receive``, ``approval``, a step ``timeout``, async ``http``) ran out."""


class HttpStatusError(StepError):
    """An ``http`` step was answered with an error status.

    Attributes:
        status: the HTTP status code.
        body: the start of the answer's body.
    """

    def __init__(self, message: str, *, status: int, body: str = "", step: str | None = None):
        self.status = status
        self.body = body
        super().__init__(message, step=step)


class HttpClientError(HttpStatusError):
    """The answer was a 4xx status."""


class HttpTooManyRequests(HttpClientError):  # noqa: N818 - the documented error name
    """The answer was 429 Too Many Requests."""


class HttpServerError(HttpStatusError):
    """The answer was a 5xx status."""


class FailStepError(StepError):
    """The base of the errors `fail` steps raise; each is a subclass named after its ``error``.

    Attributes:
        details: the step's ``details`` value (JSON), if it gave one.
    """

    def __init__(self, message: str, *, details: Any = None, step: str | None = None) -> None:
        self.details = details
        super().__init__(message, step=step)
