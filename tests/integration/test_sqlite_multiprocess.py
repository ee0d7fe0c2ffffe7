"""Worker processes on one SQLite file: crashes (SIGKILL) and two workers at once."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from durable import Client, RuntimeStatus
from durable._engine.replay import replay
from durable.history import ExecutionCompleted, TaskCompleted, TaskScheduled
from durable.stores import SQLiteStore

WORKLOAD_PATH = Path(__file__).with_name("sqlite_workload.py")


def _workload() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sqlite_workload", WORKLOAD_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


workload = _workload()


_SPAWNED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    """Kill every worker a test spawned, even when it failed before waiting for them."""
    yield
    for process in _SPAWNED:
        if process.poll() is None:
            process.kill()
            process.communicate()
    _SPAWNED.clear()


def _spawn(tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(WORKLOAD_PATH),
            str(tmp_path / "durable.db"),
            str(tmp_path / "side-effects.txt"),
            str(tmp_path / "episodes.jsonl"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _SPAWNED.append(process)
    return process


def _start_instances(
    tmp_path: Path, count: int, **sizes: int
) -> tuple[SQLiteStore, Client, list[str]]:
    store = SQLiteStore(tmp_path / "durable.db")
    client = Client(store, app=workload.app)
    ids = [
        client.start(
            workload.chain_then_fan_out,
            workload.shape(index, **sizes),
            instance_id=f"instance-{index:03d}",
        )
        for index in range(count)
    ]
    return store, client, ids


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _wait_until(condition: Callable[..., bool], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.01)


def _finish(process: subprocess.Popen[bytes], limit: float = 120) -> None:
    try:
        _, errors = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, errors.decode()


def _assert_replays(client: Client, instance_id: str) -> None:
    history = client.history(instance_id)
    decision = replay(
        workload.app.find_orchestrator("chain_then_fan_out"), history, registry=workload.app
    )
    assert (decision.status, decision.failure, decision.actions) == (
        RuntimeStatus.COMPLETED,
        None,
        (),
    )


def test_sqlite_workers_killed_at_random_moments_lose_nothing(tmp_path: Path) -> None:
    store, client, ids = _start_instances(tmp_path, 12)
    moments = random.Random(20261127)
    side_effect_file = tmp_path / "side-effects.txt"
    for _ in range(4):
        done_before = _lines(side_effect_file)
        process = _spawn(tmp_path)
        _wait_until(lambda before=done_before: _lines(side_effect_file) > before)
        time.sleep(moments.uniform(0.0, 0.15))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        unfinished = [i for i in ids if not client.status(i).is_finished]
        assert unfinished, "the worker finished everything before it was killed"
    _finish(_spawn(tmp_path, "--until-done", str(len(ids))))

    side_effects = Counter((tmp_path / "side-effects.txt").read_text().splitlines())
    for index, instance_id in enumerate(ids):
        status = client.status(instance_id)
        assert (status.status, status.output) == (
            RuntimeStatus.COMPLETED,
            workload.expected_output(workload.shape(index)),
        )
        history = client.history(instance_id)
        scheduled = {event.seq for event in history if isinstance(event, TaskScheduled)}
        completed = {event.seq for event in history if isinstance(event, TaskCompleted)}
        assert scheduled == completed == set(range(workload.SEQUENTIAL + workload.FAN_OUT))
        ran = {f"{instance_id} seq {step}" for step in range(workload.SEQUENTIAL)}
        ran |= {f"{instance_id} fan {item}" for item in range(workload.FAN_OUT)}
        assert ran <= set(side_effects), sorted(ran - set(side_effects))[:5]
        _assert_replays(client, instance_id)
    store.close()


def test_sqlite_two_worker_processes_complete_each_instance_once(tmp_path: Path) -> None:
    store, client, ids = _start_instances(tmp_path, 200, sequential=3, fan_out=3)
    workers = [_spawn(tmp_path, "--until-done", str(len(ids))) for _ in range(2)]
    for process in workers:
        _finish(process, limit=300)

    for instance_id in ids:
        history = client.history(instance_id)
        assert sum(isinstance(event, ExecutionCompleted) for event in history) == 1
        assert client.status(instance_id).status is RuntimeStatus.COMPLETED
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert {episode["pid"] for episode in episodes} == {process.pid for process in workers}
    chains: dict[str, list[tuple[int, int]]] = {}
    for episode in episodes:
        chains.setdefault(episode["instance"], []).append((episode["from"], episode["to"]))
    for instance_id in ids:
        # Each committed episode started from exactly the history the previous one
        # left: no two episodes of one instance ever worked on the same state.
        steps = sorted(chains[instance_id])
        assert steps[0][0] == 0
        assert all(before[1] == after[0] for before, after in itertools.pairwise(steps)), steps
        assert steps[-1][1] == len(client.history(instance_id))
    store.close()
