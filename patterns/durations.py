"""Durations as `timedelta` or ISO 8601 text (``PT30M``, ``P3D``, ``P1DT12H``).

Every pattern accepts either form wherever it takes a duration, and turns it
into a `timedelta` here, when the pattern is configured, so a malformed
duration fails before anything is scheduled. Only units of fixed length are
accepted: weeks, days, hours, minutes and seconds. Years and months have no
fixed length and are refused with a hint; so are negative durations.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TypeAlias

from durable.errors import InvalidArgumentError

__all__ = ["LONGEST", "Duration", "parse_duration", "positive_duration"]

Duration: TypeAlias = timedelta | str
"""A `timedelta`, or an ISO 8601 duration string such as ``"PT30M"`` or ``"P3D"``."""

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_ISO = re.compile(
    rf"P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE,
)
_CALENDAR = re.compile(r"P(?:[\d.,]+[YM])", re.IGNORECASE)
_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
LONGEST = timedelta(days=366 * 100)
"""The longest duration accepted (100 years), the same bound `durable`'s timers have."""


def parse_duration(value: Duration, *, name: str = "duration") -> timedelta:
    """The `timedelta` of `value`: a timedelta (returned as is) or ISO 8601 text.

    Args:
        value: a `timedelta`, or text such as ``"PT30M"``, ``"P3D"``, ``"P1DT12H"``,
            ``"PT1.5S"`` or ``"P2W"``.
        name: the parameter's name, for the error message.

    Raises:
        InvalidArgumentError: `value` is neither, is negative, uses years or
            months, or is too large.
    """
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, str):
        parsed = _parse_text(value.strip(), name)
    else:
        raise InvalidArgumentError(
            f"{name} must be a timedelta or an ISO 8601 duration string such as 'PT30M', "
            f"got {type(value).__name__} {value!r}"
        )
    if parsed < timedelta(0):
        raise InvalidArgumentError(f"{name} must not be negative, got {value}")
    if parsed > LONGEST:
        raise InvalidArgumentError(f"{name} {value!r} is too large: at most {LONGEST.days} days")
    return parsed


def positive_duration(value: Duration, *, name: str = "duration") -> timedelta:
    """Like `parse_duration`, but zero is refused too.

    Raises:
        InvalidArgumentError: `value` is not a duration, or is zero or negative.
    """
    parsed = parse_duration(value, name=name)
    if parsed <= timedelta(0):
        raise InvalidArgumentError(f"{name} must be more than zero, got {value!r}")
    return parsed


def _parse_text(text: str, name: str) -> timedelta:
    if text.startswith("-"):
        raise InvalidArgumentError(f"{name} must not be negative, got {text!r}")
    if _CALENDAR.match(text):
        raise InvalidArgumentError(
            f"{name} {text!r} uses years or months, which have no fixed length; "
            "write days instead (e.g. 'P30D')"
        )
    match = _ISO.fullmatch(text)
    if match is None or not any(match.groups()) or text.upper().endswith("T"):
        raise InvalidArgumentError(
            f"{name} {text!r} is not an ISO 8601 duration; write e.g. 'PT30M', 'P3D' or "
            "'P1DT12H', or pass a timedelta"
        )
    parts = {
        unit: float(number.replace(",", "."))
        for unit, number in zip(_UNITS, match.groups(), strict=True)
        if number is not None
    }
    try:
        return timedelta(**parts)
    except OverflowError as error:
        raise InvalidArgumentError(
            f"{name} {text!r} is too large: at most {LONGEST.days} days"
        ) from error
