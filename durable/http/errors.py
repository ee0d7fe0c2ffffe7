"""Errors as HTTP responses: every failure leaves the server as a small JSON object.

The body of every error response is::

    {
        "error": "InstanceNotFoundError",
        "message": "no instance with id 'x'",
        "Message": "...",
        "ExceptionMessage": "...",
    }

``error`` names what went wrong (the `DurableError` subclass, or a short code
such as ``InvalidJson``); ``message`` says what and what to do. ``Message`` and
``ExceptionMessage`` repeat the message under the names Durable Functions'
clients read (azure-functions-durable raises ``ExceptionMessage`` on a 400).
No traceback ever leaves the server: unexpected errors are logged here and
answered with a generic 500.

`DurableError` types map to status codes through one table, most specific first.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse

from durable.errors import (
    DeadlineExceededError,
    DurableError,
    InstanceExistsError,
    InstanceFinishedError,
    InstanceNotFailedError,
    InstanceNotFoundError,
    InvalidArgumentError,
    OrchestratorNotFoundError,
    PayloadError,
    RegistrationError,
    StoreError,
)

__all__ = ["HttpError", "error_response", "response_for_durable_error", "response_for_unexpected"]

_log = logging.getLogger("durable.http")

STATUS_BY_ERROR: tuple[tuple[type[DurableError], int], ...] = (
    (InstanceNotFoundError, 404),
    (InstanceFinishedError, 410),
    (InstanceExistsError, 409),
    (InstanceNotFailedError, 409),
    (OrchestratorNotFoundError, 400),
    (RegistrationError, 400),
    (InvalidArgumentError, 400),
    (PayloadError, 400),
    (DeadlineExceededError, 504),
    (StoreError, 503),
)
"""Status code of each `DurableError` type; anything else is a 500."""


class HttpError(Exception):
    """A request the HTTP layer refuses, with its status code, error code and message."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        super().__init__(message)

    def response(self) -> JSONResponse:
        """The JSON error response for this error."""
        return error_response(self.status_code, self.code, self.message)


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response (see the module docstring for the body)."""
    body = {"error": code, "message": message, "Message": message, "ExceptionMessage": message}
    return JSONResponse(body, status_code=status_code, headers=headers)


def response_for_durable_error(error: DurableError) -> JSONResponse:
    """The response for a `DurableError` raised while serving a request."""
    for kind, status_code in STATUS_BY_ERROR:
        if isinstance(error, kind):
            if status_code == 503:
                _log.error("store error while serving a request: %s", error)
            return error_response(status_code, type(error).__name__, str(error))
    return response_for_unexpected(error)


def response_for_unexpected(error: BaseException) -> JSONResponse:
    """Log `error` with its traceback here and answer a generic 500 without details."""
    _log.error("unexpected error while serving a request", exc_info=error)
    return error_response(
        500, "InternalError", "the server could not handle this request; see its log"
    )
