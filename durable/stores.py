"""Stores: where instances, histories and pending work live.

- `MemoryStore`: in-process, for tests and the simulation harness.
- `SQLiteStore`: one local file, crash-safe, shared by worker processes on one machine.

`open_store(url)` opens one from a URL: ``memory://``, ``sqlite:///relative.db``
or ``sqlite:////absolute/path.db``.
"""

from __future__ import annotations

from durable._store.memory import MemoryStore
from durable._store.protocol import InstancePage, InstanceQuery, Store
from durable._store.sqlite import SQLiteStore
from durable._store.sqlite_schema import sqlite_path_from_url
from durable.errors import InvalidArgumentError

__all__ = [
    "InstancePage",
    "InstanceQuery",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "open_store",
]


def open_store(url: str) -> Store:
    """Open the store a URL names.

    Raises:
        InvalidArgumentError: the URL's scheme is not one `durable` knows.
        StoreError: the store cannot be opened (the message names where).
    """
    if url == "memory://":
        return MemoryStore()
    if url.startswith("sqlite:"):
        return SQLiteStore(sqlite_path_from_url(url))
    scheme = url.partition(":")[0] if ":" in url else url
    raise InvalidArgumentError(
        f"unknown store URL scheme {scheme!r} in {url!r}; use 'memory://' or "
        "'sqlite:///path/to/file.db'"
    )
