"""Fixtures of the store contract suite: every store in `STORE_FACTORIES` runs every test.

To put a store under the contract, add a factory: it takes an empty directory
(inside pytest's `tmp_path`, for stores that keep files) and returns a new,
empty store. A factory may be called many times in one test (the state
machine makes a fresh store per example); the fixtures close every store made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from durable._store.memory import MemoryStore
from durable._store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from durable._store.protocol import Store

STORE_FACTORIES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda tmp_path: MemoryStore(),
    # NORMAL: the contract is about behaviour, not fsync; the store's own tests
    # cover synchronous=FULL, its default.
    "sqlite": lambda tmp_path: SQLiteStore(tmp_path / "durable.db", synchronous="NORMAL"),
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
