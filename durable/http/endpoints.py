"""The endpoints of the HTTP API, one method per route, over an `AsyncClient`.

Routes (under the base path, ``/runtime/webhooks/durabletask`` by default):

=======  ==========================================  =======================================
method   path                                        answers
=======  ==========================================  =======================================
POST     ``orchestrators/{name}[/{instanceId}]``     202 check-status; 200 output if it
                                                     finished within ``timeout``; 400 409
GET      ``instances/{id}``                          200 finished, 202 + Location running,
                                                     500 failed if asked; 404
GET      ``instances/``                              200 list; ``x-ms-continuation-token``
DELETE   ``instances/{id}``                          200 ``{"instancesDeleted": 1}``; 404 412
DELETE   ``instances/?createdTimeFrom=...``          200 ``{"instancesDeleted": n}``; 404 400
POST     ``instances/{id}/raiseEvent/{event}``       202; 400 404 410
POST     ``instances/{id}/terminate|suspend|resume`` 202; 404 410
POST     ``instances/{id}/restart``                  202 check-status of the new run; 404 409
POST     ``instances/{id}/rewind``                   202 (failed ones); 404; 409 pending,
                                                     running, suspended; 410 otherwise
=======  ==========================================  =======================================

Each endpoint runs under `_guarded`, which turns `HttpError`, `DurableError`
and anything unexpected into a JSON error (see `durable.http.errors`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from durable._client.async_client import AsyncClient
from durable._client.ids import check_instance_id
from durable._model.status import InstanceStatus, RuntimeStatus
from durable.errors import (
    DeadlineExceededError,
    DurableError,
    InstanceExistsError,
    InstanceNotFailedError,
)
from durable.http.check_status import check_status_response, request_url
from durable.http.errors import (
    HttpError,
    error_response,
    response_for_durable_error,
    response_for_unexpected,
)
from durable.http.params import (
    bool_param,
    read_json_body,
    seconds_param,
    statuses_param,
    time_param,
    top_param,
)
from durable.http.shapes import history_body, status_body

__all__ = ["Api", "ApiSettings"]

STATUS_RETRY_AFTER = "5"
"""Seconds a poller should wait before asking again (Durable Functions' value)."""

DEFAULT_PAGE_SIZE = 100
_RUNNING = frozenset(
    {
        RuntimeStatus.PENDING,
        RuntimeStatus.RUNNING,
        RuntimeStatus.SUSPENDED,
        RuntimeStatus.CONTINUED_AS_NEW,
    }
)
# Rewinding these is 410 Gone, as in Durable Functions; rewinding a live instance is 409.
_ENDED_OTHERWISE = frozenset(
    status.value
    for status in (
        RuntimeStatus.COMPLETED,
        RuntimeStatus.TERMINATED,
        RuntimeStatus.CONTINUED_AS_NEW,
    )
)

Endpoint = Callable[["Api", Request], Awaitable[Response]]


@attrs.frozen(kw_only=True)
class ApiSettings:
    """How the API answers.

    Attributes:
        base_path: where the routes live, e.g. ``/runtime/webhooks/durabletask``.
        trust_proxy: honour ``X-Forwarded-Proto``/``X-Forwarded-Host`` in links.
        max_body_bytes: the largest request body accepted (413 beyond).
        max_wait: the longest a start with ``timeout`` holds the request open.
    """

    base_path: str
    trust_proxy: bool
    max_body_bytes: int
    max_wait: timedelta


def _guarded(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(self: Api, request: Request) -> Response:
        try:
            return await endpoint(self, request)
        except HttpError as error:
            return error.response()
        except DurableError as error:
            return response_for_durable_error(error)
        except Exception as error:
            return response_for_unexpected(error)

    return guarded


class Api:
    """The endpoints, bound to one client and one set of settings."""

    def __init__(self, client: AsyncClient, settings: ApiSettings) -> None:
        self.client = client
        self.settings = settings

    # -- starting --------------------------------------------------------------------------

    @_guarded
    async def start(self, request: Request) -> Response:
        """POST orchestrators/{name}[/{instance_id}]: start an instance."""
        name = request.path_params["name"]
        given_id = request.path_params.get("instance_id")
        if given_id is not None:
            check_instance_id(given_id)
        timeout = seconds_param(request, "timeout")
        seconds_param(request, "pollingInterval")  # validated; waits wake on commits instead
        data = await read_json_body(request, self.settings.max_body_bytes)
        instance_id = await self.client.start(name, data, instance_id=given_id)
        return await self._started(request, instance_id, timeout)

    @_guarded
    async def restart(self, request: Request) -> Response:
        """POST instances/{id}/restart: run the instance again with its original input."""
        new_id = bool_param(request, "restartWithNewInstanceId", True)
        timeout = seconds_param(request, "timeout")
        instance_id = await self.client.restart(self._instance_id(request), new_instance_id=new_id)
        return await self._started(request, instance_id, timeout)

    async def _started(
        self, request: Request, instance_id: str, timeout: timedelta | None
    ) -> Response:
        if timeout is not None:
            try:
                limit = min(timeout, self.settings.max_wait)
                status = await self.client.wait(instance_id, timeout=limit)
            except DeadlineExceededError:
                pass
            else:
                if status.status is RuntimeStatus.COMPLETED:
                    return JSONResponse(status.output, status_code=200)
                return self._status_response(request, status, show_input=True, history=None)
        return check_status_response(
            request,
            instance_id,
            base_path=self.settings.base_path,
            trust_proxy=self.settings.trust_proxy,
        )

    # -- reading ---------------------------------------------------------------------------

    @_guarded
    async def get_status(self, request: Request) -> Response:
        """GET instances/{id}: the status, 202 while it runs."""
        instance_id = self._instance_id(request)
        show_history = bool_param(request, "showHistory", False)
        show_output = bool_param(request, "showHistoryOutput", False)
        show_input = bool_param(request, "showInput", True)
        status = await self.client.status(instance_id)
        history = None
        if show_history:
            events = await self.client.history(instance_id)
            history = history_body(events, show_output=show_output, show_input=show_input)
        return self._status_response(request, status, show_input=show_input, history=history)

    def _status_response(
        self,
        request: Request,
        status: InstanceStatus,
        *,
        show_input: bool,
        history: list[dict[str, Any]] | None,
    ) -> Response:
        body = status_body(status, show_input=show_input, history=history)
        if status.status in _RUNNING:
            location = request_url(request, trust_proxy=self.settings.trust_proxy)
            headers = {"Location": location, "Retry-After": STATUS_RETRY_AFTER}
            return JSONResponse(body, status_code=202, headers=headers)
        failed = status.status is RuntimeStatus.FAILED
        fail_500 = bool_param(request, "returnInternalServerErrorOnFailure", False)
        return JSONResponse(body, status_code=500 if failed and fail_500 else 200)

    @_guarded
    async def list_instances(self, request: Request) -> Response:
        """GET instances/: one page of statuses; the next page's token in a header."""
        show_input = bool_param(request, "showInput", True)
        page = await self.client.list(
            status=statuses_param(request),
            created_from=time_param(request, "createdTimeFrom"),
            created_to=time_param(request, "createdTimeTo"),
            instance_id_prefix=request.query_params.get("instanceIdPrefix") or None,
            page_size=top_param(request, DEFAULT_PAGE_SIZE),
            continuation=request.headers.get("x-ms-continuation-token") or None,
        )
        body = [status_body(status, show_input=show_input) for status in page.instances]
        headers = {"x-ms-continuation-token": page.continuation} if page.continuation else None
        return JSONResponse(body, headers=headers)

    # -- steering --------------------------------------------------------------------------

    @_guarded
    async def raise_event(self, request: Request) -> Response:
        """POST instances/{id}/raiseEvent/{event_name}: deliver an external event."""
        instance_id = self._instance_id(request)
        data = await read_json_body(request, self.settings.max_body_bytes)
        await self.client.raise_event(instance_id, request.path_params["event_name"], data)
        return Response(status_code=202)

    @_guarded
    async def operation(self, request: Request) -> Response:
        """POST instances/{id}/{operation}: terminate, suspend, resume, restart or rewind."""
        operation = request.path_params["operation"].lower()
        if operation == "restart":
            return await self.restart(request)
        instance_id = self._instance_id(request)
        reason = request.query_params.get("reason")
        match operation:
            case "terminate":
                await self.client.terminate(instance_id, reason)
            case "suspend":
                await self.client.suspend(instance_id, reason)
            case "resume":
                await self.client.resume(instance_id, reason)
            case "rewind":
                await self._rewind(instance_id, reason)
            case _:
                raise HttpError(404, "NotFound", f"no instance operation named {operation!r}")
        return Response(status_code=202)

    async def _rewind(self, instance_id: str, reason: str | None) -> None:
        """Rewind a failed instance; 410 if it ended otherwise, 409 if it has not ended."""
        try:
            await self.client.rewind(instance_id, reason)
        except InstanceNotFailedError as error:
            gone = error.status in _ENDED_OTHERWISE
            raise HttpError(410 if gone else 409, type(error).__name__, str(error)) from None

    @_guarded
    async def purge(self, request: Request) -> Response:
        """DELETE instances/{id}: delete a finished instance and its history."""
        instance_id = self._instance_id(request)
        try:
            deleted = await self.client.purge(instance_id)
        except InstanceExistsError as error:
            return error_response(
                412, "InstanceNotFinished", f"{error}; only finished instances can be purged"
            )
        if not deleted:
            return error_response(
                404, "InstanceNotFoundError", f"no instance with id {instance_id!r}"
            )
        return JSONResponse({"instancesDeleted": 1})

    @_guarded
    async def purge_many(self, request: Request) -> Response:
        """DELETE instances/?createdTimeFrom=...: delete finished instances by filter."""
        created_from = time_param(request, "createdTimeFrom")
        if created_from is None:
            raise HttpError(
                400, "MissingQueryParameter", "purging by filter needs createdTimeFrom=<ISO time>"
            )
        deleted = await self.client.purge_many(
            status=statuses_param(request),
            created_from=created_from,
            created_to=time_param(request, "createdTimeTo"),
        )
        if deleted == 0:
            return error_response(404, "NothingToPurge", "no finished instance matches the filter")
        return JSONResponse({"instancesDeleted": deleted})

    @staticmethod
    def _instance_id(request: Request) -> str:
        return check_instance_id(request.path_params["instance_id"])
