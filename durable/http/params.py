"""Reading requests: query parameters, the body size limit and the JSON body rule.

Query parameters follow Durable Functions: booleans are ``true``/``false`` in
any case, times are ISO 8601 (a time without offset is UTC), durations are
seconds, ``runtimeStatus`` is a comma-separated list of Durable Functions
status names. A malformed value is a 400 naming the parameter, never ignored.

**The body rule.** A request body is JSON; an empty body means ``null``. When
the body's JSON value is a *string whose text is itself JSON*, it is decoded
once more and the inner value is used. This is how azure-functions-durable's
client sends inputs and event data (``json.dumps`` of the value, sent as a
JSON string), so its values reach the orchestrator as its caller passed them.
Any other body is used as it is: ``{"a": 1}``, ``[1, 2]`` and ``"hello"``
arrive unchanged. To pass a string that is itself JSON text (``"42"`` or
``"{}"`` as a string), encode it twice: send ``"\\"42\\""``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from durable._model.events import JSONValue
from durable._model.status import RuntimeStatus
from durable.http.errors import HttpError

__all__ = [
    "DF_STATUS",
    "bool_param",
    "decode_body",
    "read_json_body",
    "seconds_param",
    "statuses_param",
    "time_param",
    "top_param",
]

DF_STATUS: dict[RuntimeStatus, str] = {
    RuntimeStatus.PENDING: "Pending",
    RuntimeStatus.RUNNING: "Running",
    RuntimeStatus.COMPLETED: "Completed",
    RuntimeStatus.FAILED: "Failed",
    RuntimeStatus.TERMINATED: "Terminated",
    RuntimeStatus.SUSPENDED: "Suspended",
    RuntimeStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
}
"""Durable Functions' ``runtimeStatus`` string for each runtime status."""

_STATUS_BY_NAME = {name.lower(): status for status, name in DF_STATUS.items()} | {
    status.value.lower(): status for status in RuntimeStatus
}
_JSON_TYPES = ("application/json", "text/json")
_SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def bool_param(request: Request, name: str, default: bool) -> bool:
    """The boolean query parameter `name` (``true``/``false``, any case)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise _bad_param(name, value, "true or false")
    return lowered == "true"


def time_param(request: Request, name: str) -> datetime | None:
    """The ISO 8601 time in query parameter `name`, as an aware UTC datetime."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        # An unescaped '+' before an offset arrives as a space: put it back.
        parsed = datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", value.strip()))
    except ValueError:
        raise _bad_param(name, value, "an ISO 8601 time such as 2030-01-31T12:00:00Z") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def seconds_param(request: Request, name: str) -> timedelta | None:
    """The duration in seconds in query parameter `name`."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise _bad_param(name, value, "a non-negative number of seconds")
    return timedelta(seconds=seconds)


def top_param(request: Request, default: int) -> int:
    """The page size in query parameter ``top`` (1 to 10000)."""
    value = request.query_params.get("top")
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 10_000:
        raise _bad_param("top", value, "a whole number from 1 to 10000")
    return int(value)


def statuses_param(request: Request) -> frozenset[RuntimeStatus] | None:
    """The runtime statuses in ``runtimeStatus`` (comma-separated, repeatable)."""
    values = [
        part.strip()
        for value in request.query_params.getlist("runtimeStatus")
        for part in value.split(",")
        if part.strip()
    ]
    if not values:
        return None
    unknown = [value for value in values if value.lower() not in _STATUS_BY_NAME]
    if unknown:
        names = ", ".join(DF_STATUS.values())
        raise _bad_param("runtimeStatus", ",".join(unknown), f"a comma list of: {names}")
    return frozenset(_STATUS_BY_NAME[value.lower()] for value in values)


async def read_json_body(request: Request, limit: int) -> JSONValue:
    """Read the body (at most `limit` bytes) and decode it by the body rule.

    Raises:
        HttpError: 413 if the body is too large; 400 if it is not JSON or is
            sent with a content type other than JSON.
    """
    raw = await _read_body(request, limit)
    if not raw.strip():
        return None
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type not in _JSON_TYPES and not media_type.endswith("+json"):
        raise HttpError(
            400,
            "UnsupportedContentType",
            f"the body was sent as {media_type!r}; send it as application/json",
        )
    return decode_body(raw)


def decode_body(raw: bytes) -> JSONValue:
    """The value of a JSON request body, by the body rule (see the module docstring).

    Raises:
        HttpError: 400 if `raw` is not UTF-8 JSON.
    """
    if not raw.strip():
        return None
    try:
        value = _strict_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise HttpError(
            400, "InvalidJson", f"the request body is not valid JSON: {error}"
        ) from None
    if isinstance(value, str):
        try:
            return _strict_loads(value)
        except ValueError:
            return value
    return value


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.strip().isascii() and declared.strip().isdigit()):
            raise HttpError(400, "InvalidContentLength", f"Content-Length {declared!r} is invalid")
        if int(declared) > limit:
            raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_large(size: int, limit: int) -> HttpError:
    return HttpError(
        413,
        "BodyTooLarge",
        f"the request body has {size} bytes or more; at most {limit} are allowed",
    )


def _bad_param(name: str, value: str, expected: str) -> HttpError:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return HttpError(
        400, "InvalidQueryParameter", f"query parameter {name}={shown!r} is invalid: use {expected}"
    )
