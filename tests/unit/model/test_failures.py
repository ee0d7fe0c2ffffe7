"""`FailureDetails`: exceptions as data, and matching them by type name."""

from __future__ import annotations

from durable._model.failures import FailureDetails


class PaymentError(Exception):
    pass


class CardDeclinedError(PaymentError):
    pass


def _raised() -> CardDeclinedError:
    try:
        raise CardDeclinedError("card 4242 declined")
    except CardDeclinedError as error:
        return error


def test_failure_from_exception_keeps_type_bases_message_and_traceback() -> None:
    details = FailureDetails.from_exception(_raised())

    assert details.type_name == "CardDeclinedError"
    assert details.base_type_names == ("PaymentError", "Exception", "BaseException")
    assert details.message == "card 4242 declined"
    assert details.traceback is not None
    assert details.traceback.startswith("Traceback (most recent call last):\n")
    assert details.traceback.endswith("CardDeclinedError: card 4242 declined\n")
    assert "in _raised" in details.traceback
    assert details.non_retryable is False


def test_failure_from_an_exception_never_raised_has_no_traceback() -> None:
    details = FailureDetails.from_exception(KeyError("sku"), non_retryable=True)

    assert details == FailureDetails(
        type_name="KeyError",
        message="'sku'",
        base_type_names=("LookupError", "Exception", "BaseException"),
        traceback=None,
        non_retryable=True,
    )


def test_failure_matches_its_own_name_a_base_name_or_any() -> None:
    details = FailureDetails.from_exception(_raised())

    assert details.matches("CardDeclinedError")
    assert details.matches("ValueError", "PaymentError")
    assert details.matches("Any")
    assert not details.matches("ValueError")
    assert not details.matches()
