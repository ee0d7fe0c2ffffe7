"""The SQLite store's schema, its forward migrations, and opening a database file.

`sqlite_path_from_url` reads the file path out of a ``sqlite:///`` URL.

`MIGRATIONS` is an ordered list of SQL scripts; the database's version is the
number of them applied, kept in the one-row table ``schema_version``. Each
script runs in its own ``BEGIN IMMEDIATE`` transaction together with the
version bump, so a crash leaves the file at one version or the next. Scripts
are only ever appended: a released script is never edited.

`open_database` refuses, with a `StoreError` naming the path and before it
writes a single byte, every file it should not touch: a missing directory, a
file that is not SQLite, a database with someone else's tables, one written by
a newer schema version (`SchemaVersionError`), and a file or directory that is
read-only. Permission bits are checked as well as `os.access`, because the
superuser may write to a 0o444 file and the tests run as root. Inspection opens
the file read-only (``immutable`` when no WAL file exists, so that not even a
``-shm`` file appears); only then is the file opened for writing, switched to
WAL and migrated, and the version is checked again inside the migration
transaction in case another process got there first.

Times in every table are integers, microseconds since the epoch in UTC.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from durable.errors import InvalidArgumentError, SchemaVersionError, StoreError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "MIGRATIONS",
    "SYNCHRONOUS_MODES",
    "error_hint",
    "open_database",
    "read_version",
    "sqlite_path_from_url",
    "supported_version",
]

SYNCHRONOUS_MODES = ("FULL", "NORMAL")
"""The `synchronous` settings the store accepts: FULL (durable at commit) or NORMAL."""

_SQLITE_HEADER = b"SQLite format 3\x00"
_URL_PREFIX = "sqlite:///"

_SCHEMA_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);

CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    failure TEXT,
    custom_status TEXT NOT NULL,
    waiting TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    completed_at INTEGER,
    scheduled_start INTEGER,
    parent_instance_id TEXT,
    execution_id TEXT NOT NULL,
    lock_token TEXT,
    locked_until INTEGER
);
CREATE INDEX instances_by_created ON instances (created_at, instance_id);
CREATE INDEX instances_by_status ON instances (status, created_at, instance_id);
CREATE INDEX instances_by_name ON instances (name, created_at, instance_id);
CREATE INDEX instances_by_lock ON instances (locked_until) WHERE lock_token IS NOT NULL;

CREATE TABLE history (
    instance_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, position)
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    execution_id TEXT,
    event TEXT NOT NULL
);
CREATE INDEX messages_by_visible ON messages (visible_at, id);
CREATE INDEX messages_by_instance ON messages (instance_id, id);

CREATE TABLE activity_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    lock_token TEXT,
    locked_until INTEGER,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX activity_tasks_by_visible ON activity_tasks (visible_at, id);
CREATE INDEX activity_tasks_by_lease ON activity_tasks (locked_until)
    WHERE lock_token IS NOT NULL;
CREATE INDEX activity_tasks_by_instance ON activity_tasks (instance_id);
"""

# History rows are written and read by instance, in position order. Clustered
# on (instance_id, position) they live in one b-tree instead of a rowid table
# and its primary-key index: a commit writes one page fewer, and a replay reads
# neighbouring rows from neighbouring pages.
_HISTORY_CLUSTERED_2 = """
CREATE TABLE history_clustered (
    instance_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, position)
) WITHOUT ROWID;
INSERT INTO history_clustered (instance_id, position, event)
    SELECT instance_id, position, event FROM history ORDER BY instance_id, position;
DROP TABLE history;
ALTER TABLE history_clustered RENAME TO history;
"""

# A task is takeable from one time on: when it becomes visible if nobody holds
# it, when its lease runs out if somebody does. One index on that time served
# the pick (until version 4) and serves next_due, where two (visible, leased)
# had to be kept in step on every lease. Without AUTOINCREMENT a task id may be
# used again once its task is gone, so a task is found by its id together with
# its execution and seq.
_TASKS_BY_AVAILABILITY_3 = """
CREATE TABLE activity_tasks_by_availability (
    id INTEGER PRIMARY KEY,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    lock_token TEXT,
    locked_until INTEGER,
    attempt INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL
);
INSERT INTO activity_tasks_by_availability (
    id, instance_id, execution_id, seq, name, input, visible_at, lock_token, locked_until,
    attempt, available_at
)
    SELECT id, instance_id, execution_id, seq, name, input, visible_at, lock_token, locked_until,
        attempt, CASE WHEN lock_token IS NULL THEN visible_at ELSE MAX(visible_at, locked_until) END
    FROM activity_tasks;
DROP TABLE activity_tasks;
ALTER TABLE activity_tasks_by_availability RENAME TO activity_tasks;
CREATE INDEX activity_tasks_by_available ON activity_tasks (available_at, id);
CREATE INDEX activity_tasks_by_instance ON activity_tasks (instance_id);
"""

# Tasks are taken oldest first by the time they became visible, so that one
# whose worker died goes again before newer ones (as the other stores do); the
# time they can be taken decides only whether they can be. The pick walks this
# index from the oldest and skips the few tasks under a live lease.
_TASKS_BY_VISIBLE_4 = """
CREATE INDEX activity_tasks_by_visible ON activity_tasks (visible_at, id);
"""

MIGRATIONS: list[str] = [
    _SCHEMA_1,
    _HISTORY_CLUSTERED_2,
    _TASKS_BY_AVAILABILITY_3,
    _TASKS_BY_VISIBLE_4,
]
"""Forward migrations in order; script ``i`` takes the database from version i to i + 1.

A statement may span lines but must end at the end of a line.
"""


def supported_version() -> int:
    """The schema version this code writes: the number of migrations."""
    return len(MIGRATIONS)


def sqlite_path_from_url(url: str) -> Path:
    """The file path in a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URL.

    Raises:
        InvalidArgumentError: `url` is not of one of those two forms.
    """
    rest = url[len(_URL_PREFIX) :] if url.startswith(_URL_PREFIX) else ""
    if not rest or rest == "/" or rest.endswith("/") or any(c in rest for c in "?#"):
        raise InvalidArgumentError(
            f"store URL {url!r} is not a SQLite file URL; use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db (no host, query or fragment)"
        )
    if rest == ":memory:":
        raise InvalidArgumentError(
            f"store URL {url!r} names an in-memory SQLite database, which workers in other "
            "processes cannot share; name a file, or use MemoryStore"
        )
    return Path(rest)


def error_hint(error: sqlite3.Error) -> str:
    """What to do about a SQLite error a user can fix, to append to its message; or ""."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_READONLY:
        return "; the file or its directory is read-only: make both writable"
    if code == sqlite3.SQLITE_BUSY:
        return (
            "; another process held the write lock for longer than busy_timeout: "
            "raise busy_timeout, or look for a process that keeps a transaction open"
        )
    if code == sqlite3.SQLITE_NOTADB:
        return " (it is damaged, or not a SQLite database)"
    return ""


def open_database(path: Path, *, synchronous: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """Check `path`, open it for writing, switch it to WAL and migrate it.

    Returns:
        A connection in autocommit mode (``isolation_level=None``): the caller
        opens every transaction itself.

    Raises:
        StoreError: the path cannot hold a store; nothing was written.
        SchemaVersionError: the database is newer than this code.
    """
    if synchronous not in SYNCHRONOUS_MODES:  # it is spliced into a PRAGMA below
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, got {synchronous!r}")
    _check_location(path)
    if path.exists() and path.stat().st_size > 0:
        _inspect(path)
    mode = "rw" if path.exists() else "rwc"
    try:
        connection = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode={mode}",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=busy_timeout_ms / 1000,
        )
    except sqlite3.Error as error:
        raise StoreError(f"cannot open SQLite store {path}: {error}{error_hint(error)}") from error
    try:
        _configure(connection, path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
        _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _check_location(path: Path) -> None:
    directory = path.absolute().parent
    if not directory.is_dir():
        raise StoreError(
            f"cannot open SQLite store {path}: directory {directory} does not exist; "
            "create it first"
        )
    if not _writable(directory):
        raise StoreError(
            f"cannot open SQLite store {path}: directory {directory} is read-only, and SQLite "
            "needs to create its -wal and -shm files there"
        )
    if path.exists() and not path.is_file():
        raise StoreError(f"cannot open SQLite store {path}: it is not a regular file")
    if path.exists() and not _writable(path):
        raise StoreError(
            f"cannot open SQLite store {path}: the file is read-only; make it writable, "
            "or copy it somewhere writable"
        )


def _writable(path: Path) -> bool:
    # os.access says yes to root whatever the mode; a file or directory with
    # no write bit at all is treated as read-only for everyone.
    return os.access(path, os.W_OK) and stat.S_IMODE(path.stat().st_mode) & 0o222 != 0


def _inspect(path: Path) -> None:
    with path.open("rb") as file:
        header = file.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise StoreError(f"cannot open SQLite store {path}: the file is not a SQLite database")
    # Without a WAL file the main file holds everything committed, and
    # immutable=1 reads it without creating a -shm file or taking a lock.
    immutable = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    uri = f"{path.absolute().as_uri()}?mode=ro{immutable}"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open SQLite store {path}: {error}{error_hint(error)}") from error
    try:
        read_version(connection, path)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open SQLite store {path}: {error}{error_hint(error)}") from error
    finally:
        connection.close()


def read_version(connection: sqlite3.Connection, path: Path) -> int:
    """The schema version of an open database; 0 for a database without tables.

    Raises:
        StoreError: the database has tables but no ``schema_version``.
        SchemaVersionError: the version is newer than `supported_version`.
    """
    tables = sorted(
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\'"
        )
    )
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise StoreError(
            f"cannot open SQLite store {path}: it is a SQLite database with other tables "
            f"({', '.join(tables)}) and no durable schema; choose another file"
        )
    rows = connection.execute("SELECT version FROM schema_version").fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise StoreError(
            f"cannot open SQLite store {path}: its schema_version table should hold one "
            f"integer, but holds {[tuple(row) for row in rows]!r}"
        )
    version: int = rows[0][0]
    if version > supported_version():
        raise SchemaVersionError(
            f"cannot open SQLite store {path}: it has schema version {version}, but this "
            f"version of durable supports up to version {supported_version()}; "
            "upgrade durable to use it"
        )
    return version


def _configure(
    connection: sqlite3.Connection, path: Path, *, synchronous: str, busy_timeout_ms: int
) -> None:
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        journal_mode = _switch_to_wal(connection, busy_timeout_ms)
        connection.execute(f"PRAGMA synchronous = {synchronous}")
    except sqlite3.Error as error:
        raise StoreError(f"cannot open SQLite store {path}: {error}{error_hint(error)}") from error
    if journal_mode != "wal":
        raise StoreError(
            f"cannot open SQLite store {path}: it could not be switched to WAL mode "
            f"(journal_mode is {journal_mode}); use a local file system"
        )


def _switch_to_wal(connection: sqlite3.Connection, busy_timeout_ms: int) -> str:
    """Set WAL mode (a no-op once the file is in it); the journal mode in force after.

    Changing the journal mode needs an exclusive lock, and SQLite reports
    "database is locked" for it at once, without calling the busy handler,
    when another connection is opening or closing the same file. So retry
    here, for as long as the busy timeout allows.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pause = 0.001
    while True:
        try:
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            return str(mode).lower()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    while _migrate_one_step(connection, path):
        pass


def _migrate_one_step(connection: sqlite3.Connection, path: Path) -> bool:
    """Apply the next migration in its own transaction; whether there was one."""
    version: int | None = None
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = read_version(connection, path)
            pending = version < supported_version()
            if pending:
                for statement in _statements(MIGRATIONS[version]):
                    connection.execute(statement)
                connection.execute(
                    "UPDATE schema_version SET version = :version", {"version": version + 1}
                )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as error:
        step = (
            "open" if version is None else f"migrate from schema version {version} to {version + 1}"
        )
        raise StoreError(
            f"cannot {step} SQLite store {path}: {error}{error_hint(error)}"
        ) from error
    return pending


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"migration script ends inside a statement: {buffer.strip()!r}")
