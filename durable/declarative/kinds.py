"""Runners of the simple kinds: call, http, run, wait, receive, set, switch, fail, return.

Each runner takes the `Run`, the step and its scope, does the kind's work
with the context's primitives, and returns the kind's result (before the
step's ``output`` template). ``call`` chains its activities; ``http`` calls
the built-in HTTP activity and, when ``async``, hands the polling of a 202 +
``Location`` answer to `durable.patterns.call_http_async`; ``receive`` is
`durable.patterns.wait_for_reply` with nothing to ask. `acceptance` turns a
step's ``accept`` condition into the predicate ``receive`` and ``approval``
give the helper.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

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
from durable.declarative.problems import Path
from durable.declarative.retries import NO_RETRY
from durable.declarative.scope import Scope
from durable.declarative.templates import Condition
from durable.errors import InvalidArgumentError
from durable.patterns import (
    HttpPollTimeoutError,
    HttpRequest,
    HttpResponse,
    call_http_async,
    wait_for_reply,
)
from durable.patterns.async_http import HTTP_ACTIVITY

if TYPE_CHECKING:
    from durable.declarative.interpreter import Run as Running

__all__ = ["RUNNERS", "acceptance"]

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


def acceptance(
    run: Running, step: Step, scope: Scope, accept: Condition | None, path: Path
) -> Callable[[Any], bool] | None:
    """The predicate of an ``accept`` condition over ``event`` (None: every event is accepted)."""
    if accept is None:
        return None
    return lambda data: run.holds(accept, scope, step, path, event=data)


async def run_receive(run: Running, step: Step, scope: Scope) -> Any:
    """``receive``: the first accepted event before the timeout, else ``on_timeout`` or Timeout."""
    spec = step.spec
    assert isinstance(spec, Receive)
    assert step.timeout is not None
    reply = await wait_for_reply(
        run.ctx,
        spec.event,
        deadline=step.timeout,
        accept=acceptance(run, step, scope, spec.accept, (*step.path, "accept")),
    )
    if reply.answered:
        return reply.data
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

    async def exchange() -> HttpResponse:
        answer = await _exchange(run, step, spec, request)
        _check_status(step, request, answer)
        return answer

    answer = await run.attempt(step, exchange)
    return {"status": answer.status, "headers": answer.headers, "body": _body(answer)}


def _request(run: Running, step: Step, scope: Scope, spec: Http) -> HttpRequest:
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
    return HttpRequest(url=url, method=spec.method, headers=headers, body=body)


async def _exchange(run: Running, step: Step, spec: Http, request: HttpRequest) -> HttpResponse:
    """One request, or (async) a request polled until it is not a 202."""
    ctx, retry = run.ctx, _retry(step)
    try:
        if spec.poll_every is None or spec.poll_timeout is None:
            return HttpResponse.of(await ctx.call_activity(HTTP_ACTIVITY, request, retry=retry))
        return await _polled(run, step, request, spec.poll_every, spec.poll_timeout)
    except InvalidArgumentError as error:
        raise HttpServerError(
            f"the HTTP activity's answer is not usable: {error}", status=0, step=step.id
        ) from None


async def _polled(
    run: Running, step: Step, request: HttpRequest, every: timedelta, budget: timedelta
) -> HttpResponse:
    """`call_http_async`, its timeout raised as the step's `Timeout`."""
    try:
        return await call_http_async(
            run.ctx,
            request,
            poll_interval=every,
            timeout=budget,
            retry=_retry(step),
            activity=HTTP_ACTIVITY,
        )
    except HttpPollTimeoutError as error:
        raise Timeout(
            f"{error.url} still answered 202 Accepted after {format_duration(budget)} "
            f"({error.polls} polls)",
            step=step.id,
        ) from None


def _check_status(step: Step, request: HttpRequest, answer: HttpResponse) -> None:
    status = answer.status
    if status < 400:
        return
    kind: type[HttpStatusError] = HttpServerError
    if status == 429:
        kind = HttpTooManyRequests
    elif status < 500:
        kind = HttpClientError
    excerpt = answer.body[:200]
    message = f"{request.method} {request.url} answered {status}" + (
        f": {excerpt}" if excerpt else ""
    )
    raise kind(message, status=status, body=excerpt, step=step.id)


def _body(answer: HttpResponse) -> Any:
    text = answer.body
    if text and "json" in (answer.header("content-type") or ""):
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
