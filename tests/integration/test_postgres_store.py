"""`PostgresStore` on a real server: opening, migrating, bad input, what the contract cannot see.

The store contract suite checks the store's semantics; these tests check
what only a shared server shows: the schema and its version table, many
processes opening one store at once, errors that name the URL without its
password, the stored encodings, and concurrent takers and committers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from durable._model.events import EventRaised, ExecutionStarted, TaskCompleted
from durable._model.status import RuntimeStatus
from durable._store import postgres_connections
from durable._store.postgres import PostgresStore
from durable._store.postgres_schema import parse_url, redact_url, supported_version
from durable._store.protocol import (
    EpisodeCommit,
    InstanceQuery,
    InstanceStart,
    NewActivityTask,
    NewMessage,
    OrchestrationWorkItem,
)
from durable.errors import (
    InstanceExistsError,
    InvalidArgumentError,
    LeaseLostError,
    SchemaVersionError,
    StoreError,
)
from tests.integration.test_postgres_support import (
    Scratch,
    postgres_url,
    scratch_schema,
    with_params,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)
TABLES = ["activity_tasks", "history", "instances", "messages", "schema_version"]


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    """A fresh schema for the test, dropped afterwards."""
    with scratch_schema() as fresh:
        yield fresh


@pytest.fixture
def store(scratch: Scratch) -> Iterator[PostgresStore]:
    """A store in the test's schema."""
    with PostgresStore(scratch.url) as opened:
        yield opened


def _started(instance_id: str = "i1", input: object = None) -> ExecutionStarted:
    return ExecutionStarted(
        timestamp=T0,
        name="wf",
        instance_id=instance_id,
        execution_id=f"{instance_id}-x1",
        input=input,
    )


def _create(store: PostgresStore, instance_id: str = "i1", input: object = None) -> None:
    store.create_instance(_started(instance_id, input), now=T0, visible_at=T0)


def _tables(scratch: Scratch) -> list[str]:
    rows = scratch.sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        scratch.schema,
    )
    return [row[0] for row in rows]


def _password_url(scratch: Scratch, password: str) -> str:
    """The scratch store's URL with a password in it (trust auth ignores it)."""
    return scratch.url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)


# -- opening and migrating -------------------------------------------------------


def test_postgres_store_creates_schema_tables_and_version_when_missing(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as store:
        assert (store.schema, store.url) == (scratch.schema, redact_url(scratch.url))

    assert _tables(scratch) == TABLES
    assert scratch.sql("SELECT version FROM {schema}.schema_version") == [(supported_version(),)]


def test_postgres_store_takes_schema_from_argument(scratch: Scratch) -> None:
    with PostgresStore(scratch.server_url, schema=scratch.schema) as store:
        _create(store)

    with PostgresStore(scratch.url) as again:
        assert again.get_instance("i1") is not None


def test_postgres_store_reopens_existing_store_without_changing_it(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as store:
        _create(store, input={"kept": True})

    with PostgresStore(scratch.url) as again:
        status = again.get_instance("i1")

    assert status is not None
    assert status.input == {"kept": True}
    assert scratch.sql("SELECT version FROM {schema}.schema_version") == [(supported_version(),)]


def test_postgres_store_migrates_once_when_many_open_at_once(scratch: Scratch) -> None:
    barrier = threading.Barrier(8)

    def open_store(_: int) -> str:
        barrier.wait(timeout=30)
        with PostgresStore(scratch.url, min_connections=0) as store:
            return store.schema

    with ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(open_store, range(8)))

    assert opened == [scratch.schema] * 8
    assert _tables(scratch) == TABLES
    assert scratch.sql("SELECT version FROM {schema}.schema_version") == [(supported_version(),)]


def test_postgres_store_refuses_newer_schema_version_and_changes_nothing(scratch: Scratch) -> None:
    PostgresStore(scratch.url).close()
    scratch.sql("UPDATE {schema}.schema_version SET version = 99")
    url = _password_url(scratch, "s3cret")

    with pytest.raises(SchemaVersionError) as caught:
        PostgresStore(url)

    message = str(caught.value)
    assert "s3cret" not in message
    assert redact_url(url) in message
    assert f"schema {scratch.schema!r} has schema version 99" in message
    assert f"supports up to version {supported_version()}; upgrade durable" in message
    assert _tables(scratch) == TABLES
    assert scratch.sql("SELECT version FROM {schema}.schema_version") == [(99,)]


def test_postgres_store_refuses_schema_holding_other_tables(scratch: Scratch) -> None:
    scratch.sql(f"CREATE SCHEMA {scratch.schema}")
    scratch.sql("CREATE TABLE {schema}.orders (id int)")

    with pytest.raises(StoreError, match=r"holds other tables \(orders\) and no durable"):
        PostgresStore(scratch.url)

    assert _tables(scratch) == ["orders"]


def test_postgres_store_refuses_missing_store_when_not_to_create(scratch: Scratch) -> None:
    with pytest.raises(StoreError, match=f"schema {scratch.schema!r} holds no durable store"):
        PostgresStore(scratch.url, create=False)

    assert _tables(scratch) == []
    PostgresStore(scratch.url).close()
    PostgresStore(scratch.url, create=False).close()


def test_postgres_store_uses_an_existing_empty_schema(scratch: Scratch) -> None:
    scratch.sql(f"CREATE SCHEMA {scratch.schema}")

    PostgresStore(scratch.url).close()

    assert _tables(scratch) == TABLES


# -- bad input -------------------------------------------------------------------


def test_postgres_store_names_url_without_password_when_server_unreachable() -> None:
    url = "postgresql://durable:s3cret@127.0.0.1:1/nothing"

    with pytest.raises(StoreError) as caught:
        PostgresStore(url, connect_timeout=timedelta(seconds=2))

    message = str(caught.value)
    assert message.startswith(
        "cannot open PostgreSQL store postgresql://durable:***@127.0.0.1:1/nothing: "
    )
    assert "s3cret" not in message
    assert message.endswith(
        "; is the server running, and accepting TCP connections at that host and port?"
    )


def test_postgres_store_names_url_without_password_when_login_refused() -> None:
    server = parse_url(postgres_url())
    url = server.conninfo.replace("://postgres@", "://no_such_role_x:s3cret@", 1)
    if url == server.conninfo:
        pytest.skip("the test URL does not log in as postgres@")

    with pytest.raises(StoreError) as caught:
        PostgresStore(url)

    message = str(caught.value)
    assert "s3cret" not in message
    assert redact_url(url) in message
    assert 'role "no_such_role_x" does not exist' in message
    assert message.endswith("; check the user name, and pg_hba.conf on the server")


def test_postgres_store_names_database_when_it_does_not_exist() -> None:
    server = postgres_url()
    url = server.rsplit("/", 1)[0] + "/no_such_database_x"

    with pytest.raises(StoreError, match="create the database first") as caught:
        PostgresStore(url)

    assert 'database "no_such_database_x" does not exist' in str(caught.value)


def test_postgres_store_says_what_to_grant_when_user_may_not_create(scratch: Scratch) -> None:
    role = f"durable_{scratch.schema}"
    scratch.sql(f"CREATE ROLE {role} LOGIN")
    try:
        url = scratch.url.replace("://postgres@", f"://{role}@", 1)

        with pytest.raises(StoreError) as caught:
            PostgresStore(url)
    finally:
        scratch.sql(f"DROP ROLE {role}")

    message = str(caught.value)
    assert message.startswith(f"cannot open PostgreSQL store {redact_url(url)}: ")
    assert "permission denied" in message
    assert message.endswith(
        "; the user lacks a privilege: grant it CREATE on the database (or create the "
        "schema for it), and USAGE and CREATE on the schema"
    )
    assert _tables(scratch) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:pw@host/db", r"'mysql://u:\*\*\*@host/db' is not a PostgreSQL URL"),
        ("host=localhost password=pw", "is not a PostgreSQL URL"),
        ("postgresql://h/db?schema=Bad-Name", "schema name 'Bad-Name' in store URL"),
        ("postgresql://h/db?schema=a&schema=b", "names a schema more than once"),
    ],
    ids=["scheme", "conninfo", "schema-name", "two-schemas"],
)
def test_postgres_store_rejects_bad_url(url: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        PostgresStore(url)


def test_postgres_store_rejects_conflicting_schemas() -> None:
    with pytest.raises(InvalidArgumentError, match="'a' and the URL's schema 'b' differ"):
        PostgresStore("postgresql://h/db?schema=b", schema="a")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_connections": -1}, "min_connections must be an int of at least 0"),
        ({"max_connections": 0}, "max_connections must be an int of at least 1"),
        ({"min_connections": 5, "max_connections": 2}, "max_connections must be .* at least 5"),
        ({"connect_timeout": timedelta(0)}, "connect_timeout must be a positive timedelta"),
    ],
    ids=["min", "max", "min-above-max", "timeout"],
)
def test_postgres_store_rejects_bad_limits(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        PostgresStore("postgresql://h/db", **options)  # type: ignore[arg-type]


def test_redact_url_masks_password_in_user_part_and_query() -> None:
    assert redact_url("postgresql://u:p%40ss@h:5432/db?password=x&sslmode=require") == (
        "postgresql://u:***@h:5432/db?password=***&sslmode=require"
    )
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_parse_url_passes_libpq_parameters_on_and_keeps_schema() -> None:
    parsed = parse_url("postgres://u:pw@h/db?sslmode=disable&schema=tenant_1&options=-c%20x%3Dy")

    assert (parsed.conninfo, parsed.schema, parsed.display) == (
        "postgres://u:pw@h/db?sslmode=disable&options=-c%20x%3Dy",
        "tenant_1",
        "postgres://u:***@h/db?sslmode=disable&schema=tenant_1&options=-c%20x%3Dy",
    )


def test_postgres_store_fails_clearly_once_closed(scratch: Scratch) -> None:
    store = PostgresStore(scratch.url)
    store.close()
    store.close()  # idempotent

    with pytest.raises(StoreError, match=r"PostgreSQL store .* is closed"):
        store.get_instance("i1")


# -- stored encodings ------------------------------------------------------------


def test_postgres_store_keeps_json_text_and_key_order_exactly(
    store: PostgresStore, scratch: Scratch
) -> None:
    value = {"zeta": 1, "alpha": [2**70, 0.1, -0.0], "mid": {"b": None, "a": "ü"}}
    _create(store, input=value)

    status = store.get_instance("i1")

    assert status is not None
    assert status.input == value
    assert list(status.input) == ["zeta", "alpha", "mid"]
    assert list(status.input["mid"]) == ["b", "a"]
    assert scratch.sql("SELECT input FROM {schema}.instances") == [
        ('{"zeta":1,"alpha":[1180591620717411303424,0.1,-0.0],"mid":{"b":null,"a":"ü"}}',)
    ]


def test_postgres_store_keeps_times_as_utc_microseconds(
    store: PostgresStore, scratch: Scratch
) -> None:
    visible_at = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    store.create_instance(_started(), now=T0, visible_at=visible_at)

    assert scratch.sql("SELECT visible_at FROM {schema}.messages") == [(1893499200123456,)]
    assert store.next_due(now=T0) == visible_at


def test_postgres_store_sorts_ids_by_code_point(store: PostgresStore) -> None:
    for instance_id in ["b", "B", "a", "_", "ä"]:
        _create(store, instance_id)

    page = store.list_instances(InstanceQuery())

    assert [status.instance_id for status in page.instances] == ["B", "_", "a", "b", "ä"]


# -- concurrency -----------------------------------------------------------------


def test_postgres_store_concurrent_takers_never_share_an_instance(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as first, PostgresStore(scratch.url) as second:
        for index in range(60):
            _create(first, f"i{index:02d}")

        def drain(store: PostgresStore) -> list[str]:
            taken = []
            while (item := store.take_orchestration(now=T0, lease=LEASE, owner="w")) is not None:
                taken.append(item.instance.instance_id)
            return taken

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(drain, [first, second] * 3))

    taken = [instance_id for result in results for instance_id in result]
    assert sorted(taken) == [f"i{index:02d}" for index in range(60)]


def test_postgres_store_concurrent_takers_never_share_a_task(store: PostgresStore) -> None:
    _create(store)
    item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
    assert item is not None
    tasks = tuple(
        NewActivityTask(
            instance_id="i1", execution_id="i1-x1", seq=seq, name="a", input=seq, visible_at=T0
        )
        for seq in range(60)
    )
    store.commit_episode(item, _episode(item, activities=tasks))

    def drain(_: int) -> list[int]:
        taken = []
        while (work := store.take_activity(now=T0, lease=LEASE, owner="a")) is not None:
            taken.append(work.seq)
        return taken

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(drain, range(6)))

    assert sorted(seq for result in results for seq in result) == list(range(60))


def test_postgres_store_commits_messages_all_ways_without_loss_or_deadlock(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deadlock would be broken by the server and retried: make it an error instead.
    monkeypatch.setattr(postgres_connections, "_RETRYABLE", (psycopg.errors.UniqueViolation,))
    ids = ["a", "b", "c", "d"]
    for instance_id in ids:
        _create(store, instance_id)
    commits_per_thread = 25

    def work(thread: int) -> None:
        # Each commit locks its own row and all three others: commits of different
        # instances lock overlapping rows at once, in every order of arrival.
        for number in range(commits_per_thread):
            while (item := store.take_orchestration(now=T0, lease=LEASE, owner="w")) is None:
                pass
            me = item.instance.instance_id
            sent = tuple(
                NewMessage(instance_id=other, event=_raised(f"{thread}.{number}"), visible_at=T0)
                for other in ids
                if other != me
            )
            store.commit_episode(item, _episode(item, messages=sent))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    while (item := store.take_orchestration(now=T0, lease=LEASE, owner="w")) is not None:
        store.commit_episode(item, _episode(item))

    received = [
        event.name
        for instance_id in ids
        for event in store.get_history(instance_id)
        if isinstance(event, EventRaised)
    ]
    sent = [f"{thread}.{number}" for thread in range(4) for number in range(commits_per_thread)]
    assert sorted(received) == sorted(sent * 3)


def test_postgres_store_commit_from_other_store_loses_lease_after_takeover(
    scratch: Scratch,
) -> None:
    with PostgresStore(scratch.url) as first, PostgresStore(scratch.url) as second:
        _create(first)
        stale = first.take_orchestration(now=T0, lease=timedelta(seconds=10), owner="w1")
        assert stale is not None
        current = second.take_orchestration(now=T0 + timedelta(seconds=10), lease=LEASE, owner="w2")
        assert current is not None

        with pytest.raises(LeaseLostError, match="'i1'"):
            first.commit_episode(stale, _episode(stale))

        second.commit_episode(current, _episode(current))
        assert second.get_history("i1") == [_started()]


def _raised(name: str) -> EventRaised:
    return EventRaised(timestamp=T0, name=name)


def _episode(item: OrchestrationWorkItem, **fields: object) -> EpisodeCommit:
    values: dict[str, object] = {
        "consumed": tuple(message.id for message in item.messages),
        "history": tuple(message.event for message in item.messages),
        "status": RuntimeStatus.RUNNING,
        "updated_at": T0,
        "execution_id": item.instance.execution_id,
    }
    return EpisodeCommit(**(values | fields))  # type: ignore[arg-type]


def test_postgres_store_result_completed_twice_is_delivered_once(store: PostgresStore) -> None:
    _create(store)
    item = store.take_orchestration(now=T0, lease=LEASE, owner="w")
    assert item is not None
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=1, name="a", input=None, visible_at=T0
    )
    store.commit_episode(item, _episode(item, activities=(task,)))
    work = store.take_activity(now=T0, lease=LEASE, owner="a")
    assert work is not None
    result = TaskCompleted(timestamp=T0, seq=1, output="done")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: store.complete_activity(work, result, now=T0), range(4)))

    taken = store.take_orchestration(now=T0, lease=LEASE, owner="w")
    assert taken is not None
    assert [message.event for message in taken.messages] == [result]


def test_postgres_store_error_names_url_when_connection_breaks(scratch: Scratch) -> None:
    name = f"durable-{scratch.schema}"
    url = with_params(scratch.url, application_name=name)
    with PostgresStore(url, min_connections=1, max_connections=1) as store:
        _create(store)
        scratch.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            name,
        )

        with pytest.raises(StoreError, match=r"^PostgreSQL store postgresql://"):
            store.get_instance("i1")

        assert store.get_instance("i1") is not None  # the pool replaced the broken connection


def test_postgres_store_url_may_carry_libpq_options(scratch: Scratch) -> None:
    url = with_params(scratch.url, application_name="durable-test-app")

    with PostgresStore(url) as store:
        _create(store)
        names = scratch.sql(
            "SELECT DISTINCT application_name FROM pg_stat_activity "
            "WHERE application_name LIKE 'durable%%'"
        )

    assert ("durable-test-app",) in names


# -- the test server -------------------------------------------------------------


def test_postgres_url_fails_instead_of_skipping_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURABLE_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match=r"CI=true but .* is not set"):
        postgres_url()


def test_postgres_url_skips_outside_ci_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURABLE_TEST_POSTGRES_URL", raising=False)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match=r"set \$DURABLE_TEST_POSTGRES_URL"):
        postgres_url()


def test_two_batches_of_the_same_ids_in_opposite_orders_do_not_deadlock(
    scratch: Scratch, store: PostgresStore
) -> None:
    ids = [f"batch-{index:03}" for index in range(200)]
    outcomes: dict[str, tuple[object, ...]] = {}
    with PostgresStore(scratch.url) as other:

        def create(name: str, into: PostgresStore, order: list[str]) -> None:
            starts = [
                InstanceStart(started=_started(each), now=T0, visible_at=T0) for each in order
            ]
            outcomes[name] = into.create_instances(starts)

        with ThreadPoolExecutor(2) as pool:
            forward = pool.submit(create, "forward", store, ids)
            backward = pool.submit(create, "backward", other, ids[::-1])
            forward.result()
            backward.result()

    made = [outcome is None for outcome in (*outcomes["forward"], *outcomes["backward"])]
    assert made.count(True) == len(ids)  # each id made once, refused once, none failed
    refused = [o for o in (*outcomes["forward"], *outcomes["backward"]) if o is not None]
    assert all(isinstance(error, InstanceExistsError) for error in refused)
    assert [store.get_instance(each) is not None for each in ids] == [True] * len(ids)


def test_a_batch_gives_its_outcomes_in_the_callers_order(store: PostgresStore) -> None:
    _create(store, "b-running")
    starts = [
        InstanceStart(started=_started(each), now=T0, visible_at=T0)
        for each in ("z-new", "b-running", "a-new", "z-new")
    ]

    outcomes = store.create_instances(starts)

    assert [None if o is None else o.instance_id for o in outcomes] == [
        None,
        "b-running",
        None,
        "z-new",
    ]
