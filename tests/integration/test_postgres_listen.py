"""`PostgresStore.add_listener` across stores and processes: LISTEN/NOTIFY wakes idle workers.

Notifications arrive in commit order, so a test that waits for the
notification of a later commit knows that an earlier one would have arrived
before it: that is how these tests show that something was *not* notified,
without sleeping.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from durable import App, Client, OrchestrationContext, Worker
from durable._model.events import EventRaised, ExecutionStarted
from durable._model.status import RuntimeStatus
from durable._store.postgres import PostgresStore
from durable._store.protocol import EpisodeCommit, NewMessage, OrchestrationWorkItem
from durable.errors import LeaseLostError
from tests.integration.test_postgres_support import Scratch, scratch_schema, with_params

T0 = datetime(2030, 1, 1, tzinfo=UTC)
WAIT = 20.0  # seconds; a test that waits this long has failed
LEASE = timedelta(minutes=5)


class Calls:
    """A listener that counts its calls and lets a test wait for a count."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_for(self, count: int) -> int:
        """Wait until called `count` times (or fail); the count then."""
        with self._changed:
            reached = self._changed.wait_for(lambda: self.count >= count, timeout=WAIT)
            assert reached, f"the listener was called {self.count} times, not {count}"
            return self.count


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    """A fresh schema for the test, dropped afterwards."""
    with scratch_schema() as fresh:
        yield fresh


def _create(store: PostgresStore, instance_id: str) -> None:
    started = ExecutionStarted(
        timestamp=T0, name="wf", instance_id=instance_id, execution_id=f"{instance_id}-x1"
    )
    store.create_instance(started, now=T0, visible_at=T0)


def _listener_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("durable-listen-")]


def test_add_listener_hears_commits_of_another_store(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as listening, PostgresStore(scratch.url) as other:
        calls = Calls()
        listening.add_listener(calls)

        _create(other, "i1")

        assert calls.wait_for(1) == 1


def test_add_listener_hears_commits_of_another_process(scratch: Scratch) -> None:
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from durable._model.events import ExecutionStarted\n"
        "from durable._store.postgres import PostgresStore\n"
        "t0 = datetime(2030, 1, 1, tzinfo=UTC)\n"
        "with PostgresStore(sys.argv[1]) as store:\n"
        "    store.create_instance(ExecutionStarted(timestamp=t0, name='wf', instance_id='p1',\n"
        "        execution_id='p1-x1'), now=t0, visible_at=t0)\n"
    )
    with PostgresStore(scratch.url) as listening:
        calls = Calls()
        listening.add_listener(calls)

        subprocess.run([sys.executable, "-c", script, scratch.url], check=True, timeout=60)

        assert calls.wait_for(1) == 1
        assert listening.get_instance("p1") is not None


def test_add_listener_hears_own_commits_once(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as listening, PostgresStore(scratch.url) as other:
        calls = Calls()
        listening.add_listener(calls)
        _create(listening, "own")
        assert calls.count == 1  # at once, on this thread

        _create(other, "theirs")  # notified after "own": its notification would come first

        assert calls.wait_for(2) == 2


def test_add_listener_hears_nothing_of_a_commit_that_failed(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as listening, PostgresStore(scratch.url) as other:
        _create(other, "i1")
        stale = other.take_orchestration(now=T0, lease=timedelta(seconds=1), owner="w1")
        assert stale is not None
        current = other.take_orchestration(now=T0 + timedelta(seconds=1), lease=LEASE, owner="w2")
        assert current is not None
        calls = Calls()
        listening.add_listener(calls)

        with pytest.raises(LeaseLostError):
            other.commit_episode(stale, _episode(stale))
        other.release_orchestration(stale)  # a lease already lost: no change, no notification
        other.send_message(NewMessage(instance_id="i1", event=_raised(), visible_at=T0))

        assert calls.wait_for(1) == 1


def test_add_listener_hears_nothing_from_other_schemas(scratch: Scratch) -> None:
    with (
        scratch_schema() as elsewhere,
        PostgresStore(scratch.url) as listening,
        PostgresStore(elsewhere.url) as unrelated,
        PostgresStore(scratch.url) as other,
    ):
        calls = Calls()
        listening.add_listener(calls)

        _create(unrelated, "i1")
        _create(other, "i2")

        assert calls.wait_for(1) == 1


def test_add_listener_remover_stops_calls_from_other_stores(scratch: Scratch) -> None:
    with PostgresStore(scratch.url) as listening, PostgresStore(scratch.url) as other:
        removed, kept = Calls(), Calls()
        remove = listening.add_listener(removed)
        listening.add_listener(kept)
        remove()

        _create(other, "i1")

        assert kept.wait_for(1) == 1
        assert removed.count == 0


def test_add_listener_reconnects_and_calls_back_when_connection_is_lost(scratch: Scratch) -> None:
    name = f"durable-{scratch.schema}"
    with (
        PostgresStore(with_params(scratch.url, application_name=name)) as listening,
        PostgresStore(scratch.url) as other,
    ):
        calls = Calls()
        listening.add_listener(calls)

        scratch.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND query LIKE 'LISTEN%%'",
            name,
        )
        assert calls.wait_for(1) == 1  # reconnected: notifications may have been missed
        _create(other, "i1")

        assert calls.wait_for(2) == 2


def test_close_stops_the_listening_thread(scratch: Scratch) -> None:
    before = set(_listener_threads())
    store = PostgresStore(scratch.url)
    store.add_listener(Calls())
    started = set(_listener_threads()) - before
    assert len(started) == 1

    store.close()

    assert not any(thread.is_alive() for thread in started)


def test_worker_runs_work_started_through_another_store(scratch: Scratch) -> None:
    app = App()

    @app.activity
    def double(value: int) -> int:
        return value * 2

    @app.orchestrator
    def twice(ctx: OrchestrationContext, value: int):  # type: ignore[no-untyped-def]
        return (yield ctx.call_activity(double, value))

    with PostgresStore(scratch.url) as worker_store, PostgresStore(scratch.url) as client_store:
        client = Client(client_store, app=app)
        with Worker(app, worker_store, poll_interval=timedelta(minutes=10)):
            instance_id = client.start(twice, 21)
            status = client.wait(instance_id, timeout=timedelta(seconds=WAIT))

    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, 42)


def _raised() -> EventRaised:
    return EventRaised(timestamp=T0, name="e")


def _episode(item: OrchestrationWorkItem) -> EpisodeCommit:
    return EpisodeCommit(
        consumed=tuple(message.id for message in item.messages),
        history=tuple(message.event for message in item.messages),
        status=RuntimeStatus.RUNNING,
        updated_at=T0,
        execution_id=item.instance.execution_id,
    )
