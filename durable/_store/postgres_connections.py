"""Connections of the PostgreSQL store: the pool, transactions, errors, and the listening thread.

`Database` owns what `PostgresStore` needs of the server. `Database.run` runs
a function on a pooled connection: a single statement in autocommit mode, or
a transaction. A transaction rolled back by a transient conflict (a deadlock
the server broke, a serialization failure, two creators racing for one new
key) is run again from the start, up to `ATTEMPTS` times. Every other driver
error leaves as `StoreError` naming the URL, with its password masked (also
inside the driver's text), and with a hint when the cause is one a user can
fix. (psycopg's pipeline mode, which sends a transaction's statements
together, measured slower than plain round trips against a local server, so
it is not used.)

`Listener` is a thread on a dedicated connection that LISTENs on the store's
channel and calls back when another store sent a notification: at once, and
then, while notifications keep coming, at most once every 20 ms, not once per
commit (every idle worker would otherwise wake for every commit). It
connects on the caller's thread first, so a failure to listen is an error
there. If its connection breaks it reconnects with backoff and calls back
once, since notifications may have been missed; `stop` wakes it with a
notification of its own and joins it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, TupleRow, dict_row
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from durable._store.postgres_schema import StoreUrl, error_hint
from durable.errors import StoreError

__all__ = ["ATTEMPTS", "Cursor", "Database", "Listener"]

_log = logging.getLogger("durable._store.postgres")

T = TypeVar("T")
Cursor = psycopg.Cursor[DictRow]
"""A cursor that returns rows as dicts, column name to value."""

ATTEMPTS = 5
"""How many times a transaction is run before a transient conflict is an error."""

# Transient conflicts: the transaction was rolled back and can simply run again.
_RETRYABLE = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.UniqueViolation,
)
_LISTEN_TICK = 1.0  # seconds between the listening thread's looks at its stop flag
_WINDOW = 0.02  # seconds: while notifications keep coming, call back at most this often
_RECONNECT_PAUSES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Database:
    """The server behind one store: a connection pool, and errors that name the URL.

    Args:
        url: the checked URL.
        min_connections, max_connections: the pool's bounds.
        connect_timeout: how long to wait for the server, or for a free connection.
    """

    def __init__(
        self,
        url: StoreUrl,
        *,
        min_connections: int,
        max_connections: int,
        connect_timeout: timedelta,
    ) -> None:
        self.url = url
        self._password = str(conninfo_to_dict(url.conninfo).get("password") or "")
        self._timeout = connect_timeout
        self._min = min_connections
        self._max = max_connections
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] | None = None

    # -- opening and closing -------------------------------------------------------

    @contextmanager
    def connect(self, doing: str = "open") -> Iterator[psycopg.Connection[TupleRow]]:
        """A dedicated connection outside the pool, in autocommit mode, closed afterwards.

        Driver errors, connecting or inside the block, leave as `StoreError`
        saying what could not be done (``cannot open PostgreSQL store URL: ...``).
        """
        connection = self.open_connection(doing)
        try:
            yield connection
        except psycopg.Error as error:
            raise self.failure(error, doing) from None
        finally:
            connection.close()

    def open_connection(self, doing: str = "open") -> psycopg.Connection[TupleRow]:
        """A new connection outside the pool, in autocommit mode; the caller closes it.

        Raises:
            StoreError: it could not be opened (``cannot <doing> PostgreSQL store URL: ...``).
        """
        try:
            return psycopg.connect(self.url.conninfo, **self._connect_kwargs())
        except psycopg.Error as error:
            raise self.failure(error, doing) from None

    def open_pool(self) -> None:
        """Open the pool and wait for its first connections.

        Raises:
            StoreError: they could not be opened in time.
        """
        pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            self.url.conninfo,
            kwargs=self._connect_kwargs(),
            min_size=self._min,
            max_size=self._max,
            open=False,
            timeout=self._timeout.total_seconds(),
            name="durable",
            num_workers=1,
        )
        try:
            pool.open(wait=True, timeout=self._timeout.total_seconds())
        except PoolTimeout as error:
            pool.close()
            raise StoreError(
                self.scrub(
                    f"cannot open PostgreSQL store {self.url.display}: the pool could not open "
                    f"{self._min} connection(s) within {self._timeout}: {error}"
                )
            ) from None
        self._pool = pool

    def close(self) -> None:
        """Close the pool; later calls of `run` fail with `StoreError`. Idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @property
    def closed(self) -> bool:
        """Whether `close` was called (or the pool never opened)."""
        return self._pool is None

    # -- running statements --------------------------------------------------------

    def run(self, work: Callable[[Cursor], T], *, transaction: bool = True) -> T:
        """Run `work` on a pooled connection, in a transaction unless told otherwise.

        A transaction rolled back by a transient conflict is run again. Errors
        `work` raises on purpose (any that are not driver errors) pass through
        unchanged, after the rollback.

        Raises:
            StoreError: the store is closed, no connection came in time, or the
                server reported an error.
        """
        for attempt in range(1, ATTEMPTS + 1):
            pool = self._pool
            if pool is None:
                raise StoreError(f"PostgreSQL store {self.url.display} is closed")
            try:
                return self._run_once(pool, work, transaction)
            except _RETRYABLE as error:
                if attempt == ATTEMPTS:
                    raise StoreError(
                        self.scrub(
                            f"PostgreSQL store {self.url.display}: a transaction failed "
                            f"{ATTEMPTS} times: {error}"
                        )
                    ) from None
            except PoolClosed:
                raise StoreError(f"PostgreSQL store {self.url.display} is closed") from None
            except PoolTimeout as error:
                raise StoreError(
                    self.scrub(
                        f"PostgreSQL store {self.url.display}: no connection within "
                        f"{self._timeout} ({error}); is the server up, or are all "
                        "max_connections busy?"
                    )
                ) from None
            except psycopg.Error as error:
                raise self.failure(error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _run_once(
        pool: ConnectionPool[psycopg.Connection[TupleRow]],
        work: Callable[[Cursor], T],
        transaction: bool,
    ) -> T:
        with pool.connection() as connection:
            if not transaction:
                with connection.cursor(row_factory=dict_row) as cursor:
                    return work(cursor)
            with connection.cursor(row_factory=dict_row) as cursor, connection.transaction():
                return work(cursor)

    # -- errors --------------------------------------------------------------------

    def failure(self, error: psycopg.Error, doing: str = "") -> StoreError:
        """A `StoreError` for a driver error: the URL, the error, what to do about it."""
        where = f"cannot {doing} PostgreSQL store" if doing else "PostgreSQL store"
        return StoreError(self.scrub(f"{where} {self.url.display}: {error}{error_hint(error)}"))

    def scrub(self, text: str) -> str:
        """`text` with the URL's password masked, wherever it appears."""
        return text.replace(self._password, "***") if self._password else text

    def _connect_kwargs(self) -> dict[str, Any]:
        return {
            "autocommit": True,
            "connect_timeout": max(2, round(self._timeout.total_seconds())),
            "fallback_application_name": "durable",
        }


class Listener:
    """A thread on a dedicated connection that LISTENs and calls back for others' notifications.

    Args:
        database: the server.
        channel: the channel to LISTEN on.
        own: the payload of the store's own notifications, which are skipped
            (the store calls its listeners itself after those commits).
        wake: sends a notification with payload `own` on `channel` (to end the
            thread's wait when it is stopped).
        call_back: called from the thread after notifications from other
            stores (at most once per 20 ms window while they keep coming), and
            once after each reconnection.
    """

    def __init__(
        self,
        database: Database,
        channel: str,
        own: str,
        wake: Callable[[], None],
        call_back: Callable[[], None],
    ) -> None:
        self._database = database
        self._channel = channel
        self._own = own
        self._wake = wake
        self._call_back = call_back
        self._stop = threading.Event()
        self._connection: psycopg.Connection[TupleRow] | None = None
        self._thread = threading.Thread(
            target=self._loop, name=f"durable-listen-{channel}", daemon=True
        )

    def start(self) -> None:
        """Connect and LISTEN on the calling thread (errors raise here), then go on in a thread.

        Raises:
            StoreError: the connection or the LISTEN failed.
        """
        self._connection = self._listen()
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close its connection."""
        self._stop.set()
        # If the notification cannot be sent, the thread sees the flag within a tick.
        with contextlib.suppress(StoreError):
            self._wake()
        if threading.current_thread() is not self._thread:  # a listener may close the store
            self._thread.join(timeout=_LISTEN_TICK * 5)

    def _listen(self) -> psycopg.Connection[TupleRow]:
        connection = self._database.open_connection("listen on")
        try:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as error:
            connection.close()
            raise self._database.failure(error, "listen on") from None
        return connection

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if self._connection is None:
                    self._connection = self._listen()
                    failures = 0
                    self._call_back()  # notifications may have been missed meanwhile
                self._receive(self._connection)
            except (psycopg.Error, StoreError) as error:
                pause = _RECONNECT_PAUSES[min(failures, len(_RECONNECT_PAUSES) - 1)]
                failures += 1
                _log.warning(
                    "listening on PostgreSQL store %s failed (%s); reconnecting in %.1f s",
                    self._database.url.display,
                    self._database.scrub(str(error)),
                    pause,
                )
                self._close()
                self._stop.wait(pause)
        self._close()

    def _receive(self, connection: psycopg.Connection[TupleRow]) -> None:
        """Wait a tick for notifications; call back at once, then at most once a window.

        While other stores keep committing, every idle worker would otherwise
        be woken by every commit, only to find the work taken (a thundering
        herd that grows with the square of the number of workers).
        """
        batch = list(connection.notifies(timeout=_LISTEN_TICK, stop_after=1))
        batch.extend(connection.notifies(timeout=0))  # whatever else has arrived meanwhile
        while not self._stop.is_set() and any(item.payload != self._own for item in batch):
            self._call_back()
            batch = list(connection.notifies(timeout=_WINDOW))

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):  # closing a broken connection
                connection.close()
