"""The PostgreSQL store's schema, its forward migrations, and reading its URL.

`parse_url` checks a ``postgresql://`` (or ``postgres://``) URL, takes out the
``schema`` query parameter (durable's own: libpq does not know it) and makes
the display form used in every message, with the password masked.

All of durable's tables live in one PostgreSQL schema, ``durable`` unless told
otherwise, so one database can hold several independent stores and dropping
a store is ``DROP SCHEMA ... CASCADE``. `MIGRATIONS` is an ordered list of SQL
scripts; the store's version is the number of them applied, kept in the
one-row table ``schema_version``. Scripts are only ever appended: a released
script is never edited.

`migrate` is safe when many workers start at once: it first looks without
writing or locking; a store at the current version is left alone, and one
written by a newer `durable` fails with `SchemaVersionError` before anything
is touched. Otherwise each migration step runs in its own transaction under a
transaction-level advisory lock keyed by the schema name, re-reads the
version under that lock (another process may have migrated meanwhile), and
bumps it with the step, so a crash leaves the store at one version or the
next. A schema that holds tables but no ``schema_version`` belongs to someone
else and is refused.

Times in every table are BIGINT microseconds since the epoch in UTC, as in the
SQLite store; JSON columns are TEXT holding the converter's exact output (see
`postgres_queries` for both choices). Text keys use ``COLLATE "C"`` so that
ids sort by code point, as Python and SQLite sort them, whatever the
database's default collation.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import attrs
import psycopg
from psycopg import sql

from durable.errors import InvalidArgumentError, SchemaVersionError, StoreError

if TYPE_CHECKING:
    from psycopg.rows import TupleRow

__all__ = [
    "DEFAULT_SCHEMA",
    "MIGRATIONS",
    "StoreUrl",
    "check_schema_name",
    "error_hint",
    "migrate",
    "parse_url",
    "read_version",
    "redact_url",
    "supported_version",
]

DEFAULT_SCHEMA = "durable"
"""The PostgreSQL schema that holds the store's tables unless another is named."""

_SCHEMES = ("postgresql://", "postgres://")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_NO_DATABASE = re.compile(r'FATAL: +database "[^"]*" does not exist')
_NO_ROLE = re.compile(r'FATAL: +role "[^"]*" does not exist')
_PASSWORD_PARAM = re.compile(r"(?i)(^|&)(password=)[^&]*")
# The advisory lock's first key: "dura" in ASCII; the second is hashtext(schema).
_LOCK_CLASS = 0x64757261

_SCHEMA_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);

CREATE TABLE instances (
    instance_id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    failure TEXT,
    custom_status TEXT NOT NULL,
    waiting TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL,
    completed_at BIGINT,
    scheduled_start BIGINT,
    parent_instance_id TEXT COLLATE "C",
    execution_id TEXT NOT NULL,
    lock_token TEXT,
    locked_until BIGINT
);
CREATE INDEX instances_by_created ON instances (created_at, instance_id);
CREATE INDEX instances_by_status ON instances (status, created_at, instance_id);
CREATE INDEX instances_by_name ON instances (name, created_at, instance_id);
CREATE INDEX instances_by_lock ON instances (locked_until) WHERE lock_token IS NOT NULL;

CREATE TABLE history (
    instance_id TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, position)
);

CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id TEXT COLLATE "C" NOT NULL,
    visible_at BIGINT NOT NULL,
    execution_id TEXT,
    event TEXT NOT NULL
);
CREATE INDEX messages_by_visible ON messages (visible_at, id);
CREATE INDEX messages_by_instance ON messages (instance_id, id);

CREATE TABLE activity_tasks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id TEXT COLLATE "C" NOT NULL,
    execution_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    input TEXT NOT NULL,
    visible_at BIGINT NOT NULL,
    lock_token TEXT,
    locked_until BIGINT,
    attempt BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX activity_tasks_by_visible ON activity_tasks (visible_at, id);
CREATE INDEX activity_tasks_by_lease ON activity_tasks (locked_until)
    WHERE lock_token IS NOT NULL;
CREATE INDEX activity_tasks_by_instance ON activity_tasks (instance_id);
"""

MIGRATIONS: list[str] = [_SCHEMA_1]
"""Forward migrations in order; script ``i`` takes the store from version i to i + 1.

Each runs with ``search_path`` set to the store's schema, so it names tables
without a schema.
"""


def supported_version() -> int:
    """The schema version this code writes: the number of migrations."""
    return len(MIGRATIONS)


@attrs.frozen(kw_only=True)
class StoreUrl:
    """A checked PostgreSQL store URL.

    Attributes:
        conninfo: what libpq is given: the URL without durable's ``schema`` parameter.
        schema: the ``schema`` parameter, or None if the URL has none.
        display: the URL with its password masked, for messages and logs.
    """

    conninfo: str
    schema: str | None
    display: str


def parse_url(url: str) -> StoreUrl:
    """Check a ``postgresql://`` or ``postgres://`` URL and split off its ``schema`` parameter.

    Raises:
        InvalidArgumentError: not such a URL, or its ``schema`` is not a valid name.
    """
    if not isinstance(url, str) or not url.startswith(_SCHEMES):
        shown = redact_url(url) if isinstance(url, str) else repr(url)
        raise InvalidArgumentError(
            f"store URL {shown!r} is not a PostgreSQL URL; use "
            "postgresql://user:password@host:port/database (optionally ?schema=name)"
        )
    display = redact_url(url)
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in pairs if key == "schema"]
    if len(schemas) > 1:
        raise InvalidArgumentError(f"store URL {display!r} names a schema more than once")
    schema = check_schema_name(schemas[0], where=f"in store URL {display!r}") if schemas else None
    rest = [(key, value) for key, value in pairs if key != "schema"]
    conninfo = urlunsplit(parts._replace(query=urlencode(rest, quote_via=quote)))
    return StoreUrl(conninfo=conninfo if schemas else url, schema=schema, display=display)


def check_schema_name(name: object, *, where: str = "") -> str:
    """Return `name` if it can name the store's PostgreSQL schema, else fail saying why.

    Names are lower-case letters, digits and ``_`` (not starting with a digit),
    at most 63 characters: they need no quoting in ``psql``, and mean the same
    quoted or not.
    """
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
        place = f" {where}" if where else ""
        raise InvalidArgumentError(
            f"schema name {name!r}{place} is not valid: use 1 to 63 lower-case letters, "
            "digits or '_', not starting with a digit"
        )
    return name


def redact_url(url: str) -> str:
    """`url` with its password (in the user part or a ``password`` parameter) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name, colon, _password = user.partition(":")
        netloc = f"{name}:***@{host}" if colon else netloc
    query = _PASSWORD_PARAM.sub(r"\1\2***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def error_hint(error: psycopg.Error) -> str:
    """What to do about a connection or schema error a user can fix; or "".

    Errors raised while connecting carry no SQLSTATE, so their text is read too.
    """
    text = str(error)
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return (
            "; the user lacks a privilege: grant it CREATE on the database (or create the "
            "schema for it), and USAGE and CREATE on the schema"
        )
    if isinstance(error, psycopg.errors.InvalidCatalogName) or _NO_DATABASE.search(text):
        return "; create the database first (createdb NAME), or fix the name in the URL"
    if isinstance(error, psycopg.errors.InvalidPassword) or "password authentication" in text:
        return "; check the user name and password"
    if isinstance(error, psycopg.errors.InvalidAuthorizationSpecification) or _NO_ROLE.search(text):
        return "; check the user name, and pg_hba.conf on the server"
    if "no pg_hba.conf entry" in text:
        return "; the server's pg_hba.conf does not let this user in from this host"
    if "Connection refused" in text or "could not translate host name" in text:
        return "; is the server running, and accepting TCP connections at that host and port?"
    if "timeout expired" in text:
        return "; the server did not answer in time: check the host, port and firewall"
    return ""


def read_version(db: psycopg.Connection[TupleRow], schema: str, display: str) -> int | None:
    """The schema version of the store in `schema`; None if the schema has no tables.

    Raises:
        StoreError: the schema has tables but no ``schema_version``, or a malformed one.
        SchemaVersionError: the version is newer than `supported_version`.
    """
    tables = sorted(
        str(row[0])
        for row in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        )
    )
    if not tables:
        return None
    where = f"cannot open PostgreSQL store {display}: schema {schema!r}"
    if "schema_version" not in tables:
        raise StoreError(
            f"{where} holds other tables ({', '.join(tables)}) and no durable "
            "schema_version; name another schema with ?schema=NAME"
        )
    query = sql.SQL("SELECT version FROM {}.schema_version").format(sql.Identifier(schema))
    rows = db.execute(query).fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise StoreError(
            f"{where}: its schema_version table should hold one integer, "
            f"but holds {[tuple(row) for row in rows]!r}"
        )
    version: int = rows[0][0]
    if version > supported_version():
        raise SchemaVersionError(
            f"{where} has schema version {version}, but this version of durable supports "
            f"up to version {supported_version()}; upgrade durable to use it"
        )
    return version


def migrate(
    db: psycopg.Connection[TupleRow], schema: str, display: str, *, create: bool = True
) -> None:
    """Bring the store in `schema` to `supported_version`, creating it if needed and allowed.

    `db` must be in autocommit mode; every step is a transaction of its own.

    Raises:
        StoreError: the schema belongs to someone else, holds no store and
            `create` is false, or a step failed (rolled back; the message says which).
        SchemaVersionError: the store is newer than this code; nothing was changed.
    """
    version = read_version(db, schema, display)
    if version == supported_version():
        return  # the common case: no lock, no write
    if version is None and not create:
        raise StoreError(
            f"cannot open PostgreSQL store {display}: schema {schema!r} holds no durable store; "
            "check the URL's database and schema, or start a worker there first"
        )
    while _migrate_one_step(db, schema, display):
        pass


def _migrate_one_step(db: psycopg.Connection[TupleRow], schema: str, display: str) -> bool:
    """Apply the next migration in its own transaction; whether there was one."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, schema))
        version = read_version(db, schema, display) or 0
        if version >= supported_version():
            return False
        exists = db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists is None:
            db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        db.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        try:
            db.execute(MIGRATIONS[version].encode())
        except psycopg.Error as error:
            raise StoreError(
                f"cannot migrate PostgreSQL store {display} (schema {schema!r}) from schema "
                f"version {version} to {version + 1}: {error}{error_hint(error)}"
            ) from error
        db.execute("UPDATE schema_version SET version = %s", (version + 1,))
    return True
