"""Shared helpers of the HTTP API tests (`test_http_*.py`); it holds no tests.

`served(asgi_app)` runs a real uvicorn server in a thread on a loopback socket
bound before the server starts, so clients can connect at once (the kernel
queues them until uvicorn accepts): nothing polls for readiness and nothing
sleeps. `make_api` builds the test app: an `App` of small orchestrators, a
SQLite file, a `Worker` run by the API's lifespan.
"""

from __future__ import annotations

import collections
import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from durable import App, Client, OrchestrationContext, Worker
from durable._store.protocol import Store
from durable.http import create_app
from durable.stores import SQLiteStore

__all__ = [
    "TIME",
    "TOKEN",
    "Served",
    "http_app",
    "make_api",
    "served",
    "wait_until",
    "without_times",
]

T = TypeVar("T")

TOKEN = "test-token-0123456789abcdef"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
"""How Durable Functions writes createdTime and lastUpdatedTime."""

WAIT = 10.0  # seconds: the bound on every wait; a test that needs it has failed

http_app = App()


@http_app.activity
def greet(name: str) -> str:
    """Say hello."""
    return f"Hello, {name}!"


@http_app.orchestrator
def hello(ctx: OrchestrationContext, name: str):  # type: ignore[no-untyped-def]
    """One activity call."""
    return (yield ctx.call_activity(greet, name))


@http_app.orchestrator
def approval(ctx: OrchestrationContext, request: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Wait for an 'approve' event; return the request with the decision."""
    ctx.set_custom_status("waiting for approval")
    decision = yield ctx.wait_for_event("approve")
    return {"request": request, "decision": decision}


@http_app.orchestrator
def echo(ctx: OrchestrationContext, value: Any) -> Any:
    """Return the input as it arrived."""
    return value


@http_app.orchestrator
def fails(ctx: OrchestrationContext, message: str) -> None:
    """Fail at once."""
    raise ValueError(message)


CALLS: collections.Counter[str] = collections.Counter()
"""Calls of `flaky`'s activities in this process, by ``"<activity>:<key>"``."""


@http_app.activity
def prepare(key: str) -> str:
    """Succeed (and count the call)."""
    CALLS[f"prepare:{key}"] += 1
    return key.upper()


@http_app.activity
def fails_once(key: str) -> str:
    """Fail on the first call for `key`, succeed on every later one."""
    CALLS[f"fails_once:{key}"] += 1
    if CALLS[f"fails_once:{key}"] == 1:
        raise ConnectionError(f"{key}: the first call fails")
    return f"{key} done"


@http_app.orchestrator
def flaky(ctx: OrchestrationContext, key: str):  # type: ignore[no-untyped-def]
    """Two activities; the second fails the first time (for rewind tests)."""
    first = yield ctx.call_activity(prepare, key)
    second = yield ctx.call_activity(fails_once, key)
    return [first, second]


class Served:
    """A running server: its base URL and the store behind it."""

    def __init__(self, url: str, store: Store) -> None:
        self.url = url
        self.store = store

    def api(self, path: str) -> str:
        """The URL of an API path under the default base path."""
        return f"{self.url}/runtime/webhooks/durabletask/{path.lstrip('/')}"


@contextlib.contextmanager
def served(asgi_app: ASGIApp) -> Iterator[str]:
    """Run `asgi_app` under uvicorn on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        asgi_app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


@contextlib.contextmanager
def make_api(path: Path, **options: Any) -> Iterator[Served]:
    """Serve the test app over a SQLite file at `path` with a worker; `options` go to create_app."""
    store = SQLiteStore(path)
    worker = Worker(http_app, store, poll_interval=timedelta(milliseconds=50))
    api = create_app(Client(store, app=http_app), worker=worker, **options)
    try:
        with served(api) as url:
            yield Served(url, store)
    finally:
        store.close()


def wait_until(store: Store, check: Callable[[], T | None], *, what: str) -> T:
    """The first truthy `check()`, looked at after each store commit; bounded by `WAIT`."""
    changed = threading.Event()
    remove = store.add_listener(changed.set)
    try:
        for _ in range(400):
            changed.clear()
            value = check()
            if value:
                return value
            changed.wait(WAIT / 400)
    finally:
        remove()
    raise AssertionError(f"timed out waiting for {what}")


def without_times(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without createdTime/lastUpdatedTime, after checking their format."""
    rest = dict(body)
    for key in ("createdTime", "lastUpdatedTime"):
        assert TIME.match(rest.pop(key)), body
    return rest
