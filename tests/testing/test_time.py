"""Virtual time: the clock, the shared freezer, and clock reads reported during replay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from durable.errors import InvalidArgumentError
from durable.testing._clock import VirtualClock, resolve_when
from durable.testing._freezer import SharedFreezer
from tests.testing.workflows import T0


def test_virtual_clock_moves_forward_only() -> None:
    clock = VirtualClock(T0)
    clock.move_to(T0 + timedelta(hours=1))
    with pytest.raises(InvalidArgumentError, match="cannot go back from 2030-01-01T01:00:00"):
        clock.move_to(T0)
    assert clock.now() == T0 + timedelta(hours=1)


def test_virtual_clock_keeps_an_aware_start_in_utc() -> None:
    from zoneinfo import ZoneInfo

    start = datetime(2030, 1, 1, 9, tzinfo=ZoneInfo("Europe/Paris"))
    assert VirtualClock(start).now() == datetime(2030, 1, 1, 8, tzinfo=UTC)


def test_resolve_when_takes_a_delay_or_an_instant_not_in_the_past() -> None:
    assert (
        resolve_when("at", timedelta(hours=2), T0),
        resolve_when("at", T0 + timedelta(days=1), T0),
    ) == (T0 + timedelta(hours=2), T0 + timedelta(days=1))
    with pytest.raises(InvalidArgumentError, match="at must be an aware datetime"):
        resolve_when("at", "tomorrow", T0)


def test_shared_freezer_stops_only_when_its_last_user_releases_it() -> None:
    freezer = SharedFreezer()
    freezer.acquire(T0)
    freezer.acquire(T0 + timedelta(days=1))
    freezer.release()
    still = (freezer.active, datetime.now(UTC), time.time.__module__)
    freezer.release()
    freezer.release()  # one too many: harmless
    assert (still, freezer.active, time.time.__module__) == (
        (True, T0 + timedelta(days=1), "freezegun.api"),
        False,
        "time",
    )


def test_shared_freezer_reports_clock_reads_with_their_place() -> None:
    freezer = SharedFreezer()
    freezer.acquire(T0)
    reads: list[str] = []
    try:
        with freezer.reads_reported(T0 + timedelta(days=9), reads.append):
            seen = (datetime.now(UTC), time.time())
        after = datetime.now(UTC)
    finally:
        freezer.release()
    line = test_shared_freezer_reports_clock_reads_with_their_place.__code__.co_firstlineno + 6
    assert (seen, after, reads) == (
        (T0 + timedelta(days=9), (T0 + timedelta(days=9)).timestamp()),
        T0,
        [f"datetime.now() at {__file__}:{line}", f"time.time() at {__file__}:{line}"],
    )
