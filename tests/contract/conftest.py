"""Fixtures of the store contract suite: every store in `STORE_FACTORIES` runs every test.

To put a store under the contract, add a factory: it takes an empty directory
(inside pytest's `tmp_path`, for stores that keep files) and returns a new,
empty store. A factory may be called many times in one test (the state
machine makes a fresh store per example); the fixtures close every store made.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import psycopg
import pytest

from durable._store.memory import MemoryStore
from durable._store.postgres import PostgresStore
from durable._store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from durable._store.protocol import Store


class _ScratchPostgresStore(PostgresStore):
    """A PostgresStore in a schema of its own, dropped when the store is closed."""

    def __init__(self, url: str) -> None:
        self._scratch_url = url
        # synchronous_commit=off: the contract is about behaviour, not fsync.
        fast = f"{url}{'&' if '?' in url else '?'}options=-c%20synchronous_commit%3Doff"
        super().__init__(fast, schema=f"contract_{uuid.uuid4().hex[:16]}", min_connections=0)

    def close(self) -> None:
        super().close()
        with psycopg.connect(self._scratch_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def _postgres_store(tmp_path: Path) -> Store:
    """A store in a fresh schema at $DURABLE_TEST_POSTGRES_URL; under CI=true it must be set."""
    url = os.environ.get("DURABLE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but DURABLE_TEST_POSTGRES_URL is not set: .ci/run exports it")
        pytest.skip("set DURABLE_TEST_POSTGRES_URL to run the store contract against PostgreSQL")
    return _ScratchPostgresStore(url)


STORE_FACTORIES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda tmp_path: MemoryStore(),
    # NORMAL: the contract is about behaviour, not fsync; the store's own tests
    # cover synchronous=FULL, its default.
    "sqlite": lambda tmp_path: SQLiteStore(tmp_path / "durable.db", synchronous="NORMAL"),
    "postgres": _postgres_store,
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """A function that makes fresh stores of one kind, each in its own directory."""
    factory = STORE_FACTORIES[request.param]
    made: list[Store] = []

    def make() -> Store:
        directory = tmp_path / f"store-{len(made)}"
        directory.mkdir()
        made.append(factory(directory))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    """A fresh, empty store."""
    return make_store()
