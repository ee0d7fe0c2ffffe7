"""Integration: `SQLiteStore` on real files.

What the shared contract suite cannot see: URL parsing, refusing bad files
without touching them, the schema version and migrations, the pragmas really
in force, indexes behind the hot queries, rollback of a failed commit, and
several connections and processes on one file. Store semantics are the
contract suite's job (tests/contract).

This file is also the worker program of the multi-process test: run as a
script, it works on a database until every instance has finished (see
`_worker_main` at the bottom).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from durable._model.events import (
    EventRaised,
    ExecutionStarted,
    HistoryEvent,
    TaskCompleted,
)
from durable._model.status import RuntimeStatus
from durable._store import sqlite_queries, sqlite_schema
from durable._store.protocol import (
    EpisodeCommit,
    InstanceQuery,
    NewActivityTask,
    NewMessage,
    OrchestrationWorkItem,
)
from durable._store.sqlite import SQLiteStore, sqlite_path_from_url
from durable.errors import (
    InvalidArgumentError,
    LeaseLostError,
    SchemaVersionError,
    StoreError,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _started(instance_id: str, *, now: datetime = T0) -> ExecutionStarted:
    return ExecutionStarted(
        timestamp=now, name="wf", instance_id=instance_id, execution_id=f"{instance_id}-x1"
    )


def _episode(item: OrchestrationWorkItem, **fields: Any) -> EpisodeCommit:
    values: dict[str, Any] = {
        "consumed": tuple(message.id for message in item.messages),
        "history": tuple(message.event for message in item.messages),
        "status": RuntimeStatus.RUNNING,
        "updated_at": T0,
        "execution_id": item.instance.execution_id,
    }
    return EpisodeCommit(**(values | fields))


def _raw(path: Path) -> closing[sqlite3.Connection]:
    """A plain read-write connection, for looking at what the store wrote."""
    return closing(sqlite3.connect(path, isolation_level=None))


def _version(path: Path) -> int:
    with _raw(path) as db:
        version: int = db.execute("SELECT version FROM schema_version").fetchone()[0]
    return version


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and mtime, and the names in its directory."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "durable.db"


@pytest.fixture
def store(db_path: Path) -> Any:
    with SQLiteStore(db_path) as opened:
        yield opened


# -- URLs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///durable.db", Path("durable.db")),
        ("sqlite:///data/run/durable.db", Path("data/run/durable.db")),
        ("sqlite:////var/lib/durable.db", Path("/var/lib/durable.db")),
    ],
)
def test_sqlite_path_from_url_reads_relative_and_absolute_paths(url: str, path: Path) -> None:
    assert sqlite_path_from_url(url) == path


@pytest.mark.parametrize(
    "url",
    [
        "durable.db",
        "postgresql://localhost/durable",
        "sqlite://host/durable.db",
        "sqlite:///",
        "sqlite:////",
        "sqlite:///data/",
        "sqlite:///durable.db?mode=ro",
        "sqlite:///durable.db#x",
        "SQLITE:///durable.db",
    ],
)
def test_sqlite_path_from_url_rejects_other_urls(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="is not a SQLite file URL"):
        sqlite_path_from_url(url)


def test_sqlite_path_from_url_rejects_in_memory_database() -> None:
    with pytest.raises(InvalidArgumentError, match="in-memory SQLite database"):
        sqlite_path_from_url("sqlite:///:memory:")


# -- opening, schema and pragmas -----------------------------------------------


def test_open_creates_file_at_current_schema_version(db_path: Path) -> None:
    SQLiteStore(db_path).close()

    assert _version(db_path) == sqlite_schema.supported_version() == 4
    with _raw(db_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_version", "instances", "history", "messages", "activity_tasks"} <= tables


def test_open_migrates_empty_file(db_path: Path) -> None:
    db_path.touch()

    with SQLiteStore(db_path) as store:
        store.create_instance(_started("i1"), now=T0, visible_at=T0)

    assert _version(db_path) == 4


def test_open_applies_pending_migrations_in_order(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SQLiteStore(db_path).close()
    extra = [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);\n",
        "INSERT INTO notes (text) VALUES ('written by migration 6');\n",
    ]
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*sqlite_schema.MIGRATIONS, *extra])

    SQLiteStore(db_path).close()

    assert _version(db_path) == 6
    with _raw(db_path) as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [("written by migration 6",)]


def test_open_migrates_a_version_1_file_and_keeps_its_history(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as version_1:
        version_1.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:1])
        with SQLiteStore(db_path) as store:
            for instance_id in ("i2", "i1"):
                store.create_instance(_started(instance_id), now=T0, visible_at=T0)
                item = store.take_orchestration(now=T0, lease=timedelta(minutes=1), owner="w")
                assert item is not None
                store.commit_episode(item, _episode(item))
            before = {key: store.get_history(key) for key in ("i1", "i2")}
    assert _version(db_path) == 1

    with SQLiteStore(db_path) as store:
        after = {key: store.get_history(key) for key in ("i1", "i2")}

    assert _version(db_path) == 4
    assert after == before
    assert [len(history) for history in after.values()] == [1, 1]
    with _raw(db_path) as db:
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'history'").fetchone()
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert sql.rstrip().endswith("WITHOUT ROWID")
    assert "history_clustered" not in names


def test_open_migrates_version_2_tasks_to_the_time_they_can_be_taken(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as version_2:
        version_2.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:2])
        SQLiteStore(db_path).close()
    columns = "instance_id, execution_id, seq, name, input, visible_at, lock_token, locked_until"
    with _raw(db_path) as db:
        start, expiry = sqlite_queries.to_us(T0), sqlite_queries.to_us(T0 + LEASE)
        free = ("i1", "i1-x1", 0, "free", "1", start, None, None)
        held = ("i1", "i1-x1", 1, "held", "2", start, "w:t", expiry)
        insert = f"INSERT INTO activity_tasks ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        db.executemany(insert, [free, held])

    with SQLiteStore(db_path) as store:
        store.create_instance(_started("i1"), now=T0, visible_at=T0)
        now = store.take_activities(now=T0, lease=2 * LEASE, owner="x", limit=10)
        later = store.take_activities(now=T0 + LEASE, lease=LEASE, owner="x", limit=10)

    assert _version(db_path) == 4
    assert [(task.name, task.input) for task in now] == [("free", 1)]
    assert [(task.name, task.input) for task in later] == [("held", 2)]


def test_open_migrates_a_version_3_file_to_take_tasks_by_visible_time(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as version_3:
        version_3.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:3])
        SQLiteStore(db_path).close()

    SQLiteStore(db_path).close()

    assert _version(db_path) == 4
    with _raw(db_path) as db:
        indexes = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    assert ("activity_tasks_by_visible",) in indexes


def test_a_late_result_does_not_complete_a_new_task_that_got_its_id(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.create_instance(_started("i1"), now=T0, visible_at=T0)
        item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
        assert item is not None
        first = NewActivityTask(
            instance_id="i1", execution_id="i1-x1", seq=0, name="act", input=0, visible_at=T0
        )
        store.commit_episode(item, _episode(item, activities=(first,)))
        (old,) = store.take_activities(now=T0, lease=LEASE, owner="w", limit=1)
        store.complete_activity(old, TaskCompleted(timestamp=T0, seq=0, output=1), now=T0)
        item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
        assert item is not None
        second = attrs.evolve(first, seq=1)
        store.commit_episode(item, _episode(item, activities=(second,)))
        (new,) = store.take_activities(now=T0, lease=LEASE, owner="w", limit=1)
        assert new.id == old.id  # the id was used again

        late = TaskCompleted(timestamp=T0, seq=0, output="late")
        store.complete_activity(old, late, now=T0)

        assert store.take_orchestration(now=T0, lease=LEASE, owner="w") is None  # nothing new
        assert store.renew_activity(new, now=T0, lease=LEASE).seq == 1  # the new task is there


def test_open_rolls_back_failed_migration_and_keeps_old_version(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SQLiteStore(db_path).close()
    broken = "CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*sqlite_schema.MIGRATIONS, broken])

    with pytest.raises(StoreError, match=r"migrate from schema version 4 to 5 .*no_such_table"):
        SQLiteStore(db_path)

    assert _version(db_path) == 4
    with _raw(db_path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall() == []


def test_open_handles_path_with_uri_special_characters(tmp_path: Path) -> None:
    directory = tmp_path / "my runs #1 ?"
    directory.mkdir()
    path = directory / "dur able%20.db"

    with SQLiteStore(path) as store:
        store.create_instance(_started("i1"), now=T0, visible_at=T0)

    assert sorted(os.listdir(directory)) == ["dur able%20.db"]
    assert _version(path) == 4


def test_open_uses_wal_synchronous_full_and_busy_timeout_by_default(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        assert store.pragma("journal_mode") == "wal"
        assert store.pragma("synchronous") == 2  # FULL
        assert store.pragma("busy_timeout") == 30_000
    with _raw(db_path) as db:  # WAL is a property of the file, not only of the connection
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_only_lease_writes_skip_the_sync_and_the_setting_comes_back(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    statements: list[str] = []
    store._connection.set_trace_callback(statements.append)  # type: ignore[union-attr]

    def syncs(write: Any) -> list[str]:
        statements.clear()
        write()
        return [each for each in statements if each.startswith("PRAGMA synchronous")]

    relaxed = ["PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"]
    assert syncs(lambda: store.create_instance(_started("i1"), now=T0, visible_at=T0)) == []
    taken: list[Any] = []
    assert (
        syncs(lambda: taken.append(store.take_orchestration(now=T0, lease=LEASE, owner="w")))
        == relaxed
    )
    item = taken[0]
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=0, name="act", input=1, visible_at=T0
    )
    assert syncs(lambda: store.commit_episode(item, _episode(item, activities=(task,)))) == []
    assert syncs(lambda: taken.append(store.take_activity(now=T0, lease=LEASE, owner="w"))) == (
        relaxed
    )
    activity = taken[1]
    assert syncs(lambda: store.renew_activity(activity, now=T0, lease=LEASE)) == relaxed
    assert syncs(lambda: store.release_activity(activity, now=T0)) == relaxed
    assert store.pragma("synchronous") == 2  # FULL again
    store.close()


def test_a_store_set_to_normal_leaves_the_setting_alone_for_leases(db_path: Path) -> None:
    store = SQLiteStore(db_path, synchronous="NORMAL")
    statements: list[str] = []
    store._connection.set_trace_callback(statements.append)  # type: ignore[union-attr]
    store.create_instance(_started("i1"), now=T0, visible_at=T0)

    assert store.take_orchestration(now=T0, lease=LEASE, owner="w") is not None

    assert not [each for each in statements if each.startswith("PRAGMA")]
    assert store.pragma("synchronous") == 1
    store.close()


def test_open_applies_synchronous_normal_and_busy_timeout_when_given(db_path: Path) -> None:
    with SQLiteStore(db_path, synchronous="normal", busy_timeout=timedelta(seconds=2)) as store:
        assert store.pragma("synchronous") == 1  # NORMAL
        assert store.pragma("busy_timeout") == 2_000


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"synchronous": "OFF"}, "synchronous must be one of FULL, NORMAL, got 'OFF'"),
        ({"busy_timeout": timedelta(seconds=-1)}, "busy_timeout must be a non-negative"),
    ],
)
def test_open_rejects_bad_settings_before_touching_the_file(
    db_path: Path, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        SQLiteStore(db_path, **arguments)

    assert not db_path.exists()


def test_pragma_rejects_unknown_name(store: SQLiteStore) -> None:
    with pytest.raises(InvalidArgumentError, match="pragma must be one of"):
        store.pragma("table_info(instances)")


def test_store_stores_times_as_integer_microseconds(store: SQLiteStore, db_path: Path) -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    store.create_instance(_started("i1"), now=moment, visible_at=moment)

    with _raw(db_path) as db:
        row = db.execute("SELECT created_at, typeof(created_at) FROM instances").fetchone()
    assert row == (int(moment.timestamp()) * 1_000_000 + 123456, "integer")
    instance = store.get_instance("i1")
    assert instance is not None
    assert instance.created_at == moment


@pytest.mark.parametrize(
    ("query", "params", "index"),
    [
        ("PICK_ORCHESTRATION", {"now": 0}, "messages_by_visible"),
        ("PICK_ACTIVITIES", {"now": 0, "limit": 16}, "activity_tasks_by_visible"),
        ("NEXT_DUE_UNLOCKED_INSTANCE", {}, "messages_by_visible"),
        ("NEXT_DUE_LOCKED_INSTANCE", {}, "instances_by_lock"),
        ("NEXT_DUE_TASK", {}, "activity_tasks_by_available"),
        ("SELECT_VISIBLE_MESSAGES", {"instance_id": "i", "now": 0}, "messages_by_instance"),
    ],
)
def test_hot_queries_use_their_index(
    store: SQLiteStore, db_path: Path, query: str, params: dict[str, Any], index: str
) -> None:
    with _raw(db_path) as db:
        plan = " | ".join(
            row[3]
            for row in db.execute(f"EXPLAIN QUERY PLAN {getattr(sqlite_queries, query)}", params)
        )
    assert re.search(f"USING (COVERING )?INDEX {index}\\b", plan), plan


@pytest.mark.parametrize(
    ("statuses", "name", "after", "index"),
    [
        (None, None, True, "instances_by_created"),
        ({"RUNNING"}, None, False, "instances_by_status"),
        (None, "wf", False, "instances_by_name"),
    ],
)
def test_listing_uses_an_index(
    store: SQLiteStore,
    db_path: Path,
    statuses: set[str] | None,
    name: str | None,
    after: bool,
    index: str,
) -> None:
    where, params = sqlite_queries.instance_filter(
        statuses=statuses, name=name, created_from=None, created_to=None, id_prefix=None
    )
    params.update(after_created_at=0, after_id="", limit=10)
    sql = sqlite_queries.select_instances(where, after=after)
    with _raw(db_path) as db:
        plan = " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert f"USING INDEX {index}" in plan


# -- bad input: a clear error naming the path, and the file untouched ----------


def test_open_refuses_path_in_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "durable.db"

    with pytest.raises(StoreError, match=f"{path}: directory {path.parent} does not exist"):
        SQLiteStore(path)

    assert not path.parent.exists()


def test_open_refuses_directory_as_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path}: it is not a regular file"):
        SQLiteStore(tmp_path)


def test_open_refuses_text_file_and_leaves_it_untouched(db_path: Path) -> None:
    db_path.write_text("name,amount\nalice,10\n")
    before = _snapshot(db_path)

    with pytest.raises(StoreError, match=f"{db_path}: the file is not a SQLite database"):
        SQLiteStore(db_path)

    assert _snapshot(db_path) == before


def test_open_refuses_corrupt_file_with_sqlite_header(db_path: Path) -> None:
    db_path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    before = _snapshot(db_path)

    with pytest.raises(StoreError, match=f"{db_path}: file is not a database \\(it is damaged"):
        SQLiteStore(db_path)

    assert _snapshot(db_path) == before


def test_open_refuses_newer_schema_version_and_leaves_file_untouched(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    with _raw(db_path) as db:
        db.execute("UPDATE schema_version SET version = 999")
    before = _snapshot(db_path)

    with pytest.raises(
        SchemaVersionError,
        match=f"{db_path}: it has schema version 999, but this version of durable supports "
        "up to version 4; upgrade durable",
    ):
        SQLiteStore(db_path)

    assert _snapshot(db_path) == before


def test_open_refuses_database_with_unrelated_tables_and_leaves_it_untouched(
    db_path: Path,
) -> None:
    with _raw(db_path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)")
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    before = _snapshot(db_path)

    with pytest.raises(
        StoreError,
        match=f"{db_path}: it is a SQLite database with other tables \\(customers, invoices\\) "
        "and no durable schema",
    ):
        SQLiteStore(db_path)

    assert _snapshot(db_path) == before


def test_open_refuses_schema_version_table_without_one_row(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    with _raw(db_path) as db:
        db.execute("INSERT INTO schema_version VALUES (1)")
    before = _snapshot(db_path)

    with pytest.raises(StoreError, match="schema_version table should hold one integer"):
        SQLiteStore(db_path)

    assert _snapshot(db_path) == before


def test_open_refuses_read_only_file_and_leaves_it_untouched(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.create_instance(_started("i1"), now=T0, visible_at=T0)
    db_path.chmod(0o444)  # root may still write to it: the store must refuse by itself
    before = _snapshot(db_path)

    with pytest.raises(StoreError, match=f"{db_path}: the file is read-only"):
        SQLiteStore(db_path)

    assert _snapshot(db_path) == before


def test_open_refuses_file_in_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "sealed"
    directory.mkdir()
    path = directory / "durable.db"
    SQLiteStore(path).close()
    before = _snapshot(path)
    directory.chmod(0o555)  # no room for the -wal and -shm files
    try:
        with pytest.raises(StoreError, match=f"{path}: directory {directory} is read-only"):
            SQLiteStore(path)
        assert _snapshot(path) == before
    finally:
        directory.chmod(0o755)


def test_store_raises_store_error_once_closed(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    store.close()
    store.close()  # idempotent

    with pytest.raises(StoreError, match=f"SQLite store {db_path} is closed"):
        store.get_instance("i1")


# -- transactions --------------------------------------------------------------


def test_commit_that_fails_inside_its_transaction_changes_nothing(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_instance(_started("i1"), now=T0, visible_at=T0)
    item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
    assert item is not None
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=0, name="a", input=None, visible_at=T0
    )
    # The task insert runs after the messages were deleted and the history written.
    monkeypatch.setattr(sqlite_queries, "INSERT_TASK", "INSERT INTO no_such_table VALUES (:seq)")

    with pytest.raises(StoreError, match="no such table: no_such_table"):
        store.commit_episode(item, _episode(item, activities=(task,)))

    assert store.get_history("i1") == []
    assert store.take_orchestration(now=T0, lease=LEASE, owner="w") is None  # still locked
    monkeypatch.undo()
    store.commit_episode(item, _episode(item, activities=(task,)))  # the lease still holds
    assert store.get_history("i1") == [_started("i1")]


def test_write_fails_with_hint_when_another_connection_holds_the_lock(db_path: Path) -> None:
    with SQLiteStore(db_path, busy_timeout=timedelta(0)) as store, _raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(
            StoreError,
            match=f"SQLite store {db_path}: database is locked; another process held the write "
            "lock for longer than busy_timeout",
        ):
            store.create_instance(_started("i1"), now=T0, visible_at=T0)
        other.execute("ROLLBACK")
        store.create_instance(_started("i1"), now=T0, visible_at=T0)


def test_write_fails_with_hint_when_database_turned_read_only(store: SQLiteStore) -> None:
    # As root, permission bits cannot make SQLite refuse a write; query_only can.
    assert store._connection is not None
    store._connection.execute("PRAGMA query_only = 1")

    with pytest.raises(
        StoreError, match="attempt to write a readonly database; the file or its directory"
    ):
        store.create_instance(_started("i1"), now=T0, visible_at=T0)

    store._connection.execute("PRAGMA query_only = 0")
    assert store.get_instance("i1") is None


def test_purge_removes_every_row_of_the_instance(store: SQLiteStore, db_path: Path) -> None:
    store.create_instance(_started("i1"), now=T0, visible_at=T0)
    item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
    assert item is not None
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=0, name="a", input=None, visible_at=T0
    )
    store.commit_episode(item, _episode(item, activities=(task,)))
    store.send_message(
        NewMessage(instance_id="i1", event=EventRaised(timestamp=T0, name="e"), visible_at=T0)
    )
    item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
    assert item is not None
    store.commit_episode(
        item,
        _episode(item, consumed=(), history=(), status=RuntimeStatus.COMPLETED, completed_at=T0),
    )

    assert store.purge_instances(InstanceQuery(statuses=frozenset({RuntimeStatus.COMPLETED}))) == 1

    with _raw(db_path) as db:
        counts = [
            db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("instances", "history", "messages", "activity_tasks")
        ]
    assert counts == [0, 0, 0, 0]


def test_listener_runs_after_commit_outside_the_store_lock(store: SQLiteStore) -> None:
    seen: list[RuntimeStatus | None] = []

    def listener() -> None:  # reads the store from another thread, as a worker would
        reader = threading.Thread(target=lambda: seen.append(_status(store, "i1")))
        reader.start()
        reader.join(timeout=10)

    remove = store.add_listener(listener)
    store.create_instance(_started("i1"), now=T0, visible_at=T0)
    remove()
    store.send_message(
        NewMessage(instance_id="i1", event=EventRaised(timestamp=T0, name="e"), visible_at=T0)
    )

    assert seen == [RuntimeStatus.PENDING]


def _status(store: SQLiteStore, instance_id: str) -> RuntimeStatus | None:
    instance = store.get_instance(instance_id)
    return None if instance is None else instance.status


# -- several connections on one file ---------------------------------------------


def test_stale_commit_through_one_connection_raises_while_other_lock_stands(
    db_path: Path,
) -> None:
    with SQLiteStore(db_path) as first, SQLiteStore(db_path) as second:
        first.create_instance(_started("i1"), now=T0, visible_at=T0)
        mine = first.take_orchestration(now=T0, lease=LEASE, owner="first")
        assert mine is not None
        assert second.take_orchestration(now=T0 + LEASE / 2, lease=LEASE, owner="second") is None
        theirs = second.take_orchestration(now=T0 + LEASE, lease=LEASE, owner="second")
        assert theirs is not None
        assert [m.id for m in theirs.messages] == [m.id for m in mine.messages]

        with pytest.raises(LeaseLostError, match="lease on instance 'i1' was lost"):
            first.commit_episode(mine, _episode(mine))

        assert second.get_history("i1") == []
        assert first.take_orchestration(now=T0 + LEASE, lease=LEASE, owner="first") is None
        second.commit_episode(theirs, _episode(theirs))
        assert first.get_history("i1") == [_started("i1")]


def test_concurrent_opens_of_a_new_file_all_succeed(db_path: Path) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_and_write(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with SQLiteStore(db_path) as store:
                store.create_instance(_started(f"i{index}"), now=T0, visible_at=T0)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=open_and_write, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert _version(db_path) == 4
    with SQLiteStore(db_path) as store:
        page = store.list_instances(InstanceQuery())
    assert [instance.instance_id for instance in page.instances] == ["i0", "i1", "i2", "i3"]


# -- several processes on one file --------------------------------------------------

INSTANCES = 24
STEPS = 5  # activities per instance, one after the other


def test_two_processes_share_one_file_without_losing_or_duplicating_work(
    tmp_path: Path, db_path: Path
) -> None:
    with SQLiteStore(db_path) as store:
        now = datetime.now(UTC)
        for index in range(INSTANCES):
            store.create_instance(_started(f"i{index:02}", now=now), now=now, visible_at=now)

    owners = ("alpha", "beta")
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, str(db_path), str(tmp_path / f"{owner}.json"), owner],
            stderr=subprocess.PIPE,
            text=True,
        )
        for owner in owners
    ]
    errors = [worker.communicate(timeout=60)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], errors

    logs = [json.loads((tmp_path / f"{owner}.json").read_text()) for owner in owners]
    episodes = [episode for log in logs for episode in log["episodes"]]
    with SQLiteStore(db_path) as store:
        for index in range(INSTANCES):
            instance_id = f"i{index:02}"
            instance = store.get_instance(instance_id)
            assert instance is not None
            assert (instance.status, instance.output) == (RuntimeStatus.COMPLETED, STEPS)
            assert _shape(store.get_history(instance_id)) == [
                ("ExecutionStarted", None),
                *(("TaskCompleted", seq) for seq in range(STEPS)),
            ]
            windows = sorted(
                (episode["taken"], episode["committing"])
                for episode in episodes
                if episode["instance_id"] == instance_id
            )
            for (_, end), (start, _) in itertools.pairwise(windows):
                assert end <= start, f"two leases on {instance_id} overlapped"
    consumed = [message_id for episode in episodes for message_id in episode["consumed"]]
    assert len(consumed) == len(set(consumed)) == INSTANCES * (1 + STEPS)
    with _raw(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM activity_tasks").fetchone() == (0,)


def _shape(history: list[HistoryEvent]) -> list[tuple[str, int | None]]:
    return [(type(event).__name__, getattr(event, "seq", None)) for event in history]


def _worker_main(db_path: str, log_path: str, owner: str) -> None:
    """Run episodes and activities on `db_path` until every instance has finished.

    Leases are short and some steps stall past them, so leases expire and are
    taken over; some takes pretend their clock is an hour ahead, taking over
    leases that have not expired. Logged per committed episode: the monotonic
    time after the take returned and before the commit was called (system-wide
    on Linux, so comparable across processes) and the message ids consumed.
    """
    rng = random.Random(owner)
    lease = timedelta(milliseconds=30)
    log: dict[str, list[Any]] = {"episodes": [], "lost": []}
    deadline = time.monotonic() + 20
    with SQLiteStore(db_path, busy_timeout=timedelta(seconds=20)) as store:
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            take_at = now + timedelta(hours=1) if rng.random() < 0.05 else now
            busy = _run_episode(store, rng, now, take_at, lease, owner, log)
            busy = _run_activity(store, rng, now, take_at, lease, owner) or busy
            if not busy:
                if not store.list_instances(
                    InstanceQuery(statuses=_UNFINISHED, page_size=1)
                ).instances:
                    break
                time.sleep(0.002)  # bounded polling, as a worker without a listener does
        else:
            raise SystemExit(f"{owner}: instances still unfinished after 20 s")
    Path(log_path).write_text(json.dumps(log))


_UNFINISHED = frozenset({RuntimeStatus.PENDING, RuntimeStatus.RUNNING})


def _run_episode(
    store: SQLiteStore,
    rng: random.Random,
    now: datetime,
    take_at: datetime,
    lease: timedelta,
    owner: str,
    log: dict[str, list[Any]],
) -> bool:
    item = store.take_orchestration(now=take_at, lease=lease, owner=owner)
    if item is None:
        return False
    taken = time.monotonic()
    instance_id = item.instance.instance_id
    new = tuple(message.event for message in item.messages)
    done = sum(
        isinstance(event, TaskCompleted) for event in (*store.get_history(instance_id), *new)
    )
    if rng.random() < 0.1:
        time.sleep(0.04)  # a slow episode: the lease runs out meanwhile
    finished = done == STEPS
    task = NewActivityTask(
        instance_id=instance_id,
        execution_id=item.instance.execution_id,
        seq=done,
        name="step",
        input=done,
        visible_at=now,
    )
    commit = EpisodeCommit(
        consumed=tuple(message.id for message in item.messages),
        history=new,
        status=RuntimeStatus.COMPLETED if finished else RuntimeStatus.RUNNING,
        output=done if finished else None,
        updated_at=now,
        completed_at=now if finished else None,
        execution_id=item.instance.execution_id,
        activities=() if finished else (task,),
        clear_inbox=finished,
    )
    committing = time.monotonic()
    try:
        store.commit_episode(item, commit)
    except LeaseLostError:
        log["lost"].append(instance_id)
        return True
    log["episodes"].append(
        {
            "instance_id": instance_id,
            "taken": taken,
            "committing": committing,
            "consumed": list(commit.consumed),
        }
    )
    return True


def _run_activity(
    store: SQLiteStore,
    rng: random.Random,
    now: datetime,
    take_at: datetime,
    lease: timedelta,
    owner: str,
) -> bool:
    task = store.take_activity(now=take_at, lease=lease, owner=owner)
    if task is None:
        return False
    if rng.random() < 0.1:
        time.sleep(0.04)  # a slow activity: another worker may run it too
    result = TaskCompleted(timestamp=now, seq=task.seq, output=task.input)
    store.complete_activity(task, result, now=datetime.now(UTC))
    return True


if __name__ == "__main__":
    _worker_main(*sys.argv[1:4])
