"""`VirtualClock`: simulated time, moved only by the simulation that owns it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from durable.errors import InvalidArgumentError

__all__ = ["VirtualClock", "check_instant", "resolve_when"]


class VirtualClock:
    """A `durable.Clock` that stands still until its simulation moves it forward.

    Args:
        start: the first instant (an aware datetime; kept in UTC).
    """

    def __init__(self, start: datetime) -> None:
        self._now = check_instant("start", start)

    def now(self) -> datetime:
        """The simulated time."""
        return self._now

    def move_to(self, when: datetime) -> None:
        """Move to `when`; time never goes back.

        Raises:
            InvalidArgumentError: `when` is before the current time.
        """
        if when < self._now:
            raise InvalidArgumentError(
                f"virtual time cannot go back from {self._now.isoformat()} to {when.isoformat()}"
            )
        self._now = when


def check_instant(parameter: str, value: object) -> datetime:
    """`value` in UTC if it is an aware datetime, else fail naming `parameter`."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidArgumentError(
            f"{parameter} must be an aware datetime (e.g. datetime(2030, 1, 1, tzinfo=UTC)), "
            f"got {value!r}"
        )
    return value.astimezone(UTC)


def resolve_when(parameter: str, value: object, now: datetime) -> datetime:
    """An instant given as an aware datetime or a delay from `now`, not in the past."""
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise InvalidArgumentError(f"{parameter} must not be a negative delay, got {value!r}")
        return now + value
    when = check_instant(parameter, value)
    if when < now:
        raise InvalidArgumentError(
            f"{parameter} {when.isoformat()} is in the virtual past (now is {now.isoformat()})"
        )
    return when
