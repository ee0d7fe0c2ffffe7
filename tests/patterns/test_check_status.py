"""The check-status answer of a start endpoint: Durable Functions' URLs, headers and status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable.errors import InvalidArgumentError
from durable.patterns import CheckStatusResponse, check_status_response, management_urls

BASE = "http://127.0.0.1:8000/runtime/webhooks/durabletask"


def test_check_status_response_answers_202_with_location_and_management_urls() -> None:
    instance = f"{BASE}/instances/order-7"
    assert check_status_response(BASE + "/", "order-7") == CheckStatusResponse(
        status_code=202,
        headers={
            "Location": instance,
            "Retry-After": "10",
            "Content-Type": "application/json; charset=utf-8",
        },
        body={
            "id": "order-7",
            "statusQueryGetUri": instance,
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}",
            "purgeHistoryDeleteUri": instance,
            "restartPostUri": f"{instance}/restart",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}",
            "resumePostUri": f"{instance}/resume?reason={{text}}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}",
        },
    )


def test_management_urls_quote_the_id_and_append_the_query_to_every_url() -> None:
    instance = f"{BASE}/instances/a%2Fb%20c"
    query = "taskHub=hub&code=k%26y"
    assert management_urls(BASE, "a/b c", query={"taskHub": "hub", "code": "k&y"}) == {
        "id": "a/b c",
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
    }


@pytest.mark.parametrize("retry_after", ["PT5S", timedelta(seconds=5)])
def test_check_status_response_takes_retry_after_as_a_duration(
    retry_after: str | timedelta,
) -> None:
    answer = check_status_response(BASE, "x", retry_after=retry_after)
    assert answer.headers["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("base", "instance_id", "message"),
    [
        ("127.0.0.1:8000", "x", r"base_url must be an http\(s\) URL, got '127.0.0.1:8000'"),
        (BASE, "", r"instance_id must be a non-empty str, got ''"),
    ],
)
def test_check_status_response_rejects_bad_arguments(
    base: str, instance_id: str, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        check_status_response(base, instance_id)


def test_check_status_body_is_the_one_the_http_api_answers_with() -> None:
    from durable.http.check_status import management_urls as http_management_urls

    assert management_urls(BASE, "order 7/8") == http_management_urls(BASE, "order 7/8")
