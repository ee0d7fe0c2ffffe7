"""The async HTTP API, orchestrator side: call an endpoint and poll it with durable timers.

`register_http(app)` registers a built-in activity, ``"durable.http_request"``,
that makes one HTTP request with httpx and returns an `HttpResponse`, and a
ready-made orchestrator, ``"durable.http_call"``, that runs `call_http_async`.

`call_http_async(ctx, request)` calls the endpoint; while it answers
``202 Accepted`` with a ``Location`` header, it waits on a durable timer
(``Retry-After`` seconds or HTTP date if the answer gives one, else
`poll_interval`) and sends a GET to that location, until an answer other than
202 comes back: that answer is the result, whatever its status. With a
`timeout`, polling stops when it runs out (one last poll is made at the
deadline) and `HttpPollTimeoutError` is raised. Every request and every wait
is in the history. httpx is only imported when a request is made.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import attrs

from durable import App, OrchestrationContext, RetryPolicy
from durable.errors import InvalidArgumentError
from durable.patterns._checks import check_ref
from durable.patterns.durations import Duration, positive_duration
from durable.patterns.errors import HttpPollTimeoutError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "HTTP_ACTIVITY",
    "HTTP_ORCHESTRATOR",
    "HttpRequest",
    "HttpResponse",
    "call_http_async",
    "http_activity",
    "register_http",
]

HTTP_ACTIVITY = "durable.http_request"
"""The registered name of the built-in HTTP activity."""

HTTP_ORCHESTRATOR = "durable.http_call"
"""The registered name of the ready-made polling orchestrator."""


def _method(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.isalpha():
        raise InvalidArgumentError(f"HTTP method must be a word such as 'GET', got {value!r}")


def _url(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise InvalidArgumentError(f"url must be an http:// or https:// URL, got {value!r}")


@attrs.frozen(kw_only=True)
class HttpRequest:
    """One HTTP request, as an activity input.

    Attributes:
        url: an absolute http(s) URL.
        method: the method (default GET).
        headers: request headers; they are sent with every status poll too.
        body: the request body, as text.
    """

    url: str = attrs.field(validator=_url)
    method: str = attrs.field(default="GET", validator=_method)
    headers: dict[str, str] = attrs.field(factory=dict)
    body: str | None = None


@attrs.frozen(kw_only=True)
class HttpResponse:
    """One HTTP answer, as an activity result.

    Attributes:
        status: the status code.
        headers: the headers, names in lower case (repeated ones joined by ``", "``).
        body: the body, as text.
    """

    status: int
    headers: dict[str, str] = attrs.field(factory=dict)
    body: str = ""

    def header(self, name: str) -> str | None:
        """The value of header `name` (any case), or None."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @classmethod
    def of(cls, value: Any) -> HttpResponse:
        """An `HttpResponse`, from one or from its JSON form."""
        if isinstance(value, HttpResponse):
            return value
        if isinstance(value, dict) and isinstance(value.get("status"), int):
            headers = {str(k).lower(): str(v) for k, v in (value.get("headers") or {}).items()}
            body = value.get("body")
            return cls(
                status=value["status"], headers=headers, body="" if body is None else str(body)
            )
        raise InvalidArgumentError(f"not an HTTP response: {value!r}")


def _as_request(request: HttpRequest | str) -> HttpRequest:
    if isinstance(request, HttpRequest):
        return request
    if isinstance(request, str):
        return HttpRequest(url=request)
    raise InvalidArgumentError(
        f"request must be an HttpRequest or a URL, got {type(request).__name__}"
    )


def call_http_async(
    ctx: OrchestrationContext,
    request: HttpRequest | str,
    *,
    poll_interval: Duration = timedelta(seconds=5),
    timeout: Duration | None = None,
    retry: RetryPolicy | None = None,
    activity: str | Callable[..., Any] = HTTP_ACTIVITY,
) -> Coroutine[Any, Any, HttpResponse]:
    """Call an HTTP endpoint and follow its 202 + ``Location`` answers; await the final answer.

    Arguments are checked now, before anything is scheduled.

    Example::

        @app.orchestrator
        async def export(ctx, job):
            answer = await call_http_async(
                ctx, HttpRequest(method="POST", url=EXPORT_URL, body=job), timeout="PT1H"
            )
            return answer.json()

    Args:
        ctx: the orchestration context.
        request: the first request (a bare URL means GET).
        poll_interval: the wait between polls when the answer has no ``Retry-After``.
        timeout: the overall budget from the first request (None: no limit).
        retry: how to retry a request that fails (a network error, not an HTTP status).
        activity: the HTTP activity (default: the built-in one).

    Raises:
        InvalidArgumentError: a bad request or duration (at once).
        HttpPollTimeoutError: (when awaited) still 202 when `timeout` ran out.
        ActivityError: (when awaited) a request failed and was not retried.
    """
    first = _as_request(request)
    interval = positive_duration(poll_interval, name="poll_interval")
    budget = positive_duration(timeout, name="timeout") if timeout is not None else None
    check_ref("activity", activity)
    return _call(ctx, first, interval, budget, retry, activity)


async def _call(
    ctx: OrchestrationContext,
    request: HttpRequest,
    interval: timedelta,
    budget: timedelta | None,
    retry: RetryPolicy | None,
    activity: str | Callable[..., Any],
) -> HttpResponse:
    deadline = ctx.now + budget if budget is not None else None
    answer = HttpResponse.of(await ctx.call_activity(activity, request, retry=retry))
    url, polls = request.url, 0
    while answer.status == 202 and answer.header("location"):
        url = urljoin(url, answer.header("location") or "")
        wait = _retry_after(answer.header("retry-after"), ctx.now) or interval
        if deadline is not None:
            if ctx.now >= deadline:
                raise HttpPollTimeoutError(url, str(budget), polls)
            wait = min(wait, deadline - ctx.now)
        await ctx.create_timer(wait)
        poll = HttpRequest(url=url, method="GET", headers=request.headers)
        answer = HttpResponse.of(await ctx.call_activity(activity, poll, retry=retry))
        polls += 1
    return answer


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    return max(when - now, timedelta(0))


def _headers(headers: httpx.Headers) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers.multi_items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def http_activity(
    *,
    request_timeout: timedelta = timedelta(seconds=30),
    transport: httpx.AsyncBaseTransport | None = None,
) -> Callable[[HttpRequest], Awaitable[HttpResponse]]:
    """The built-in HTTP activity function (unregistered): one request with httpx.

    Args:
        request_timeout: httpx's timeout for each request.
        transport: an httpx transport (e.g. ``httpx.MockTransport`` in tests).
    """
    seconds = positive_duration(request_timeout, name="request_timeout").total_seconds()
    tls: list[ssl.SSLContext] = []  # made once, on first use: making one costs milliseconds

    async def http_request(request: HttpRequest) -> HttpResponse:
        import httpx

        if not tls:
            tls.append(ssl.create_default_context())
        async with httpx.AsyncClient(timeout=seconds, transport=transport, verify=tls[0]) as client:
            answer = await client.request(
                request.method, request.url, headers=request.headers, content=request.body
            )
        return HttpResponse(
            status=answer.status_code, headers=_headers(answer.headers), body=answer.text
        )

    return http_request


def register_http(
    app: App,
    *,
    activity_name: str = HTTP_ACTIVITY,
    orchestrator_name: str | None = HTTP_ORCHESTRATOR,
    request_timeout: timedelta = timedelta(seconds=30),
    poll_interval: Duration = timedelta(seconds=5),
    timeout: Duration | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Register the HTTP activity and (unless `orchestrator_name` is None) the polling orchestrator.

    The orchestrator takes an `HttpRequest` and returns the final `HttpResponse`
    (see `call_http_async`, whose arguments the others are).

    Raises:
        InvalidArgumentError: a bad duration.
        RegistrationError: a name is already registered.
    """
    interval = positive_duration(poll_interval, name="poll_interval")
    budget = positive_duration(timeout, name="timeout") if timeout is not None else None
    function = http_activity(request_timeout=request_timeout, transport=transport)
    app.activity(name=activity_name, retry=retry)(function)
    if orchestrator_name is None:
        return

    async def http_call(ctx: OrchestrationContext, request: HttpRequest) -> HttpResponse:
        return await call_http_async(
            ctx, request, poll_interval=interval, timeout=budget, activity=activity_name
        )

    app.orchestrator(name=orchestrator_name)(http_call)
