"""Durations: the short and ISO 8601 forms, the errors, and the schema's copy of the grammar."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable.declarative.durations import (
    DURATION_PATTERN,
    DurationError,
    format_duration,
    parse_duration,
)
from durable.declarative.schema import workflow_schema


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("1.5s", timedelta(seconds=1.5)),
        ("250ms", timedelta(milliseconds=250)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("PT15M", timedelta(minutes=15)),
        ("P3D", timedelta(days=3)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("P2W", timedelta(weeks=2)),
    ],
)
def test_parse_duration_reads_short_and_iso_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        (30, "durations need a unit, e.g. '90s'; got 30", None),
        (
            "30",
            "expected a duration such as '30s', '15m', '3d' or 'PT15M'; got '30'",
            "durations need a unit, e.g. '30s'",
        ),
        (
            "2 seconds",
            "expected a duration such as '30s', '15m', '3d' or 'PT15M'; got '2 seconds'",
            None,
        ),
        (
            "1:30",
            "expected a duration such as '30s', '15m', '3d' or 'PT15M'; got '1:30'",
            "write hours and minutes with units, e.g. '1h30m'",
        ),
        (
            "P1M",
            "expected a duration such as '30s', '15m', '3d' or 'PT15M'; got 'P1M'",
            "years and months have no fixed length; write days, e.g. 'P30D'",
        ),
        ("30m1h", "expected a duration such as '30s', '15m', '3d' or 'PT15M'; got '30m1h'", None),
        ("PT", "expected a duration such as '30s', '15m', '3d' or 'PT15M'; got 'PT'", None),
        ("0s", "expected a duration of more than zero; got '0s'", None),
        ("40000d", "a duration can be at most 36600 days; got '40000d'", None),
    ],
)
def test_parse_duration_refuses_what_is_not_a_duration(
    value: object, message: str, hint: str | None
) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(value)
    assert (str(info.value), info.value.hint) == (message, hint)


def test_format_duration_writes_the_short_form() -> None:
    assert [format_duration(parse_duration(each)) for each in ("1h30m", "3d", "1.5s", "2w")] == [
        "1h30m",
        "3d",
        "1.5s",
        "14d",
    ]


def test_the_schema_uses_the_same_duration_grammar() -> None:
    assert workflow_schema()["$defs"]["duration"]["pattern"] == DURATION_PATTERN
