"""`create_app`: the Durable Functions-compatible HTTP management API as a Starlette app.

Serve it with uvicorn (``durable serve`` does) or mount it inside your own
Starlette or FastAPI app::

    from durable import Client
    from durable.http import create_app

    api = create_app(Client(store, app=app))
    uvicorn.run(api, host="127.0.0.1", port=8000)

When the app is given a `Worker`, its lifespan starts the worker and stops it
gracefully on shutdown. A mounted app's lifespan is not run by its parent, so
run the worker yourself there (``async with worker:`` in your own lifespan).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from durable._client.async_client import AsyncClient
from durable._client.client import Client
from durable._worker.worker import Worker
from durable.errors import InvalidArgumentError
from durable.http.auth import BearerAuth, check_token
from durable.http.endpoints import Api, ApiSettings
from durable.http.errors import error_response

__all__ = ["DEFAULT_BASE_PATH", "DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_BASE_PATH = "/runtime/webhooks/durabletask"
"""Where Durable Functions serves its management API, and so where this one does."""

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""The largest request body accepted by default (1 MiB)."""

DEFAULT_MAX_WAIT = timedelta(minutes=2)


def create_app(
    client: Client | AsyncClient,
    *,
    worker: Worker | None = None,
    base_path: str = DEFAULT_BASE_PATH,
    token: str | None = None,
    trust_proxy: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_wait: timedelta = DEFAULT_MAX_WAIT,
) -> Starlette:
    """Build the HTTP management API over `client`.

    Args:
        client: starts and steers instances. Give it the `App` (``Client(store,
            app=app)``) so that unknown orchestrator names are refused with 400;
            without one any valid name is accepted.
        worker: run this worker for as long as the app is served (its lifespan).
        base_path: where the routes live; ``""`` serves them at the root.
        token: if set, every request needs ``Authorization: Bearer <token>``
            (at least 16 printable characters, no spaces).
        trust_proxy: build links from ``X-Forwarded-Proto``/``X-Forwarded-Host``;
            only behind a proxy that sets them.
        max_body_bytes: larger request bodies get 413.
        max_wait: the longest a start with ``?timeout=`` keeps its request open.

    Raises:
        InvalidArgumentError: a bad base path, token, size or wait.
    """
    settings = ApiSettings(
        base_path=_check_base_path(base_path),
        trust_proxy=bool(trust_proxy),
        max_body_bytes=_check_size(max_body_bytes),
        max_wait=_check_wait(max_wait),
    )
    async_client = client if isinstance(client, AsyncClient) else _async(client)
    api = Api(async_client, settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if worker is None:
            yield
            return
        async with worker:
            yield

    middleware = [Middleware(BearerAuth, token=check_token(token))] if token is not None else []
    return Starlette(
        routes=_routes(api, settings.base_path),
        middleware=middleware,
        exception_handlers={HTTPException: _http_exception},
        lifespan=lifespan,
    )


def _routes(api: Api, base: str) -> list[BaseRoute]:
    instance = f"{base}/instances/{{instance_id}}"
    return [
        Route(f"{base}/orchestrators/{{name}}", api.start, methods=["POST"]),
        Route(f"{base}/orchestrators/{{name}}/{{instance_id}}", api.start, methods=["POST"]),
        Route(f"{base}/instances", api.list_instances, methods=["GET"]),
        Route(f"{base}/instances/", api.list_instances, methods=["GET"]),
        Route(f"{base}/instances", api.purge_many, methods=["DELETE"]),
        Route(f"{base}/instances/", api.purge_many, methods=["DELETE"]),
        Route(instance, api.get_status, methods=["GET"]),
        Route(instance, api.purge, methods=["DELETE"]),
        Route(f"{instance}/raiseEvent/{{event_name}}", api.raise_event, methods=["POST"]),
        Route(f"{instance}/{{operation}}", api.operation, methods=["POST"]),
    ]


async def _http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        message = f"no route for {request.method} {request.url.path}"
        return error_response(404, "NotFound", message)
    if error.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(405, "MethodNotAllowed", message, dict(error.headers or {}))
    return error_response(error.status_code, "HttpError", str(error.detail))


def _async(client: Client) -> AsyncClient:
    return AsyncClient(client.store, app=client.app, clock=client.clock)


def _check_base_path(base_path: str) -> str:
    if not isinstance(base_path, str) or (
        base_path and (not base_path.startswith("/") or base_path.endswith("/"))
    ):
        raise InvalidArgumentError(
            f"base_path must be '' or start with '/' and not end with it, got {base_path!r}"
        )
    return base_path


def _check_size(size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidArgumentError(f"max_body_bytes must be an int >= 0, got {size!r}")
    return size


def _check_wait(wait: timedelta) -> timedelta:
    if not isinstance(wait, timedelta) or wait < timedelta(0):
        raise InvalidArgumentError(f"max_wait must be a timedelta >= 0, got {wait!r}")
    return wait
