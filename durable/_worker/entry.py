"""`run_worker`: a process that only runs workers, for scaling out over many machines.

``run_worker("myproject.flows:app", "postgresql://...")`` loads the app,
opens the store the URL names, and runs a `Worker` until the process gets
SIGTERM or SIGINT. The first signal stops it gracefully: no new work is
taken, running episodes and activities finish and commit; if they have not
within `stop_timeout`, they are abandoned and their leases given back at once,
so another worker takes them over without waiting for the leases to expire.
A second signal abandons them at once. Then the store is closed and the
function returns, so a process manager (systemd, Kubernetes, supervisord)
sees a clean exit.

Start as many such processes, on as many machines, as the work needs: they
share the store and never take the same work twice. Clients and the HTTP API
(``durable serve --no-worker``) may run anywhere else against the same URL.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from durable._app import App
from durable._model.retry import check_duration
from durable._store.protocol import Store
from durable._worker.worker import Worker
from durable.errors import InvalidArgumentError

__all__ = ["load_app", "open_worker_store", "run_worker"]

_log = logging.getLogger("durable.worker")
_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_POSTGRES = ("postgresql://", "postgres://")


def run_worker(
    app_spec: str | App,
    store_url: str,
    *,
    max_activities: int = 16,
    max_orchestrations: int = 16,
    lease: timedelta = timedelta(seconds=60),
    poll_interval: timedelta | None = None,
    cache_size: int = 1024,
    worker_id: str | None = None,
    stop_timeout: timedelta | None = timedelta(seconds=25),
) -> None:
    """Run a worker for an app against a store until SIGTERM or SIGINT, then stop gracefully.

    Must be called from the main thread, which receives the signals.

    Args:
        app_spec: the `App`, or where it is: ``module:attribute`` or
            ``path/to/file.py:attribute`` (the working directory is put on
            ``sys.path`` first).
        store_url: ``postgresql://...`` (many machines) or ``sqlite:///path.db``
            (processes on one machine).
        max_activities: activities run at once.
        max_orchestrations: episodes run at once.
        lease: how long taken work stays locked without renewal; a killed
            worker's work is taken over once its leases run out.
        poll_interval: the longest idle sleep between looks at the store.
            With PostgreSQL, new work wakes idle workers at once (LISTEN/NOTIFY)
            and this is only a safety net (default 5 s); with SQLite it bounds
            how late work from other processes is picked up (default 1 s).
        cache_size: live executions kept between episodes.
        worker_id: a name in leases and logs (default: random).
        stop_timeout: how long a graceful stop waits for running work before
            abandoning it and giving its leases back (None: no limit). The
            default fits Kubernetes' default 30-second grace period.

    Raises:
        InvalidArgumentError: the app cannot be loaded, the URL names a store a
            worker process cannot share (``memory://``), an option is out of
            range, or this is not the main thread.
        StoreError: the store cannot be opened (the message names the URL,
            without its password).
    """
    if threading.current_thread() is not threading.main_thread():
        raise InvalidArgumentError(
            "run_worker handles SIGTERM and SIGINT, so it must run in the main thread; "
            "elsewhere, run a durable.Worker and stop it yourself"
        )
    if stop_timeout is not None:
        check_duration("stop_timeout", stop_timeout)
    app = app_spec if isinstance(app_spec, App) else load_app(app_spec)
    store = open_worker_store(store_url)
    try:
        worker = Worker(
            app,
            store,
            max_activities=max_activities,
            max_orchestrations=max_orchestrations,
            lease=lease,
            poll_interval=_default_poll(store_url) if poll_interval is None else poll_interval,
            cache_size=cache_size,
            worker_id=worker_id,
        )
        asyncio.run(_serve(worker, repr(store), stop_timeout))
    finally:
        store.close()


def _default_poll(url: str) -> timedelta:
    return timedelta(seconds=5) if url.startswith(_POSTGRES) else timedelta(seconds=1)


def open_worker_store(url: str) -> Store:
    """Open the store `url` names for a worker process.

    Raises:
        InvalidArgumentError: the URL is not one a worker process can share.
        StoreError: the store cannot be opened.
    """
    if not isinstance(url, str):
        raise InvalidArgumentError(f"store URL must be a str, got {url!r}")
    if url.startswith(_POSTGRES):
        from durable._store.postgres import PostgresStore  # psycopg is an optional extra

        # The worker makes one store call at a time (its I/O thread), and listens
        # on a connection of its own: two pooled connections are plenty.
        return PostgresStore(url, min_connections=1, max_connections=2)
    if url.startswith("memory:"):
        raise InvalidArgumentError(
            f"store URL {url!r} names an in-memory store, which a worker process cannot "
            "share with clients; use postgresql://... or sqlite:///path.db"
        )
    from durable.stores import open_store

    return open_store(url)


def load_app(spec: str) -> App:
    """The `App` named by ``module:attribute`` or ``path/to/file.py:attribute``.

    Raises:
        InvalidArgumentError: the module cannot be imported or holds no App there.
    """
    module_name, _, attribute = spec.rpartition(":") if isinstance(spec, str) else ("", "", "")
    if not module_name or not attribute:
        raise InvalidArgumentError(
            f"app {spec!r} must be given as module:attribute, e.g. myproject.flows:app"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = _import(module_name)
    except InvalidArgumentError:
        raise
    except Exception as error:
        raise InvalidArgumentError(
            f"cannot import {module_name!r} for app {spec!r}: {type(error).__name__}: {error}"
        ) from error
    app = getattr(module, attribute, None)
    if not isinstance(app, App):
        found = "nothing" if app is None else f"a {type(app).__name__}"
        raise InvalidArgumentError(f"{spec!r} is {found}, not a durable.App; name the App instance")
    return app


def _import(module_name: str) -> ModuleType:
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    path = Path(module_name)
    if not path.is_file():
        raise InvalidArgumentError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise InvalidArgumentError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


async def _serve(worker: Worker, where: str, stop_timeout: timedelta | None) -> None:
    """Run `worker` until the first signal, then stop it; a second signal abandons its work."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    abandon: list[asyncio.Task[None]] = []

    def on_signal(number: int) -> None:
        name = signal.Signals(number).name
        if not stop.is_set():
            _log.info("worker %s got %s: stopping gracefully", worker.worker_id, name)
            stop.set()
        elif not abandon:
            _log.warning("worker %s got %s again: abandoning its work", worker.worker_id, name)
            abandon.append(loop.create_task(worker.stop_async(graceful=False)))

    for number in _SIGNALS:
        loop.add_signal_handler(number, on_signal, number)
    try:
        async with worker:
            _log.info("worker %s is running against %s", worker.worker_id, where)
            await stop.wait()
            await worker.stop_async(graceful=True, timeout=stop_timeout)
        await asyncio.gather(*abandon)
        _log.info("worker %s stopped", worker.worker_id)
    finally:
        for number in _SIGNALS:
            loop.remove_signal_handler(number)
