"""durable's own benchmark workloads; each runs once in this process and prints JSON.

Usage: ``python benchmarks/workloads.py WORKLOAD STORE SIZE`` where STORE is
``memory`` or ``sqlite`` (a fresh file in a temporary directory). The printed
JSON object always has ``seconds`` (wall time of the measured part), the
figure the workload is about (``per_second`` or ``us_per_event``), and
``peak_rss_mib`` (this process's peak resident memory).

Workloads:
    seq N        one instance running N sequential trivial activities
    fanout N     one instance fanning out to N trivial activities, gathered with when_all
    throughput N N instances of a 3-activity chain, started at once from AsyncClient
                 (asyncio.gather: concurrent starts share a transaction), then each awaited
    replay N     cold full replay of a stored N-activity history (read rows, parse, replay)
    commits N    N store-level episode commits (take + commit), no engine: the store's rate
    ceiling N    N raw single-row SQLite commits in WAL mode with synchronous=FULL
    simulate N   the 30-day approval scenario under the simulation harness (N runs, median)
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from durable import App, AsyncClient, Client, OrchestrationContext, Worker
from durable._engine.execution import Execution
from durable._store.protocol import EpisodeCommit, NewActivityTask
from durable.history import ExecutionStarted, TaskScheduled
from durable.stores import MemoryStore, SQLiteStore, Store

app = App()
WAIT = timedelta(minutes=30)


@app.activity
def touch(value: int) -> int:
    """A trivial activity."""
    return value + 1


@app.orchestrator
def sequence(ctx: OrchestrationContext, count: int):  # type: ignore[no-untyped-def]
    """`count` activities, one after the other."""
    value = 0
    for _ in range(count):
        value = yield ctx.call_activity(touch, value)
    return value


@app.orchestrator
def fan_out(ctx: OrchestrationContext, count: int):  # type: ignore[no-untyped-def]
    """`count` activities at once, gathered."""
    results = yield ctx.when_all([ctx.call_activity(touch, index) for index in range(count)])
    return len(results)


@app.orchestrator
def chain_of_three(ctx: OrchestrationContext, value: int):  # type: ignore[no-untyped-def]
    """Three activities in a row."""
    for _ in range(3):
        value = yield ctx.call_activity(touch, value)
    return value


def _store(kind: str, directory: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(directory / "bench.db")
    raise SystemExit(f"unknown store {kind!r}: use memory or sqlite")


def _run_one(store: Store, orchestrator: Callable[..., Any], size: int) -> float:
    client = Client(store, app=app)
    with Worker(app, store):
        began = time.perf_counter()
        instance_id = client.start(orchestrator, size)
        client.wait(instance_id, timeout=WAIT)
        return time.perf_counter() - began


def seq(store: Store, size: int, _: Path) -> dict[str, float]:
    """Steps per second of one long chain."""
    seconds = _run_one(store, sequence, size)
    return {"seconds": seconds, "per_second": size / seconds}


def fanout(store: Store, size: int, _: Path) -> dict[str, float]:
    """Activities per second of one wide fan-out."""
    seconds = _run_one(store, fan_out, size)
    return {"seconds": seconds, "per_second": size / seconds}


def throughput(store: Store, size: int, _: Path) -> dict[str, float]:
    """Instances per second of many short chains."""
    client = AsyncClient(store, app=app)

    async def start_and_wait() -> None:
        ids = await asyncio.gather(*(client.start(chain_of_three, i) for i in range(size)))
        for instance_id in ids:
            await client.wait(instance_id, timeout=WAIT)

    with Worker(app, store):
        began = time.perf_counter()
        asyncio.run(start_and_wait())
        seconds = time.perf_counter() - began
    return {"seconds": seconds, "per_second": size / seconds}


def replay(store: Store, size: int, _: Path) -> dict[str, float]:
    """Microseconds per history event of a cold replay, reading stored rows included."""
    _run_one(store, sequence, size)
    instance_id = Client(store).list(page_size=1).instances[0].instance_id
    began = time.perf_counter()
    history = store.get_history(instance_id)
    execution = Execution(app.find_orchestrator("sequence"), instance_id=instance_id, registry=app)
    execution.replay(history)
    seconds = time.perf_counter() - began
    if not execution.is_finished:
        raise SystemExit("the replayed instance did not finish: the benchmark is wrong")
    return {"seconds": seconds, "us_per_event": seconds * 1e6 / len(history)}


def commits(store: Store, size: int, _: Path) -> dict[str, float]:
    """Episode commits per second at the store, without the engine."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(size):
        started = ExecutionStarted(
            timestamp=now, name="sequence", instance_id=f"i{index}", execution_id=f"e{index}"
        )
        store.create_instance(started, now=now, visible_at=now)
    began = time.perf_counter()
    for _ in range(size):
        item = store.take_orchestration(now=now, lease=timedelta(minutes=1), owner="bench")
        assert item is not None
        instance = item.instance
        scheduled = TaskScheduled(timestamp=now, seq=0, name="touch", input=0)
        task = NewActivityTask(
            instance_id=instance.instance_id,
            execution_id=instance.execution_id,
            seq=0,
            name="touch",
            input=0,
            visible_at=now,
        )
        store.commit_episode(
            item,
            EpisodeCommit(
                consumed=tuple(message.id for message in item.messages),
                history=(*(message.event for message in item.messages), scheduled),
                status=instance.status,
                updated_at=now,
                execution_id=instance.execution_id,
                activities=(task,),
            ),
        )
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "per_second": size / seconds}


def ceiling(_: Store, size: int, directory: Path) -> dict[str, float]:
    """Raw single-row commits per second: WAL, synchronous=FULL, one INSERT per transaction."""
    connection = sqlite3.connect(directory / "ceiling.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)")
    began = time.perf_counter()
    for index in range(size):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO rows (body) VALUES (?)", (f"row {index}",))
        connection.execute("COMMIT")
    seconds = time.perf_counter() - began
    connection.close()
    return {"seconds": seconds, "per_second": size / seconds}


def simulate(_: Store, size: int, __: Path) -> dict[str, float]:
    """Wall time of the simulated 30-day approval (benchmarks/simulate_approval.py)."""
    spec = importlib.util.spec_from_file_location(
        "simulate_approval", Path(__file__).with_name("simulate_approval.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    example = module.load_example()
    module.run_once(example, seed=0)
    times = [module.run_once(example, seed) for seed in range(size)]
    seconds = statistics.median(times)
    return {"seconds": seconds, "milliseconds": seconds * 1000}


WORKLOADS: dict[str, Callable[[Store, int, Path], dict[str, float]]] = {
    "seq": seq,
    "fanout": fanout,
    "throughput": throughput,
    "replay": replay,
    "commits": commits,
    "ceiling": ceiling,
    "simulate": simulate,
}


def main(arguments: list[str]) -> None:
    """Run one workload once and print its figures as JSON."""
    name, kind, size = arguments
    if name not in WORKLOADS:
        raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    with tempfile.TemporaryDirectory(prefix="durable-bench-") as directory:
        store = _store(kind, Path(directory))
        figures = WORKLOADS[name](store, int(size), Path(directory))
        store.close()
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
