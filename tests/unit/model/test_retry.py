"""`RetryPolicy`: backoff arithmetic, the filters, and its validation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable._model.failures import FailureDetails
from durable._model.retry import MAX_DURATION, RetryPolicy, check_duration
from durable.errors import DurableError, InvalidArgumentError

SECOND = timedelta(seconds=1)
FLAKY = FailureDetails(
    type_name="ConnectionResetError",
    message="reset",
    base_type_names=("ConnectionError", "OSError", "Exception", "BaseException"),
)


def test_retry_delays_grow_by_the_coefficient_and_stop_at_max_interval() -> None:
    policy = RetryPolicy(
        max_attempts=6, first_interval=10 * SECOND, backoff_coefficient=3, max_interval=60 * SECOND
    )

    assert [policy.delay_before(attempt) for attempt in range(2, 7)] == [
        10 * SECOND,
        30 * SECOND,
        60 * SECOND,
        60 * SECOND,
        60 * SECOND,
    ]


def test_retry_next_delay_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, first_interval=SECOND, backoff_coefficient=2)

    delays = [policy.next_delay(FLAKY, failed_attempt=n, elapsed=timedelta(0)) for n in (1, 2, 3)]

    assert delays == [SECOND, 2 * SECOND, None]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(retry_on=("OSError",)), SECOND),
        (RetryPolicy(retry_on=("ConnectionResetError",)), SECOND),
        (RetryPolicy(retry_on=("Any",)), SECOND),
        (RetryPolicy(retry_on=("ValueError",)), None),
        (RetryPolicy(do_not_retry=("ConnectionError",)), None),
        (RetryPolicy(do_not_retry=("KeyError",)), SECOND),
        (RetryPolicy(retry_on=("OSError",), do_not_retry=("ConnectionError",)), None),
    ],
)
def test_retry_filters_match_the_type_name_or_a_base_name(
    policy: RetryPolicy, expected: timedelta | None
) -> None:
    assert policy.next_delay(FLAKY, failed_attempt=1, elapsed=timedelta(0)) == expected


def test_retry_never_retries_a_non_retryable_failure() -> None:
    final = FailureDetails(type_name="PayloadError", message="x", non_retryable=True)

    assert (
        RetryPolicy(max_attempts=10).next_delay(final, failed_attempt=1, elapsed=timedelta(0))
        is None
    )


def test_retry_overall_timeout_stops_a_retry_that_would_start_past_it() -> None:
    policy = RetryPolicy(max_attempts=10, first_interval=10 * SECOND, timeout=40 * SECOND)

    assert policy.next_delay(FLAKY, failed_attempt=1, elapsed=30 * SECOND) == 10 * SECOND
    assert policy.next_delay(FLAKY, failed_attempt=1, elapsed=31 * SECOND) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be an int of at least 1, got 0"),
        ({"max_attempts": 1.5}, "max_attempts must be an int of at least 1, got 1.5"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient must be at least 1, got 0.5"),
        ({"first_interval": timedelta(0)}, "first_interval must be more than zero, got 0:00:00"),
        (
            {"first_interval": -SECOND},
            "first_interval must be more than zero, got -1 day, 23:59:59",
        ),
        ({"first_interval": 5}, "first_interval must be a timedelta, got int"),
        (
            {"max_interval": MAX_DURATION + SECOND},
            "max_interval must be at most 36600 days, got 36600 days, 0:00:01",
        ),
        ({"timeout": timedelta(0)}, "timeout must be more than zero, got 0:00:00"),
    ],
)
def test_retry_policy_refuses_bad_settings_naming_the_parameter(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=f"^{message}$"):
        RetryPolicy(**fields)


def test_check_duration_accepts_zero_and_the_maximum() -> None:
    assert check_duration("delay", timedelta(0)) == timedelta(0)
    assert check_duration("delay", MAX_DURATION) == MAX_DURATION


def test_invalid_argument_error_is_a_value_error_and_a_durable_error() -> None:
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(InvalidArgumentError, DurableError)


def test_retry_policy_filters_are_tuples() -> None:
    policy = RetryPolicy(retry_on=["OSError"], do_not_retry=["KeyError"])  # type: ignore[arg-type]

    assert (policy.retry_on, policy.do_not_retry) == (("OSError",), ("KeyError",))
