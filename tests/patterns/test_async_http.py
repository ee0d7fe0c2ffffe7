"""Calling an HTTP endpoint that answers 202 + Location, polled on durable timers.

Most tests fake the HTTP activity and run in virtual time; the last ones run
the real httpx activity against a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Generator, Iterator
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from durable import App, OrchestrationContext, RuntimeStatus
from durable.errors import InvalidArgumentError
from durable.patterns import (
    HttpRequest,
    HttpResponse,
    call_http_async,
    http_activity,
    register_http,
)
from durable.testing import Simulation
from tests.patterns.helpers import START, calls

app = App()
register_http(app, poll_interval="PT1M", timeout="PT1H")
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
API = "https://api.example.com"
OPTIONS: dict[str, Any] = {}


@app.orchestrator
def generator_call(ctx: OrchestrationContext, url: str) -> Generator[Any, Any, Any]:
    request = HttpRequest(method="POST", url=url, headers={"Authorization": "Bearer t"}, body="{}")
    answer = yield call_http_async(ctx, request, **{"poll_interval": "PT1M", **OPTIONS})
    return {"status": answer.status, "body": answer.body}


@app.orchestrator
async def async_call(ctx: OrchestrationContext, url: str) -> Any:
    request = HttpRequest(method="POST", url=url, headers={"Authorization": "Bearer t"}, body="{}")
    answer = await call_http_async(ctx, request, **{"poll_interval": MINUTE, **OPTIONS})
    return {"status": answer.status, "body": answer.body}


BOTH = [generator_call, async_call]


class FakeEndpoint:
    """Answers from a script, one answer per request, and records each request with its time."""

    def __init__(self, sim: Simulation, answers: list[HttpResponse]) -> None:
        self.sim = sim
        self.answers = answers
        self.seen: list[tuple[str, str, dict[str, str], timedelta]] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.seen.append((request.method, request.url, request.headers, self.sim.now - START))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def sim(simulation_factory: Any, durable_seed: int) -> Simulation:
    return simulation_factory(app, start=START, seed=durable_seed)


def _endpoint(sim: Simulation, *answers: HttpResponse) -> FakeEndpoint:
    endpoint = FakeEndpoint(sim, list(answers))
    sim.fake("durable.http_request", endpoint)
    return endpoint


def _accepted(location: str | None, retry_after: str | None = None) -> HttpResponse:
    headers = {"location": location} if location else {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return HttpResponse(status=202, headers=headers)


AUTH = {"Authorization": "Bearer t"}


@pytest.mark.parametrize("orchestrator", BOTH)
def test_call_http_async_polls_the_location_honouring_retry_after(
    sim: Simulation, orchestrator: Any
) -> None:
    endpoint = _endpoint(
        sim,
        _accepted("/jobs/1/status", retry_after="30"),
        _accepted(f"{API}/jobs/1/status"),
        HttpResponse(status=200, body='{"rows": 12}'),
    )
    instance = sim.start(orchestrator, f"{API}/jobs")
    sim.run_until_idle()
    assert sim.status(instance).output == {"status": 200, "body": '{"rows": 12}'}
    assert endpoint.seen == [
        ("POST", f"{API}/jobs", AUTH, timedelta(0)),
        ("GET", f"{API}/jobs/1/status", AUTH, 30 * SECOND),
        ("GET", f"{API}/jobs/1/status", AUTH, 30 * SECOND + MINUTE),
    ]


def test_call_http_async_honours_a_retry_after_date(sim: Simulation) -> None:
    when = format_datetime(START + 10 * MINUTE, usegmt=True)
    endpoint = _endpoint(sim, _accepted("/s", retry_after=when), HttpResponse(status=201))
    sim.start(async_call, f"{API}/jobs")
    sim.run_until_idle()
    assert [seen[3] for seen in endpoint.seen] == [timedelta(0), 10 * MINUTE]


def test_call_http_async_falls_back_to_the_interval_on_an_unreadable_retry_after(
    sim: Simulation,
) -> None:
    endpoint = _endpoint(sim, _accepted("/s", retry_after="soon"), HttpResponse(status=200))
    sim.start(async_call, f"{API}/jobs")
    sim.run_until_idle()
    assert [seen[3] for seen in endpoint.seen] == [timedelta(0), MINUTE]


@pytest.mark.parametrize(
    "first",
    [HttpResponse(status=404, body="no such job"), _accepted(None)],
    ids=["404", "no-location"],
)
def test_call_http_async_returns_the_first_answer_when_there_is_nothing_to_poll(
    sim: Simulation, first: HttpResponse
) -> None:
    endpoint = _endpoint(sim, first)
    instance = sim.start(async_call, f"{API}/jobs")
    sim.run_until_idle()
    assert sim.status(instance).output == {"status": first.status, "body": first.body}
    assert len(endpoint.seen) == 1


@pytest.mark.parametrize("orchestrator", BOTH)
def test_call_http_async_gives_up_at_the_overall_timeout(
    sim: Simulation, orchestrator: Any
) -> None:
    endpoint = _endpoint(sim, _accepted("/s", retry_after="120"))
    OPTIONS["timeout"] = "PT5M"
    try:
        instance = sim.start(orchestrator, f"{API}/jobs")
        sim.run_until_idle()
    finally:
        OPTIONS.clear()
    failure = sim.status(instance).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "HttpPollTimeoutError",
        f"{API}/s still answered 202 Accepted after 0:05:00 (3 polls); "
        "raise the timeout or check the endpoint",
    )
    assert "DeadlineExceededError" in failure.base_type_names
    assert [seen[3] for seen in endpoint.seen] == [timedelta(0), 2 * MINUTE, 4 * MINUTE, 5 * MINUTE]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"poll_interval": "PT0S"}, "poll_interval must be more than zero, got 'PT0S'"),
        ({"timeout": timedelta(seconds=-1)}, "timeout must not be negative, got -1 day, 23:59:59"),
        (
            {"activity": ""},
            "activity must be a registered name (non-empty str) or the decorated "
            "function, got str ''",
        ),
    ],
)
def test_call_http_async_rejects_bad_arguments_before_calling(
    sim: Simulation, options: dict[str, Any], message: str
) -> None:
    endpoint = _endpoint(sim, HttpResponse(status=200))
    OPTIONS.update(options)
    try:
        instance = sim.start(async_call, f"{API}/jobs")
        sim.run_until_idle()
    finally:
        OPTIONS.clear()
    failure = sim.status(instance).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == ("InvalidArgumentError", message)
    assert endpoint.seen == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: HttpRequest(url="ftp://example.com"), r"url must be an http:// or https:// URL"),
        (lambda: HttpRequest(url=API, method="GET /"), r"HTTP method must be a word"),
        (lambda: HttpResponse.of({"code": 200}), r"not an HTTP response"),
    ],
)
def test_http_values_reject_bad_input(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        build()


def test_http_response_reads_headers_in_any_case_and_json_bodies() -> None:
    answer = HttpResponse.of({"status": 200, "headers": {"Content-Type": "a/b"}, "body": "[1]"})
    assert (answer.header("content-type"), answer.header("CONTENT-TYPE"), answer.json()) == (
        "a/b",
        "a/b",
        [1],
    )


def test_http_response_reads_a_missing_or_null_body_as_empty_text() -> None:
    bodies = [HttpResponse.of({"status": 204, **extra}).body for extra in ({}, {"body": None})]
    assert bodies == ["", ""]


def test_register_http_registers_a_ready_made_polling_orchestrator(sim: Simulation) -> None:
    endpoint = _endpoint(sim, _accepted("/s"), HttpResponse(status=200, body="done"))
    instance = sim.start("durable.http_call", HttpRequest(url=f"{API}/x"))
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {"status": 200, "headers": {}, "body": "done"},
    )
    assert [seen[3] for seen in endpoint.seen] == [timedelta(0), MINUTE]


def test_register_http_rejects_a_zero_poll_interval() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^poll_interval must be more than zero"):
        register_http(App(), poll_interval=timedelta(0))


# -- against a real HTTP server ------------------------------------------------------------


class JobServer(ThreadingHTTPServer):
    """An endpoint that accepts a job with 202 and reports it done on the second status poll."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), JobHandler)
        self.requests: list[tuple[str, str, str | None, str]] = []
        self.polls = 0

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class JobHandler(BaseHTTPRequestHandler):
    server: JobServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.server.requests.append(("POST", self.path, self.headers.get("Authorization"), body))
        self._answer(202, {"Location": "/jobs/1/status", "Retry-After": "2"}, "")

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, self.headers.get("Authorization"), ""))
        self.server.polls += 1
        if self.server.polls < 2:
            self._answer(202, {"Location": "/jobs/1/status"}, "")
        else:
            self._answer(200, {"Content-Type": "application/json", "X-Tag": "a"}, '{"rows": 3}')

    def _answer(self, status: int, headers: dict[str, str], body: str) -> None:
        data = body.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("X-Tag", "b")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def server() -> Iterator[JobServer]:
    job_server = JobServer()
    thread = threading.Thread(target=job_server.serve_forever, daemon=True)
    thread.start()
    yield job_server
    job_server.shutdown()
    job_server.server_close()
    thread.join()


def test_http_activity_makes_a_real_request(server: JobServer) -> None:
    request = HttpRequest(method="POST", url=f"{server.url}/jobs", headers=AUTH, body="hi")
    answer = asyncio.run(_call(http_activity(), request))
    assert (answer.status, answer.header("location"), answer.header("retry-after")) == (
        202,
        "/jobs/1/status",
        "2",
    )
    assert server.requests == [("POST", "/jobs", "Bearer t", "hi")]


async def _call(activity: Any, request: HttpRequest) -> HttpResponse:
    answer: HttpResponse = await activity(request)
    return answer


def test_call_http_async_polls_a_real_server_on_virtual_timers(
    sim: Simulation, server: JobServer
) -> None:
    instance = sim.start(async_call, f"{server.url}/jobs")
    sim.run_until_idle()
    assert sim.status(instance).output == {"status": 200, "body": '{"rows": 3}'}
    assert server.requests == [
        ("POST", "/jobs", "Bearer t", "{}"),
        ("GET", "/jobs/1/status", "Bearer t", ""),
        ("GET", "/jobs/1/status", "Bearer t", ""),
    ]
    assert [(call.name, call.at - START) for call in calls(sim)] == [
        ("durable.http_request", timedelta(0)),
        ("durable.http_request", 2 * SECOND),
        ("durable.http_request", 2 * SECOND + MINUTE),
    ]


def test_http_activity_joins_repeated_headers(server: JobServer) -> None:
    server.polls = 5
    answer = asyncio.run(_call(http_activity(), HttpRequest(url=f"{server.url}/jobs/1/status")))
    assert (answer.header("x-tag"), answer.json()) == ("a, b", {"rows": 3})


def test_http_response_json_round_trips_through_the_converter() -> None:
    answer = HttpResponse(status=200, headers={"a": "b"}, body="x")
    assert app.converter.to_json(answer, what="test") == json.loads(
        '{"status": 200, "headers": {"a": "b"}, "body": "x"}'
    )
