"""Failures as data, so that errors cross processes without pickling."""

from __future__ import annotations

import traceback

import attrs

__all__ = ["FailureDetails"]


@attrs.frozen(kw_only=True)
class FailureDetails:
    """An exception described as data.

    Attributes:
        type_name: the exception's class name, e.g. ``"ValueError"``.
        base_type_names: names of its base classes, most derived first.
        message: ``str(exception)``.
        traceback: the formatted traceback text, if there was one.
        non_retryable: whether retry policies must not retry it.
    """

    type_name: str
    message: str
    base_type_names: tuple[str, ...] = ()
    traceback: str | None = None
    non_retryable: bool = False

    @classmethod
    def from_exception(cls, error: BaseException, *, non_retryable: bool = False) -> FailureDetails:
        """Describe `error`, its base classes and its traceback."""
        bases = tuple(klass.__name__ for klass in type(error).__mro__[1:] if klass not in (object,))
        text = "".join(traceback.format_exception(error)) if error.__traceback__ else None
        return cls(
            type_name=type(error).__name__,
            message=str(error),
            base_type_names=bases,
            traceback=text,
            non_retryable=non_retryable,
        )

    def matches(self, *type_names: str) -> bool:
        """Whether this failure is of one of `type_names`, by its own or a base's name."""
        return any(
            name in ("Any", self.type_name) or name in self.base_type_names for name in type_names
        )
