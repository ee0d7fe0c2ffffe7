"""Runners of the simple kinds: call, http, run, wait, receive, set, switch, fail, return.

Each runner takes the `Run`, the step and its scope, does the kind's work
with the context's primitives, and returns the kind's result (before the
step's ``output`` template). ``call`` chains its activities; ``http`` calls
the built-in HTTP activity and, when ``async``, polls a 202 + ``Location``
answer on durable timers exactly as `durable.patterns.call_http_async`
does (``Retry-After`` honoured, one last poll at the deadline), so the two
record the same history. `wait_accepted` is the event wait ``receive`` and
``approval`` share: a timer, and event waits raced against it until an event
passes ``accept``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from durable import RetryPolicy, Task
from durable.declarative.durations import format_duration
from durable.declarative.errors import (
    ExpressionError,
    HttpClientError,
    HttpServerError,
    HttpStatusError,
    HttpTooManyRequests,
    Timeout,
)
from durable.declarative.failures import Finished, fail_class
from durable.declarative.plan import (
    Call,
    Fail,
    Http,
    Receive,
    Return,
    Run,
    Set,
    Step,
    Switch,
    Wait,
)
from durable.declarative.retries import NO_RETRY
from durable.declarative.scope import Scope
from durable.declarative.semantics import HTTP_ACTIVITY
from durable.declarative.templates import Condition

if TYPE_CHECKING:
    from durable.declarative.interpreter import Run as Running

__all__ = ["RUNNERS", "http_response", "wait_accepted"]

Runner = Callable[["Running", Step, Scope], Coroutine[Any, Any, Any]]


def _retry(step: Step) -> RetryPolicy | None:
    """A step that retries itself keeps the activity's own policy from retrying too."""
    return NO_RETRY if step.retry is not None else None


async def run_call(run: Running, step: Step, scope: Scope) -> Any:
    """``call``: each activity in turn, each output the next one's input."""
    spec = step.spec
    assert isinstance(spec, Call)
    value = run.render(spec.input, scope, step, (*step.path, "with")) if spec.input else None
    for name in spec.activities:
        value = await run.attempt(step, _activity_call(run, step, name, value))
    return value


def _activity_call(run: Running, step: Step, name: str, value: Any) -> Callable[[], Task[Any]]:
    return lambda: run.ctx.call_activity(name, value, retry=_retry(step))


async def run_run(run: Running, step: Step, scope: Scope) -> Any:
    """``run``: a sub-orchestration, with a deterministic child id unless one is given."""
    spec = step.spec
    assert isinstance(spec, Run)
    value = run.render(spec.input, scope, step, (*step.path, "with")) if spec.input else None
    child_id = None
    if spec.instance_id is not None:
        child_id = run.render(spec.instance_id, scope, step, (*step.path, "instance_id"))
        if not isinstance(child_id, str) or not child_id:
            raise ExpressionError(
                f"instance_id gave {json.dumps(child_id)}, not a non-empty string", step=step.id
            )
    return await run.attempt(
        step, lambda: run.ctx.call_sub_orchestrator(spec.orchestrator, value, instance_id=child_id)
    )


async def run_wait(run: Running, step: Step, scope: Scope) -> Any:
    """``wait``: a durable timer for a duration or until a time."""
    spec = step.spec
    assert isinstance(spec, Wait)
    if spec.delay is not None:
        await run.ctx.create_timer(spec.delay)
        return None
    assert spec.until is not None
    text = run.render(spec.until, scope, step, (*step.path, "wait", "until"))
    await run.ctx.create_timer(_instant(text, step))
    return None


def _instant(text: Any, step: Step) -> datetime:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or not isinstance(text, str) or when.tzinfo is None:
        raise ExpressionError(
            f"wait.until gave {json.dumps(text)}, not an ISO 8601 time with a zone "
            "(e.g. '2030-01-31T12:00:00Z')",
            step=step.id,
        )
    return when.astimezone(UTC)


async def wait_accepted(
    run: Running,
    step: Step,
    scope: Scope,
    event: str,
    accept: Condition | None,
    accept_path: tuple[Any, ...],
    due: datetime,
) -> tuple[bool, Any]:
    """Wait until `due` for an event `event` that passes `accept`: (True, data) or (False, None)."""
    ctx = run.ctx
    timer = ctx.create_timer(due)
    while True:
        waiter = ctx.wait_for_event(event)
        if await ctx.when_any([waiter, timer]) is timer:
            return False, None
        data = waiter.result
        if accept is None or run.holds(accept, scope, step, accept_path, event=data):
            timer.cancel()
            return True, data


async def run_receive(run: Running, step: Step, scope: Scope) -> Any:
    """``receive``: the first accepted event before the timeout, else ``on_timeout`` or Timeout."""
    spec = step.spec
    assert isinstance(spec, Receive)
    assert step.timeout is not None
    due = run.ctx.now + step.timeout
    found, data = await wait_accepted(
        run, step, scope, spec.event, spec.accept, (*step.path, "accept"), due
    )
    if found:
        return data
    if spec.on_timeout is not None:
        return run.render(spec.on_timeout, scope, step, (*step.path, "on_timeout"))
    raise Timeout(
        f"no '{spec.event}' event was accepted within {format_duration(step.timeout)}", step=step.id
    )


async def run_set(run: Running, step: Step, scope: Scope) -> Any:
    """``set``: assign variables; the result maps each name to its new value."""
    spec = step.spec
    assert isinstance(spec, Set)
    assigned = {}
    for name, template in spec.values:
        assigned[name] = run.render(template, scope, step, (*step.path, "set", name))
        run.vars[name] = assigned[name]
    return assigned


async def run_switch(run: Running, step: Step, scope: Scope) -> Any:
    """``switch``: the steps of the first case that holds, else of ``default``."""
    spec = step.spec
    assert isinstance(spec, Switch)
    for index, case in enumerate(spec.cases):
        if run.holds(case.when, scope, step, (*step.path, "switch", index, "when")):
            return await run.steps(case.steps, scope)
    return await run.steps(spec.default, scope) if spec.default else None


async def run_fail(run: Running, step: Step, scope: Scope) -> Any:
    """``fail``: raise an error named by ``error``."""
    spec = step.spec
    assert isinstance(spec, Fail)
    message: Any = spec.error
    if spec.message is not None:
        message = run.render(spec.message, scope, step, (*step.path, "fail", "message"))
    details = None
    if spec.details is not None:
        details = run.render(spec.details, scope, step, (*step.path, "fail", "details"))
    text = message if isinstance(message, str) else json.dumps(message)
    raise fail_class(spec.error, run.interpreter.fail_classes)(text, details=details, step=step.id)


async def run_return(run: Running, step: Step, scope: Scope) -> Any:
    """``return``: end the run with a value."""
    spec = step.spec
    assert isinstance(spec, Return)
    raise Finished(run.render(spec.value, scope, step, (*step.path, "return")))


# -- http -------------------------------------------------------------------------------------


async def run_http(run: Running, step: Step, scope: Scope) -> Any:
    """``http``: one exchange (polled when async); an error status raises an Http*Error."""
    spec = step.spec
    assert isinstance(spec, Http)
    request = _request(run, step, scope, spec)

    async def exchange() -> dict[str, Any]:
        answer = await _exchange(run, step, spec, request)
        _check_status(step, request, answer)
        return answer

    answer = await run.attempt(step, exchange)
    return {"status": answer["status"], "headers": answer["headers"], "body": _body(answer)}


def _request(run: Running, step: Step, scope: Scope, spec: Http) -> dict[str, Any]:
    where = (*step.path, "http")
    url = run.render(spec.url, scope, step, (*where, "url"))
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ExpressionError(f"http.url gave {json.dumps(url)}, not an http(s) URL", step=step.id)
    headers = run.render(spec.headers, scope, step, (*where, "headers")) if spec.headers else {}
    if not isinstance(headers, dict):
        raise ExpressionError(
            f"http.headers gave {json.dumps(headers)}, not a mapping", step=step.id
        )
    headers = {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in headers.items()
    }
    body = run.render(spec.body, scope, step, (*where, "body")) if spec.body is not None else None
    if body is not None and not isinstance(body, str):
        body = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        if not any(key.lower() == "content-type" for key in headers):
            headers["Content-Type"] = "application/json"
    return {"url": url, "method": spec.method, "headers": headers, "body": body}


async def _exchange(
    run: Running, step: Step, spec: Http, request: dict[str, Any]
) -> dict[str, Any]:
    ctx = run.ctx
    retry = _retry(step)
    answer = http_response(await ctx.call_activity(HTTP_ACTIVITY, request, retry=retry))
    if not spec.is_async:
        return answer
    assert spec.poll_timeout is not None
    assert spec.poll_every is not None
    deadline = ctx.now + spec.poll_timeout
    url, polls = request["url"], 0
    while answer["status"] == 202 and answer["headers"].get("location"):
        url = urljoin(url, answer["headers"]["location"])
        wait = _retry_after(answer["headers"].get("retry-after"), ctx.now) or spec.poll_every
        if ctx.now >= deadline:
            raise Timeout(
                f"{url} still answered 202 Accepted after {format_duration(spec.poll_timeout)} "
                f"({polls} polls)",
                step=step.id,
            )
        await ctx.create_timer(min(wait, deadline - ctx.now))
        poll = {"url": url, "method": "GET", "headers": request["headers"], "body": None}
        answer = http_response(await ctx.call_activity(HTTP_ACTIVITY, poll, retry=retry))
        polls += 1
    return answer


def http_response(value: Any) -> dict[str, Any]:
    """The HTTP activity's answer as ``{status, headers (lower-case names), body}``."""
    if not isinstance(value, dict) or not isinstance(value.get("status"), int):
        raise HttpServerError(
            f"the HTTP activity returned {json.dumps(value)[:100]}, not an answer", status=0
        )
    headers = {str(key).lower(): str(item) for key, item in (value.get("headers") or {}).items()}
    body = value.get("body")
    return {
        "status": value["status"],
        "headers": headers,
        "body": "" if body is None else str(body),
    }


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


def _check_status(step: Step, request: dict[str, Any], answer: dict[str, Any]) -> None:
    status = answer["status"]
    if status < 400:
        return
    kind: type[HttpStatusError] = HttpServerError
    if status == 429:
        kind = HttpTooManyRequests
    elif status < 500:
        kind = HttpClientError
    excerpt = answer["body"][:200]
    message = f"{request['method']} {request['url']} answered {status}" + (
        f": {excerpt}" if excerpt else ""
    )
    raise kind(message, status=status, body=excerpt, step=step.id)


def _body(answer: dict[str, Any]) -> Any:
    text = answer["body"]
    if text and "json" in answer["headers"].get("content-type", ""):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


RUNNERS: dict[type, Runner] = {
    Call: run_call,
    Http: run_http,
    Run: run_run,
    Wait: run_wait,
    Receive: run_receive,
    Set: run_set,
    Switch: run_switch,
    Fail: run_fail,
    Return: run_return,
}
"""The runner of each simple kind, by spec type."""
