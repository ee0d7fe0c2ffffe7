"""Scaling benchmark: instances and activities per second with 1, 2 and 4 worker processes.

The same workload runs on PostgreSQL and, beside it, on SQLite, in one run of
this script: N instances, each a chain of 3 activities then a fan-out of 10
(13 trivial activities and about 6 episodes per instance). For each store
and worker count:

1. a fresh store (a new PostgreSQL schema, dropped afterwards; a new SQLite
   file) gets all N instances, started by a client before any worker runs;
2. K worker processes start (``python postgres_scaling.py worker URL``),
   each a `durable.Worker` with its default settings, and report ready;
3. all are told to go at once; the clock runs from "go" to the latest
   ``completed_at`` stored, so process start-up is not counted.

Both stores commit durably: SQLite with ``synchronous=FULL`` in WAL mode,
PostgreSQL with the server's ``synchronous_commit`` (on, unless the server
says otherwise; printed). Each cell is the median of ``--rounds`` rounds.
Prints a table and appends it, with the machine, the load and the date, to
``benchmarks/RESULTS.md`` (created if missing; never rewritten).

Usage::

    python benchmarks/postgres_scaling.py [--url postgresql://...] [--instances N]
        [--workers 1 2 4] [--rounds R] [--stores postgres sqlite] [--no-record]

The URL defaults to ``$DURABLE_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import psycopg
import recording
from recording import commit

from durable import App, Client, OrchestrationContext, RuntimeStatus, Worker
from durable.stores import InstanceQuery, Store

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
CHAIN, FAN_OUT = 3, 10
ACTIVITIES = CHAIN + FAN_OUT

app = App()


@app.activity
def step(value: int) -> int:
    """A trivial activity."""
    return value + 1


@app.orchestrator
def chain_then_fan_out(ctx: OrchestrationContext, value: int):  # type: ignore[no-untyped-def]
    """`CHAIN` activities in a row, then `FAN_OUT` at once."""
    for _ in range(CHAIN):
        value = yield ctx.call_activity(step, value)
    results = yield ctx.when_all([ctx.call_activity(step, value + i) for i in range(FAN_OUT)])
    return sum(results)


def _open(url: str) -> Store:
    if url.startswith("postgresql://"):
        from durable._store.postgres import PostgresStore

        return PostgresStore(url)
    from durable.stores import SQLiteStore

    return SQLiteStore(url.removeprefix("sqlite:///"))


def worker_main(url: str) -> None:
    """A worker process: ready, wait for "go" on stdin, run until stdin closes.

    Then prints the CPU seconds (all its threads) it used from "go" on.
    """
    store = _open(url)
    worker = Worker(app, store)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    began = time.process_time()
    with worker:
        sys.stdin.read()  # until the parent closes our stdin
    print(f"cpu {time.process_time() - began}", flush=True)
    store.close()


@attrs.frozen(kw_only=True)
class Round:
    """One round's figures.

    Attributes:
        seconds: from "go" to the last stored completion.
        worker_cpu: CPU seconds the worker processes used from "go" to their stop.
        server_cpu: CPU seconds the PostgreSQL server's processes used meanwhile
            (None for SQLite, or when the server is not on this machine).
    """

    seconds: float
    worker_cpu: float
    server_cpu: float | None


def run_round(url: str, instances: int, workers: int) -> Round:
    """Run `instances` instances on `workers` fresh worker processes; time and CPU."""
    store = _open(url)
    client = Client(store, app=app)
    ids = [client.start(chain_then_fan_out, index) for index in range(instances)]
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    server_before = _server_cpu() if url.startswith("postgresql://") else None
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit("a worker process failed to start")
        began = datetime.now(UTC)
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        _wait_for_all(store)
        server_after = _server_cpu() if server_before is not None else None
        last = began
        for instance_id in ids:
            status = client.status(instance_id)
            if status.output != _expected(int(status.input)):
                raise SystemExit(f"{instance_id} gave {status.output!r}: the benchmark is wrong")
            assert status.completed_at is not None
            last = max(last, status.completed_at)
    finally:
        for process in processes:
            assert process.stdin is not None
            process.stdin.close()
        outputs = [_rest_of_output(process) for process in processes]
        store.close()
    worker_cpu = sum(float(output.split()[-1]) for output in outputs)
    server_cpu = (
        None if server_before is None or server_after is None else server_after - server_before
    )
    return Round(
        seconds=(last - began).total_seconds(), worker_cpu=worker_cpu, server_cpu=server_cpu
    )


def _rest_of_output(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    output = process.stdout.read()
    process.wait(timeout=120)
    return output


def _wait_for_all(store: Store) -> None:
    unfinished = InstanceQuery(
        statuses=frozenset({RuntimeStatus.PENDING, RuntimeStatus.RUNNING}), page_size=1
    )
    deadline = time.monotonic() + 3600
    while store.list_instances(unfinished).instances:  # one cheap query a tenth of a second
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not finish within an hour")
        time.sleep(0.1)


def _server_cpu() -> float | None:
    """CPU seconds used so far by the live processes named postgres on this machine."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    ticks = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK") if ticks else None


def _expected(value: int) -> int:
    value += CHAIN
    return sum(value + i + 1 for i in range(FAN_OUT))


def _fresh_url(kind: str, server: str, directory: Path) -> tuple[str, str | None]:
    """A URL for a fresh store of `kind`, and the PostgreSQL schema to drop afterwards."""
    if kind == "sqlite":
        return f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}schema={schema}", schema


def _drop(server: str, schema: str) -> None:
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]


def measure(kind: str, server: str, instances: int, workers: int, rounds: int) -> dict[str, Any]:
    """The median round's rates and CPU use, and the spread, of `rounds` rounds."""
    results: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="durable-scaling-") as directory:
        for _ in range(rounds):
            url, schema = _fresh_url(kind, server, Path(directory))
            try:
                results.append(run_round(url, instances, workers))
            finally:
                if schema is not None:
                    _drop(server, schema)
    results.sort(key=lambda result: result.seconds)
    median = results[len(results) // 2]
    seconds = [result.seconds for result in results]
    cores = os.cpu_count() or 1
    busy = median.worker_cpu + (median.server_cpu or 0.0)
    return {
        "seconds": median.seconds,
        "instances": instances / median.seconds,
        "activities": instances * ACTIVITIES / median.seconds,
        "spread": (max(seconds) - min(seconds)) / median.seconds,
        "worker_ms": median.worker_cpu * 1000 / instances,
        "server_ms": None if median.server_cpu is None else median.server_cpu * 1000 / instances,
        "busy": busy / (median.seconds * cores),
    }


def machine(server: str) -> str:
    """The machine (see recording.machine), PostgreSQL and psycopg, in one line."""
    with psycopg.connect(server) as connection:
        version = connection.execute("SHOW server_version").fetchone()
        sync = connection.execute("SHOW synchronous_commit").fetchone()
    return (
        f"{recording.machine()} (SQLite synchronous=FULL), "
        f"PostgreSQL {version[0] if version else '?'} on the same machine "
        f"(synchronous_commit={sync[0] if sync else '?'}), psycopg {psycopg.__version__}"
    )


def main() -> None:
    """Measure every (store, worker count), print the table, record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DURABLE_TEST_POSTGRES_URL"))
    parser.add_argument("--instances", type=int, default=400, help="instances per round")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per cell (median)")
    parser.add_argument("--stores", nargs="+", default=["postgres", "sqlite"])
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    options = parser.parse_args()
    if not options.url:
        raise SystemExit("give --url postgresql://... or set $DURABLE_TEST_POSTGRES_URL")
    about = machine(options.url)
    print(about, flush=True)
    rows: list[str] = []
    figures: dict[tuple[str, int], dict[str, Any]] = {}
    for kind in options.stores:
        for workers in options.workers:
            result = measure(kind, options.url, options.instances, workers, options.rounds)
            figures[kind, workers] = result
            base = figures[kind, options.workers[0]]["instances"]
            server = "-" if result["server_ms"] is None else f"{result['server_ms']:.1f}"
            row = (
                f"| {kind} | {workers} | {result['instances']:,.1f} | {result['activities']:,.0f} "
                f"| {result['instances'] / base:.2f}x | {result['seconds']:.2f} s "
                f"| {result['spread'] * 100:.0f}% | {result['worker_ms']:.1f} | {server} "
                f"| {result['busy'] * 100:.0f}% |"
            )
            print(row, flush=True)
            rows.append(row)
    table = "\n".join(
        [
            "| store | worker processes | instances/s | activities/s | vs. fewest workers "
            "| median round | spread | worker CPU ms/instance | PostgreSQL CPU ms/instance "
            "| CPU busy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    if options.no_record:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a") as results:
        results.write(
            f"\n## PostgreSQL scaling (benchmarks/postgres_scaling.py), {stamp}, "
            f"commit {commit()}\n\n"
            f"- machine: {about}\n"
            f"- workload: {options.instances} instances per round, each a chain of {CHAIN} "
            f"activities then a fan-out of {FAN_OUT} ({ACTIVITIES} trivial activities); "
            "all started before the workers; timed from 'go' to the last completed_at; "
            f"default Worker settings; median of {options.rounds} rounds (spread: "
            "(max - min) / median); CPU: the worker processes' own (all threads) and the "
            "local PostgreSQL server processes', from 'go' to the end; CPU busy: their sum "
            f"over the round's wall time x {os.cpu_count()} cores (the rest of the machine "
            "not counted)\n\n"
            f"{table}\n"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker_main(sys.argv[2])
    else:
        main()
