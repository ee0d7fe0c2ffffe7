"""`run_worker`: a worker-only process against a store URL, stopped by SIGTERM or SIGINT."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from durable import App, Client, RuntimeStatus
from durable._store.postgres import PostgresStore
from durable._worker.entry import load_app, run_worker
from durable.errors import InvalidArgumentError, StoreError
from tests.integration import test_postgres_support as support
from tests.integration.test_postgres_support import Scratch, scratch_schema, wait_until

APP_SPEC = f"{support.__file__}:app"
SCRIPT = """
import logging, sys
from datetime import timedelta
from durable._worker.entry import run_worker
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
run_worker(sys.argv[1], sys.argv[2], lease=timedelta(seconds=2), worker_id="entry")
"""


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    """A fresh schema for the test, dropped afterwards."""
    with scratch_schema() as fresh:
        yield fresh


def _spawn(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, APP_SPEC, url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _exit(process: subprocess.Popen[str]) -> str:
    """Wait for the process to end; its stderr, after checking that it exited 0."""
    try:
        _, errors = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, errors
    return errors


def _tasks(scratch: Scratch) -> list[tuple[str, bool]]:
    rows = scratch.sql("SELECT name, lock_token IS NOT NULL FROM {schema}.activity_tasks")
    return [(str(name), bool(leased)) for name, leased in rows]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_worker_runs_work_until_signalled_then_exits_cleanly(
    scratch: Scratch, stop: signal.Signals
) -> None:
    process = _spawn(scratch.url)
    with PostgresStore(scratch.url) as store:
        client = Client(store, app=support.app)
        instance_id = client.start(support.chain_then_fan_out, {"start": 1})
        status = client.wait(instance_id, timeout=timedelta(seconds=60))
    process.send_signal(stop)

    errors = _exit(process)

    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, support.expected_output(1))
    assert f"worker entry got {stop.name}: stopping gracefully" in errors
    assert "INFO worker entry stopped" in errors
    assert "s3cret" not in errors


def test_run_worker_lets_running_activity_finish_on_graceful_stop(scratch: Scratch) -> None:
    process = _spawn(scratch.url)
    with PostgresStore(scratch.url) as store:
        Client(store, app=support.app).start(
            support.chain_then_fan_out, {"start": 1, "pause_ms": 500}
        )
        wait_until(lambda: ("square", True) in _tasks(scratch), what="a running fan-out")
        process.send_signal(signal.SIGTERM)

        _exit(process)

        assert ("square", True) not in _tasks(scratch)  # finished and delivered, none abandoned
        assert len(_tasks(scratch)) < support.FAN_OUT


def test_run_worker_gives_leases_back_at_once_on_second_signal(scratch: Scratch) -> None:
    process = _spawn(scratch.url)
    with PostgresStore(scratch.url) as store:
        Client(store, app=support.app).start(
            support.chain_then_fan_out, {"start": 1, "pause_ms": 1500}
        )
        wait_until(lambda: ("square", True) in _tasks(scratch), what="a running fan-out")
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGINT)

        wait_until(lambda: ("square", True) not in _tasks(scratch), limit=1, what="released leases")
        errors = _exit(process)

    # Both signals are pending at once and Linux delivers the lower number first,
    # so either may be "the second": what matters is that the second abandons.
    assert re.search(r"worker entry got SIG(INT|TERM) again: abandoning its work", errors)
    assert _tasks(scratch) == [("square", False)] * support.FAN_OUT


def test_run_worker_refuses_app_spec_without_attribute() -> None:
    with pytest.raises(InvalidArgumentError, match="must be given as module:attribute"):
        run_worker("just_a_module", "postgresql://h/db")


def test_run_worker_names_module_it_cannot_import() -> None:
    with pytest.raises(InvalidArgumentError, match="cannot import 'no_such_module_x' for app"):
        run_worker("no_such_module_x:app", "postgresql://h/db")


def test_load_app_refuses_attribute_that_is_not_an_app() -> None:
    with pytest.raises(InvalidArgumentError, match=r"is a int, not a durable\.App"):
        load_app(f"{support.__file__}:CHAIN")


def test_load_app_loads_app_from_file_path() -> None:
    assert isinstance(load_app(APP_SPEC), App)
    assert "chain_then_fan_out" in load_app(APP_SPEC).orchestrator_names


def test_run_worker_refuses_negative_stop_timeout() -> None:
    with pytest.raises(InvalidArgumentError, match="stop_timeout must be zero or more"):
        run_worker(support.app, "postgresql://h/db", stop_timeout=timedelta(seconds=-1))


def test_run_worker_refuses_memory_store() -> None:
    with pytest.raises(InvalidArgumentError, match="in-memory store, which a worker process"):
        run_worker(support.app, "memory://")


def test_run_worker_names_unreachable_store_without_password() -> None:
    with pytest.raises(StoreError) as caught:
        run_worker(support.app, "postgresql://u:s3cret@127.0.0.1:1/db")

    assert "postgresql://u:***@127.0.0.1:1/db" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_run_worker_refuses_to_run_outside_the_main_thread() -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_worker(support.app, "postgresql://h/db")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=10)

    assert len(errors) == 1
    assert isinstance(errors[0], InvalidArgumentError)
    assert "must run in the main thread" in str(errors[0])


def test_run_worker_runs_against_sqlite_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    process = _spawn(url)
    from durable.stores import SQLiteStore

    with SQLiteStore(tmp_path / "durable.db") as store:
        client = Client(store, app=support.app)
        instance_id = client.start(support.chain_then_fan_out, {"start": 2})
        status = client.wait(instance_id, timeout=timedelta(seconds=60))
    process.send_signal(signal.SIGTERM)

    _exit(process)
    assert status.output == support.expected_output(2)
