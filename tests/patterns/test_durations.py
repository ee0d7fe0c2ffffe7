"""ISO 8601 and timedelta durations: what parses, and the errors for what does not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable.errors import InvalidArgumentError
from durable.patterns import parse_duration, positive_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT30M", timedelta(minutes=30)),
        ("P3D", timedelta(days=3)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT1H30M15S", timedelta(hours=1, minutes=30, seconds=15)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("PT0,25S", timedelta(seconds=0.25)),
        ("P2W", timedelta(weeks=2)),
        ("pt5m", timedelta(minutes=5)),
        ("PT0S", timedelta(0)),
    ],
)
def test_parse_duration_reads_iso_8601_text(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_returns_a_timedelta_unchanged() -> None:
    assert parse_duration(timedelta(hours=2)) == timedelta(hours=2)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "30M", "PT30", "P1H", "1 day", "PT-5M"])
def test_parse_duration_rejects_malformed_text_naming_the_parameter(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^interval .* is not an ISO 8601 duration"):
        parse_duration(text, name="interval")


@pytest.mark.parametrize("text", ["P1Y", "P2M", "P1Y2M3D"])
def test_parse_duration_rejects_years_and_months(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"years or months, which have no fixed length"):
        parse_duration(text)


@pytest.mark.parametrize("value", ["-PT5M", timedelta(seconds=-1)])
def test_parse_duration_rejects_negative_durations(value: str | timedelta) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^deadline must not be negative"):
        parse_duration(value, name="deadline")


def test_parse_duration_rejects_other_types() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"must be a timedelta or an ISO 8601 .* got int"
    ):
        parse_duration(30)  # type: ignore[arg-type]


def test_parse_duration_rejects_huge_durations() -> None:
    with pytest.raises(InvalidArgumentError, match=r"is too large"):
        parse_duration("P36601D")


@pytest.mark.parametrize("value", ["PT0S", timedelta(0)])
def test_positive_duration_rejects_zero(value: str | timedelta) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^interval must be more than zero"):
        positive_duration(value, name="interval")


def test_positive_duration_accepts_a_positive_duration() -> None:
    assert positive_duration("PT1S") == timedelta(seconds=1)


def test_parse_duration_rejects_a_duration_too_large_for_timedelta() -> None:
    with pytest.raises(InvalidArgumentError, match=r"is too large: at most 36600 days"):
        parse_duration("P9999999999D")
