"""durable.http: the Durable Functions-compatible HTTP management API (Starlette).

`create_app(client, ...)` builds the ASGI app; serve it with uvicorn, mount it
in your own app, or run ``durable serve module:app``. See `durable.http.app`
for the options and `durable.http.endpoints` for the routes.
"""

from durable.http.app import DEFAULT_BASE_PATH, DEFAULT_MAX_BODY_BYTES, create_app
from durable.http.params import decode_body

__all__ = ["DEFAULT_BASE_PATH", "DEFAULT_MAX_BODY_BYTES", "create_app", "decode_body"]
