"""Durations in documents: ``90s``, ``15m``, ``1h30m``, ``3d``, ``2w``, or ISO 8601 (``PT15M``).

Short forms take their units in decreasing order: weeks, days, hours,
minutes, seconds, milliseconds (``1h30m``, ``2d12h``, ``1.5s``, ``250ms``).
ISO 8601 takes weeks, days, hours, minutes and seconds (``P3D``,
``PT1H30M``); years and months have no fixed length and are refused. A bare
number has no unit and is refused too. `DURATION_PATTERN` is the same
grammar as a regular expression, the one the JSON Schema uses.
"""

from __future__ import annotations

import re
from datetime import timedelta

from durable._model.retry import MAX_DURATION

__all__ = [
    "DURATION_PATTERN",
    "DURATION_TEXT",
    "DurationError",
    "format_duration",
    "parse_duration",
]

_NUMBER = r"\d+(?:\.\d+)?"
_SHORT = (
    rf"(?=\d)(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?"
    rf"(?:(?P<s>{_NUMBER})s)?(?:(?P<ms>\d+)ms)?"
)
_ISO = (
    rf"P(?=\d|T\d)(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    rf"(?:T(?=\d)(?:(?P<H>\d+)H)?(?:(?P<M>\d+)M)?(?:(?P<S>{_NUMBER})S)?)?"
)
_GRAMMAR = re.compile(rf"^(?:{_SHORT}|{_ISO})$")

DURATION_PATTERN = re.sub(r"\?P<\w+>", "", _GRAMMAR.pattern)
"""The grammar of durations as a regular expression (no named groups), for the JSON Schema."""

DURATION_TEXT = "a duration such as '30s', '15m', '3d' or 'PT15M'"
"""How messages describe what a duration looks like."""

_UNITS = {
    "w": "weeks",
    "W": "weeks",
    "d": "days",
    "D": "days",
    "h": "hours",
    "H": "hours",
    "m": "minutes",
    "M": "minutes",
    "s": "seconds",
    "S": "seconds",
    "ms": "milliseconds",
}


class DurationError(ValueError):
    """A text is not a duration; the message says what was expected, `hint` how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message)


def parse_duration(text: object) -> timedelta:
    """The `timedelta` a duration text stands for.

    Raises:
        DurationError: not a duration, zero, or longer than 100 years.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, int | float) and not isinstance(text, bool):
            raise DurationError(f"durations need a unit, e.g. '90s'; got {text}")
        raise DurationError(f"expected {DURATION_TEXT}; got {type(text).__name__}")
    match = _GRAMMAR.match(text)
    if match is None:
        raise DurationError(f"expected {DURATION_TEXT}; got {text!r}", _hint(text))
    parts: dict[str, float] = {}
    for group, value in match.groupdict().items():
        if value is not None:
            unit = _UNITS[group]
            parts[unit] = parts.get(unit, 0.0) + float(value)
    try:
        delta = timedelta(**parts)
    except OverflowError:
        delta = MAX_DURATION * 2
    if delta <= timedelta(0):
        raise DurationError(f"expected a duration of more than zero; got {text!r}")
    if delta > MAX_DURATION:
        raise DurationError(f"a duration can be at most {MAX_DURATION.days} days; got {text!r}")
    return delta


def _hint(text: str) -> str | None:
    stripped = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", stripped):
        return f"durations need a unit, e.g. '{stripped}s'"
    if re.fullmatch(r"\d+:\d+(?::\d+)?", stripped):
        return "write hours and minutes with units, e.g. '1h30m'"
    if re.match(r"P(?:\d+W)?(?:\d+D)?\d+[YM]", stripped, re.IGNORECASE):
        return "years and months have no fixed length; write days, e.g. 'P30D'"
    return None


def format_duration(delta: timedelta) -> str:
    """A short text for `delta`: ``1d``, ``1h30m``, ``1.5s``."""
    seconds = delta.total_seconds()
    text = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            text += f"{int(count)}{unit}"
    if seconds or not text:
        text += f"{seconds:g}s"
    return text
