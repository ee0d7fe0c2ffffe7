"""The async HTTP API, client side: the check-status response of a started instance.

An HTTP endpoint that starts an orchestration answers ``202 Accepted`` at
once, with a ``Location`` header and a body of management URLs, so that the
caller polls the status URL (202 while the instance runs, 200 with the output
when it is done) instead of holding a connection open. The body has the
shape and keys of Durable Functions' check-status payload
(``statusQueryGetUri``, ``sendEventPostUri``, ...), so clients written for
Durable Functions follow it unchanged.

`check_status_response` builds that answer for any web framework; the routes
it points to are those of `durable.http`'s management API under `base_url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import quote, urlencode

import attrs

from durable.errors import InvalidArgumentError
from durable.patterns.durations import Duration, parse_duration

__all__ = ["CheckStatusResponse", "check_status_response", "management_urls"]


@attrs.frozen(kw_only=True)
class CheckStatusResponse:
    """What a start endpoint answers: status code, headers and JSON body.

    Attributes:
        status_code: 202 (Accepted).
        headers: ``Location`` (the status URL), ``Retry-After`` (seconds) and
            ``Content-Type``.
        body: the management URLs of the instance (see `management_urls`).
    """

    status_code: int
    headers: dict[str, str]
    body: dict[str, str]


def management_urls(
    base_url: str, instance_id: str, *, query: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The Durable Functions check-status payload of one instance.

    Args:
        base_url: the root of the management API, e.g.
            ``"http://127.0.0.1:8000/runtime/webhooks/durabletask"``.
        instance_id: the instance.
        query: parameters appended to every URL (a task hub, an access code, ...).

    Returns:
        ``id``, ``statusQueryGetUri``, ``sendEventPostUri`` (with the placeholder
        ``{eventName}``), ``terminatePostUri``, ``suspendPostUri``,
        ``resumePostUri`` and ``rewindPostUri`` (with the placeholder ``{text}``
        for the reason),
        ``purgeHistoryDeleteUri`` and ``restartPostUri``: the same body as the
        start route of `durable.http` answers with.

    Raises:
        InvalidArgumentError: `base_url` is not an http(s) URL or `instance_id` is empty.
    """
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise InvalidArgumentError(f"base_url must be an http(s) URL, got {base_url!r}")
    if not isinstance(instance_id, str) or not instance_id:
        raise InvalidArgumentError(f"instance_id must be a non-empty str, got {instance_id!r}")
    instance = f"{base_url.rstrip('/')}/instances/{quote(instance_id, safe='')}"
    extra = urlencode(dict(query or {}))

    def url(path: str, *leading: str) -> str:
        params = "&".join(part for part in (*leading, extra) if part)
        return f"{instance}{path}?{params}" if params else f"{instance}{path}"

    return {
        "id": instance_id,
        "statusQueryGetUri": url(""),
        "sendEventPostUri": url("/raiseEvent/{eventName}"),
        "terminatePostUri": url("/terminate", "reason={text}"),
        "purgeHistoryDeleteUri": url(""),
        "restartPostUri": url("/restart"),
        "suspendPostUri": url("/suspend", "reason={text}"),
        "resumePostUri": url("/resume", "reason={text}"),
        "rewindPostUri": url("/rewind", "reason={text}"),
    }


def check_status_response(
    base_url: str,
    instance_id: str,
    *,
    query: Mapping[str, str] | None = None,
    retry_after: Duration = timedelta(seconds=10),
) -> CheckStatusResponse:
    """The ``202 Accepted`` answer of an endpoint that has just started `instance_id`.

    Example::

        instance_id = client.start("process_order", order)
        answer = check_status_response(
            "https://api.example.com/runtime/webhooks/durabletask", instance_id
        )
        return JSONResponse(answer.body, answer.status_code, answer.headers)

    Args:
        base_url: the root of the management API (see `management_urls`).
        instance_id: the instance just started.
        query: parameters appended to every URL.
        retry_after: how long the caller should wait before polling (whole seconds).

    Raises:
        InvalidArgumentError: a bad URL, instance id or duration.
    """
    body = management_urls(base_url, instance_id, query=query)
    seconds = int(parse_duration(retry_after, name="retry_after").total_seconds())
    headers = {
        "Location": body["statusQueryGetUri"],
        "Retry-After": str(seconds),
        "Content-Type": "application/json; charset=utf-8",
    }
    return CheckStatusResponse(status_code=202, headers=headers, body=body)
