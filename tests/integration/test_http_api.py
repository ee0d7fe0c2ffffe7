"""The HTTP API over a real uvicorn server: the async HTTP pattern and every route's answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from durable import RuntimeStatus
from tests.integration.test_http_support import (
    CALLS,
    Served,
    make_api,
    wait_until,
    without_times,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with make_api(tmp_path_factory.mktemp("http") / "durable.db") as served:
        yield served


@pytest.fixture
def http(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api(""), timeout=10) as client:
        yield client


def _id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _links(base: str, instance_id: str) -> dict[str, str]:
    instance = f"{base}instances/{instance_id}"
    return {
        "id": instance_id,
        "statusQueryGetUri": instance,
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}",
        "purgeHistoryDeleteUri": instance,
        "restartPostUri": f"{instance}/restart",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}",
        "resumePostUri": f"{instance}/resume?reason={{text}}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}",
    }


def _wait_for_event(server: Served, instance_id: str, event: str) -> None:
    wait_until(
        server.store,
        lambda: (
            (status := server.store.get_instance(instance_id)) and event in status.waiting.events
        ),
        what=f"{instance_id} to wait for {event}",
    )


def _finished(http: httpx.Client, server: Served, instance_id: str) -> httpx.Response:
    wait_until(
        server.store,
        lambda: (status := server.store.get_instance(instance_id)) and status.is_finished,
        what=f"{instance_id} to finish",
    )
    return http.get(f"instances/{instance_id}")


def test_async_http_pattern_start_poll_raise_event_then_output(
    http: httpx.Client, server: Served
) -> None:
    started = http.post("orchestrators/approval", json={"amount": 900})
    assert started.status_code == 202
    body = started.json()
    instance_id = body["id"]
    assert body == _links(server.api(""), instance_id)
    assert started.headers["location"] == body["statusQueryGetUri"]
    assert started.headers["retry-after"] == "10"

    _wait_for_event(server, instance_id, "approve")
    polled = http.get(started.headers["location"])
    assert polled.status_code == 202
    assert polled.headers["location"] == started.headers["location"]
    assert polled.headers["retry-after"] == "5"
    assert without_times(polled.json()) == {
        "name": "approval",
        "instanceId": instance_id,
        "runtimeStatus": "Running",
        "input": {"amount": 900},
        "customStatus": "waiting for approval",
        "output": None,
    }

    event_url = body["sendEventPostUri"].replace("{eventName}", "approve")
    raised = http.post(event_url, json={"by": "ada"})
    assert (raised.status_code, raised.content) == (202, b"")

    done = _finished(http, server, instance_id)
    assert done.status_code == 200
    assert "location" not in done.headers
    assert without_times(done.json()) == {
        "name": "approval",
        "instanceId": instance_id,
        "runtimeStatus": "Completed",
        "input": {"amount": 900},
        "customStatus": "waiting for approval",
        "output": {"request": {"amount": 900}, "decision": {"by": "ada"}},
    }


def test_start_with_timeout_answers_200_with_the_output_when_it_finishes_in_time(
    http: httpx.Client,
) -> None:
    response = http.post(
        "orchestrators/hello", params={"timeout": "10", "pollingInterval": "1"}, json="Ada"
    )
    assert (response.status_code, response.json()) == (200, "Hello, Ada!")


def test_start_with_timeout_answers_202_check_status_when_time_runs_out(
    http: httpx.Client, server: Served
) -> None:
    instance_id = _id()
    response = http.post(
        f"orchestrators/approval/{instance_id}", params={"timeout": "0.05"}, json={}
    )
    assert (response.status_code, response.json()) == (202, _links(server.api(""), instance_id))


def test_start_with_timeout_answers_the_status_when_it_fails(http: httpx.Client) -> None:
    instance_id = _id()
    response = http.post(f"orchestrators/fails/{instance_id}?timeout=10", json="bad input")
    assert response.status_code == 200
    assert without_times(response.json()) == {
        "name": "fails",
        "instanceId": instance_id,
        "runtimeStatus": "Failed",
        "input": "bad input",
        "customStatus": None,
        "output": "ValueError: bad input",
    }


def test_start_with_an_instance_id_uses_it(http: httpx.Client, server: Served) -> None:
    instance_id = _id()
    response = http.post(f"orchestrators/hello/{instance_id}", json="Bo")
    assert (response.status_code, response.json()["id"]) == (202, instance_id)
    assert without_times(_finished(http, server, instance_id).json())["output"] == "Hello, Bo!"


def test_start_without_a_body_passes_no_input(http: httpx.Client, server: Served) -> None:
    instance_id = http.post("orchestrators/echo").json()["id"]
    done = _finished(http, server, instance_id).json()
    assert (done["input"], done["output"]) == (None, None)


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ('"plain text"', "plain text"),
        ('"{\\"a\\": 1}"', {"a": 1}),  # JSON text sent as a JSON string: decoded once more
        ('"\\"42\\""', "42"),  # a string that is JSON text, encoded twice
        ("42", 42),
    ],
)
def test_start_decodes_the_body_by_the_documented_rule(
    http: httpx.Client, server: Served, sent: str, received: Any
) -> None:
    response = http.post(
        "orchestrators/echo", content=sent, headers={"content-type": "application/json"}
    )
    done = _finished(http, server, response.json()["id"]).json()
    assert (done["input"], done["output"]) == (received, received)


def test_status_shows_history_in_durable_functions_shape(
    http: httpx.Client, server: Served
) -> None:
    instance_id = http.post("orchestrators/hello", json="Cy").json()["id"]
    _finished(http, server, instance_id)
    body = http.get(
        f"instances/{instance_id}", params={"showHistory": "true", "showHistoryOutput": "true"}
    ).json()
    events = [
        {
            key: value
            for key, value in event.items()
            if not key.endswith("Time") and key != "Timestamp"
        }
        for event in body["historyEvents"]
    ]
    assert events == [
        {"EventType": "ExecutionStarted", "FunctionName": "hello", "Input": "Cy"},
        {"EventType": "TaskCompleted", "FunctionName": "greet", "Result": "Hello, Cy!"},
        {
            "EventType": "ExecutionCompleted",
            "OrchestrationStatus": "Completed",
            "Result": "Hello, Cy!",
        },
    ]
    assert all("Timestamp" in event for event in body["historyEvents"])
    assert "ScheduledTime" in body["historyEvents"][1]


def test_status_hides_history_output_and_input_unless_asked(
    http: httpx.Client, server: Served
) -> None:
    instance_id = http.post("orchestrators/hello", json="Di").json()["id"]
    _finished(http, server, instance_id)
    body = http.get(
        f"instances/{instance_id}", params={"showHistory": "True", "showInput": "false"}
    ).json()
    assert body["input"] is None
    assert [sorted(event) for event in body["historyEvents"]] == [
        ["EventType", "FunctionName", "Timestamp"],
        ["EventType", "FunctionName", "ScheduledTime", "Timestamp"],
        ["EventType", "OrchestrationStatus", "Timestamp"],
    ]


def test_status_of_a_failed_instance_is_500_only_when_asked(
    http: httpx.Client, server: Served
) -> None:
    instance_id = http.post("orchestrators/fails", json="no").json()["id"]
    assert _finished(http, server, instance_id).status_code == 200
    asked = http.get(f"instances/{instance_id}?returnInternalServerErrorOnFailure=true")
    assert (asked.status_code, asked.json()["runtimeStatus"]) == (500, "Failed")


def test_terminate_then_status_is_terminated_with_the_reason(
    http: httpx.Client, server: Served
) -> None:
    instance_id = http.post("orchestrators/approval", json={}).json()["id"]
    response = http.post(
        f"instances/{instance_id}/terminate", params={"reason": "no longer needed"}
    )
    assert (response.status_code, response.content) == (202, b"")
    done = _finished(http, server, instance_id)
    assert (done.status_code, done.json()["runtimeStatus"], done.json()["output"]) == (
        200,
        "Terminated",
        "no longer needed",
    )


def test_suspend_and_resume_show_in_the_status(http: httpx.Client, server: Served) -> None:
    instance_id = http.post("orchestrators/approval", json={}).json()["id"]
    _wait_for_event(server, instance_id, "approve")
    assert http.post(f"instances/{instance_id}/suspend?reason=pause").status_code == 202
    wait_until(
        server.store,
        lambda: server.store.get_instance(instance_id).status is RuntimeStatus.SUSPENDED,  # type: ignore[union-attr]
        what="suspension",
    )
    suspended = http.get(f"instances/{instance_id}")
    assert (suspended.status_code, suspended.json()["runtimeStatus"]) == (202, "Suspended")
    assert http.post(f"instances/{instance_id}/resume?reason=go").status_code == 202
    assert http.post(f"instances/{instance_id}/raiseEvent/approve", json=True).status_code == 202
    assert _finished(http, server, instance_id).json()["output"] == {
        "request": {},
        "decision": True,
    }


def test_restart_with_a_new_id_runs_the_original_input_again(
    http: httpx.Client, server: Served
) -> None:
    first = http.post("orchestrators/hello", json="Ed").json()["id"]
    _finished(http, server, first)
    response = http.post(f"instances/{first}/restart")
    assert response.status_code == 202
    second = response.json()["id"]
    assert second != first
    assert response.json() == _links(server.api(""), second)
    assert _finished(http, server, second).json()["output"] == "Hello, Ed!"


def test_restart_with_the_same_id_after_it_finished(http: httpx.Client, server: Served) -> None:
    instance_id = _id()
    http.post(f"orchestrators/hello/{instance_id}", json="Fay")
    _finished(http, server, instance_id)
    response = http.post(f"instances/{instance_id}/restart?restartWithNewInstanceId=false")
    assert (response.status_code, response.json()["id"]) == (202, instance_id)
    assert _finished(http, server, instance_id).json()["output"] == "Hello, Fay!"


def test_rewind_runs_a_failed_instance_on_without_repeating_what_succeeded(
    http: httpx.Client, server: Served
) -> None:
    key = _id()
    instance_id = http.post("orchestrators/flaky", json=key).json()["id"]
    failed = _finished(http, server, instance_id).json()
    assert (failed["runtimeStatus"], failed["output"]) == (
        "Failed",
        f"ActivityError: activity 'fails_once' failed with ConnectionError: {key}: "
        "the first call fails",
    )

    response = http.post(f"instances/{instance_id}/rewind", params={"reason": "it works now"})

    assert (response.status_code, response.content) == (202, b"")
    done = _finished(http, server, instance_id)
    assert (done.json()["runtimeStatus"], done.json()["output"]) == (
        "Completed",
        [key.upper(), f"{key} done"],
    )
    assert (CALLS[f"prepare:{key}"], CALLS[f"fails_once:{key}"]) == (1, 2)
    history = http.get(f"instances/{instance_id}", params={"showHistory": "true"}).json()
    assert [(e["EventType"], e.get("Reason")) for e in history["historyEvents"]] == [
        ("ExecutionStarted", None),
        ("TaskCompleted", None),
        ("TaskFailed", f"{key}: the first call fails"),
        (
            "ExecutionCompleted",
            f"activity 'fails_once' failed with ConnectionError: {key}: the first call fails",
        ),
        ("ExecutionRewound", "it works now"),
        ("TaskCompleted", None),
        ("ExecutionCompleted", None),
    ]


def test_purge_deletes_a_finished_instance(http: httpx.Client, server: Served) -> None:
    instance_id = http.post("orchestrators/hello", json="Gus").json()["id"]
    _finished(http, server, instance_id)
    response = http.delete(f"instances/{instance_id}")
    assert (response.status_code, response.json()) == (200, {"instancesDeleted": 1})
    assert http.get(f"instances/{instance_id}").status_code == 404


def test_list_filters_by_prefix_and_status_and_pages_with_the_continuation_header(
    http: httpx.Client, server: Served
) -> None:
    prefix = _id()
    ids = [f"{prefix}-{n}" for n in range(3)]
    for instance_id in ids:
        http.post(f"orchestrators/hello/{instance_id}", json="x")
    for instance_id in ids:
        _finished(http, server, instance_id)
    query = {"instanceIdPrefix": prefix, "runtimeStatus": "Completed,Failed", "top": "2"}
    first = http.get("instances/", params=query)
    token = first.headers["x-ms-continuation-token"]
    second = http.get("instances", params=query, headers={"x-ms-continuation-token": token})
    assert "x-ms-continuation-token" not in second.headers
    listed = [item["instanceId"] for item in first.json() + second.json()]
    assert (first.status_code, second.status_code, listed) == (200, 200, ids)
    running = http.get(
        "instances/", params={"instanceIdPrefix": prefix, "runtimeStatus": "Running"}
    )
    assert running.json() == []


def test_purge_by_filter_counts_what_it_deleted(tmp_path: Path) -> None:
    with (
        make_api(tmp_path / "durable.db") as server,
        httpx.Client(base_url=server.api(""), timeout=10) as http,
    ):
        ids = [http.post("orchestrators/hello", json="h").json()["id"] for _ in range(2)]
        waiting = http.post("orchestrators/approval", json={}).json()["id"]
        created = [_finished(http, server, i).json()["createdTime"] for i in ids]
        query = {"createdTimeFrom": min(created), "runtimeStatus": "Completed,Running"}
        response = http.delete("instances/", params=query)
        assert (response.status_code, response.json()) == (200, {"instancesDeleted": 2})
        statuses = [http.get(f"instances/{i}").status_code for i in [*ids, waiting]]
        assert statuses == [404, 404, 202]
        again = http.delete("instances/", params=query)
        assert (again.status_code, again.json()["error"]) == (404, "NothingToPurge")
