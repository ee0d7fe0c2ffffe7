"""Retry decisions: delays, deterministic jitter, built-in non-retryable errors, aliases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable import FailureDetails, RetryPolicy
from durable.declarative import (
    ExpressionError,
    HttpClientError,
    HttpServerError,
    HttpTooManyRequests,
    Timeout,
    register_workflow,
)
from durable.declarative.failures import error_value, expand_names, matches
from durable.declarative.plan import RetrySpec
from durable.declarative.retries import jitter_fraction, next_delay
from durable.errors import ActivityError, ActivityNotFoundError, NonDeterminismError
from tests.declarative.helpers import document, make_app, simulation

POLICY = RetryPolicy(max_attempts=4, first_interval=timedelta(seconds=10), backoff_coefficient=2)


def delay(error: BaseException, spec: RetrySpec | None = None, attempt: int = 1) -> object:
    return next_delay(
        spec or RetrySpec(policy=POLICY),
        error,
        attempt=attempt,
        elapsed=timedelta(0),
        instance_id="i",
        key="steps[0]",
    )


def activity_error(type_name: str, *bases: str) -> ActivityError:
    return ActivityError(
        "pay", FailureDetails(type_name=type_name, message="x", base_type_names=bases)
    )


def test_delays_back_off_from_the_first_interval() -> None:
    failure = activity_error("ConnectionError")
    assert [delay(failure, attempt=n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=40),
        None,
    ]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ExpressionError("bad"), None),
        (HttpClientError("404", status=404), None),
        (HttpTooManyRequests("429", status=429), timedelta(seconds=10)),
        (HttpServerError("503", status=503), timedelta(seconds=10)),
        (Timeout("late"), timedelta(seconds=10)),
        (ActivityNotFoundError("nope"), None),
        (NonDeterminismError("i", 0, "a", "b"), None),
    ],
)
def test_built_in_errors_that_retrying_cannot_fix_are_not_retried(
    error: BaseException, expected: timedelta | None
) -> None:
    assert delay(error) == expected


def test_listing_errors_retries_exactly_those_even_built_in_ones() -> None:
    spec = RetrySpec(
        policy=RetryPolicy(max_attempts=2, retry_on=expand_names(("HttpClientError",))),
        errors_given=True,
    )
    assert (delay(HttpClientError("404", status=404), spec), delay(Timeout("x"), spec)) == (
        timedelta(seconds=1),
        None,
    )


def test_full_jitter_scales_the_delay_by_a_deterministic_fraction() -> None:
    spec = RetrySpec(policy=POLICY, jitter=True)
    fraction = jitter_fraction("i", "steps[0]", 1)
    assert 0 <= fraction < 1
    assert delay(Timeout("x"), spec) == timedelta(seconds=10) * fraction
    assert jitter_fraction("i", "steps[0]", 1) == fraction != jitter_fraction("i", "steps[0]", 2)


def test_matching_uses_the_original_errors_bases_and_the_built_in_aliases() -> None:
    declined = activity_error("PaymentDeclined", "PaymentError", "Exception")
    assert matches(declined, ("PaymentError",))
    assert not matches(declined, ("Timeout",))
    assert matches(Timeout("x"), ("Timeout",))
    assert matches(ActivityNotFoundError("x"), ("ActivityNotFound",))
    assert matches(declined, ())
    assert not matches(NonDeterminismError("i", 0, "a", "b"), ("Any",))
    assert error_value(declined) == {
        "type": "PaymentDeclined",
        "message": "x",
        "types": ["PaymentDeclined", "PaymentError", "Exception"],
        "step": None,
    }


def test_a_call_to_an_unregistered_activity_is_caught_as_activity_not_found() -> None:
    app = make_app()
    text = """
    steps:
      - id: guarded
        try: [{id: missing, call: not_there}]
        catch:
          - errors: [ActivityNotFound]
            as: problem
            do: [{id: handled, return: "${ problem.type }"}]
    """
    register_workflow(app, document(text), check_names=False)
    with simulation(app) as sim:
        instance = sim.start("wf", None, instance_id="missing")
        sim.run_until_idle()
        assert sim.status(instance).output == "ActivityNotFoundError"
