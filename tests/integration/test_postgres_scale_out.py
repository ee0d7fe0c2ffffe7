"""Worker processes sharing one PostgreSQL store: scale-out, and a worker killed mid-run.

Each worker is `test_postgres_support.py` run as a script: a real `Worker` in
its own process with short leases and a long idle poll (30 s), so that idle
workers are woken by LISTEN/NOTIFY or by lease expiry, not by polling. It
logs every committed episode with its pid and the history length it started
from and left, and every activity run to a side-effect file.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable import Client, RuntimeStatus
from durable._engine.replay import replay
from durable._store.postgres import PostgresStore
from durable._store.protocol import InstanceQuery
from durable.history import ExecutionCompleted, TaskCompleted, TaskScheduled
from tests.integration import test_postgres_support as support
from tests.integration.test_postgres_support import Scratch, scratch_schema, wait_until

SUPPORT = Path(support.__file__)
FINISHED = {RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED}
UNFINISHED = set(RuntimeStatus) - FINISHED
ACTIVITIES = support.CHAIN + support.FAN_OUT


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    """A fresh schema for the test, dropped afterwards."""
    with scratch_schema() as fresh:
        yield fresh


def _spawn(scratch: Scratch, tmp_path: Path, worker_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(SUPPORT),
            scratch.url,
            str(tmp_path / "episodes.jsonl"),
            str(tmp_path / "side-effects.txt"),
            "--worker-id",
            worker_id,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _start(client: Client, count: int, **shape: int) -> list[str]:
    return [
        client.start(
            support.chain_then_fan_out, {"start": index, **shape}, instance_id=f"i{index:04d}"
        )
        for index in range(count)
    ]


def _all_finished(store: PostgresStore) -> bool:
    unfinished = InstanceQuery(statuses=frozenset(UNFINISHED), page_size=1)
    return not store.list_instances(unfinished).instances


def _finished(store: PostgresStore, at_least: int) -> bool:
    finished = InstanceQuery(statuses=frozenset(FINISHED), page_size=at_least)
    return len(store.list_instances(finished).instances) >= at_least


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker; each must stop gracefully and exit 0."""
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            _, errors = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, errors.decode()


def _assert_completed_once(client: Client, ids: list[str]) -> None:
    """Every instance completed with the right output, every activity result in its history."""
    definition = support.app.find_orchestrator("chain_then_fan_out")
    for index, instance_id in enumerate(ids):
        status = client.status(instance_id)
        assert (status.status, status.output) == (
            RuntimeStatus.COMPLETED,
            support.expected_output(index),
        ), instance_id
        history = client.history(instance_id)
        assert sum(isinstance(event, ExecutionCompleted) for event in history) == 1
        scheduled = [event.seq for event in history if isinstance(event, TaskScheduled)]
        completed = [event.seq for event in history if isinstance(event, TaskCompleted)]
        assert sorted(scheduled) == sorted(completed) == list(range(ACTIVITIES)), instance_id
        decision = replay(definition, history, registry=support.app)
        assert (decision.status, decision.failure, decision.actions) == (
            RuntimeStatus.COMPLETED,
            None,
            (),
        )


def _assert_every_activity_ran(tmp_path: Path, ids: list[str]) -> Counter[str]:
    runs = Counter((tmp_path / "side-effects.txt").read_text().splitlines())
    expected = {
        f"{instance_id} {kind} {index}"
        for instance_id in ids
        for kind, count in (("chain", support.CHAIN), ("fan", support.FAN_OUT))
        for index in range(count)
    }
    assert expected <= set(runs), sorted(expected - set(runs))[:5]
    return runs


def test_postgres_four_worker_processes_complete_each_instance_exactly_once(
    scratch: Scratch, tmp_path: Path
) -> None:
    count = 1000
    with PostgresStore(scratch.url) as store:
        client = Client(store, app=support.app)
        workers = [_spawn(scratch, tmp_path, f"w{number}") for number in range(4)]
        try:
            ids = _start(client, count)
            wait_until(lambda: _all_finished(store), limit=240, what="1000 instances")
        finally:
            _stop(workers)

        _assert_completed_once(client, ids)
        _assert_every_activity_ran(tmp_path, ids)
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert {episode["pid"] for episode in episodes} == {process.pid for process in workers}
    chains: dict[str, list[tuple[int, int]]] = {}
    for episode in episodes:
        chains.setdefault(episode["instance"], []).append((episode["from"], episode["to"]))
    assert sorted(chains) == ids
    for instance_id, steps in chains.items():
        # Each committed episode started from exactly the history the previous one
        # left: no two episodes of one instance ever worked on the same state.
        steps.sort()
        assert steps[0][0] == 0, instance_id
        assert all(before[1] == after[0] for before, after in itertools.pairwise(steps)), steps


def test_postgres_worker_killed_mid_run_loses_nothing(scratch: Scratch, tmp_path: Path) -> None:
    count = 120
    with PostgresStore(scratch.url) as store:
        client = Client(store, app=support.app)
        victim = _spawn(scratch, tmp_path, "victim")
        others = [_spawn(scratch, tmp_path, f"w{number}") for number in range(3)]
        try:
            ids = _start(client, count, pause_ms=20)
            wait_until(lambda: _finished(store, 10), what="the first instances")
            wait_until(lambda: bool(_leases(scratch, "victim")), what="the victim to hold leases")
            victim.send_signal(signal.SIGKILL)
            victim.communicate(timeout=60)
            held = _leases(scratch, "victim")
            assert held, "the victim held no lease when it died"
            assert not _all_finished(store), "everything finished before the kill"
            wait_until(lambda: _all_finished(store), limit=240, what="every instance")
        finally:
            victim.kill()
            _stop(others)

        assert _leases(scratch, "victim") == []
        _assert_completed_once(client, ids)
        _assert_every_activity_ran(tmp_path, ids)


def _leases(scratch: Scratch, owner: str) -> list[tuple[str, str]]:
    """The (kind, id) of the leases `owner` holds, expired or not, until others take them over."""
    return [
        (str(kind), str(key))
        for kind, key in scratch.sql(
            "SELECT 'task', id::text FROM {schema}.activity_tasks "
            "WHERE starts_with(lock_token, %s) "
            "UNION ALL SELECT 'instance', instance_id FROM {schema}.instances "
            "WHERE starts_with(lock_token, %s)",
            f"{owner}:",
            f"{owner}:",
        )
    ]
