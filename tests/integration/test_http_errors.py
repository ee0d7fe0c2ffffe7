"""Bad requests over a real server: the right 4xx with a JSON message; it keeps serving."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from durable import Client
from durable.errors import InvalidArgumentError, StoreError
from durable.http import create_app
from durable.stores import MemoryStore
from tests.integration.test_http_support import TOKEN, Served, make_api, served, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with make_api(tmp_path_factory.mktemp("errors") / "durable.db", max_body_bytes=1024) as api:
        yield api


@pytest.fixture
def http(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api(""), timeout=10) as client:
        yield client


def _error(response: httpx.Response) -> tuple[int, str]:
    """(status, error code) after checking the body is a JSON error with a message."""
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error", "message", "Message", "ExceptionMessage"}, body
    assert body["message"]
    assert body["Message"] == body["ExceptionMessage"] == body["message"]
    assert "Traceback" not in response.text
    return response.status_code, body["error"]


def _still_serving(http: httpx.Client) -> None:
    assert http.get("instances/?top=1").status_code == 200


def _finished_instance(http: httpx.Client, server: Served) -> str:
    instance_id = http.post("orchestrators/hello", json="z").json()["id"]
    wait_until(
        server.store,
        lambda: (status := server.store.get_instance(instance_id)) and status.is_finished,
        what="the instance to finish",
    )
    return instance_id


def _running_instance(http: httpx.Client) -> str:
    return http.post("orchestrators/approval", json={}).json()["id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"unclosed": ', r"not valid JSON"),
        (b"NaN", r"NaN is not valid JSON"),
        (b"\xff\xfe", r"not valid JSON"),
    ],
)
def test_start_with_malformed_json_is_400(http: httpx.Client, body: bytes, message: str) -> None:
    response = http.post(
        "orchestrators/echo", content=body, headers={"content-type": "application/json"}
    )
    assert _error(response) == (400, "InvalidJson")
    assert re.search(message, response.json()["message"])
    _still_serving(http)


def test_raise_event_with_malformed_json_is_400(http: httpx.Client) -> None:
    instance_id = _running_instance(http)
    response = http.post(
        f"instances/{instance_id}/raiseEvent/approve",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert _error(response) == (400, "InvalidJson")


def test_body_sent_as_form_data_is_400(http: httpx.Client) -> None:
    response = http.post(
        "orchestrators/echo",
        content=b"a=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert _error(response) == (400, "UnsupportedContentType")


def test_oversized_body_is_413_and_the_server_keeps_serving(http: httpx.Client) -> None:
    response = http.post("orchestrators/echo", json="x" * 2000)
    assert _error(response) == (413, "BodyTooLarge")
    assert "at most 1024" in response.json()["message"]
    _still_serving(http)


def test_oversized_chunked_body_is_413(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'"' + b"x" * 800
        yield b"x" * 800 + b'"'

    response = http.post(
        "orchestrators/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert _error(response) == (413, "BodyTooLarge")
    _still_serving(http)


def test_unknown_orchestrator_is_400_naming_the_registered_ones(http: httpx.Client) -> None:
    response = http.post("orchestrators/nope", json=1)
    assert _error(response) == (400, "OrchestratorNotFoundError")
    assert response.json()["message"] == (
        "no orchestrator is registered under the name 'nope'; "
        "registered: approval, echo, fails, flaky, hello"
    )


@pytest.mark.parametrize(
    "path",
    [
        "orchestrators/echo/bad%00id",
        "orchestrators/echo/" + "x" * 257,
        "instances/bad%7Fid",
        "instances/bad%00id/terminate",
        "instances/ok/raiseEvent/bad%01name",
    ],
)
def test_bad_id_or_event_name_characters_are_400(http: httpx.Client, path: str) -> None:
    method = "GET" if path.startswith("instances/bad%7F") else "POST"
    response = http.request(method, path, json=None)
    assert _error(response) == (400, "InvalidArgumentError")
    _still_serving(http)


def test_starting_an_id_that_is_still_running_is_409(http: httpx.Client) -> None:
    instance_id = _running_instance(http)
    response = http.post(f"orchestrators/approval/{instance_id}", json={})
    assert _error(response) == (409, "InstanceExistsError")
    restart = http.post(f"instances/{instance_id}/restart?restartWithNewInstanceId=false")
    assert _error(restart) == (409, "InstanceExistsError")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "instances/{id}"),
        ("DELETE", "instances/{id}"),
        ("POST", "instances/{id}/raiseEvent/approve"),
        ("POST", "instances/{id}/terminate"),
        ("POST", "instances/{id}/suspend"),
        ("POST", "instances/{id}/resume"),
        ("POST", "instances/{id}/rewind"),
        ("POST", "instances/{id}/restart"),
    ],
)
def test_unknown_instance_is_404(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path.format(id=f"missing-{uuid.uuid4().hex}"))
    assert _error(response) == (404, "InstanceNotFoundError")


@pytest.mark.parametrize("operation", ["raiseEvent/approve", "terminate", "suspend", "resume"])
def test_acting_on_a_finished_instance_is_410(
    http: httpx.Client, server: Served, operation: str
) -> None:
    instance_id = _finished_instance(http, server)
    response = http.post(f"instances/{instance_id}/{operation}", json=1)
    assert _error(response) == (410, "InstanceFinishedError")


def test_purging_a_running_instance_is_412(http: httpx.Client) -> None:
    instance_id = _running_instance(http)
    assert _error(http.delete(f"instances/{instance_id}")) == (412, "InstanceNotFinished")


def test_rewinding_an_instance_that_ended_otherwise_than_failed_is_410(
    http: httpx.Client, server: Served
) -> None:
    completed = _finished_instance(http, server)
    terminated = _running_instance(http)
    assert http.post(f"instances/{terminated}/terminate").status_code == 202
    wait_until(
        server.store,
        lambda: (status := server.store.get_instance(terminated)) and status.is_finished,
        what="the instance to be terminated",
    )
    for instance_id, status in ((completed, "COMPLETED"), (terminated, "TERMINATED")):
        before = (server.store.get_instance(instance_id), server.store.get_history(instance_id))
        response = http.post(f"instances/{instance_id}/rewind?reason=retry")
        assert _error(response) == (410, "InstanceNotFailedError")
        assert (
            f"it is {status}, and only FAILED instances can be rewound"
            in (response.json()["message"])
        )
        after = (server.store.get_instance(instance_id), server.store.get_history(instance_id))
        assert after == before


def test_rewinding_a_running_instance_is_409_and_changes_nothing(
    http: httpx.Client, server: Served
) -> None:
    instance_id = _running_instance(http)
    wait_until(
        server.store,
        lambda: (status := server.store.get_instance(instance_id)) and status.waiting.events,
        what="the instance to wait for its event",
    )
    before = http.get(f"instances/{instance_id}?showHistory=true").json()

    response = http.post(f"instances/{instance_id}/rewind")

    assert _error(response) == (409, "InstanceNotFailedError")
    assert http.get(f"instances/{instance_id}?showHistory=true").json() == before


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "instances/x/nothing/here", 404),
        ("POST", "instances/x/explode", 404),
        ("GET", "orchestrators/hello", 405),
        ("PUT", "instances/x", 405),
    ],
)
def test_unknown_routes_and_methods_answer_json(
    http: httpx.Client, method: str, path: str, code: int
) -> None:
    status, _ = _error(http.request(method, path))
    assert status == code


@pytest.mark.parametrize(
    "query",
    [
        "instances/x?showHistory=maybe",
        "instances/?top=0",
        "instances/?top=ten",
        "instances/?runtimeStatus=Running,Sleeping",
        "instances/?createdTimeFrom=yesterday",
        "orchestrators/hello?timeout=-1",
        "orchestrators/hello?timeout=nan",
        "instances/?createdTimeTo=",
    ],
)
def test_malformed_query_parameters_are_400_naming_the_parameter(
    http: httpx.Client, query: str
) -> None:
    method = "POST" if query.startswith("orchestrators") else "GET"
    response = http.request(method, query)
    if query.endswith("createdTimeTo="):  # an empty value means "not given"
        assert response.status_code == 200
        return
    assert _error(response) == (400, "InvalidQueryParameter")
    name = re.split(r"[?=&]", query)[1]
    assert response.json()["message"].startswith(f"query parameter {name}=")


def test_invalid_continuation_token_is_400(http: httpx.Client) -> None:
    response = http.get("instances/", headers={"x-ms-continuation-token": "!!not-a-token"})
    assert _error(response) == (400, "InvalidArgumentError")


def test_purge_by_filter_without_created_time_from_is_400(http: httpx.Client) -> None:
    assert _error(http.delete("instances/")) == (400, "MissingQueryParameter")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with make_api(tmp_path_factory.mktemp("token") / "durable.db", token=TOKEN) as api:
        yield api


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="durable"'),
        ({"authorization": f"Bearer {TOKEN}x"}, 'Bearer realm="durable", error="invalid_token"'),
        ({"authorization": "Bearer wrong"}, 'Bearer realm="durable", error="invalid_token"'),
        ({"authorization": f"Basic {TOKEN}"}, 'Bearer realm="durable", error="invalid_request"'),
    ],
)
def test_missing_or_wrong_token_is_401(
    guarded: Served, headers: dict[str, str], challenge: str
) -> None:
    response = httpx.post(guarded.api("orchestrators/hello"), json="x", headers=headers)
    assert _error(response) == (401, "Unauthorized")
    assert response.headers["www-authenticate"] == challenge
    assert httpx.get(guarded.api("instances/"), headers=headers).status_code == 401


def test_right_token_is_served(guarded: Served) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    response = httpx.post(
        guarded.api("orchestrators/hello"), params={"timeout": "10"}, json="Ida", headers=headers
    )
    assert (response.status_code, response.json()) == (200, "Hello, Ida!")


class _BrokenStore(MemoryStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_instance(self, instance_id: str) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError("secret internals"), (500, "InternalError")),
        (StoreError("SQLite store x.db: disk I/O error"), (503, "StoreError")),
    ],
)
def test_unexpected_errors_are_json_without_details_or_traceback(
    error: Exception, expected: tuple[int, str]
) -> None:
    with served(create_app(Client(_BrokenStore(error)))) as url:
        response = httpx.get(f"{url}/runtime/webhooks/durabletask/instances/any")
        assert _error(response) == expected
        assert "secret" not in response.text
        assert httpx.get(f"{url}/runtime/webhooks/durabletask/instances/").status_code == 200


def test_create_app_refuses_a_short_token() -> None:
    with pytest.raises(InvalidArgumentError, match="at least 16 characters"):
        create_app(Client(MemoryStore()), token="short")


@pytest.mark.parametrize("base_path", ["api", "/api/", 3])
def test_create_app_refuses_a_bad_base_path(base_path: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="base_path must be"):
        create_app(Client(MemoryStore()), base_path=base_path)
