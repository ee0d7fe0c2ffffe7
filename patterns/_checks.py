"""Argument checks shared by the patterns; each raises InvalidArgumentError naming the parameter.

The patterns check everything they are given when they are configured (a
spec built, a helper called, an orchestrator registered), so bad input fails
before the first call is scheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from durable import FailureDetails, RetryPolicy
from durable.errors import InvalidArgumentError, TaskFailedError

__all__ = [
    "ActivityRef",
    "check_optional_ref",
    "check_positive_int",
    "check_ref",
    "failure_of",
    "optional_ref_validator",
    "policy_validator",
    "ref_label",
    "ref_validator",
]

Validator: TypeAlias = Callable[[object, "attrs.Attribute[Any]", Any], None]

ActivityRef: TypeAlias = str | Callable[..., Any]
"""An activity (or orchestrator) as its registered name or as the decorated function."""


def check_ref(name: str, value: object) -> ActivityRef:
    """Return `value` if it can name an activity or orchestrator, else fail naming `name`."""
    if isinstance(value, str) and value:
        return value
    if callable(value) and not isinstance(value, type):
        return value
    raise InvalidArgumentError(
        f"{name} must be a registered name (non-empty str) or the decorated function, "
        f"got {type(value).__name__} {value!r}"
    )


def check_optional_ref(name: str, value: object) -> ActivityRef | None:
    """Like `check_ref`, but None is allowed."""
    return None if value is None else check_ref(name, value)


def check_positive_int(name: str, value: object) -> int:
    """Return `value` if it is an int of at least 1, else fail naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{name} must be an int of at least 1, got {value!r}")
    return value


def ref_label(ref: ActivityRef) -> str:
    """A readable name for a reference: the name itself, or the function's name."""
    return ref if isinstance(ref, str) else getattr(ref, "__name__", repr(ref))


def failure_of(error: BaseException) -> FailureDetails:
    """The failure of a durable task error, or `error` itself described as data."""
    if isinstance(error, TaskFailedError):
        return error.failure
    return FailureDetails.from_exception(error)


def ref_validator(name: str) -> Validator:
    """An attrs validator that applies `check_ref` under the parameter name `name`."""

    def check(_: object, __: attrs.Attribute[Any], value: Any) -> None:
        check_ref(name, value)

    return check


def optional_ref_validator(name: str) -> Validator:
    """An attrs validator that applies `check_optional_ref` under the name `name`."""

    def check(_: object, __: attrs.Attribute[Any], value: Any) -> None:
        check_optional_ref(name, value)

    return check


def policy_validator(name: str) -> Validator:
    """An attrs validator for an optional `RetryPolicy` named `name`."""

    def check(_: object, __: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not isinstance(value, RetryPolicy):
            raise InvalidArgumentError(f"{name} must be a RetryPolicy or None, got {value!r}")

    return check
