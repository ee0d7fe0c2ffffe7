"""What a simulation does instead of (or around) an activity: fakes, failures, delays.

Rules are kept per registered activity name. A call first meets the failure
rules (the first N calls fail, or each call fails with a seeded probability);
a call that is not failed goes to the fake if there is one, else to the real
function. The delay applies to every outcome: the result reaches the
orchestration that much later in virtual time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import attrs

from durable.errors import InvalidArgumentError
from durable.testing._errors import InjectedFailure, SimulationError

__all__ = ["ActivityRules", "ErrorSpec", "make_fake"]

ErrorSpec = BaseException | type[BaseException] | None
"""What an injected failure raises: an exception, an exception class, or None for
`InjectedFailure`."""

Fake = Callable[[tuple[Any, ...]], Any]
"""A fake, called with the activity's arguments (its structured input, if it takes one)."""


@attrs.define(eq=False)
class ActivityRules:
    """The fake, failures and delay set for one activity."""

    name: str
    fake: Fake | None = None
    fail_first: int = 0
    fail_probability: float = 0.0
    error: ErrorSpec = None
    delay: timedelta = timedelta(0)
    calls: int = 0

    def injected_error(self, rng: random.Random) -> BaseException | None:
        """Count a call; the error to raise if a failure rule says it fails, else None."""
        self.calls += 1
        if self.calls <= self.fail_first:
            return _error(
                self.error,
                self.name,
                f"call {self.calls}, set to fail",
            )
        if self.fail_probability and rng.random() < self.fail_probability:
            return _error(
                self.error, self.name, f"call {self.calls}, failing with p={self.fail_probability}"
            )
        return None


def make_fake(name: str, result: Any, sequence: Iterable[Any] | None, *, given: bool) -> Fake:
    """The fake for `Simulation.fake`: from a sequence, a function, an exception or a value.

    Raises:
        InvalidArgumentError: both or neither of a result and a sequence were given.
    """
    if given == (sequence is not None):
        raise InvalidArgumentError(
            f"fake({name!r}, ...) takes a result (a value, an exception or a function) "
            "or sequence=[...], exactly one of them"
        )
    if sequence is not None:
        return _sequence_fake(name, list(sequence))
    if _is_error(result):
        return lambda _: _raise(result)
    if callable(result):
        function: Callable[..., Any] = result
        return lambda arguments: function(*arguments)
    return lambda _: result


def _sequence_fake(name: str, results: list[Any]) -> Fake:
    position = 0

    def next_result(_: tuple[Any, ...]) -> Any:
        nonlocal position
        if position >= len(results):
            raise SimulationError(
                f"the fake of activity {name!r} ran out: it was given {len(results)} results "
                f"and this is call {position + 1}; give more, or a function"
            )
        result = results[position]
        position += 1
        return _raise(result) if _is_error(result) else result

    return next_result


def _is_error(value: Any) -> bool:
    return isinstance(value, BaseException) or (
        isinstance(value, type) and issubclass(value, BaseException)
    )


def _raise(error: BaseException | type[BaseException]) -> Any:
    raise error.with_traceback(None) if isinstance(error, BaseException) else error()


def _error(spec: ErrorSpec, name: str, detail: str) -> BaseException:
    message = f"injected failure of activity {name!r} ({detail})"
    if spec is None:
        return InjectedFailure(message)
    if isinstance(spec, BaseException):
        return spec.with_traceback(None)
    return spec(message)
