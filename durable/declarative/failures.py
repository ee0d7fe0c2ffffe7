"""Errors inside a running workflow: which can be caught, what they are called, how they match.

A failed activity or sub-workflow arrives as a `TaskFailedError` whose
`failure` describes the original error; that original is what ``catch`` and
``retry`` match, so ``errors: [PaymentError]`` catches an activity that
raised ``PaymentDeclined(PaymentError)``. Errors raised by the interpreter
itself (``Timeout``, ``HttpServerError``, a ``fail`` step's error) match by
their own class and bases. Two built-in names stand for families:
``Timeout`` also matches `DeadlineExceededError`, and ``ActivityNotFound``
matches `ActivityNotFoundError`. ``Any`` matches everything catchable.

Never catchable: non-determinism, awaits the engine refuses, cancellation,
and the interpreter's own control flow (``return``, continue-as-new).
"""

from __future__ import annotations

from typing import Any

from durable._model.failures import FailureDetails
from durable.declarative.errors import FailStepError
from durable.errors import (
    NonDeterminismError,
    TaskCancelledError,
    TaskFailedError,
    UnsupportedAwaitError,
)

__all__ = [
    "ALIASES",
    "NON_RETRYABLE",
    "ContinuedAsNew",
    "ControlFlow",
    "Finished",
    "catchable",
    "error_value",
    "expand_names",
    "fail_class",
    "failure_of",
    "matches",
]

ALIASES: dict[str, tuple[str, ...]] = {
    "Timeout": ("Timeout", "DeadlineExceededError"),
    "ActivityNotFound": ("ActivityNotFound", "ActivityNotFoundError"),
}
"""Built-in error names that stand for more than one type name."""

NON_RETRYABLE = ("ExpressionError", "ValidationError", "ActivityNotFoundError", "HttpClientError")
"""Errors a retry policy that does not list its ``errors`` never retries (429 excepted)."""


class ControlFlow(Exception):  # noqa: N818 - not an error: a jump the interpreter takes
    """The interpreter's own jumps (``return``, continue-as-new), never caught by ``catch``."""


class Finished(ControlFlow):
    """A ``return`` step: the run ends with `value`."""

    def __init__(self, value: Any) -> None:
        self.value = value
        super().__init__("return")


class ContinuedAsNew(ControlFlow):
    """A loop continued as new: this execution ends here."""


def catchable(error: BaseException) -> bool:
    """Whether ``catch`` and ``retry`` may see `error`."""
    return isinstance(error, Exception) and not isinstance(
        error, ControlFlow | NonDeterminismError | UnsupportedAwaitError | TaskCancelledError
    )


def failure_of(error: BaseException) -> FailureDetails:
    """The failure to match: the original error of a failed task, else `error` itself."""
    if isinstance(error, TaskFailedError):
        return error.failure
    return FailureDetails.from_exception(error)


def expand_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Type names with the built-in aliases spelled out."""
    expanded: list[str] = []
    for name in names:
        expanded.extend(ALIASES.get(name, (name,)))
    return tuple(dict.fromkeys(expanded))


def matches(error: BaseException, names: tuple[str, ...]) -> bool:
    """Whether `error` is of one of `names` (empty: any catchable error)."""
    if not catchable(error):
        return False
    return not names or failure_of(error).matches(*expand_names(names))


def error_value(error: BaseException) -> dict[str, Any]:
    """What ``catch`` binds its ``as`` name to: type, message, all type names, step, details."""
    failure = failure_of(error)
    value: dict[str, Any] = {
        "type": failure.type_name,
        "message": failure.message,
        "types": [failure.type_name, *failure.base_type_names],
        "step": getattr(error, "step", None),
    }
    if isinstance(error, FailStepError):
        value["details"] = error.details
    return value


def fail_class(name: str, cache: dict[str, type[FailStepError]]) -> type[FailStepError]:
    """The error class a ``fail`` step raises for ``error: name`` (made once per name)."""
    found = cache.get(name)
    if found is None:
        found = type(name, (FailStepError,), {"__module__": FailStepError.__module__})
        cache[name] = found
    return found
