"""Shared helpers of the PostgreSQL tests (`test_postgres_*.py`); it holds no tests.

The server comes from ``$DURABLE_TEST_POSTGRES_URL`` (``.ci/run`` creates a
fresh database per run and exports it). Without it the tests skip, except
under ``CI=true``, where they fail: CI must never pass by skipping them.
Every test gets a PostgreSQL schema of its own (`scratch_schema`), dropped
afterwards. Its store URL turns ``synchronous_commit`` off for speed: a
commit then returns before its WAL record is flushed, which only matters if
the *server* crashes; these tests kill workers, never the server.

As a script, this module is a worker process for the multi-process tests::

    python test_postgres_support.py STORE_URL EPISODE_LOG SIDE_EFFECTS [--worker-id ID]

runs a worker (short leases, fast polling) on the `chain_then_fan_out` app
until SIGTERM, logging every committed episode (instance, history length
before and after, pid) to EPISODE_LOG and every activity run to SIDE_EFFECTS.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import psycopg
import pytest

from durable import App, OrchestrationContext, Worker

__all__ = [
    "CHAIN",
    "FAN_OUT",
    "Scratch",
    "app",
    "chain_then_fan_out",
    "expected_output",
    "postgres_url",
    "scratch_schema",
    "wait_until",
    "with_params",
]

ENV = "DURABLE_TEST_POSTGRES_URL"
CHAIN = 3
FAN_OUT = 10
FAST_COMMITS = "-c synchronous_commit=off"


def postgres_url() -> str:
    """The test server's URL; skips the test without one, or fails it under ``CI=true``."""
    url = os.environ.get(ENV, "")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but ${ENV} is not set: the PostgreSQL tests must run in CI")
    pytest.skip(f"set ${ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test) to run")


def with_params(url: str, **params: str) -> str:
    """`url` with query parameters added."""
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@attrs.frozen(kw_only=True)
class Scratch:
    """A fresh PostgreSQL schema for one test.

    Attributes:
        server_url: the server's URL, as given in the environment.
        schema: the schema's name.
        url: a store URL for the schema (with fast, non-flushed commits).
    """

    server_url: str
    schema: str
    url: str

    def sql(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        """Run one statement on a fresh connection; its rows, if it returns any."""
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            cursor = connection.execute(statement.replace("{schema}", self.schema), params)
            return cursor.fetchall() if cursor.description else []


@contextmanager
def scratch_schema() -> Iterator[Scratch]:
    """A fresh schema name (the store creates it), dropped afterwards with all it holds."""
    server_url = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    url = with_params(server_url, schema=schema, options=FAST_COMMITS)
    scratch = Scratch(server_url=server_url, schema=schema, url=url)
    try:
        yield scratch
    finally:
        scratch.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def wait_until(condition: Callable[[], bool], *, limit: float = 60, what: str = "") -> None:
    """Look at `condition` every 50 ms until it holds; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


# -- the workload of the multi-process tests -------------------------------------

app = App()
_side_effects = Path(os.devnull)
_side_effects_lock = threading.Lock()


def _record(line: str) -> None:
    with _side_effects_lock, _side_effects.open("a") as sink:
        sink.write(line + "\n")


@app.activity
def add_one(step: dict[str, Any]) -> int:
    """Return value + 1, recording that step `index` of `instance` ran."""
    _record(f"{step['instance']} chain {step['index']}")
    return int(step["value"]) + 1


@app.activity
def square(item: dict[str, Any]) -> int:
    """Return value squared, recording that item `index` of `instance` ran.

    Takes ``pause_ms`` to do it, so that a worker killed mid-run holds leases.
    """
    time.sleep(item.get("pause_ms", 0) / 1000)
    _record(f"{item['instance']} fan {item['index']}")
    return int(item["value"]) ** 2


@app.orchestrator
def chain_then_fan_out(ctx: OrchestrationContext, shape: dict[str, int]):  # type: ignore[no-untyped-def]
    """`CHAIN` steps in a row, then a fan-out of `FAN_OUT`; returns the sum of the squares."""
    value = shape["start"]
    for index in range(CHAIN):
        step = {"instance": ctx.instance_id, "index": index, "value": value}
        value = yield ctx.call_activity(add_one, step)
    items = [
        {
            "instance": ctx.instance_id,
            "index": index,
            "value": value + index,
            "pause_ms": shape.get("pause_ms", 0),
        }
        for index in range(FAN_OUT)
    ]
    squares = yield ctx.when_all([ctx.call_activity(square, item) for item in items])
    return sum(squares)


def expected_output(start: int) -> int:
    """The output of `chain_then_fan_out` for ``{"start": start}``."""
    value = start + CHAIN
    return sum((value + index) ** 2 for index in range(FAN_OUT))


def main(arguments: list[str]) -> None:
    """Run a worker on the store until SIGTERM, then stop it gracefully."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script
    from durable._store.postgres import PostgresStore
    from tests.integration.episode_log import log_episodes

    store_url, episode_log, side_effects, *rest = arguments
    global _side_effects
    _side_effects = Path(side_effects)
    worker_id = rest[1] if rest[:1] == ["--worker-id"] else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = PostgresStore(store_url)
    worker = Worker(
        app,
        store,
        lease=timedelta(seconds=2),
        poll_interval=timedelta(seconds=30),
        max_activities=8,
        worker_id=worker_id,
    )
    log_episodes(worker.store, Path(episode_log))
    with worker:
        stop.wait()
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
