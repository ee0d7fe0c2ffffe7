"""Bearer-token authentication for the HTTP API, as a plain ASGI middleware.

Every HTTP request must carry ``Authorization: Bearer <token>``; the token is
compared in constant time (`hmac.compare_digest`), so response timing does
not reveal how much of a guess was right. A missing or wrong token is a 401
with a JSON message and ``WWW-Authenticate: Bearer``. Lifespan events pass
through untouched.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from durable.errors import InvalidArgumentError
from durable.http.errors import error_response

__all__ = ["BearerAuth", "check_token"]


def check_token(token: object) -> str:
    """Return `token` if it can serve as a bearer token: printable, 16 characters or more.

    Raises:
        InvalidArgumentError: it cannot.
    """
    if not isinstance(token, str) or len(token) < 16 or not token.isprintable() or " " in token:
        raise InvalidArgumentError(
            "token must be a printable str of at least 16 characters without spaces "
            "(e.g. secrets.token_urlsafe(32))"
        )
    return token


class BearerAuth:
    """Refuse HTTP requests without the right bearer token.

    Args:
        app: the ASGI app to protect.
        token: the shared secret (see `check_token`).
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = check_token(token).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(Headers(scope=scope).get("authorization"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        error, message = problem
        challenge = 'Bearer realm="durable"' + (f', error="{error}"' if error else "")
        response = error_response(401, "Unauthorized", message, {"WWW-Authenticate": challenge})
        await response(scope, receive, send)

    def _problem(self, header: str | None) -> tuple[str, str] | None:
        if not header:
            return "", "this API needs a bearer token: send 'Authorization: Bearer <token>'"
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return "invalid_request", "the Authorization header must be 'Bearer <token>'"
        if not hmac.compare_digest(credentials.strip().encode(), self._expected):
            return "invalid_token", "the bearer token is not valid"
        return None
