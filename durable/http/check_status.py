"""The check-status body and the URLs in it, built from the request's own origin.

A client that started an instance gets back where to find it::

    {
        "id": "...",
        "statusQueryGetUri": ".../instances/ID",
        "sendEventPostUri": ".../instances/ID/raiseEvent/{eventName}",
        "terminatePostUri": ".../instances/ID/terminate?reason={text}",
        "purgeHistoryDeleteUri": ".../instances/ID",
        "restartPostUri": ".../instances/ID/restart",
        "suspendPostUri": ".../instances/ID/suspend?reason={text}",
        "resumePostUri": ".../instances/ID/resume?reason={text}",
        "rewindPostUri": ".../instances/ID/rewind?reason={text}",
    }

``{eventName}`` and ``{text}`` are placeholders for the caller, as in Durable
Functions. The origin is the request's scheme and ``Host`` header (and the
ASGI ``root_path``, so a mounted API links to itself). ``X-Forwarded-Proto``
and ``X-Forwarded-Host`` are honoured only when the app was told to trust a
proxy: otherwise any client could make the server hand out links to another
host. A ``Host`` that is not a plain host[:port] is replaced by the address
the server listens on.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["check_status_response", "management_urls", "request_origin", "request_url"]

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(:\d{1,5})?$")
START_RETRY_AFTER = "10"
"""Seconds a client should wait before its first poll (Durable Functions' value)."""


def request_origin(request: Request, *, trust_proxy: bool) -> str:
    """``scheme://host[:port]`` of the request as its client addressed it."""
    scheme = request.scope.get("scheme", "http")
    host = request.headers.get("host", "")
    if trust_proxy:
        scheme = _first(request.headers.get("x-forwarded-proto")) or scheme
        host = _first(request.headers.get("x-forwarded-host")) or host
    if scheme not in ("http", "https"):
        scheme = "http"
    if not _HOST.match(host):
        server = request.scope.get("server") or ("127.0.0.1", 80)
        address = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
        host = f"{address}:{server[1]}"
    return f"{scheme}://{host}"


def request_url(request: Request, *, trust_proxy: bool) -> str:
    """The full URL of the request (path as sent, query included) from its origin."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(request.url.path)
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request_origin(request, trust_proxy=trust_proxy) + path + (f"?{query}" if query else "")


def management_urls(base_url: str, instance_id: str) -> dict[str, str]:
    """The check-status body of `instance_id`, with links under `base_url`."""
    instance = f"{base_url}/instances/{quote(instance_id, safe='')}"
    return {
        "id": instance_id,
        "statusQueryGetUri": instance,
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}",
        "purgeHistoryDeleteUri": instance,
        "restartPostUri": f"{instance}/restart",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}",
        "resumePostUri": f"{instance}/resume?reason={{text}}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}",
    }


def check_status_response(
    request: Request, instance_id: str, *, base_path: str, trust_proxy: bool
) -> JSONResponse:
    """202 with the check-status body, ``Location`` (the status URL) and ``Retry-After``."""
    root = request.scope.get("root_path", "")
    base_url = request_origin(request, trust_proxy=trust_proxy) + root + base_path
    body = management_urls(base_url, instance_id)
    headers = {"Location": body["statusQueryGetUri"], "Retry-After": START_RETRY_AFTER}
    return JSONResponse(body, status_code=202, headers=headers)


def _first(header: str | None) -> str:
    return header.split(",")[0].strip() if header else ""
