"""Stores: where instances, histories and pending work live.

- `MemoryStore`: in-process, for tests and the simulation harness.
- `SQLiteStore`: one local file, crash-safe, shared by worker processes on one machine.
- `PostgresStore`: one PostgreSQL database shared by workers on many machines
  (the ``postgres`` extra: psycopg 3).

`open_store(url)` opens one from a URL: ``memory://``, ``sqlite:///relative.db``,
``sqlite:////absolute/path.db``, or ``postgresql://user:password@host:port/database``
(``postgres://`` too; ``?schema=name`` picks the PostgreSQL schema, default ``durable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from durable._store.memory import MemoryStore
from durable._store.protocol import InstancePage, InstanceQuery, Store
from durable._store.sqlite import SQLiteStore
from durable._store.sqlite_schema import sqlite_path_from_url
from durable.errors import InvalidArgumentError

if TYPE_CHECKING:
    from durable._store.postgres import PostgresStore

__all__ = [
    "InstancePage",
    "InstanceQuery",
    "MemoryStore",
    "PostgresStore",
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
    if url.startswith(("postgresql://", "postgres://")):
        from durable._store.postgres import PostgresStore  # psycopg: the postgres extra

        return PostgresStore(url)
    scheme = url.partition(":")[0] if ":" in url else url
    raise InvalidArgumentError(
        f"unknown store URL scheme {scheme!r} in {url!r}; use 'memory://', "
        "'sqlite:///path/to/file.db' or 'postgresql://user:password@host:port/database'"
    )


def __getattr__(name: str) -> object:
    if name == "PostgresStore":  # imported on first use: psycopg is an optional extra
        from durable._store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
